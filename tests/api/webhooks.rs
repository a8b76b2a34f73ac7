//! The other providers' webhooks: verified, recorded as SES's events would be, once.

use chrono::{DateTime, Utc};
use mailing::domain::{ArtistId, CampaignId, ContactId, ContactRole};
use mailing::tracking::SendRef;
use mailing::webhooks::{mailgun, sendgrid};
use serde_json::{Value, json};

use devstack::fake_providers::Taken;

use crate::support::{RawReply, TestStack};
use crate::tracking::{HUMAN, engagement, history, send_press_campaign, sent_campaign};

/// The custom arguments our sender gives the message of `contact` in `campaign_url`.
fn ids(stack: &TestStack, campaign_url: &str, contact: &str) -> Value {
    let send = SendRef {
        artist: stack.artist,
        role: ContactRole::Press,
        campaign: campaign_url
            .rsplit('/')
            .next()
            .unwrap()
            .parse::<CampaignId>()
            .unwrap(),
        contact: contact.parse::<ContactId>().unwrap(),
    };
    json!({
        "artist": send.artist.to_string(),
        "role": "press",
        "campaign": send.campaign.to_string(),
        "contact": send.contact.to_string(),
        "send": send.send_id().to_string(),
    })
}

async fn postmark(stack: &TestStack, authorization: &str, event: &Value) -> RawReply {
    stack
        .raw(
            "POST",
            "/api/email/webhooks/postmark",
            &[
                ("content-type", "application/json"),
                ("authorization", authorization),
            ],
            event.to_string().as_bytes(),
        )
        .await
}

async fn mailgun_post(stack: &TestStack, body: &Value) -> RawReply {
    stack
        .raw(
            "POST",
            "/api/email/webhooks/mailgun",
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
}

async fn sendgrid_post(
    stack: &TestStack,
    signature: &str,
    timestamp: i64,
    body: &[u8],
) -> RawReply {
    stack
        .raw(
            "POST",
            "/api/email/webhooks/sendgrid",
            &[
                ("content-type", "application/json"),
                (sendgrid::SIGNATURE_HEADER, signature),
                (sendgrid::TIMESTAMP_HEADER, &timestamp.to_string()),
            ],
            body,
        )
        .await
}

fn received(reply: &RawReply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    serde_json::from_slice(&reply.body).unwrap()
}

#[tokio::test]
async fn postmark_mailgun_and_sendgrid_events_count_as_ses_events_and_once_however_often_posted() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 3).await;
    stack.drain_queues().await;
    let before = engagement(&stack, &sent.campaign_url).await;
    let [(reader, _), (bouncing, bouncing_address), (clicker, _)] =
        <[(String, String); 3]>::try_from(sent.contacts.clone()).unwrap();
    let now = Utc::now();
    let stamp = |offset: i64| (now + chrono::Duration::seconds(offset)).to_rfc3339();
    // A person reads minutes after delivery (a scanner, within seconds: counted apart).
    let later = 600;

    let open = json!({
        "RecordType": "Open", "MessageStream": "broadcast", "FirstOpen": true,
        "Recipient": "ignored@example.com", "ReceivedAt": stamp(later), "UserAgent": HUMAN,
        "Metadata": ids(&stack, &sent.campaign_url, &reader),
    });
    let authorization = stack.providers.postmark.header();
    let bounce = mailgun::signed(
        &stack.providers.mailgun_signing_key,
        now.timestamp(),
        "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
        json!({
            "event": "failed", "severity": "permanent", "reason": "bounce",
            "timestamp": now.timestamp() as f64 - 20.0, "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "recipient": bouncing_address,
            "delivery-status": { "code": 550, "message": "5.1.1 no such user" },
            "user-variables": ids(&stack, &sent.campaign_url, &bouncing),
        }),
    );
    let mut click = ids(&stack, &sent.campaign_url, &clicker);
    click.as_object_mut().unwrap().extend(
        json!({
            "email": "ignored@example.com", "timestamp": now.timestamp() + later + 60, "event": "click",
            "url": "https://label.example/presse", "useragent": HUMAN,
            "sg_event_id": "sg-click-1", "sg_message_id": "m-1",
        })
        .as_object()
        .unwrap()
        .clone(),
    );
    let key = stack.providers.sendgrid_key();
    let (signature, body) = sendgrid::signed(&key, now.timestamp(), &json!([click]));

    for time in 0..2 {
        let answers = [
            received(&postmark(&stack, &authorization, &open).await),
            received(&mailgun_post(&stack, &bounce).await),
            received(&sendgrid_post(&stack, &signature, now.timestamp(), &body).await),
        ];
        for answer in answers {
            assert_eq!(answer, json!({ "events": 1, "queued": 1 }), "post {time}");
        }
        stack.drain_queues().await;
        let counted = engagement(&stack, &sent.campaign_url).await;
        for (counter, more) in [
            ("delivered", 0),
            // The click proves its reader opened too, as with SES's events.
            ("unique_opens", 2),
            ("opens", 1),
            ("clicks", 1),
            ("unique_clicks", 1),
            ("bounces", 1),
        ] {
            assert_eq!(
                counted[counter].as_u64().unwrap(),
                before[counter].as_u64().unwrap() + more,
                "{counter} after post {time}: {counted}"
            );
        }
        assert_eq!(counted["links"][0]["unique_clicks"], 1, "{counted}");
    }
    let bounced = stack
        .owner()
        .get(&format!("{}/{bouncing}", stack.contacts_url()))
        .await;
    assert_eq!(bounced.body["status"], "bounced", "{:?}", bounced.body);
    let timeline = history(&stack, &reader).await;
    assert!(
        timeline
            .iter()
            .any(|item| item["interaction_type"] == "email_opened"),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn a_forged_stale_or_unknown_webhook_is_refused_and_changes_nothing() {
    let stack = TestStack::new().await;
    // What the buckets' notifications send when they are set up.
    stack.drain_queues().await;
    let artist = ArtistId::new();
    let args = json!({
        "artist": artist.to_string(), "role": "press",
        "campaign": CampaignId::new().to_string(), "contact": ContactId::new().to_string(),
    });
    let now = Utc::now();
    let event =
        json!({ "RecordType": "Delivery", "DeliveredAt": now.to_rfc3339(), "Metadata": args });
    let wrong = mailing::webhooks::postmark::Credentials {
        user: stack.providers.postmark.user.clone(),
        password: "guessed".into(),
    };
    for authorization in [wrong.header(), String::new()] {
        assert_eq!(postmark(&stack, &authorization, &event).await.status, 401);
    }
    let data = json!({ "event": "delivered", "timestamp": now.timestamp() as f64, "user-variables": args });
    let forged = mailgun::signed(
        "not-the-signing-key",
        now.timestamp(),
        "t0k3n",
        data.clone(),
    );
    let stale = mailgun::signed(
        &stack.providers.mailgun_signing_key,
        now.timestamp() - 3600,
        "t0k3n",
        data,
    );
    for body in [forged, stale] {
        assert_eq!(mailgun_post(&stack, &body).await.status, 401);
    }
    let other = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
    )
    .unwrap();
    let (signature, body) = sendgrid::signed(&other, now.timestamp(), &json!([]));
    assert_eq!(
        sendgrid_post(&stack, &signature, now.timestamp(), &body)
            .await
            .status,
        401
    );
    let (signature, body) =
        sendgrid::signed(&stack.providers.sendgrid_key(), now.timestamp(), &json!([]));
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(
        sendgrid_post(&stack, &signature, now.timestamp(), &tampered)
            .await
            .status,
        401
    );
    let unknown = stack
        .raw("POST", "/api/email/webhooks/sparkpost", &[], b"{}")
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(stack.drain_queues().await, 0, "nothing was queued");
}

/// The provider's delivery of each message at `at` and an open of the first ten minutes later,
/// as its webhook posts them.
async fn post_events(stack: &TestStack, taken: &[Taken], at: DateTime<Utc>) {
    for (i, message) in taken.iter().enumerate() {
        let mut events = vec![("delivered", at)];
        if i == 0 {
            events.push(("opened", at + chrono::Duration::minutes(10)));
        }
        for (event, when) in events {
            let post =
                devstack::provider_events::webhook(&stack.providers, message, event, when).unwrap();
            let headers: Vec<(&str, &str)> = post
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            received(&stack.raw("POST", &post.path, &headers, &post.body).await);
        }
    }
}

#[tokio::test]
async fn campaigns_through_postmark_mailgun_and_sendgrid_count_as_through_ses_once_their_webhooks_arrive()
 {
    for provider in ["postmark", "mailgun", "sendgrid"] {
        let stack = TestStack::new().await;
        let domain = format!(
            "{provider}-{}.example",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let claimed = stack.sending_domain_through(&domain, provider).await;
        assert_eq!(claimed.status, 201, "{:?}", claimed.body);
        assert_eq!(claimed.body["status"], "verified", "{:?}", claimed.body);
        assert_eq!(claimed.body["provider"], provider);
        let mut contacts = Vec::new();
        for i in 0..2 {
            let email = format!("journaliste{i}@media-{domain}");
            let id = stack
                .owner()
                .create_contact(
                    &stack.contacts_url(),
                    json!({ "email": email, "contact_role": "press" }),
                )
                .await;
            contacts.push((id, email));
        }
        let campaign_url = send_press_campaign(&stack, &domain).await;
        let taken: Vec<Taken> = stack
            .providers
            .fakes
            .taken()
            .into_iter()
            .filter(|t| t.provider == provider)
            .collect();
        assert_eq!(taken.len(), 2, "{provider}: {taken:?}");
        for (id, email) in &contacts {
            let t = taken
                .iter()
                .find(|t| t.to.contains(email.as_str()))
                .unwrap_or_else(|| panic!("{provider}: nothing to {email}"));
            assert_eq!(t.args["contact"], *id, "{provider}");
            assert!(
                devstack::outbox::accepted(&devstack::outbox::Filter {
                    to: Some(email.clone()),
                    limit: 1,
                    ..Default::default()
                })
                .await
                .unwrap()
                .is_empty(),
                "{provider}: SES sent nothing"
            );
        }
        stack.drain_queues().await;
        let before = engagement(&stack, &campaign_url).await;
        assert_eq!(before["delivered"], 0, "{provider}: {before}");

        let first = taken
            .iter()
            .find(|t| t.args["contact"] == contacts[0].0)
            .unwrap()
            .clone();
        let second = taken
            .iter()
            .find(|t| t.args["contact"] == contacts[1].0)
            .unwrap()
            .clone();
        // The provider tells everything twice (a retry after a timeout): counted once.
        let at = Utc::now();
        for _ in 0..2 {
            post_events(&stack, &[first.clone(), second.clone()], at).await;
            stack.drain_queues().await;
        }
        let counted = engagement(&stack, &campaign_url).await;
        for (counter, expected) in [
            ("delivered", 2),
            ("opens", 1),
            ("unique_opens", 1),
            ("machine_opens", 0),
        ] {
            assert_eq!(
                counted[counter], expected,
                "{provider} {counter}: {counted}"
            );
        }
        let timeline = history(&stack, &contacts[0].0).await;
        let kinds: Vec<&str> = timeline
            .iter()
            .map(|i| i["interaction_type"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"email_opened") && kinds.contains(&"email_delivered"),
            "{provider}: {kinds:?}"
        );
    }
}

#[tokio::test]
async fn a_provider_refusing_an_address_fails_that_one_and_a_rejected_key_pauses_the_campaign() {
    let stack = TestStack::new().await;
    let domain = format!(
        "pm-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let claimed = stack.sending_domain_through(&domain, "postmark").await;
    assert_eq!(claimed.status, 201, "{:?}", claimed.body);
    for email in [
        format!("inactive@media-{domain}"),
        format!("lectrice@media-{domain}"),
    ] {
        stack
            .owner()
            .create_contact(
                &stack.contacts_url(),
                json!({ "email": email, "contact_role": "press" }),
            )
            .await;
    }
    let campaign_url = send_press_campaign(&stack, &domain).await;
    let sends = stack
        .owner()
        .get(&format!("{campaign_url}/sends?limit=10"))
        .await
        .body;
    let mut outcomes: Vec<(String, String, String)> = sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"]
                    .as_str()
                    .unwrap()
                    .split('@')
                    .next()
                    .unwrap()
                    .to_owned(),
                s["status"].as_str().unwrap().to_owned(),
                s["error"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes[0].0, "inactive");
    assert_eq!(outcomes[0].1, "failed", "{outcomes:?}");
    assert!(outcomes[0].2.contains("Postmark 406"), "{outcomes:?}");
    assert_eq!(
        (outcomes[1].0.as_str(), outcomes[1].1.as_str()),
        ("lectrice", "sent")
    );

    // The deployment's Postmark token is revoked: the next campaign pauses with the reason,
    // nothing is sent and nothing is lost.
    let mut revoked = stack.app().clone();
    revoked
        .config
        .providers
        .as_mut()
        .unwrap()
        .postmark
        .as_mut()
        .unwrap()
        .server_token = Some("revoked".into());
    let created = stack
        .owner()
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "press", "name": "Second",
                "subject": "Bonjour", "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p>",
                "from_name": "Label Nova", "from_email": format!("presse@{domain}"),
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let second = format!(
        "/api/artists/{}/campaigns/{}",
        stack.artist,
        created.body["id"].as_str().unwrap()
    );
    let taken_before = stack.providers.fakes.taken().len();
    assert_eq!(
        stack
            .owner()
            .post(&format!("{second}/send"), &json!({}))
            .await
            .status,
        202
    );
    stack.drain_queues_with(&revoked).await;
    let paused = stack.owner().get(&second).await.body;
    assert_eq!(paused["status"], "paused", "{paused}");
    assert!(
        paused["status_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("Postmark 10"),
        "{paused}"
    );
    assert_eq!(
        stack.providers.fakes.taken().len(),
        taken_before,
        "nothing sent"
    );
}

#[tokio::test]
async fn a_reply_to_a_campaign_sent_through_a_provider_is_forwarded_through_it_with_the_original() {
    for provider in ["mailgun", "postmark"] {
        let stack = TestStack::new().await;
        let domain = format!(
            "fwd-{provider}-{}.example",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        assert_eq!(
            stack.sending_domain_through(&domain, provider).await.status,
            201
        );
        let reader = format!("lectrice@media-{domain}");
        stack
            .owner()
            .create_contact(
                &stack.contacts_url(),
                json!({ "email": reader, "contact_role": "press" }),
            )
            .await;
        let manager = format!("manager@{domain}");
        let profile = stack
            .owner()
            .put(
                &format!("/api/artists/{}/sender-profile", stack.artist),
                &json!({ "display_name": "Label Nova", "default_language": "fr",
                         "reply_handling": "store_and_forward", "forward_replies_to": manager }),
            )
            .await;
        assert_eq!(profile.status, 200, "{:?}", profile.body);
        send_press_campaign(&stack, &domain).await;
        let sent = stack.providers.fakes.taken();
        assert_eq!(sent.len(), 1, "{sent:?}");
        // The message as the reader's client saw it: Mailgun was given our MIME as is;
        // Postmark our headers, from which the client's copy is rebuilt.
        let original = match provider {
            "mailgun" => sent[0].body.clone(),
            _ => {
                let given: Value = serde_json::from_str(&sent[0].body).unwrap();
                let mut head = format!("Reply-To: {}\r\n", given["ReplyTo"].as_str().unwrap());
                for header in given["Headers"].as_array().unwrap() {
                    head.push_str(&format!(
                        "{}: {}\r\n",
                        header["Name"].as_str().unwrap(),
                        header["Value"].as_str().unwrap()
                    ));
                }
                head + "\r\nBonjour\r\n"
            }
        };
        let ios =
            std::fs::read(crate::support::repo_root().join("events/inbound/ios.eml")).unwrap();
        let reply = devstack::inbound::as_reply_to(&ios, original.as_bytes(), "PASS").unwrap();
        crate::replies::deliver(&stack, reply).await;

        let taken = stack.providers.fakes.taken();
        let forward = taken
            .iter()
            .find(|t| t.to.contains(&manager))
            .unwrap_or_else(|| panic!("{provider} took no forward: {taken:?}"));
        assert_eq!(forward.provider, provider);
        assert!(forward.body.contains("auto-forwarded"), "{}", forward.body);
        assert!(
            forward.body.contains("original.eml"),
            "the original is attached: {}",
            forward.body
        );
        assert!(
            devstack::outbox::accepted(&devstack::outbox::Filter {
                to: Some(manager.clone()),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty(),
            "nothing went through SES"
        );
    }
}

#[tokio::test]
async fn registering_a_domain_again_with_another_provider_moves_its_mail_there_and_is_audited() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    assert!(
        stack.providers.fakes.taken().is_empty(),
        "the first went through SES"
    );

    let moved = stack.sending_domain_through(&sent.domain, "postmark").await;
    assert_eq!(moved.body["provider"], "postmark", "{:?}", moved.body);
    send_press_campaign(&stack, &sent.domain).await;
    let taken = stack.providers.fakes.taken();
    assert_eq!(
        taken.len(),
        1,
        "the next campaign went through Postmark: {taken:?}"
    );
    assert_eq!(taken[0].provider, "postmark");

    let trail = stack
        .owner()
        .get(&format!(
            "/api/artists/{}/audit?action=domain.provider_changed",
            stack.artist
        ))
        .await;
    let items = trail.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(
        items[0]["values"],
        json!([{ "field": "provider", "before": "ses", "after": "postmark" }])
    );
    // The same provider again changes nothing.
    stack.sending_domain_through(&sent.domain, "postmark").await;
    let trail = stack
        .owner()
        .get(&format!(
            "/api/artists/{}/audit?action=domain.provider_changed",
            stack.artist
        ))
        .await;
    assert_eq!(trail.body["items"].as_array().unwrap().len(), 1);
}
