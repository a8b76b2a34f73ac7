//! What the functions log through a whole run, read back in the format Lambda writes to
//! CloudWatch: ids and codes, never an address, a token or a key.

use std::io::Write;
use std::sync::{Arc, Mutex};

use devstack::outbox::OutboxItem;
use serde_json::json;

use crate::replies::deliver;
use crate::support::TestStack;
use crate::tracking::{HUMAN, link, message_to, sent_campaign};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The tokens a message carries: the last segment of each of our links in it.
fn tokens(message: &OutboxItem) -> Vec<String> {
    [
        "/api/email/track/open/",
        "/api/email/track/click/",
        "/api/email/unsubscribe/",
    ]
    .iter()
    .map(|prefix| {
        let path = link(message, prefix);
        path.rsplit('/').next().unwrap_or_default().to_owned()
    })
    .collect()
}

#[tokio::test]
async fn a_whole_run_logs_no_address_token_or_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(functions::runtime::log_subscriber(move || {
        writer.clone()
    }))
    .expect("the only subscriber of this test process");

    let stack = TestStack::new().await;
    // Refused input that names an address: the refusal is logged, the address is not.
    let refused = stack
        .owner()
        .post(
            &stack.contacts_url(),
            &json!({ "email": "refused.person@media-logs.example", "contact_role": "drummers" }),
        )
        .await;
    assert_eq!(refused.status, 422);
    let sent = sent_campaign(&stack, 3).await;
    let key = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap();
    let app = stack.app();
    let mut secrets: Vec<String> = vec![
        "refused.person".to_owned(),
        key(app.signing_key().unwrap().as_bytes()),
        key(app.email_hash_key().unwrap().as_bytes()),
    ];
    let [(_, reader), (_, bouncing), (_, leaving)] =
        <[(String, String); 3]>::try_from(sent.contacts.clone()).unwrap();
    for address in [&reader, &bouncing, &leaving] {
        secrets.push(address.clone());
        secrets.push(address.split('@').next().unwrap().to_owned());
        secrets.extend(tokens(&message_to(address).await));
    }

    // The reader opens, clicks and answers; one address bounces; one person leaves; a forged
    // token is refused.
    let message = message_to(&reader).await;
    for prefix in ["/api/email/track/open/", "/api/email/track/click/"] {
        let answer = stack
            .raw(
                "GET",
                &link(&message, prefix),
                &[("user-agent", HUMAN)],
                b"",
            )
            .await;
        assert!(answer.status < 400, "{prefix}: {}", answer.status);
    }
    let forged = stack
        .raw("POST", "/api/email/track/click/forged-token", &[], b"")
        .await;
    assert_eq!(forged.status, 404);
    let original = devstack::inbound::newest_to(&reader).await.unwrap();
    let reply = devstack::inbound::as_reply_to(
        b"From: Reader <x@y.example>\r\nTo: z@y.example\r\nSubject: Re: Bonjour\r\n\r\nMerci, avec plaisir.\r\n",
        &original,
        "PASS",
    )
    .unwrap();
    deliver(&stack, reply).await;
    devstack::inject::inject("bounce", &bouncing, None, Default::default())
        .await
        .unwrap();
    let leaving_message = message_to(&leaving).await;
    let left = stack
        .raw(
            "POST",
            &link(&leaving_message, "/api/email/unsubscribe/"),
            &[("content-type", "application/x-www-form-urlencoded")],
            b"List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(left.status, 200);
    stack.drain_queues().await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("request refused") && logs.contains("validation_failed"),
        "the capture holds the functions' logs: {logs}"
    );
    for secret in &secrets {
        assert!(
            !logs.to_lowercase().contains(&secret.to_lowercase()),
            "the logs hold {secret:?}"
        );
    }
}
