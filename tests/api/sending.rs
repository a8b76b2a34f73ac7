//! Sending a campaign end to end through the emulator: send → dispatch → sender → SES.

use std::collections::BTreeMap;

use mailing::domain::CampaignId;
use mailing::sending::DispatchMessage;
use serde_json::{Value, json};

use crate::support::{TestStack, spent};

/// What the emulated SES accepted from `domain`, by recipient: (count, raw MIME of the newest).
async fn outbox(domain: &str) -> BTreeMap<String, (usize, String)> {
    let accepted = devstack::outbox::accepted(&devstack::outbox::Filter {
        from_domain: Some(domain.to_owned()),
        limit: 100_000,
        ..Default::default()
    })
    .await
    .expect("the emulator lists its outbox");
    let mut found = BTreeMap::new();
    for message in accepted {
        assert_eq!(message.destinations.len(), 1, "one recipient per message");
        let entry = found
            .entry(message.destinations[0].clone())
            .or_insert_with(|| (0, String::from_utf8_lossy(&message.raw).into_owned()));
        entry.0 += 1;
    }
    found
}

struct Scene {
    domain: String,
    campaign: String,
    expected: Vec<String>,
}

/// A press team with 20 contacts the campaign chooses and 9 it must not reach.
async fn scene(stack: &TestStack) -> Scene {
    let owner = stack.owner();
    let domain = format!(
        "news-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let registered = stack.sending_domain(&domain).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    let contacts = stack.contacts_url();
    let mut expected = Vec::new();
    for i in 0..29 {
        let (tags, country) = match i {
            0..20 => (json!(["radio"]), "FR"),
            20..25 => (json!(["radio"]), "US"),
            _ => (json!(["tv"]), "FR"),
        };
        let email = format!("journaliste{i}@media-{domain}");
        owner
            .create_contact(
                &contacts,
                json!({ "email": email, "contact_role": "press", "first_name": format!("Zoé{i}"), "tags": tags, "metadata": { "country": country } }),
            )
            .await;
        if i < 20 {
            expected.push(email);
        }
    }
    // An unsubscribed and a suppressed contact who would otherwise match.
    let gone = owner
        .create_contact(&contacts, json!({ "email": format!("parti@media-{domain}"), "contact_role": "press", "tags": ["radio"], "metadata": { "country": "FR" } }))
        .await;
    let reply = owner
        .put(
            &format!("{contacts}/{gone}"),
            &json!({ "status": "unsubscribed" }),
        )
        .await;
    assert_eq!(reply.status, 200);
    let bounced = format!("rebond@media-{domain}");
    owner
        .create_contact(&contacts, json!({ "email": bounced, "contact_role": "press", "tags": ["radio"], "metadata": { "country": "FR" } }))
        .await;
    mailing::store::suppression::suppress(
        stack.app(),
        None,
        &mailing::domain::EmailAddress::parse(&bounced).unwrap(),
        mailing::store::suppression::SuppressionReason::HardBounce,
    )
    .await
    .unwrap();
    let campaign = owner
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "press",
                "name": "Soliloquy",
                "subject": "Bonjour {{ contact.first_name }} : l'album sort le 14 mars",
                "content": "<html><body><p>Bonjour {{ contact.first_name }},</p><p><a href=\"https://label.example/presse\">Dossier de presse</a></p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
                "recipients": { "tags_any": ["radio"], "conditions": [{ "field": "metadata.country", "op": "eq", "value": "fr" }] },
                "from_name": "Label Nova",
                "from_email": format!("presse@{domain}"),
            }),
        )
        .await;
    assert_eq!(campaign.status, 201, "{:?}", campaign.body);
    Scene {
        domain,
        campaign: campaign.body["id"].as_str().unwrap().to_owned(),
        expected,
    }
}

#[tokio::test]
async fn a_campaign_reaches_each_chosen_contact_exactly_once_despite_duplicate_deliveries() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    assert_eq!(started.body["status"], "sending");
    let again = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(again.status, 409, "a second send cannot start it twice");
    assert_eq!(again.error_code(), "campaign_not_sendable");

    // SQS delivers at least once: the dispatch arrives three times.
    let replay = DispatchMessage {
        rest_only: false,
        slot: None,
        artist_id: stack.artist,
        campaign_id: scene.campaign.parse::<CampaignId>().unwrap(),
        after: None,
    };
    for _ in 0..2 {
        mailing::sending::enqueue_dispatch(stack.app(), &replay)
            .await
            .unwrap();
    }
    stack.drain_queues().await;
    stack.drain_queues().await;

    let outbox = outbox(&scene.domain).await;
    let reached: Vec<&String> = outbox.keys().collect();
    let mut expected: Vec<&String> = scene.expected.iter().collect();
    expected.sort();
    assert_eq!(reached, expected);
    for (to, (count, raw)) in &outbox {
        assert_eq!(*count, 1, "{to} got {count} messages");
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{raw}"
        );
        assert!(raw.contains("/api/email/track/click/"), "links are tracked");
        assert!(raw.contains(&format!(
            "Feedback-ID: {}:press:",
            scene.campaign.replace('-', "")
        )));
    }
    let campaign = stack.owner().get(&url).await.body;
    assert_eq!(campaign["status"], "sent", "{campaign}");
    assert_eq!(campaign["recipient_count"], 20);
    assert_eq!(campaign["success_count"], 20);
    assert_eq!(campaign["failed_count"], 0);
}

#[tokio::test]
async fn duplicate_batches_a_crash_after_ses_and_concurrent_sends_never_send_twice() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
    // Two send calls at once: one starts the campaign, the other is refused.
    let owner = stack.owner();
    let send_url = format!("{url}/send");
    let empty = json!({});
    let (a, b) = tokio::join!(owner.post(&send_url, &empty), owner.post(&send_url, &empty));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [202, 409], "{:?} {:?}", a.body, b.body);

    let campaign_id: CampaignId = scene.campaign.parse().unwrap();
    // A sender crashed after SES accepted the first contact's message, before recording it: its
    // row stays claimed.
    let contacts = mailing::store::contacts::find_by_email(
        stack.app(),
        stack.artist,
        mailing::domain::ContactRole::Press,
        &mailing::domain::EmailAddress::parse(&scene.expected[0]).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let dispatch = DispatchMessage {
        rest_only: false,
        slot: None,
        artist_id: stack.artist,
        campaign_id,
        after: None,
    };
    mailing::sending::dispatch(stack.app(), &dispatch)
        .await
        .unwrap();
    let claimed = mailing::store::sends::claim(stack.app(), campaign_id, &[contacts])
        .await
        .unwrap();
    assert_eq!(claimed, [contacts]);
    // Every batch is delivered three times in all.
    for _ in 0..2 {
        mailing::sending::dispatch(stack.app(), &dispatch)
            .await
            .unwrap();
    }
    stack.drain_queues().await;
    stack.drain_queues().await;

    let outbox = outbox(&scene.domain).await;
    assert!(
        outbox.values().all(|(count, _)| *count == 1),
        "{:?}",
        outbox.values().map(|(c, _)| c).collect::<Vec<_>>()
    );
    assert!(
        !outbox.contains_key(&scene.expected[0]),
        "the ambiguous one is not sent again"
    );
    assert_eq!(outbox.len(), 19);
    let campaign = owner.get(&url).await.body;
    assert_eq!(campaign["success_count"], 19);
    assert_eq!(campaign["recipient_count"], 20);
    assert_eq!(
        campaign["status"], "sending",
        "one row is still in doubt: {campaign}"
    );
}

#[tokio::test]
async fn a_campaign_from_an_unregistered_domain_or_without_recipients_is_not_sent() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let campaigns = format!("/api/artists/{}/campaigns", stack.artist);
    let body = |from: &str| {
        json!({
            "contact_role": "tour",
            "name": "Dates",
            "template_id": "0193a6f0-0000-7000-8000-000000000301",
            "from_name": "Tour",
            "from_email": from,
        })
    };
    let unregistered = owner
        .post(&campaigns, &body("tour@nowhere-registered.example"))
        .await;
    let id = unregistered.body["id"].as_str().unwrap();
    let reply = owner
        .post(&format!("{campaigns}/{id}/send"), &json!({}))
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    assert_eq!(reply.error_code(), "sender_domain_unverified");
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("POST /api/email/domains")
    );

    let domain = format!(
        "tour-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    stack.sending_domain(&domain).await;
    let registered = owner
        .post(&campaigns, &body(&format!("tour@{domain}")))
        .await;
    let id = registered.body["id"].as_str().unwrap();
    let reply = owner
        .post(&format!("{campaigns}/{id}/send"), &json!({}))
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    assert_eq!(reply.error_code(), "no_recipients");
    assert_eq!(
        owner.get(&format!("{campaigns}/{id}")).await.body["status"],
        "draft"
    );
    let press = stack.team("press");
    assert_eq!(
        press
            .post(&format!("{campaigns}/{id}/send"), &json!({}))
            .await
            .status,
        404,
        "another team's campaign"
    );
}

#[tokio::test]
async fn marketing_mail_without_an_unsubscribe_link_is_refused_with_the_check_explained() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = format!(
        "fans-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    stack.sending_domain(&domain).await;
    stack.sender_profile().await;
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": format!("fan@{domain}"), "contact_role": "marketing",
                    "consent": { "basis": "consent", "source": "newsletter" } }),
        )
        .await;
    let campaigns = format!("/api/artists/{}/campaigns", stack.artist);
    let created = owner
        .post(
            &campaigns,
            &json!({
                "contact_role": "marketing", "name": "Promo", "subject": "Le nouvel album",
                "content": "<p>Écoutez-le ici : <a href=\"https://label.example/ecouter\">écouter</a></p>",
                "from_name": "Lou", "from_email": format!("news@{domain}"),
            }),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let reply = owner
        .post(&format!("{campaigns}/{id}/send"), &json!({}))
        .await;
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    assert_eq!(reply.error_code(), "content_check_failed");
    let warnings = reply.body["error"]["details"]["warnings"]
        .as_array()
        .unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["code"] == "missing_unsubscribe_link" && w["severity"] == "error")
    );
}

async fn dispatch_now(stack: &TestStack, campaign: &str) -> Vec<mailing::domain::ContactId> {
    let campaign_id: CampaignId = campaign.parse().unwrap();
    mailing::sending::dispatch(
        stack.app(),
        &DispatchMessage {
            rest_only: false,
            slot: None,
            artist_id: stack.artist,
            campaign_id,
            after: None,
        },
    )
    .await
    .unwrap();
    let mut contacts = Vec::new();
    let page = mailing::store::contacts::list(
        stack.app(),
        &mailing::store::contacts::ListQuery {
            artist: stack.artist,
            teams: mailing::store::contacts::Teams::All,
            status: None,
            tag: None,
            limit: 200,
            after: None,
        },
    )
    .await
    .unwrap();
    for contact in page.items {
        if mailing::store::sends::get(stack.app(), campaign_id, contact.id)
            .await
            .unwrap()
            .is_some()
        {
            contacts.push(contact.id);
        }
    }
    contacts
}

async fn send_some(stack: &TestStack, campaign: &str, contacts: &[mailing::domain::ContactId]) {
    let outcome = mailing::sending::send_batch(
        stack.app(),
        &mailing::sending::SendBatch {
            variant: None,
            artist_id: stack.artist,
            campaign_id: campaign.parse().unwrap(),
            contacts: contacts.to_vec(),
            attempt: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(outcome.sent, contacts.len());
}

#[tokio::test]
async fn pausing_halfway_and_resuming_sends_to_each_contact_once() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let owner = stack.owner();
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
    let not_sending = owner.post(&format!("{url}/pause"), &json!({})).await;
    assert_eq!(not_sending.status, 409);
    assert_eq!(not_sending.error_code(), "campaign_not_pausable");
    assert_eq!(
        owner.post(&format!("{url}/send"), &json!({})).await.status,
        202
    );
    let recipients = dispatch_now(&stack, &scene.campaign).await;
    assert_eq!(recipients.len(), 20);
    send_some(&stack, &scene.campaign, &recipients[..10]).await;

    let paused = owner.post(&format!("{url}/pause"), &json!({})).await;
    assert_eq!(paused.status, 200, "{:?}", paused.body);
    assert_eq!(paused.body["status"], "paused");
    assert!(
        paused.body["status_reason"]
            .as_str()
            .unwrap()
            .starts_with("paused by")
    );
    let not_paused = owner.post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(
        not_paused.status, 409,
        "a paused campaign is resumed, not sent"
    );
    stack.drain_queues().await;
    assert_eq!(
        outbox(&scene.domain).await.len(),
        10,
        "nothing goes out while paused"
    );

    let resumed = owner.post(&format!("{url}/resume"), &json!({})).await;
    assert_eq!(resumed.status, 202, "{:?}", resumed.body);
    assert_eq!(
        owner
            .post(&format!("{url}/resume"), &json!({}))
            .await
            .error_code(),
        "campaign_not_paused"
    );
    stack.drain_queues().await;
    stack.drain_queues().await;
    let outbox = outbox(&scene.domain).await;
    assert_eq!(outbox.len(), 20);
    assert!(outbox.values().all(|(count, _)| *count == 1));
    let campaign = owner.get(&url).await.body;
    assert_eq!(campaign["status"], "sent", "{campaign}");
    assert_eq!(campaign["success_count"], 20);
}

#[tokio::test]
async fn cancelling_mid_flight_leaves_the_rest_unsent_and_says_how_many() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let owner = stack.owner();
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
    assert_eq!(
        owner.post(&format!("{url}/send"), &json!({})).await.status,
        202
    );
    let recipients = dispatch_now(&stack, &scene.campaign).await;
    send_some(&stack, &scene.campaign, &recipients[..5]).await;
    let cancelled = owner.post(&format!("{url}/cancel"), &json!({})).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["unsent"], 15);
    stack.drain_queues().await;
    assert_eq!(outbox(&scene.domain).await.len(), 5);
    let again = owner.post(&format!("{url}/cancel"), &json!({})).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "campaign_not_cancellable");
}

#[tokio::test]
async fn a_scheduled_campaign_starts_once_when_due_and_moves_or_cancels_before() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let owner = stack.owner();
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
    let now = chrono::Utc::now();
    for (at, problem) in [
        ("2020-01-01T10:00:00+01:00", "must be in the future"),
        ("2027-03-14T09:30:00", "RFC 3339"),
        ("demain", "RFC 3339"),
        ("2099-01-01T00:00:00Z", "within a year"),
    ] {
        let reply = owner
            .post(&format!("{url}/schedule"), &json!({ "at": at }))
            .await;
        assert_eq!(reply.status, 422, "{at}: {:?}", reply.body);
        assert!(
            reply.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(problem),
            "{at}: {:?}",
            reply.body
        );
    }
    let at = now + chrono::Duration::minutes(2);
    // In Paris time: the offset is kept in meaning, stored in UTC.
    let paris = at
        .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap())
        .to_rfc3339();
    let scheduled = owner
        .post(&format!("{url}/schedule"), &json!({ "at": paris }))
        .await;
    assert_eq!(scheduled.status, 200, "{:?}", scheduled.body);
    assert_eq!(scheduled.body["status"], "scheduled");
    let later = at + chrono::Duration::minutes(10);
    let moved = owner
        .post(
            &format!("{url}/schedule"),
            &json!({ "at": later.to_rfc3339() }),
        )
        .await;
    assert_eq!(
        moved.status, 200,
        "rescheduling moves the time: {:?}",
        moved.body
    );

    assert_eq!(
        mailing::sending::start_due(stack.app(), at + chrono::Duration::minutes(1))
            .await
            .unwrap(),
        0,
        "not due at the old time"
    );
    let due = later + chrono::Duration::seconds(30);
    let started: usize = mailing::sending::start_due(stack.app(), due).await.unwrap();
    assert!(started >= 1);
    assert_eq!(owner.get(&url).await.body["status"], "sending");
    // A second tick (or a second scheduler) finds nothing to start.
    let mine_again = mailing::store::campaigns::due(
        stack.app(),
        mailing::store::campaigns::Due::Start,
        due,
        100,
    )
    .await
    .unwrap()
    .into_iter()
    .filter(|c| c.artist_id == stack.artist)
    .count();
    assert_eq!(mine_again, 0);
    stack.drain_queues().await;
    stack.drain_queues().await;
    assert_eq!(outbox(&scene.domain).await.len(), 20);

    // Another campaign, scheduled then cancelled: the scheduler never starts it.
    let mut body = json!({
        "contact_role": "press", "name": "Annulée", "template_id": "0193a6f0-0000-7000-8000-000000000201",
        "recipients": { "tags_any": ["radio"] },
        "from_name": "Label", "from_email": format!("presse@{}", scene.domain),
    });
    body["name"] = json!("Annulée");
    let other = owner
        .post(&format!("/api/artists/{}/campaigns", stack.artist), &body)
        .await;
    let other_url = format!(
        "/api/artists/{}/campaigns/{}",
        stack.artist,
        other.body["id"].as_str().unwrap()
    );
    assert_eq!(
        owner
            .post(
                &format!("{other_url}/schedule"),
                &json!({ "at": at.to_rfc3339() })
            )
            .await
            .status,
        200
    );
    let cancelled = owner.post(&format!("{other_url}/cancel"), &json!({})).await;
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["unsent"], 0);
    mailing::sending::start_due(stack.app(), due).await.unwrap();
    assert_eq!(owner.get(&other_url).await.body["status"], "cancelled");
}

/// Requests made between two snapshots, by (service, operation).
#[tokio::test]
async fn sending_to_a_thousand_contacts_stays_within_its_request_budget() {
    const N: u64 = 1000;
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = format!(
        "bulk-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    stack.sending_domain(&domain).await;
    stack.sender_profile().await;
    devstack::seed::contacts(
        stack.app(),
        stack.artist,
        mailing::domain::ContactRole::Marketing,
        N as usize,
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
    assert_eq!(created.status, 201, "{:?}", created.body);
    let url = format!(
        "/api/artists/{}/campaigns/{}",
        stack.artist,
        created.body["id"].as_str().unwrap()
    );
    let before = stack.requests.by_operation();
    assert_eq!(
        owner.post(&format!("{url}/send"), &json!({})).await.status,
        202
    );
    // The sending path alone: SES's events have their own consumer and budget.
    stack.drain_sending().await;
    stack.drain_sending().await;
    let spent = spent(&before, &stack.requests.by_operation());
    let count = |service: &str, operations: &[&str]| -> u64 {
        spent
            .iter()
            .filter(|((s, o), _)| s == service && operations.contains(&o.as_str()))
            .map(|(_, n)| n)
            .sum()
    };
    let report = format!("{spent:?}");
    assert_eq!(count("sesv2", &["SendEmail"]), N, "{report}");
    assert!(
        count("sqs", &["SendMessage", "SendMessageBatch"]) <= N.div_ceil(500) + 2,
        "{report}"
    );
    assert_eq!(count("dynamodb", &["Scan"]), 0, "{report}");
    // Write requests: the send rows created a hundred per transaction; per batch of 50, one
    // transaction claiming its rows, one recording their outcomes, the quota reserved and the
    // counters added; a few per page and per campaign. (Each row is written three times in
    // all, in transactions: six write units per recipient.)
    let writes = count(
        "dynamodb",
        &[
            "PutItem",
            "UpdateItem",
            "TransactWriteItems",
            "BatchWriteItem",
        ],
    );
    assert!(
        writes <= N / 100 + 4 * N / 50 + 10,
        "{writes} writes: {report}"
    );
    assert_eq!(outbox(&domain).await.len() as u64, N);
    assert_eq!(owner.get(&url).await.body["status"], "sent");
}

/// Every message waiting in `queue_url`, as SQS holds them (bodies), until it is empty.
async fn receive_all(stack: &TestStack, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let received = stack
            .app()
            .aws
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for message in messages {
            bodies.push(message.body.unwrap_or_default());
            stack
                .app()
                .aws
                .sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn each_accepted_message_is_in_the_local_outbox_and_reaches_the_events_queue_as_ses_events() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
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

    // The outbox, as a developer reads it: no token needed, parsed and personalized.
    let listed = stack
        .anonymous()
        .get(&format!(
            "/_local/outbox?from_domain={}&limit=50",
            scene.domain
        ))
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    let mut message_ids = std::collections::BTreeSet::new();
    for item in items {
        let to = item["to"][0].as_str().unwrap();
        let number = to
            .strip_prefix("journaliste")
            .and_then(|rest| rest.split('@').next())
            .unwrap();
        assert_eq!(
            item["subject"],
            format!("Bonjour Zoé{number} : l'album sort le 14 mars")
        );
        assert_eq!(
            item["from"],
            format!("Label Nova <presse@{}>", scene.domain)
        );
        assert!(
            item["html"]
                .as_str()
                .unwrap()
                .contains(&format!("Bonjour Zo&#233;{number},")),
            "the renderer writes non-ASCII HTML as character references: {}",
            item["html"]
        );
        assert!(
            item["text"]
                .as_str()
                .unwrap()
                .contains(&format!("Bonjour Zoé{number},"))
        );
        assert_eq!(
            item["headers"]["List-Unsubscribe-Post"],
            "List-Unsubscribe=One-Click"
        );
        assert!(
            item["headers"]["List-Unsubscribe"]
                .as_str()
                .unwrap()
                .contains("/api/email/unsubscribe/")
        );
        assert_eq!(item["tags"]["campaign"], scene.campaign.replace('-', ""));
        message_ids.insert(item["message_id"].as_str().unwrap().to_owned());
    }
    let one = stack
        .anonymous()
        .get(&format!(
            "/_local/outbox?to={}&limit=5",
            scene.expected[3].to_uppercase()
        ))
        .await;
    assert_eq!(one.body["items"].as_array().unwrap().len(), 1);
    for bad in ["limit=0", "limit=many", "colour=blue"] {
        let reply = stack
            .anonymous()
            .get(&format!("/_local/outbox?{bad}"))
            .await;
        assert_eq!(reply.status, 400, "{bad}");
    }

    // What SES publishes through the configuration set, wrapped by SNS for the events queue.
    let bodies = receive_all(&stack, &stack.refs["EventsQueue"]).await;
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for body in &bodies {
        let envelope: Value = serde_json::from_str(body).unwrap();
        assert_eq!(envelope["Type"], "Notification");
        assert_eq!(envelope["TopicArn"], stack.refs["EventsTopic"].as_str());
        let event: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        let kind = event["eventType"].as_str().unwrap().to_owned();
        match kind.as_str() {
            "Send" => assert!(event["send"].is_object()),
            "Delivery" => assert_eq!(
                event["delivery"]["recipients"],
                event["mail"]["destination"]
            ),
            other => panic!("unexpected {other}"),
        }
        let mail = &event["mail"];
        assert_eq!(mail["tags"]["campaign"][0], scene.campaign.replace('-', ""));
        assert!(mail["tags"]["ses:configuration-set"][0].is_string());
        assert!(mail["tags"]["send"][0].is_string());
        seen.entry(mail["messageId"].as_str().unwrap().to_owned())
            .or_default()
            .push(kind);
    }
    assert_eq!(
        seen.keys()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        message_ids
    );
    for kinds in seen.values_mut() {
        kinds.sort();
        assert_eq!(kinds, &["Delivery", "Send"]);
    }
}

#[tokio::test]
async fn the_artists_daily_quota_pauses_a_campaign_that_would_pass_it_until_resumed() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let owner = stack.owner();
    let campaigns = format!("/api/artists/{}/campaigns", stack.artist);
    let first = format!("{campaigns}/{}", scene.campaign);
    let mut tight = stack.app().clone();
    tight.config.daily_send_quota = 30;

    assert_eq!(
        owner
            .post(&format!("{first}/send"), &json!({}))
            .await
            .status,
        202
    );
    stack.drain_queues_with(&tight).await;
    stack.drain_queues_with(&tight).await;
    assert_eq!(owner.get(&first).await.body["status"], "sent");

    // The same twenty again in a second campaign: ten are left in the day.
    let original = owner.get(&first).await.body;
    let copy = owner
        .post(
            &campaigns,
            &json!({
                "contact_role": "press", "name": "Relance",
                "subject": original["subject"], "content": original["content"],
                "recipients": original["recipients"],
                "from_name": original["from_name"], "from_email": original["from_email"],
            }),
        )
        .await;
    assert_eq!(copy.status, 201, "{:?}", copy.body);
    let second = format!("{campaigns}/{}", copy.body["id"].as_str().unwrap());
    assert_eq!(
        owner
            .post(&format!("{second}/send"), &json!({}))
            .await
            .status,
        202
    );
    stack.drain_queues_with(&tight).await;
    stack.drain_queues_with(&tight).await;
    let paused = owner.get(&second).await.body;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert!(
        paused["status_reason"]
            .as_str()
            .unwrap()
            .contains("daily send quota (30)"),
        "{paused}"
    );
    assert_eq!(paused["success_count"], 0);
    assert_eq!(
        outbox(&scene.domain)
            .await
            .values()
            .map(|(n, _)| n)
            .sum::<usize>(),
        20
    );
    assert_eq!(
        mailing::store::quota::used(
            stack.app(),
            &mailing::store::quota::Quota::Artist(stack.artist),
            chrono::Utc::now()
        )
        .await
        .unwrap(),
        20,
        "a refused batch takes nothing from the day"
    );

    // A larger quota (a new day, or the parameter raised): resuming sends to the twenty.
    let mut roomy = stack.app().clone();
    roomy.config.daily_send_quota = 100;
    assert_eq!(
        owner
            .post(&format!("{second}/resume"), &json!({}))
            .await
            .status,
        202
    );
    stack.drain_queues_with(&roomy).await;
    stack.drain_queues_with(&roomy).await;
    assert_eq!(owner.get(&second).await.body["status"], "sent");
    let outbox = outbox(&scene.domain).await;
    assert_eq!(outbox.len(), 20);
    assert!(
        outbox.values().all(|(n, _)| *n == 2),
        "once per campaign each"
    );
}

#[tokio::test]
async fn a_test_send_reaches_only_the_given_addresses_marked_as_a_test() {
    let stack = TestStack::new().await;
    let scene = scene(&stack).await;
    let owner = stack.owner();
    let url = format!("/api/artists/{}/campaigns/{}", stack.artist, scene.campaign);
    let test = format!("{url}/test");
    // Addresses of this test's own (the emulator's outbox outlives a test run).
    let lea = format!("lea.martin@{}", scene.domain);
    let dir = format!("dir@{}", scene.domain);
    let six: Vec<String> = (0..6).map(|i| format!("t{i}@label.example")).collect();
    for (body, field) in [
        (json!({ "to": [] }), "to"),
        (json!({ "to": six }), "to"),
        (json!({ "to": ["not an address"] }), "to[0]"),
        (
            json!({ "to": ["lea@label.example", "LEA@label.example"] }),
            "to[1]",
        ),
        (
            json!({ "to": ["lea@label.example"], "contact_id": "nope" }),
            "contact_id",
        ),
    ] {
        let reply = owner.post(&test, &body).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert!(
            reply.body["error"]["details"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{body}: {:?}",
            reply.body
        );
    }
    let unknown = owner
        .post(&test, &json!({ "to": ["lea@label.example"], "contact_id": mailing::domain::ContactId::new().to_string() }))
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(owner.post(&test, &json!({ "bcc": [] })).await.status, 422);

    let reply = owner.post(&test, &json!({ "to": [&lea, &dir] })).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items
            .iter()
            .all(|i| i["status"] == "sent" && i["message_id"].is_string())
    );

    let listed = stack
        .anonymous()
        .get(&format!("/_local/outbox?to={lea}&limit=5"))
        .await;
    let message = &listed.body["items"][0];
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    // Personalized as the campaign's first recipient would see it, and said to be a test.
    let subject = message["subject"].as_str().unwrap();
    assert!(subject.starts_with("[TEST] Bonjour Zoé"), "{subject}");
    assert_eq!(message["to"], json!([lea]));
    assert_eq!(message["tags"]["test"], "true");
    assert_eq!(message["tags"]["campaign"], scene.campaign.replace('-', ""));

    // Nothing about the campaign moved, and nobody on its list got anything.
    let campaign = owner.get(&url).await.body;
    assert_eq!(campaign["status"], "draft");
    assert_eq!(campaign["recipient_count"], 0);
    let outbox = outbox(&scene.domain).await;
    assert_eq!(outbox.keys().collect::<Vec<_>>(), [&dir, &lea]);
    assert_eq!(
        mailing::store::quota::used(
            stack.app(),
            &mailing::store::quota::Quota::Artist(stack.artist),
            chrono::Utc::now()
        )
        .await
        .unwrap(),
        2,
        "tests count in the day's quota"
    );
}
