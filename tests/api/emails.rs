//! Individual emails: one message to one contact, through the sending pipeline.

use serde_json::{Value, json};

use crate::support::TestStack;

const PRESS_FR: &str = "0193a6f0-0000-7000-8000-000000000201";

struct Press {
    domain: String,
    camille: String,
    unsubscribed: String,
    suppressed: String,
}

async fn press(stack: &TestStack) -> Press {
    let owner = stack.owner();
    let domain = format!(
        "label-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let registered = stack.sending_domain(&domain).await;
    assert_eq!(registered.status, 201);
    let contacts = stack.contacts_url();
    let camille = owner
        .create_contact(
            &contacts,
            json!({ "email": format!("camille@radio-{domain}"), "contact_role": "press", "first_name": "Camille" }),
        )
        .await;
    let unsubscribed = owner
        .create_contact(
            &contacts,
            json!({ "email": format!("parti@radio-{domain}"), "contact_role": "press" }),
        )
        .await;
    let reply = owner
        .put(
            &format!("{contacts}/{unsubscribed}"),
            &json!({ "status": "unsubscribed" }),
        )
        .await;
    assert_eq!(reply.status, 200);
    let bounced = format!("rebond@radio-{domain}");
    let suppressed = owner
        .create_contact(
            &contacts,
            json!({ "email": bounced, "contact_role": "press" }),
        )
        .await;
    mailing::store::suppression::suppress(
        stack.app(),
        None,
        &mailing::domain::EmailAddress::parse(&bounced).unwrap(),
        mailing::store::suppression::SuppressionReason::Complaint,
    )
    .await
    .unwrap();
    Press {
        domain,
        camille,
        unsubscribed,
        suppressed,
    }
}

fn emails_url(stack: &TestStack, contact: &str) -> String {
    format!("{}/{contact}/emails", stack.contacts_url())
}

async fn accepted(domain: &str) -> Vec<devstack::outbox::OutboxItem> {
    devstack::outbox::accepted(&devstack::outbox::Filter {
        from_domain: Some(domain.to_owned()),
        limit: 100,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(devstack::outbox::OutboxItem::from_accepted)
    .collect()
}

#[tokio::test]
async fn an_individual_email_reaches_its_contact_once_personalized_and_tracked() {
    let stack = TestStack::new().await;
    let press = press(&stack).await;
    let url = emails_url(&stack, &press.camille);
    let from = json!({ "from_name": "Léa Martin", "from_email": format!("lea@{}", press.domain) });

    let mut body = from.clone();
    body["subject"] = json!("Bonjour {{ contact.first_name }}, l'album en avant-première");
    body["content"] = json!(
        "<p>Bonjour {{ contact.first_name }},</p><p><a href=\"https://label.example/ecoute\">Écouter</a></p>"
    );
    let queued = stack.team("press").post(&url, &body).await;
    assert_eq!(queued.status, 202, "{:?}", queued.body);
    assert_eq!(queued.body["kind"], "individual");
    assert_eq!(queued.body["status"], "sending");
    let id = queued.body["id"].as_str().unwrap().to_owned();

    // SQS delivers the batch twice: still one email.
    let batch = mailing::sending::SendBatch {
        variant: None,
        artist_id: stack.artist,
        campaign_id: id.parse().unwrap(),
        contacts: vec![press.camille.parse().unwrap()],
        attempt: 0,
    };
    mailing::sending::enqueue_batches(stack.app(), &[batch])
        .await
        .unwrap();
    stack.drain_queues().await;

    let sent = accepted(&press.domain).await;
    assert_eq!(sent.len(), 1);
    let message = &sent[0];
    assert_eq!(message.to, [format!("camille@radio-{}", press.domain)]);
    assert_eq!(
        message.subject,
        "Bonjour Camille, l'album en avant-première"
    );
    assert!(
        message
            .html
            .as_deref()
            .unwrap()
            .contains("/api/email/track/click/")
    );
    assert!(message.headers.contains_key("List-Unsubscribe"));
    assert_eq!(message.tags["campaign"], id.replace('-', ""));

    let campaign_url = format!("/api/artists/{}/campaigns/{id}", stack.artist);
    let record = stack.owner().get(&campaign_url).await.body;
    assert_eq!(record["status"], "sent", "{record}");
    assert_eq!(record["success_count"], 1);
    let listed = stack
        .owner()
        .get(&format!("/api/artists/{}/campaigns", stack.artist))
        .await;
    assert_eq!(listed.body["items"], json!([]), "not a campaign in lists");

    // From a built-in template, named for what it is about.
    let mut body = from.clone();
    body["template_id"] = json!(PRESS_FR);
    body["name"] = json!("Nouvel album");
    assert_eq!(stack.owner().post(&url, &body).await.status, 202);
    stack.drain_queues().await;
    let sent = accepted(&press.domain).await;
    assert_eq!(sent.len(), 2);
    assert!(
        sent[0].subject.contains("Nouvel album"),
        "{}",
        sent[0].subject
    );
}

#[tokio::test]
async fn an_individual_email_is_refused_with_the_reason_when_it_cannot_go() {
    let stack = TestStack::new().await;
    let press = press(&stack).await;
    let owner = stack.owner();
    let from = json!({ "from_name": "Léa", "from_email": format!("lea@{}", press.domain), "template_id": PRESS_FR });
    for (contact, status, code) in [
        (&press.unsubscribed, 422, "contact_unreachable"),
        (&press.suppressed, 422, "contact_unreachable"),
        (
            &mailing::domain::ContactId::new().to_string(),
            404,
            "not_found",
        ),
    ] {
        let reply = owner.post(&emails_url(&stack, contact), &from).await;
        assert_eq!(reply.status, status, "{:?}", reply.body);
        assert_eq!(reply.error_code(), code, "{:?}", reply.body);
    }
    let url = emails_url(&stack, &press.camille);
    let bad: [(Value, u16, &str); 4] = [
        (
            json!({ "from_name": "Léa", "from_email": "lea@unregistered.example", "template_id": PRESS_FR }),
            422,
            "sender_domain_unverified",
        ),
        (
            json!({ "from_name": "Léa", "from_email": "not an address", "template_id": PRESS_FR }),
            422,
            "validation_failed",
        ),
        (
            json!({ "from_name": "Léa", "from_email": format!("lea@{}", press.domain) }),
            422,
            "validation_failed",
        ),
        (
            json!({ "from_name": "Léa", "from_email": format!("lea@{}", press.domain), "subject": "Salut", "content": "<p>{{ contact.surnom }}</p>" }),
            422,
            "template_invalid",
        ),
    ];
    for (body, status, code) in bad {
        let reply = owner.post(&url, &body).await;
        assert_eq!(reply.status, status, "{body}: {:?}", reply.body);
        assert_eq!(reply.error_code(), code, "{body}: {:?}", reply.body);
    }
    // Another team's contact is not there; another artist's caller has no grant.
    assert_eq!(stack.team("finance").post(&url, &from).await.status, 404);
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    assert_eq!(stranger.post(&url, &from).await.status, 403);
    stack.drain_queues().await;
    assert!(accepted(&press.domain).await.is_empty(), "nothing was sent");
}
