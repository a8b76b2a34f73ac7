//! The hostile-tenant and opt-out scenarios of issue #14, each through the code paths Lambda
//! runs: a tenant must never send as another artist, and a person who opted out must never be
//! mailed again.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use devstack::outbox::{self, Filter};
use lambda_runtime::{Context, LambdaEvent};
use mailing::domain::{ArtistId, CampaignId};
use serde_json::{Value, json};

use crate::support::TestStack;
use crate::tracking::{link, message_to, send_press_campaign, sent_campaign, status};

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

async fn sent_from(domain: &str, to: &str) -> usize {
    outbox::accepted(&Filter {
        from_domain: Some(domain.to_owned()),
        to: Some(to.to_owned()),
        limit: 100,
    })
    .await
    .unwrap()
    .len()
}

#[tokio::test]
async fn a_campaign_edited_after_scheduling_is_checked_again_at_its_time_and_never_sends_as_another_artist()
 {
    let stack = TestStack::new().await;
    // Artist A's label domain, proven and verified.
    let label_a = unique("labela");
    stack.sending_domain(&label_a).await;
    // Artist B's press team, on B's own proven domain.
    let b = ArtistId::new();
    let label_b = unique("labelb");
    devstack::dns::publish_proof(stack.app(), b, &label_b)
        .await
        .unwrap();
    let b_all = stack.caller(&[format!("artist:{b}:*")]);
    let claimed = b_all
        .post(
            "/api/email/domains",
            &json!({ "artist_id": b.to_string(), "domain": label_b }),
        )
        .await;
    assert_eq!(claimed.body["status"], "verified", "{:?}", claimed.body);
    let press = stack.caller(&[format!("artist:{b}:press")]);
    let ben = format!("ben@media-{label_b}");
    press
        .create_contact(
            &format!("/api/artists/{b}/contacts"),
            json!({ "email": ben, "contact_role": "press" }),
        )
        .await;
    let campaigns = format!("/api/artists/{b}/campaigns");
    let created = press
        .post(
            &campaigns,
            &json!({
                "contact_role": "press", "name": "Sortie", "subject": "Le single",
                "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>",
                "from_name": "Presse B", "from_email": format!("presse@{label_b}"),
            }),
        )
        .await;
    let url = format!("{campaigns}/{}", created.body["id"].as_str().unwrap());
    let at = chrono::Utc::now() + chrono::Duration::minutes(5);
    let scheduled = press
        .post(
            &format!("{url}/schedule"),
            &json!({ "at": at.to_rfc3339() }),
        )
        .await;
    assert_eq!(scheduled.status, 200, "{:?}", scheduled.body);
    // The hostile edit: A's domain, and no unsubscribe link.
    let edited = press
        .put(
            &url,
            &json!({ "from_name": "CEO", "from_email": format!("ceo@{label_a}"), "content": "<p>Virement urgent</p>" }),
        )
        .await;
    assert_eq!(
        edited.status, 200,
        "a scheduled campaign may still be edited"
    );

    let started = mailing::sending::start_due(stack.app(), at + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(started, 0);
    let campaign = press.get(&url).await.body;
    assert_eq!(campaign["status"], "draft", "{campaign}");
    let reason = campaign["status_reason"].as_str().unwrap();
    assert!(
        reason.contains("not started at its scheduled time") && reason.contains(&label_a),
        "{reason}"
    );
    stack.drain_queues().await;
    assert_eq!(
        sent_from(&label_a, &ben).await,
        0,
        "nothing went out as artist A"
    );
    let trail = mailing::store::audit::for_target(
        stack.app(),
        &format!("campaign#{}", url.rsplit('/').next().unwrap()),
        10,
    )
    .await
    .unwrap();
    assert_eq!(
        trail[0].action,
        mailing::domain::AuditAction::CampaignStartRefused
    );
}

#[tokio::test]
async fn what_a_campaign_sends_is_frozen_at_its_start_whatever_happens_to_its_template() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = unique("frozen");
    stack.sending_domain(&domain).await;
    let reader = format!("lecteur@media-{domain}");
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": reader, "contact_role": "press", "first_name": "Noé" }),
        )
        .await;
    let template = owner
        .post(
            "/api/templates/email",
            &json!({
                "artist_id": stack.artist.to_string(), "contact_role": "press", "name": "Communiqué",
                "language": "fr", "subject_template": "Communiqué pour {{ contact.first_name }}",
                "content_template": "<p>Version d'origine</p><p><a href=\"{{ web_view_url }}\">en ligne</a> <a href=\"{{ unsubscribe_url }}\">stop</a></p>",
            }),
        )
        .await;
    assert_eq!(template.status, 201, "{:?}", template.body);
    let template_id = template.body["id"].as_str().unwrap();
    let url = stack
        .campaign(json!({
            "contact_role": "press", "name": "Communiqué", "template_id": template_id,
            "from_name": "Label Nova", "from_email": format!("presse@{domain}"),
        }))
        .await;
    let started = owner.post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    assert_eq!(started.body["frozen"]["language"], "fr");
    // Edited, then deleted, after the start and before any batch ran.
    let template_url = format!("/api/templates/email/{template_id}");
    let edited = owner
        .put(
            &template_url,
            &json!({ "content_template": "<p>Version piratée</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>" }),
        )
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(owner.delete(&template_url).await.status, 204);
    stack.drain_sending().await;
    stack.drain_sending().await;
    assert_eq!(owner.get(&url).await.body["status"], "sent");
    let message = message_to(&reader).await;
    let html = message.html.clone().unwrap();
    assert!(
        html.contains("Version d'origine") && !html.contains("piratée"),
        "{html}"
    );
    assert_eq!(message.subject, "Communiqué pour Noé");

    // The web view shows the same frozen message, sandboxed; HEAD answers without a body.
    let view = link(&message, "/api/email/view/");
    let page = stack.raw("GET", &view, &[], b"").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Version d'origine"));
    let policy = page.header("content-security-policy").unwrap();
    assert!(
        policy.starts_with("sandbox") && !policy.contains("allow-scripts"),
        "{policy}"
    );
    let head = stack.raw("HEAD", &view, &[], b"").await;
    assert_eq!(head.status, 200);
    assert!(head.text().is_empty());
    assert_eq!(head.header("content-security-policy"), Some(policy));
}

#[tokio::test]
async fn an_opt_out_outlives_deleting_and_recreating_the_contact() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 2).await;
    let owner = stack.owner();
    let (ben, ben_address) = &sent.contacts[0];
    let message = message_to(ben_address).await;
    let unsubscribe = link(&message, "/api/email/unsubscribe/");
    // The page names the artist and the team, in the message's language.
    let page = stack
        .raw("GET", &unsubscribe, &[("accept-language", "en")], b"")
        .await;
    let text = page.text();
    assert!(text.contains("lang=\"en\"") || text.contains("lang=\"fr\""));
    assert!(text.contains("Label Nova"), "{text}");
    assert_eq!(
        stack.raw("HEAD", &unsubscribe, &[], b"").await.text().len(),
        0
    );
    // One-click, team scope; then the contact is deleted and created again.
    let one_click = stack
        .raw(
            "POST",
            &unsubscribe,
            &[("content-type", "application/x-www-form-urlencoded")],
            b"List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(one_click.status, 200);
    stack.drain_queues().await;
    let contact_url = format!("{}/{ben}", stack.contacts_url());
    assert_eq!(owner.delete(&contact_url).await.status, 204);
    let again = owner
        .post(
            &stack.contacts_url(),
            &json!({ "email": ben_address, "contact_role": "press" }),
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body["status"], "unsubscribed", "{:?}", again.body);
    let revived = owner
        .put(
            &format!(
                "{}/{}",
                stack.contacts_url(),
                again.body["id"].as_str().unwrap()
            ),
            &json!({ "status": "active" }),
        )
        .await;
    assert_eq!(revived.status, 422);
    // Another team of the artist may still write to them: the opt-out was the press team's.
    let tour = owner
        .post(
            &stack.contacts_url(),
            &json!({ "email": ben_address, "contact_role": "tour" }),
        )
        .await;
    assert_eq!(tour.body["status"], "active");
    send_press_campaign(&stack, &sent.domain).await;
    assert_eq!(
        sent_from(&sent.domain, ben_address).await,
        1,
        "only the first campaign"
    );

    // Artist-wide, after the contact is gone: recorded all the same, and said so.
    let (lea, lea_address) = &sent.contacts[1];
    let lea_unsubscribe = link(&message_to(lea_address).await, "/api/email/unsubscribe/");
    assert_eq!(
        owner
            .delete(&format!("{}/{lea}", stack.contacts_url()))
            .await
            .status,
        204
    );
    let confirmed = stack
        .raw(
            "POST",
            &lea_unsubscribe,
            &[("content-type", "application/x-www-form-urlencoded")],
            b"scope=artist",
        )
        .await;
    assert_eq!(confirmed.status, 200);
    assert!(
        confirmed.text().contains("Label Nova"),
        "{}",
        confirmed.text()
    );
    for role in ["press", "marketing", "finance"] {
        let created = owner
            .post(
                &stack.contacts_url(),
                &json!({ "email": lea_address, "contact_role": role }),
            )
            .await;
        assert_eq!(created.body["status"], "unsubscribed", "{role}");
    }
    assert_eq!(
        status(&stack, tour.body["id"].as_str().unwrap()).await,
        "active"
    );
}

#[tokio::test]
async fn marketing_mail_waits_for_the_artists_postal_address_and_then_shows_it() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = unique("newsletter");
    stack.sending_domain(&domain).await;
    let fan = format!("fan@fans-{domain}");
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": fan, "contact_role": "marketing", "first_name": "Alix",
                    "consent": { "basis": "consent", "source": "newsletter" } }),
        )
        .await;
    let url = stack
        .campaign(json!({
            "contact_role": "marketing", "name": "Newsletter",
            "template_id": "0193a6f0-0000-7000-8000-000000000101",
            "from_name": "Lou", "from_email": format!("news@{domain}"),
        }))
        .await;
    let refused = owner.post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.error_code(), "sender_profile_incomplete");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sender-profile")
    );
    let profile_url = format!("/api/artists/{}/sender-profile", stack.artist);
    assert_eq!(owner.get(&profile_url).await.status, 404);
    let profile = json!({ "display_name": "Lou", "postal_address": "Label Nova\n12 rue des Lilas\n75011 Paris" });
    for (caller, expected) in [
        (stack.team("marketing"), 403),
        (
            stack.caller(&[format!("artist:{}:*", ArtistId::new())]),
            403,
        ),
    ] {
        assert_eq!(caller.put(&profile_url, &profile).await.status, expected);
    }
    for (bad, field) in [
        (json!({ "display_name": " " }), "display_name"),
        (
            json!({ "display_name": "Lou", "postal_address": "x".repeat(501) }),
            "postal_address",
        ),
        (
            json!({ "display_name": "Lou", "default_language": "de" }),
            "default_language",
        ),
        (
            json!({ "display_name": "Lou", "reply_handling": "store_and_forward" }),
            "forward_replies_to",
        ),
    ] {
        let reply = owner.put(&profile_url, &bad).await;
        assert_eq!(reply.status, 422, "{bad}: {:?}", reply.body);
        assert_eq!(
            reply.body["error"]["details"]["fields"][0]["field"], field,
            "{bad}"
        );
    }
    let saved = owner.put(&profile_url, &profile).await;
    assert_eq!(saved.status, 200, "{:?}", saved.body);
    assert_eq!(saved.body["version"], 1);
    assert_eq!(stack.team("press").get(&profile_url).await.status, 200);
    let started = owner.post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    stack.drain_sending().await;
    stack.drain_sending().await;
    let html = message_to(&fan).await.html.unwrap();
    assert!(html.contains("12 rue des Lilas"), "{html}");
}

#[tokio::test]
async fn test_sends_go_only_to_the_teams_own_mailboxes_skip_suppressed_ones_and_are_capped() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    let owner = stack.owner();
    let test = format!("{}/test", sent.campaign_url);
    let relay = owner
        .post(&test, &json!({ "to": ["victim@gmail.example"] }))
        .await;
    assert_eq!(relay.status, 422, "{:?}", relay.body);
    assert_eq!(relay.error_code(), "test_recipient_not_allowed");

    let lea = format!("lea@{}", sent.domain);
    let gone = format!("parti@{}", sent.domain);
    mailing::store::suppression::suppress(
        stack.app(),
        None,
        &mailing::domain::EmailAddress::parse(&gone).unwrap(),
        mailing::store::suppression::SuppressionReason::HardBounce,
    )
    .await
    .unwrap();
    let reply = owner.post(&test, &json!({ "to": [&lea, &gone] })).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let statuses: Vec<&Value> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["status"])
        .collect();
    assert_eq!(statuses, [&json!("sent"), &json!("suppressed")]);
    let trail = mailing::store::audit::for_target(
        stack.app(),
        &format!("campaign#{}", sent.campaign_url.rsplit('/').next().unwrap()),
        10,
    )
    .await
    .unwrap();
    let tested = trail
        .iter()
        .find(|r| r.action == mailing::domain::AuditAction::CampaignTestSent)
        .unwrap();
    assert_eq!(tested.recipients, [lea.clone(), gone.clone()]);

    // A test message's hard bounce suppresses its address like any other.
    let message = message_to(&lea).await;
    outbox::publish_event(
        &message.message_id,
        "Bounce",
        json!({ "bounceType": "Permanent", "bounceSubType": "General", "timestamp": chrono::Utc::now().to_rfc3339(),
                "bouncedRecipients": [{ "emailAddress": lea, "status": "5.1.1", "action": "failed" }] }),
    )
    .await
    .unwrap();
    stack.drain_queues().await;
    let again = owner.post(&test, &json!({ "to": [&lea] })).await;
    assert_eq!(
        again.body["items"][0]["status"], "suppressed",
        "{:?}",
        again.body
    );

    // Fifty test messages a day per user: one was sent; 45 more, then five is too many.
    let five: Vec<String> = (0..5).map(|i| format!("t{i}@{}", sent.domain)).collect();
    for _ in 0..9 {
        let reply = owner.post(&test, &json!({ "to": five })).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
    }
    let capped = owner.post(&test, &json!({ "to": five })).await;
    assert_eq!(capped.status, 422, "{:?}", capped.body);
    assert_eq!(capped.error_code(), "test_send_cap_reached");
    let colleague = stack.caller_as("colleague", &[format!("artist:{}:*", stack.artist)]);
    assert_eq!(
        colleague
            .post(&test, &json!({ "to": [&five[0]] }))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_campaign_throttled_for_more_than_ten_attempts_finishes_without_using_up_its_retries() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = unique("throttled");
    stack.sending_domain(&domain).await;
    let mut addresses = Vec::new();
    for i in 0..3 {
        let email = format!("r{i}@media-{domain}");
        owner
            .create_contact(
                &stack.contacts_url(),
                json!({ "email": email, "contact_role": "press" }),
            )
            .await;
        addresses.push(email);
    }
    let created = owner
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "press", "name": "Lent", "subject": "Bonjour",
                "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>",
                "from_name": "Label", "from_email": format!("presse@{domain}"),
            }),
        )
        .await;
    let id: CampaignId = created.body["id"].as_str().unwrap().parse().unwrap();
    let url = format!("/api/artists/{}/campaigns/{id}", stack.artist);
    assert_eq!(
        owner.post(&format!("{url}/send"), &json!({})).await.status,
        202
    );
    stack.drain("campaign-dispatch").await;
    let contacts: Vec<_> = mailing::store::sends::of_campaign(stack.app(), id, 10, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|send| send.contact_id)
        .collect();
    assert_eq!(contacts.len(), 3);
    const THROTTLED: u32 = 12;
    // The SDK itself tries a throttled call three times (its standard retry mode) before the
    // sender sees the refusal: three refusals per attempt.
    devstack::outbox::throttle(&domain, 3 * THROTTLED)
        .await
        .unwrap();
    // The email-send handler as SQS would call it, with each attempt's message; SES refuses
    // the first message of each attempt.
    for attempt in 0..=THROTTLED {
        let batch = mailing::sending::SendBatch {
            variant: None,
            artist_id: stack.artist,
            campaign_id: id,
            contacts: contacts.clone(),
            attempt,
        };
        let mut record = SqsMessage::default();
        record.message_id = Some(format!("attempt-{attempt}"));
        record.body = Some(serde_json::to_string(&batch).unwrap());
        let mut event = SqsEvent::default();
        event.records = vec![record];
        let response = functions::sending::send(
            stack.function("email-send"),
            LambdaEvent::new(event, Context::default()),
        )
        .await
        .unwrap();
        assert!(
            response.batch_item_failures.is_empty(),
            "attempt {attempt}: the message is acknowledged, its retry queued anew"
        );
        let campaign = owner.get(&url).await.body;
        let expected = if attempt < THROTTLED {
            "sending"
        } else {
            "sent"
        };
        assert_eq!(
            campaign["status"], expected,
            "attempt {attempt}: {campaign}"
        );
    }
    for address in &addresses {
        assert_eq!(sent_from(&domain, address).await, 1, "{address}");
    }
}

#[tokio::test]
async fn a_template_that_would_loop_a_million_times_is_refused_at_save_and_fails_one_row_at_send() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let bomb = "<p>{% for c in 'x' * 1000000 %}{{ c }}{% endfor %}</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>";
    let template = owner
        .post(
            "/api/templates/email",
            &json!({
                "artist_id": stack.artist.to_string(), "contact_role": "press", "name": "Boucle",
                "language": "fr", "subject_template": "Bonjour", "content_template": bomb,
            }),
        )
        .await;
    assert_eq!(template.status, 422, "{:?}", template.body);
    assert_eq!(template.error_code(), "template_invalid");
    assert!(
        template.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than a message may"),
        "{:?}",
        template.body
    );
    let domain = unique("budget");
    stack.sending_domain(&domain).await;
    let campaigns = format!("/api/artists/{}/campaigns", stack.artist);
    let refused = owner
        .post(
            &campaigns,
            &json!({
                "contact_role": "press", "name": "Boucle", "subject": "Bonjour", "content": bomb,
                "from_name": "Label", "from_email": format!("presse@{domain}"),
            }),
        )
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);

    // Cheap for the save check's sample and for the first recipient; a million iterations for
    // a contact whose field makes it so: that row fails, the campaign completes.
    let costly = format!("costly@media-{domain}");
    let plain = format!("plain@media-{domain}");
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": costly, "contact_role": "press", "metadata": { "pad": "x".repeat(100) } }),
        )
        .await;
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": plain, "contact_role": "press" }),
        )
        .await;
    let created = owner
        .post(
            &campaigns,
            &json!({
                "contact_role": "press", "name": "Selon le contact", "subject": "Bonjour",
                "content": "<p>{% for c in (contact.metadata.pad or '') * 10000 %}{{ c }}{% endfor %}</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p>",
                "from_name": "Label", "from_email": format!("presse@{domain}"),
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let url = format!("{campaigns}/{}", created.body["id"].as_str().unwrap());
    let started = owner.post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    stack.drain_sending().await;
    stack.drain_sending().await;
    let campaign = owner.get(&url).await.body;
    assert_eq!(campaign["status"], "sent", "{campaign}");
    assert_eq!(campaign["success_count"], 1);
    assert_eq!(campaign["failed_count"], 1);
    assert_eq!(sent_from(&domain, &plain).await, 1);
    assert_eq!(sent_from(&domain, &costly).await, 0);
}
