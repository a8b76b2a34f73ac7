//! After SES took a message: its events, the public tracking endpoints, unsubscribes,
//! suppression, guardrails and the contact's timeline, through the emulator.

use chrono::{Duration, Utc};
use devstack::outbox::{self, Filter, OutboxItem};
use serde_json::{Value, json};

use crate::support::{TestStack, spent};

pub(crate) const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

pub(crate) struct Sent {
    pub(crate) campaign_url: String,
    /// The sender's domain, verified.
    pub(crate) domain: String,
    /// (contact id, address), in creation order.
    pub(crate) contacts: Vec<(String, String)>,
}

/// A press campaign with one tracked link, sent to `n` new contacts, its events not yet
/// recorded.
pub(crate) async fn sent_campaign(stack: &TestStack, n: usize) -> Sent {
    let owner = stack.owner();
    let domain = format!(
        "track-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let registered = stack.sending_domain(&domain).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let mut contacts = Vec::new();
    for i in 0..n {
        let email = format!("redaction{i}@media-{domain}");
        let id = owner
            .create_contact(
                &stack.contacts_url(),
                json!({ "email": email, "contact_role": "press", "first_name": format!("Inès{i}") }),
            )
            .await;
        contacts.push((id, email));
    }
    let campaign_url = send_press_campaign(stack, &domain).await;
    Sent {
        campaign_url,
        domain,
        contacts,
    }
}

/// Sends a press campaign from `domain` to the press team; answers its URL.
pub(crate) async fn send_press_campaign(stack: &TestStack, domain: &str) -> String {
    let owner = stack.owner();
    let created = owner
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "press", "name": "Écoute presse",
                "subject": "Bonjour {{ contact.first_name }}",
                "content": "<html><body><p>Bonjour {{ contact.first_name }},</p><p><a href=\"https://label.example/presse\">Dossier</a> <a href=\"https://label.example/clip\">Clip</a></p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
                "from_name": "Label Nova", "from_email": format!("presse@{domain}"),
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let campaign_url = format!(
        "/api/artists/{}/campaigns/{}",
        stack.artist,
        created.body["id"].as_str().unwrap()
    );
    let started = owner
        .post(&format!("{campaign_url}/send"), &json!({}))
        .await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    stack.drain_sending().await;
    stack.drain_sending().await;
    campaign_url
}

/// The message the emulated SES accepted for `address`.
pub(crate) async fn message_to(address: &str) -> OutboxItem {
    let accepted = outbox::accepted(&Filter {
        to: Some(address.to_owned()),
        limit: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    OutboxItem::from_accepted(accepted.into_iter().next().expect("a message was sent"))
}

/// The path of the first link of `message` under `prefix` (`/api/email/track/click/`).
pub(crate) fn link(message: &OutboxItem, prefix: &str) -> String {
    let html = message.html.as_deref().unwrap();
    let start = html
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix} in {html}"));
    let end = html[start..].find('"').unwrap();
    html[start..start + end].to_owned()
}

fn links(message: &OutboxItem, prefix: &str) -> Vec<String> {
    let html = message.html.as_deref().unwrap();
    html.match_indices(prefix)
        .map(|(start, _)| {
            let end = html[start..].find('"').unwrap();
            html[start..start + end].to_owned()
        })
        .collect()
}

pub(crate) async fn engagement(stack: &TestStack, campaign_url: &str) -> Value {
    let campaign = stack.owner().get(campaign_url).await;
    assert_eq!(campaign.status, 200, "{:?}", campaign.body);
    campaign.body["engagement"].clone()
}

pub(crate) async fn history(stack: &TestStack, contact: &str) -> Vec<Value> {
    let reply = stack
        .owner()
        .get(&format!("{}/{contact}/history", stack.contacts_url()))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

fn types(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|i| i["interaction_type"].as_str().unwrap())
        .collect()
}

pub(crate) async fn status(stack: &TestStack, contact: &str) -> Value {
    let url = format!("{}/{contact}", stack.contacts_url());
    stack.owner().get(&url).await.body["status"].clone()
}

/// Two pages of `url` (`limit` items each at most): their items in order, and the first
/// page's cursor.
async fn two_pages(stack: &TestStack, url: &str, limit: usize) -> (Vec<Value>, String) {
    let first = stack.owner().get(&format!("{url}?limit={limit}")).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["items"].as_array().unwrap().len(), limit);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = stack
        .owner()
        .get(&format!("{url}?limit={limit}&cursor={cursor}"))
        .await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    let items = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["items"].as_array().unwrap())
        .cloned()
        .collect();
    (items, cursor)
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[tokio::test]
async fn delivery_and_open_events_are_recorded_once_however_often_they_arrive() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 3).await;
    stack.drain_queues().await;
    let delivered = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(delivered["delivered"], 3, "{delivered}");

    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    // SES tells the same delivery again, and the person opens twice ten minutes later.
    let delivery = json!({ "timestamp": at(Duration::seconds(1)), "recipients": [address], "smtpResponse": "250 OK" });
    let open = json!({ "timestamp": at(Duration::minutes(10)), "userAgent": HUMAN, "ipAddress": "198.51.100.7" });
    let reopen = json!({ "timestamp": at(Duration::minutes(12)), "userAgent": HUMAN, "ipAddress": "198.51.100.7" });
    for _ in 0..3 {
        for (kind, detail) in [("Delivery", &delivery), ("Open", &open), ("Open", &reopen)] {
            outbox::publish_event(&message.message_id, kind, detail.clone())
                .await
                .unwrap();
        }
        stack.drain_queues().await;
    }
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(
        counted["delivered"], 4,
        "one more delivery, told three times: {counted}"
    );
    assert_eq!(counted["opens"], 2, "{counted}");
    assert_eq!(counted["unique_opens"], 1, "{counted}");
    assert_eq!(counted["machine_opens"], 0, "{counted}");
    let campaign = stack.owner().get(&sent.campaign_url).await;
    assert_eq!(
        campaign.body["open_count"], 1,
        "the seed's counter is unique human opens"
    );

    let timeline = history(&stack, contact).await;
    assert_eq!(
        types(&timeline),
        [
            "email_opened",
            "email_opened",
            "email_delivered",
            "email_delivered",
            "email_sent"
        ],
        "newest first: {timeline:?}"
    );
    assert!(timeline.iter().all(|i| i["machine"].is_null()));
    assert_eq!(timeline[0]["details"]["user_agent"], HUMAN);
    assert!(
        !serde_json::to_string(&timeline)
            .unwrap()
            .contains(address.as_str())
    );
}

#[tokio::test]
async fn the_pixel_and_the_redirect_answer_from_the_token_with_one_read_and_no_write() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    stack.drain_queues().await;
    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    let pixel = link(&message, "/api/email/track/open/");
    let clicks = links(&message, "/api/email/track/click/");
    assert_eq!(clicks.len(), 2, "both links are tracked");

    let before = stack.requests.by_operation();
    let opened = stack
        .raw("GET", &pixel, &[("user-agent", HUMAN)], b"")
        .await;
    let spent_open = spent(&before, &stack.requests.by_operation());
    assert_eq!(opened.status, 200);
    assert_eq!(opened.header("content-type"), Some("image/gif"));
    assert!(opened.header("cache-control").unwrap().contains("no-store"));
    assert!(opened.body.starts_with(b"GIF89a") && opened.body.len() == 43);
    assert_eq!(
        spent_open,
        [
            (("dynamodb".into(), "Query".into()), 1),
            (("sqs".into(), "SendMessage".into()), 1)
        ]
        .into(),
        "one read, and the event queued rather than written"
    );

    let before = stack.requests.by_operation();
    let followed = stack
        .raw("GET", &clicks[1], &[("user-agent", HUMAN)], b"")
        .await;
    let spent_click = spent(&before, &stack.requests.by_operation());
    assert_eq!(followed.status, 302);
    assert!(
        followed
            .header("location")
            .unwrap()
            .starts_with("https://label.example/clip"),
        "{:?}",
        followed.headers
    );
    assert_eq!(spent_click, spent_open);

    // Forged, tampered or misused tokens: the pixel is still a pixel, a click goes nowhere.
    let token = clicks[0].rsplit('/').next().unwrap();
    let mut tampered = token.to_owned().into_bytes();
    tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let open_token = pixel.rsplit('/').next().unwrap();
    for bad in [
        format!("/api/email/track/click/{tampered}"),
        format!("/api/email/track/click/{open_token}"),
        "/api/email/track/click/https%3A%2F%2Fevil.example".to_owned(),
        format!("/api/email/track/click/{}", "a".repeat(56)),
    ] {
        let reply = stack.raw("GET", &bad, &[], b"").await;
        assert_eq!(reply.status, 404, "{bad}");
        assert_eq!(reply.header("location"), None, "{bad}");
        assert!(reply.text().contains("<html"), "{bad}");
    }
    let forged_pixel = stack
        .raw(
            "GET",
            &format!("/api/email/track/open/{tampered}"),
            &[],
            b"",
        )
        .await;
    assert_eq!(forged_pixel.status, 200);
    assert_eq!(forged_pixel.header("content-type"), Some("image/gif"));

    // The open and click came seconds after delivery: kept, marked, not counted as the person's.
    stack.drain_queues().await;
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(counted["machine_opens"], 1, "{counted}");
    assert_eq!(counted["machine_clicks"], 1, "{counted}");
    assert_eq!(counted["unique_opens"], 0, "{counted}");
    assert_eq!(counted["unique_clicks"], 0, "{counted}");
    let timeline = history(&stack, contact).await;
    assert_eq!(timeline[0]["interaction_type"], "email_clicked");
    assert_eq!(timeline[0]["machine"], "too_soon_after_delivery");
    assert_eq!(timeline[0]["details"]["url"], "https://label.example/clip");
}

#[tokio::test]
async fn a_click_minutes_later_counts_as_the_persons_open_and_click_once() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    stack.drain_queues().await;
    let (_, address) = &sent.contacts[0];
    let message = message_to(address).await;
    let click = json!({ "timestamp": at(Duration::minutes(30)), "userAgent": HUMAN, "link": "https://label.example/presse" });
    let scanner = json!({ "timestamp": at(Duration::minutes(31)), "userAgent": "Mozilla/5.0 (compatible; BingPreview/1.0b)", "link": "https://label.example/clip" });
    for detail in [&click, &click, &scanner] {
        outbox::publish_event(&message.message_id, "Click", detail.clone())
            .await
            .unwrap();
    }
    stack.drain_queues().await;
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(counted["clicks"], 1, "{counted}");
    assert_eq!(counted["unique_clicks"], 1, "{counted}");
    assert_eq!(
        counted["unique_opens"], 1,
        "a click proves an open: {counted}"
    );
    assert_eq!(counted["machine_clicks"], 1, "{counted}");
}

#[tokio::test]
async fn one_click_unsubscribes_at_once_idempotently_and_counts_once() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 2).await;
    stack.drain_queues().await;
    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    let header = message.headers.get("List-Unsubscribe").unwrap();
    let start = header.find("/api/email/unsubscribe/").unwrap();
    let end = header[start..].find('>').unwrap();
    let target = header[start..start + end].to_owned();
    assert_eq!(
        message
            .headers
            .get("List-Unsubscribe-Post")
            .map(String::as_str),
        Some("List-Unsubscribe=One-Click")
    );

    let page = stack
        .raw("GET", &target, &[("accept-language", "fr-FR")], b"")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Se désabonner") || page.text().contains("désabonner"));
    assert!(
        !page.text().contains(address.as_str()),
        "the address is masked"
    );
    let contact_url = format!("{}/{contact}", stack.contacts_url());
    assert_eq!(
        stack.owner().get(&contact_url).await.body["status"],
        "active",
        "showing the page changes nothing (link scanners fetch it)"
    );

    for _ in 0..2 {
        let reply = stack
            .raw(
                "POST",
                &target,
                &[("content-type", "application/x-www-form-urlencoded")],
                b"List-Unsubscribe=One-Click",
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
    assert_eq!(
        stack.owner().get(&contact_url).await.body["status"],
        "unsubscribed",
        "before any event is processed"
    );
    stack.drain_queues().await;
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(counted["unsubscribes"], 1, "{counted}");
    let emailed = stack
        .owner()
        .post(
            &format!("{contact_url}/emails"),
            &json!({ "subject": "Re", "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>", "from_name": "L", "from_email": message.from.rsplit('<').next().unwrap().trim_end_matches('>') }),
        )
        .await;
    assert_eq!(emailed.status, 422, "{:?}", emailed.body);
    assert_eq!(emailed.error_code(), "contact_unreachable");

    let bad = stack
        .raw(
            "POST",
            &target,
            &[("content-type", "application/x-www-form-urlencoded")],
            b"scope=everyone",
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn leaving_everything_from_the_artist_reaches_every_team_and_later_imports() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    let (contact, address) = &sent.contacts[0];
    let marketing = stack
        .owner()
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": address, "contact_role": "marketing" }),
        )
        .await;
    let message = message_to(address).await;
    let target = link(&message, "/api/email/unsubscribe/");
    let reply = stack
        .raw(
            "POST",
            &target,
            &[("content-type", "application/json")],
            br#"{"scope": "artist"}"#,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    for id in [contact, &marketing] {
        let found = stack
            .owner()
            .get(&format!("{}/{id}", stack.contacts_url()))
            .await;
        assert_eq!(found.body["status"], "unsubscribed", "{id}");
    }
    // A tour contact added later with the same address cannot be written to.
    let tour = stack
        .owner()
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": address, "contact_role": "tour" }),
        )
        .await;
    let domain = address.rsplit("@media-").next().unwrap();
    let emailed = stack
        .owner()
        .post(
            &format!("{}/{tour}/emails", stack.contacts_url()),
            &json!({ "subject": "Dates", "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>", "from_name": "L", "from_email": format!("tour@{domain}") }),
        )
        .await;
    assert_eq!(emailed.status, 422, "{:?}", emailed.body);
    assert_eq!(emailed.error_code(), "contact_unreachable");
}

#[tokio::test]
async fn hard_bounces_and_complaints_suppress_before_the_next_send_and_three_soft_bounces_mark_bounced()
 {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 3).await;
    stack.drain_queues().await;
    let (hard, hard_address) = &sent.contacts[0];
    let (complained, complained_address) = &sent.contacts[1];
    let bounce = |address: &str, kind: &str| {
        json!({ "bounceType": kind, "bounceSubType": "General", "timestamp": at(Duration::seconds(5)),
                "bouncedRecipients": [{ "emailAddress": address, "status": "5.1.1", "action": "failed" }] })
    };
    let hard_message = message_to(hard_address).await;
    outbox::publish_event(
        &hard_message.message_id,
        "Bounce",
        bounce(hard_address, "Permanent"),
    )
    .await
    .unwrap();
    let complained_message = message_to(complained_address).await;
    outbox::publish_event(
        &complained_message.message_id,
        "Complaint",
        json!({ "complainedRecipients": [{ "emailAddress": complained_address }], "timestamp": at(Duration::minutes(3)), "complaintFeedbackType": "abuse" }),
    )
    .await
    .unwrap();
    stack.drain_queues().await;
    assert_eq!(status(&stack, hard).await, "bounced");
    assert_eq!(status(&stack, complained).await, "unsubscribed");
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(counted["bounces"], 1, "{counted}");
    assert_eq!(counted["complaints"], 1, "{counted}");
    for address in [hard_address, complained_address] {
        let suppressed = mailing::store::suppression::suppressed(
            stack.app(),
            mailing::domain::ArtistId::new(),
            mailing::domain::ContactRole::Tour,
            &[&mailing::domain::EmailAddress::parse(address).unwrap()],
        )
        .await
        .unwrap();
        assert_eq!(suppressed.len(), 1, "suppressed for every artist");
    }

    // Three messages to the third contact bounce softly: the third marks the contact bounced.
    let (soft, soft_address) = &sent.contacts[2];
    let domain = soft_address.rsplit("@media-").next().unwrap();
    let mut message_ids = vec![message_to(soft_address).await.message_id];
    for _ in 0..2 {
        let emailed = stack
            .owner()
            .post(
                &format!("{}/{soft}/emails", stack.contacts_url()),
                &json!({ "subject": "Relance", "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>", "from_name": "L", "from_email": format!("presse@{domain}") }),
            )
            .await;
        assert_eq!(emailed.status, 202, "{:?}", emailed.body);
        stack.drain_sending().await;
        message_ids.insert(0, message_to(soft_address).await.message_id);
    }
    message_ids.dedup();
    assert_eq!(message_ids.len(), 3);
    for (i, id) in message_ids.iter().enumerate() {
        // Told twice: one soft bounce.
        let detail = bounce(soft_address, "Transient");
        for _ in 0..2 {
            outbox::publish_event(id, "Bounce", detail.clone())
                .await
                .unwrap();
        }
        stack.drain_queues().await;
        let expected = if i < 2 { "active" } else { "bounced" };
        assert_eq!(
            status(&stack, soft).await,
            expected,
            "after {} soft bounces",
            i + 1
        );
    }
}

#[tokio::test]
async fn a_campaign_bouncing_past_four_percent_pauses_itself_with_the_reason() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = format!(
        "guard-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    stack.sending_domain(&domain).await;
    stack.sender_profile().await;
    devstack::seed::contacts(
        stack.app(),
        stack.artist,
        mailing::domain::ContactRole::Marketing,
        150,
        &format!("fans-{domain}"),
    )
    .await
    .unwrap();
    let created = owner
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "marketing", "name": "Tournée",
                "template_id": "0193a6f0-0000-7000-8000-000000000101",
                "from_name": "Lou", "from_email": format!("news@{domain}"),
            }),
        )
        .await;
    let url = format!(
        "/api/artists/{}/campaigns/{}",
        stack.artist,
        created.body["id"].as_str().unwrap()
    );
    assert_eq!(
        owner.post(&format!("{url}/send"), &json!({})).await.status,
        202
    );
    stack.drain("campaign-dispatch").await;
    // Two batches of fifty go out; the third waits.
    stack.poll_once("email-send").await;
    stack.poll_once("email-send").await;
    stack.drain("ses-events").await;
    let accepted = outbox::accepted(&Filter {
        from_domain: Some(domain.clone()),
        limit: 1000,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(accepted.len(), 100);
    for message in accepted.iter().take(5) {
        outbox::publish_event(
            &message.message_id,
            "Bounce",
            json!({ "bounceType": "Permanent", "bounceSubType": "NoEmail", "timestamp": at(Duration::seconds(2)),
                    "bouncedRecipients": [{ "emailAddress": message.destinations[0] }] }),
        )
        .await
        .unwrap();
    }
    stack.drain("ses-events").await;
    let campaign = owner.get(&url).await;
    assert_eq!(campaign.body["status"], "paused", "{:?}", campaign.body);
    let reason = campaign.body["status_reason"].as_str().unwrap();
    assert!(reason.contains("bounce rate 5.0%"), "{reason}");
}

#[tokio::test]
async fn the_events_consumer_reports_only_poison_messages_and_counts_duplicates_once() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    // The queue's own messages (Send, Delivery), each delivered twice, with poison around.
    let queue = stack.app().config.events_queue_url.clone();
    let mut bodies = Vec::new();
    loop {
        let received = stack
            .app()
            .aws
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            bodies.push(m.body.unwrap_or_default());
        }
    }
    assert_eq!(bodies.len(), 2, "Send and Delivery for one message");
    let fixture = include_str!("../../events/sqs-ses-events-delivery.json");
    let unknown: Value = serde_json::from_str(fixture).unwrap();
    let mut records = Vec::new();
    for (i, body) in bodies
        .iter()
        .chain(bodies.iter())
        .cloned()
        .chain([
            "not json".to_owned(),
            r#"{"Type":"Notification","Message":"{\"eventType\":\"Delivery\"}"}"#.to_owned(),
            unknown["Records"][0]["body"].as_str().unwrap().to_owned(),
        ])
        .enumerate()
    {
        records
            .push(json!({ "messageId": format!("m{i}"), "body": body, "eventSource": "aws:sqs" }));
    }
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json!({ "Records": records })).unwrap();
    let response = functions::tracking::events(
        stack.function("ses-events"),
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m4", "m5"], "only the unreadable ones come back");
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(counted["delivered"], 1, "{counted}");
    assert_eq!(
        types(&history(&stack, contact).await),
        ["email_delivered", "email_sent"]
    );
    assert!(!message.message_id.is_empty());
}

#[tokio::test]
async fn a_contacts_history_is_paginated_and_hidden_from_other_teams() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    stack.drain_queues().await;
    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    for minutes in 1..=3 {
        outbox::publish_event(
            &message.message_id,
            "Open",
            json!({ "timestamp": at(Duration::minutes(10 * minutes)), "userAgent": HUMAN }),
        )
        .await
        .unwrap();
    }
    stack.drain_queues().await;
    let url = format!("{}/{contact}/history", stack.contacts_url());
    let (all, _) = two_pages(&stack, &url, 2).await;
    let times: Vec<&str> = all
        .iter()
        .map(|i| i["created_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first across pages");

    for (caller, status) in [
        (stack.team("marketing"), 404),
        (
            stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]),
            403,
        ),
    ] {
        let reply = caller.get(&url).await;
        assert_eq!(reply.status, status, "{:?}", reply.body);
    }
    assert_eq!(stack.anonymous().get(&url).await.status, 401);
    let bad = stack.owner().get(&format!("{url}?limit=0")).await;
    assert_eq!(bad.status, 400);
    let forged = stack.owner().get(&format!("{url}?cursor=abc.def")).await;
    assert_eq!(forged.status, 400);
}

#[tokio::test]
async fn a_campaigns_sends_show_how_far_each_message_got_and_a_late_delivery_never_moves_one_back()
{
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 4).await;
    stack.drain_queues().await;
    let message = |i: usize| message_to(&sent.contacts[i].1);
    let (opened, clicked, bounced) = (message(0).await, message(1).await, message(2).await);
    outbox::publish_event(
        &opened.message_id,
        "Open",
        json!({ "timestamp": at(Duration::minutes(10)), "userAgent": HUMAN }),
    )
    .await
    .unwrap();
    outbox::publish_event(
        &clicked.message_id,
        "Click",
        json!({ "timestamp": at(Duration::minutes(10)), "userAgent": HUMAN, "link": "https://label.example/clip" }),
    )
    .await
    .unwrap();
    outbox::publish_event(
        &bounced.message_id,
        "Bounce",
        json!({ "bounceType": "Permanent", "bounceSubType": "General", "timestamp": at(Duration::seconds(5)),
                "bouncedRecipients": [{ "emailAddress": sent.contacts[2].1, "status": "5.1.1", "action": "failed" }] }),
    )
    .await
    .unwrap();
    stack.drain_queues().await;
    // SES tells of a delivery after the person read the message, three times.
    for _ in 0..3 {
        outbox::publish_event(
            &opened.message_id,
            "Delivery",
            json!({ "timestamp": at(Duration::minutes(11)), "recipients": [sent.contacts[0].1] }),
        )
        .await
        .unwrap();
        stack.drain_queues().await;
    }

    let url = format!("{}/sends", sent.campaign_url);
    let (sends, cursor) = two_pages(&stack, &url, 3).await;
    let seen: Vec<(&str, &str, &str)> = sends
        .iter()
        .map(|s| {
            (
                s["contact_id"].as_str().unwrap(),
                s["email"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str, &str)> = sent
        .contacts
        .iter()
        .zip(["opened", "clicked", "bounced", "delivered"])
        .map(|((id, email), status)| (id.as_str(), email.as_str(), status))
        .collect();
    assert_eq!(seen, expected, "in the order contacts were added");
    let first_delivery = sends[0]["delivered_at"].as_str().unwrap();
    assert!(
        first_delivery < sends[0]["opened_at"].as_str().unwrap(),
        "the first delivery stands, the late one did not replace it: {:?}",
        sends[0]
    );
    assert!(sends[1]["opened_at"].is_string(), "a click proves an open");
    assert!(sends.iter().all(|s| s["sent_at"].is_string()));
    assert_eq!(sends[0]["first_name"], "Inès0");

    let other_campaign = format!(
        "/api/artists/{}/campaigns/{}/sends",
        stack.artist,
        mailing::domain::CampaignId::new()
    );
    let refused = [
        (stack.owner().get(&format!("{url}?limit=0")).await, 400),
        (
            stack
                .owner()
                .get(&format!("{other_campaign}?cursor={cursor}"))
                .await,
            404,
        ),
        (
            stack.owner().get(&format!("{url}?cursor=abc.def")).await,
            400,
        ),
        (stack.team("marketing").get(&url).await, 404),
        (
            stack
                .caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())])
                .get(&url)
                .await,
            403,
        ),
        (stack.anonymous().get(&url).await, 401),
    ];
    for (reply, status) in refused {
        assert_eq!(reply.status, status, "{:?}", reply.body);
        assert!(!reply.body.to_string().contains(&sent.contacts[0].1));
    }
}

#[tokio::test]
async fn a_contacts_engagement_counts_a_persons_opens_and_clicks_and_its_latest_activity_never_moves_back()
 {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 2).await;
    stack.drain_queues().await;
    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    let clicked_at = at(Duration::minutes(20));
    let events = [
        (
            "Open",
            json!({ "timestamp": at(Duration::minutes(10)), "userAgent": HUMAN }),
        ),
        (
            "Click",
            json!({ "timestamp": clicked_at, "userAgent": HUMAN, "link": "https://label.example/clip" }),
        ),
        (
            "Open",
            json!({ "timestamp": at(Duration::minutes(40)), "userAgent": "Mozilla/5.0 (compatible; BingPreview/1.0b)" }),
        ),
    ];
    for (kind, detail) in events {
        outbox::publish_event(&message.message_id, kind, detail)
            .await
            .unwrap();
    }
    stack.drain_queues().await;
    // An earlier open, told late, in a batch of its own, twice.
    for _ in 0..2 {
        outbox::publish_event(
            &message.message_id,
            "Open",
            json!({ "timestamp": at(Duration::minutes(5)), "userAgent": HUMAN }),
        )
        .await
        .unwrap();
        stack.drain_queues().await;
    }

    let url = format!("{}/{contact}", stack.contacts_url());
    let read = stack.owner().get(&url).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    let engagement = &read.body["engagement"];
    assert_eq!(
        (
            &engagement["sent"],
            &engagement["opened"],
            &engagement["clicked"],
            &engagement["replied"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(0)),
        "one message, opened and clicked by the person, the scanner left out: {engagement}"
    );
    let latest = engagement["last_activity_at"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(latest).unwrap(),
        chrono::DateTime::parse_from_rfc3339(&clicked_at).unwrap(),
        "the person's click, not the scanner's later open nor the late earlier open"
    );

    let listed = stack
        .owner()
        .get(&format!("{}?contact_role=press", stack.contacts_url()))
        .await;
    let items = listed.body["items"].as_array().unwrap();
    let listed_engagement = |id: &str| {
        items
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["engagement"].clone())
            .unwrap()
    };
    assert_eq!(&listed_engagement(contact), engagement);
    let quiet = listed_engagement(&sent.contacts[1].0);
    assert_eq!(quiet["sent"], 1, "{quiet}");
    assert_eq!(quiet["opened"], 0, "{quiet}");
    assert!(quiet["last_activity_at"].is_null(), "{quiet}");

    let changed = stack
        .owner()
        .put(&url, &json!({ "company": "Radio Nova" }))
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(&changed.body["engagement"], engagement, "an edit keeps it");
}

/// The loop a new user tries on the local stack: read, click, leave, bounce, send again.
#[tokio::test]
async fn a_readers_clicks_an_unsubscribe_and_a_bounce_are_counted_and_the_next_campaign_skips_who_left()
 {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 3).await;
    stack.drain_queues().await;
    let (reader, reader_address) = &sent.contacts[0];
    let (leaver, leaver_address) = &sent.contacts[1];
    let (bounced, bounced_address) = &sent.contacts[2];
    // Nobody reads within seconds of delivery: only proxies and scanners do (`machine`).
    tokio::time::sleep(
        (mailing::tracking::machine::TOO_SOON + Duration::milliseconds(300))
            .to_std()
            .unwrap(),
    )
    .await;

    let message = message_to(reader_address).await;
    let browser = [("user-agent", HUMAN)];
    let pixel = link(&message, "/api/email/track/open/");
    assert_eq!(stack.raw("GET", &pixel, &browser, b"").await.status, 200);
    for (i, click) in links(&message, "/api/email/track/click/")
        .iter()
        .enumerate()
    {
        if i > 0 {
            // A person, not a scanner walking every link at once.
            tokio::time::sleep(
                (mailing::tracking::machine::BURST + Duration::milliseconds(300))
                    .to_std()
                    .unwrap(),
            )
            .await;
        }
        let followed = stack.raw("GET", click, &browser, b"").await;
        assert_eq!(followed.status, 302, "{}", followed.text());
    }
    let leaving = message_to(leaver_address).await;
    let header = leaving.headers.get("List-Unsubscribe").unwrap();
    let start = header.find("/api/email/unsubscribe/").unwrap();
    let target = &header[start..start + header[start..].find('>').unwrap()];
    let left = stack
        .raw(
            "POST",
            target,
            &[("content-type", "application/x-www-form-urlencoded")],
            b"List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(left.status, 200, "{}", left.text());
    devstack::inject::inject("bounce", bounced_address, None, Default::default())
        .await
        .unwrap();
    stack.drain_queues().await;

    let counted = engagement(&stack, &sent.campaign_url).await;
    for (counter, expected) in [
        ("delivered", 3),
        ("unique_opens", 1),
        ("clicks", 2),
        ("unique_clicks", 1),
        ("machine_opens", 0),
        ("machine_clicks", 0),
        ("unsubscribes", 1),
        ("bounces", 1),
    ] {
        assert_eq!(counted[counter], expected, "{counter}: {counted}");
    }
    let per_link: Vec<(u64, &str, u64, u64)> = counted["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["link_id"].as_u64().unwrap(),
                l["url"].as_str().unwrap().split('?').next().unwrap(),
                l["clicks"].as_u64().unwrap(),
                l["unique_clicks"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per_link,
        [
            (0, "https://label.example/presse", 1, 1),
            (1, "https://label.example/clip", 1, 1)
        ],
        "{counted}"
    );
    let mut read = types(&history(&stack, reader).await)
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    read.truncate(3);
    read.sort();
    assert_eq!(read, ["email_clicked", "email_clicked", "email_opened"]);
    assert_eq!(types(&history(&stack, leaver).await)[0], "unsubscribed");
    assert_eq!(types(&history(&stack, bounced).await)[0], "bounced");
    assert_eq!(status(&stack, leaver).await, "unsubscribed");
    assert_eq!(status(&stack, bounced).await, "bounced");
    let addresses = [
        mailing::domain::EmailAddress::parse(bounced_address).unwrap(),
        mailing::domain::EmailAddress::parse(leaver_address).unwrap(),
    ];
    let addresses: Vec<_> = addresses.iter().collect();
    for (role, expected, why) in [
        (
            mailing::domain::ContactRole::Press,
            2,
            "the bounce everywhere, and the leaver for the press team they left",
        ),
        (
            mailing::domain::ContactRole::Label,
            1,
            "leaving the press list says nothing of the label team's",
        ),
    ] {
        let suppressed =
            mailing::store::suppression::suppressed(stack.app(), stack.artist, role, &addresses)
                .await
                .unwrap();
        assert_eq!(suppressed.len(), expected, "{why}");
    }

    let next = send_press_campaign(&stack, &sent.domain).await;
    let campaign = stack.owner().get(&next).await;
    assert_eq!(campaign.body["status"], "sent", "{:?}", campaign.body);
    let sends = stack.owner().get(&format!("{next}/sends")).await;
    let reached: Vec<&str> = sends.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["contact_id"].as_str().unwrap())
        .collect();
    assert_eq!(reached, [reader.as_str()], "{:?}", sends.body);
    let newest = outbox::accepted(&Filter {
        to: Some(leaver_address.clone()),
        limit: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(newest.len(), 1, "the leaver got the first campaign only");
}

#[tokio::test]
async fn every_event_type_told_twice_and_replayed_is_recorded_and_counted_once() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    stack.drain_queues().await;
    let (contact, address) = &sent.contacts[0];
    let message = message_to(address).await;
    let later = |minutes| at(Duration::minutes(minutes));
    let events = [
        (
            "Delivery",
            json!({ "timestamp": later(1), "recipients": [address] }),
            "email_delivered",
        ),
        (
            "Open",
            json!({ "timestamp": later(20), "userAgent": HUMAN }),
            "email_opened",
        ),
        (
            "Click",
            json!({ "timestamp": later(21), "userAgent": HUMAN, "link": "https://label.example/presse" }),
            "email_clicked",
        ),
        (
            "DeliveryDelay",
            json!({ "timestamp": later(2), "delayType": "MailboxFull", "delayedRecipients": [{ "emailAddress": address }] }),
            "delivery_delayed",
        ),
        ("Reject", json!({ "reason": "Bad content" }), "rejected"),
        (
            "RenderingFailure",
            json!({ "errorMessage": "no template", "templateName": "x" }),
            "rendering_failed",
        ),
        (
            "Bounce",
            json!({ "bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": later(3), "bouncedRecipients": [{ "emailAddress": address }] }),
            "bounced",
        ),
        (
            "Subscription",
            json!({ "timestamp": later(30), "contactList": "press", "newTopicPreferences": { "unsubscribeAll": true } }),
            "unsubscribed",
        ),
        (
            "Complaint",
            json!({ "timestamp": later(40), "complainedRecipients": [{ "emailAddress": address }], "complaintFeedbackType": "abuse" }),
            "complained",
        ),
    ];
    let before = history(&stack, contact).await.len();
    for round in 0..3 {
        for (kind, detail, _) in &events {
            // Told twice in a batch, and the whole batch again in the next rounds.
            for _ in 0..2 {
                outbox::publish_event(&message.message_id, kind, detail.clone())
                    .await
                    .unwrap();
            }
        }
        stack.drain_queues().await;
        let timeline = history(&stack, contact).await;
        assert_eq!(
            timeline.len() - before,
            events.len(),
            "round {round}: {:?}",
            types(&timeline)
        );
    }
    let timeline = history(&stack, contact).await;
    for (_, _, interaction) in &events {
        assert_eq!(
            types(&timeline)
                .iter()
                .filter(|t| *t == interaction)
                .count(),
            1 + usize::from(*interaction == "email_delivered"),
            "{interaction}: {:?}",
            types(&timeline)
        );
    }
    let counted = engagement(&stack, &sent.campaign_url).await;
    for (counter, expected) in [
        ("delivered", 2),
        ("opens", 1),
        ("unique_opens", 1),
        ("clicks", 1),
        ("unique_clicks", 1),
        ("delivery_delays", 1),
        ("rejects", 1),
        ("rendering_failures", 1),
        ("soft_bounces", 1),
        ("unsubscribes", 1),
        ("complaints", 1),
    ] {
        assert_eq!(counted[counter], expected, "{counter}: {counted}");
    }
}

#[tokio::test]
async fn the_web_view_shows_the_message_as_sent_with_the_same_tracked_links() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    let (_, address) = &sent.contacts[0];
    let message = message_to(address).await;
    let created = stack
        .owner()
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "press", "name": "Vue",
                "subject": "Bonjour {{ contact.first_name }}",
                "content": "<p>Bonjour {{ contact.first_name }}</p><p><a href=\"https://label.example/presse\">Dossier</a> <a href=\"{{ web_view_url }}\">Voir en ligne</a> <a href=\"{{ unsubscribe_url }}\">stop</a></p>",
                "from_name": "Label Nova", "from_email": message.from.rsplit('<').next().unwrap().trim_end_matches('>'),
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let url = format!(
        "/api/artists/{}/campaigns/{}",
        stack.artist,
        created.body["id"].as_str().unwrap()
    );
    assert_eq!(
        stack
            .owner()
            .post(&format!("{url}/send"), &json!({}))
            .await
            .status,
        202
    );
    stack.drain_sending().await;
    stack.drain_sending().await;
    let message = message_to(address).await;
    let view = link(&message, "/api/email/view/");
    let page = stack.raw("GET", &view, &[], b"").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(
        html.contains("Bonjour In&#232;s0"),
        "personalized for its recipient: {html}"
    );
    assert_eq!(
        link(&message, "/api/email/track/click/"),
        html[html.find("/api/email/track/click/").unwrap()..]
            .split('"')
            .next()
            .unwrap(),
        "the same click token as in the message"
    );
    let other_kind = view.replace("/api/email/view/", "/api/email/view/x");
    assert_eq!(stack.raw("GET", &other_kind, &[], b"").await.status, 404);
    let pixel_token = link(&message, "/api/email/track/open/");
    let misused = pixel_token.replace("/api/email/track/open/", "/api/email/view/");
    assert_eq!(stack.raw("GET", &misused, &[], b"").await.status, 404);
}

#[tokio::test]
async fn a_burst_of_opens_costs_two_transactions_per_batch_not_one_write_per_open() {
    const N: usize = 60;
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, N).await;
    stack.drain_queues().await;
    for (_, address) in &sent.contacts {
        let message = message_to(address).await;
        outbox::publish_event(
            &message.message_id,
            "Open",
            json!({ "timestamp": at(Duration::minutes(15)), "userAgent": HUMAN }),
        )
        .await
        .unwrap();
    }
    let before = stack.requests.by_operation();
    let mut batches = 0;
    while stack.poll_once("ses-events").await > 0 {
        batches += 1;
    }
    let spent = spent(&before, &stack.requests.by_operation());
    let count = |operation: &str| {
        spent
            .get(&("dynamodb".to_owned(), operation.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    let report = format!("{batches} batches: {spent:?}");
    // Per batch: one BatchGetItem of the sends, one transaction holding the interactions, the
    // first-open marks and each counter item once, then one BatchGetItem of the openers'
    // points and one transaction moving them in their team's score distribution; per person
    // who opened, one UpdateItem of the message's open time and one of the contact's latest
    // activity.
    assert_eq!(count("TransactWriteItems"), 2 * batches, "{report}");
    assert_eq!(count("BatchGetItem"), 2 * batches, "{report}");
    assert_eq!(count("UpdateItem"), 2 * N as u64, "{report}");
    assert_eq!(count("PutItem"), 0, "{report}");
    assert_eq!(count("Scan"), 0, "{report}");
    let counted = engagement(&stack, &sent.campaign_url).await;
    assert_eq!(counted["unique_opens"], N, "{counted}");
}
