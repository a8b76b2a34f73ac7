//! The keys come from Secrets Manager at each cold start; a rotation leaves the links already
//! sent working until the next one.

use mailing::sender_domains::proof_record;
use mailing::tracking::public::click_target;

use crate::support::TestStack;
use crate::tracking::{link, message_to, sent_campaign};

#[tokio::test]
async fn after_a_rotation_links_already_sent_still_open_until_the_next_rotation() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    let message = message_to(&sent.contacts[0].1).await;
    let click = link(&message, "/api/email/track/click/");
    let token = click.rsplit('/').next().unwrap();
    let secret = &stack.environment["SIGNING_KEY_SECRET"];
    let cold_start =
        || devstack::provision::cold_start(&stack.environment, stack.app().aws.clone());

    devstack::provision::rotate_secret(secret).await.unwrap();
    let rotated = cold_start().await.unwrap();
    assert_ne!(
        rotated.signing_key().unwrap().as_bytes(),
        stack.app().signing_key().unwrap().as_bytes(),
        "the new key signs"
    );
    let domain = mailing::domain::DomainName::parse("label.example").unwrap();
    assert_eq!(
        proof_record(&rotated, stack.artist, &domain).unwrap(),
        proof_record(stack.app(), stack.artist, &domain).unwrap(),
        "a domain's published ownership proof stays valid"
    );
    assert_eq!(
        click_target(&rotated, token).await.unwrap().as_deref(),
        Some("https://label.example/presse"),
        "a link sent before the rotation still leads where it did"
    );

    devstack::provision::rotate_secret(secret).await.unwrap();
    let twice = cold_start().await.unwrap();
    assert_eq!(
        click_target(&twice, token).await.unwrap(),
        None,
        "two rotations later, the first key verifies nothing"
    );
}

#[tokio::test]
async fn a_function_whose_secret_cannot_be_read_fails_its_cold_start_naming_it() {
    let stack = TestStack::new().await;
    let mut environment = stack.environment.clone();
    environment.insert(
        "EMAIL_HASH_KEY_SECRET".to_owned(),
        "no-such-secret/email-hash-key".to_owned(),
    );
    let error = devstack::provision::cold_start(&environment, stack.app().aws.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("EMAIL_HASH_KEY_SECRET"), "{error}");
    // A key in the environment itself is never taken: only the secrets are read.
    let mut with_value = stack.environment.clone();
    with_value.remove("SIGNING_KEY_SECRET");
    with_value.insert("SIGNING_KEY".to_owned(), "k".repeat(64));
    let app = devstack::provision::cold_start(&with_value, stack.app().aws.clone())
        .await
        .unwrap();
    let error = app.signing_key().unwrap_err();
    assert_eq!(error.status(), 500);
    assert!(
        format!("{error:?}").contains("SIGNING_KEY_SECRET"),
        "the log names what the template must give"
    );
}
