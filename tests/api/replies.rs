//! Replies: what people send back lands in the CRM — every fixture of `events/inbound/`
//! classified, matched and cleaned, then the whole path through the emulator (inbound bucket,
//! its notification, `email-inbound`, `ses-events`, the replies API).

use chrono::Utc;
use devstack::inbound;
use mailing::config::SigningKey;
use mailing::domain::ReplyKind;
use mailing::render::{Token, TokenKind, TokenSigner};
use mailing::replies::classify::{What, classify, token_in, token_of_message_id};
use mailing::replies::{InboundObject, Received, clean, parse, receive};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestStack, repo_root};
use crate::tracking::{message_to, sent_campaign};

const REPLY_DOMAIN: &str = "reply.artisthub.localhost";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Human(&'static str),
    Auto(&'static str),
    HardBounce,
    SoftBounce,
    Unsubscribe,
}

/// Each fixture, and what it is with the text a person would read.
const FIXTURES: &[(&str, Expect)] = &[
    (
        "gmail-en.eml",
        Expect::Human(
            "Thanks! We'd love to feature it on Friday's show.\nCan you send the press kit?",
        ),
    ),
    (
        "gmail-fr.eml",
        Expect::Human("Bonjour,\nAvec plaisir pour une interview mardi à 14h."),
    ),
    (
        "outlook-en.eml",
        Expect::Human("Hi team, please put us down for the Berlin date.\n\nMark"),
    ),
    (
        "outlook-fr.eml",
        Expect::Human("Bonjour, c'est noté pour la date de Lyon. Merci !"),
    ),
    (
        "apple-mail.eml",
        Expect::Human("Count me in for the premiere.\n\nSam"),
    ),
    (
        "thunderbird.eml",
        Expect::Human("ありがとうございます。金曜日に紹介します。"),
    ),
    ("ios.eml", Expect::Human("Oui, deux places pour moi.")),
    (
        "html-only.eml",
        Expect::Human("Great news — we'll add it to the playlist.\nBest, Ana"),
    ),
    (
        "forward.eml",
        Expect::Human("Adding my colleague Tom, who runs the playlist."),
    ),
    (
        "out-of-office-en.eml",
        Expect::Auto("I am out of the office until December 10 with limited access to email."),
    ),
    (
        "out-of-office-fr.eml",
        Expect::Auto("Je suis absente jusqu'au 10 décembre. Pour toute urgence, contactez Marc."),
    ),
    ("dsn-hard-bounce.eml", Expect::HardBounce),
    ("dsn-soft-bounce.eml", Expect::SoftBounce),
    ("mailto-unsubscribe.eml", Expect::Unsubscribe),
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("events/inbound").join(name)).unwrap()
}

/// A message as our sender writes it for `send`: its reply address, unsubscribe mailto and
/// `Message-ID` carry the send's tokens.
fn original(signer: &TokenSigner, send: Uuid) -> Vec<u8> {
    let token = |kind| {
        signer.sign(Token {
            kind,
            send,
            link: 0,
        })
    };
    format!(
        "From: \"Label Nova\" <presse@label.example>\r\nTo: <ines@media.example>\r\n\
         Reply-To: r-{}@{REPLY_DOMAIN}\r\nSubject: Nouveau single\r\n\
         Message-ID: <{}@label.example>\r\n\
         List-Unsubscribe: <https://t.example/api/email/unsubscribe/{u}>, <mailto:u-{u}@{REPLY_DOMAIN}>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n",
        token(TokenKind::Reply),
        token(TokenKind::Reply),
        u = token(TokenKind::Unsubscribe),
    )
    .into_bytes()
}

#[test]
fn every_inbound_fixture_is_classified_matched_and_cleaned_as_its_client_wrote_it() {
    let signer = TokenSigner::new(&SigningKey::new(vec![5; 32]).unwrap());
    for (name, expected) in FIXTURES {
        let send = Uuid::now_v7();
        let raw = inbound::as_reply_to(&fixture(name), &original(&signer, send), "PASS").unwrap();
        let message = parse::parse(&raw);
        let what = classify(&message, &signer, REPLY_DOMAIN);
        let by_token = token_in(
            &message.recipients,
            "r-",
            TokenKind::Reply,
            &signer,
            REPLY_DOMAIN,
        );
        let by_thread = message
            .thread
            .iter()
            .find_map(|id| token_of_message_id(id, &signer));
        let text = clean::visible(
            &message.text,
            message.html.as_deref(),
            message.has_text_part,
        );
        match (*expected, &what) {
            (Expect::Human(clean), What::Human) | (Expect::Auto(clean), What::Auto(_)) => {
                assert_eq!(text, clean, "{name}");
                assert_eq!(by_token.map(|t| t.send), Some(send), "{name}: by token");
                assert_eq!(by_thread.map(|t| t.send), Some(send), "{name}: by thread");
            }
            (Expect::HardBounce | Expect::SoftBounce, What::Bounce(report)) => {
                let class = if *expected == Expect::HardBounce {
                    '5'
                } else {
                    '4'
                };
                assert!(report.status.starts_with(class), "{name}: {report:?}");
                assert_eq!(report.action, "failed", "{name}");
                assert_eq!(report.final_recipient.as_deref(), Some("gone@example.com"));
                let returned = report
                    .original_message_id
                    .as_deref()
                    .and_then(|id| token_of_message_id(id, &signer));
                assert_eq!(
                    returned.map(|t| t.send),
                    Some(send),
                    "{name}: the bounced message"
                );
            }
            (Expect::Unsubscribe, What::Unsubscribe(token)) => {
                assert_eq!(token.send, send, "{name}");
                assert_eq!(token.kind, TokenKind::Unsubscribe);
            }
            (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
        }
        assert_eq!(
            message.verdicts.virus,
            mailing::domain::Verdict::Pass,
            "{name}"
        );
    }
}

#[test]
fn tokens_of_another_key_kind_or_domain_match_nothing() {
    let ours = TokenSigner::new(&SigningKey::new(vec![5; 32]).unwrap());
    let theirs = TokenSigner::new(&SigningKey::new(vec![6; 32]).unwrap());
    let send = Uuid::now_v7();
    let sign = |signer: &TokenSigner, kind| {
        signer.sign(Token {
            kind,
            send,
            link: 0,
        })
    };
    let cases = [
        (
            "another key",
            format!("r-{}@{REPLY_DOMAIN}", sign(&theirs, TokenKind::Reply)),
        ),
        (
            "another kind",
            format!("r-{}@{REPLY_DOMAIN}", sign(&ours, TokenKind::Open)),
        ),
        (
            "another domain",
            format!("r-{}@elsewhere.example", sign(&ours, TokenKind::Reply)),
        ),
        (
            "no prefix",
            format!("{}@{REPLY_DOMAIN}", sign(&ours, TokenKind::Reply)),
        ),
        (
            "truncated",
            format!("r-{}@{REPLY_DOMAIN}", &sign(&ours, TokenKind::Reply)[..40]),
        ),
    ];
    for (case, address) in cases {
        assert_eq!(
            token_in(&[address], "r-", TokenKind::Reply, &ours, REPLY_DOMAIN),
            None,
            "{case}"
        );
    }
    let good = format!(
        "r-{}+note@{}",
        sign(&ours, TokenKind::Reply),
        REPLY_DOMAIN.to_uppercase()
    );
    assert_eq!(
        token_in(&[good], "r-", TokenKind::Reply, &ours, REPLY_DOMAIN).map(|t| t.send),
        Some(send),
        "sub-addressing and a case-folded domain still match"
    );
}

/// Stores `raw` as SES would and lets the consumers run: the key it was stored under.
pub(crate) async fn deliver(stack: &TestStack, raw: Vec<u8>) -> String {
    let key = inbound::store(&stack.app().aws.s3, &stack.refs["InboundBucket"], raw)
        .await
        .unwrap();
    assert!(
        stack.drain("email-inbound").await >= 1,
        "S3 told the inbound queue"
    );
    stack.drain("ses-events").await;
    key
}

/// `fixture` as the answer to the newest message sent to `address`.
async fn reply_from(address: &str, fixture_name: &str) -> Vec<u8> {
    let original = inbound::newest_to(address).await.unwrap();
    inbound::as_reply_to(&fixture(fixture_name), &original, "PASS").unwrap()
}

async fn replies(stack: &TestStack, query: &str) -> Vec<Value> {
    let url = format!("/api/artists/{}/email/replies{query}", stack.artist);
    let listed = stack.owner().get(&url).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    listed.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn replies_land_on_their_contact_and_campaign_and_bounces_and_mailto_unsubscribes_apply() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 4).await;
    let [
        (replier, replier_email),
        (away, away_email),
        (gone, gone_email),
        (leaving, leaving_email),
    ] = <[(String, String); 4]>::try_from(sent.contacts.clone()).unwrap();

    let first = deliver(&stack, reply_from(&replier_email, "gmail-en.eml").await).await;
    deliver(&stack, reply_from(&replier_email, "outlook-fr.eml").await).await;
    deliver(
        &stack,
        reply_from(&away_email, "out-of-office-en.eml").await,
    )
    .await;
    let bounce = deliver(&stack, reply_from(&gone_email, "dsn-hard-bounce.eml").await).await;
    let unsubscribe = deliver(
        &stack,
        reply_from(&leaving_email, "mailto-unsubscribe.eml").await,
    )
    .await;
    // Applied, they are gone: no reply points at them, so nothing could erase them later.
    for (key, kept) in [(&first, true), (&bounce, false), (&unsubscribe, false)] {
        let head = stack
            .app()
            .aws
            .s3
            .head_object()
            .bucket(&stack.refs["InboundBucket"])
            .key(key)
            .send()
            .await;
        assert_eq!(head.is_ok(), kept, "{key}");
    }

    // A replayed notification stores and counts nothing twice.
    let replayed = receive(
        stack.app(),
        &InboundObject {
            bucket: stack.refs["InboundBucket"].clone(),
            key: first,
            received_at: Utc::now(),
        },
    )
    .await
    .unwrap();
    assert!(
        matches!(
            replayed,
            Received::Reply {
                new: false,
                kind: ReplyKind::Human,
                ..
            }
        ),
        "{replayed:?}"
    );
    stack.drain("ses-events").await;

    let listed = replies(&stack, "").await;
    assert_eq!(
        listed.len(),
        3,
        "two replies and an out-of-office: {listed:#?}"
    );
    let human = replies(&stack, "?kind=human").await;
    assert_eq!(human.len(), 2);
    for reply in &human {
        assert_eq!(reply["contact"]["id"], replier.as_str());
        assert_eq!(reply["contact"]["email"], replier_email.as_str());
        assert_eq!(reply["campaign"]["name"], "Écoute presse");
        assert_eq!(reply["matched_by"], "token");
        assert_eq!(
            reply["from_other_address"], true,
            "the fixtures come from other addresses"
        );
        assert_eq!(reply["metadata"]["verdicts"]["spf"], "pass");
    }
    let contents: Vec<&str> = human
        .iter()
        .map(|r| r["content"].as_str().unwrap())
        .collect();
    assert!(contents.contains(
        &"Thanks! We'd love to feature it on Friday's show.\nCan you send the press kit?"
    ));
    assert!(contents.contains(&"Bonjour, c'est noté pour la date de Lyon. Merci !"));
    let html = human
        .iter()
        .find_map(|r| r["html"].as_str())
        .expect("Gmail's HTML part");
    assert!(
        !html.contains("<script") && html.contains("feature it"),
        "{html}"
    );
    let auto = replies(&stack, "?kind=auto").await;
    assert_eq!(auto.len(), 1);
    assert_eq!(auto[0]["contact"]["id"], away.as_str());
    assert!(
        auto[0]["metadata"]["classification"]["sign"]
            .as_str()
            .unwrap()
            .starts_with("auto-submitted")
    );

    // Counted once per person, the out-of-office nowhere.
    let campaign = stack.owner().get(&sent.campaign_url).await.body;
    assert_eq!(
        campaign["engagement"]["replied"], 1,
        "{:?}",
        campaign["engagement"]
    );
    assert_eq!(campaign["engagement"]["replies"], 2);
    assert_eq!(campaign["reply_count"], 1, "the seed's counter");
    let contact = |id: &str| format!("{}/{id}", stack.contacts_url());
    let replier_now = stack.owner().get(&contact(&replier)).await.body;
    assert_eq!(replier_now["engagement"]["replied"], 1, "{replier_now:?}");
    assert_eq!(
        stack.owner().get(&contact(&away)).await.body["engagement"]["replied"],
        0
    );
    let history = stack
        .owner()
        .get(&format!("{}/history", contact(&replier)))
        .await
        .body;
    let received: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["interaction_type"] == "reply_received")
        .collect();
    assert_eq!(received.len(), 2, "{history:?}");
    let sends = stack
        .owner()
        .get(&format!("{}/sends", sent.campaign_url))
        .await
        .body;
    let status_of = |id: &str| {
        sends["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["contact_id"] == id)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of(&replier), "replied");

    // The bounce report bounced the address; the mailto unsubscribed the person.
    assert_eq!(
        stack.owner().get(&contact(&gone)).await.body["status"],
        "bounced"
    );
    assert_eq!(
        stack.owner().get(&contact(&leaving)).await.body["status"],
        "unsubscribed"
    );
    assert_eq!(campaign["engagement"]["bounces"], 1);
    assert_eq!(campaign["engagement"]["unsubscribes"], 1);

    // Marked processed and assigned, audited; unprocessed ones come first.
    let id = human[0]["id"].as_str().unwrap();
    let url = format!("/api/artists/{}/email/replies/{id}", stack.artist);
    let updated = stack
        .owner()
        .put(
            &url,
            &json!({ "processed": true, "assigned_to": "user-42", "note": "press kit sent" }),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["processed"], true);
    assert_eq!(updated.body["contact"]["id"], replier.as_str());
    let after = replies(&stack, "").await;
    assert_eq!(
        after.last().unwrap()["id"],
        id,
        "processed replies come last"
    );
    assert_eq!(replies(&stack, "?processed=false").await.len(), 2);
    assert_eq!(replies(&stack, "?assigned_to=user-42").await.len(), 1);
    let audit = mailing::store::audit::for_target(stack.app(), &format!("reply#{id}"), 5)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].changed, ["processed", "assigned_to", "note"]);

    // Bad input is a clear 4xx.
    for (body, status) in [
        (json!({ "processed": "yes" }), 422),
        (json!({ "note": "x".repeat(3000) }), 422),
        (json!({ "colour": "red" }), 422),
    ] {
        assert_eq!(
            stack.owner().put(&url, &body).await.status,
            status,
            "{body}"
        );
    }
    assert_eq!(
        stack
            .owner()
            .get(&format!(
                "/api/artists/{}/email/replies?kind=robot",
                stack.artist
            ))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn another_team_sees_no_reply_and_what_matches_nothing_waits_for_an_administrator() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    deliver(
        &stack,
        reply_from(&sent.contacts[0].1, "apple-mail.eml").await,
    )
    .await;
    // Not MIME at all, then a reply whose token was damaged: both kept, unassigned.
    deliver(&stack, b"\x00\x01\x02 this is not a message".to_vec()).await;
    let mut damaged = reply_from(&sent.contacts[0].1, "thunderbird.eml").await;
    let text = String::from_utf8_lossy(&damaged).replace("To: r-", "To: r-x");
    damaged = text
        .replace("In-Reply-To:", "X-Old-In-Reply-To:")
        .replace("References:", "X-Old-References:")
        .into_bytes();
    deliver(&stack, damaged).await;

    let replies_url = format!("/api/artists/{}/email/replies", stack.artist);
    let finance = stack.team("finance");
    assert_eq!(finance.get(&replies_url).await.body["items"], json!([]));
    assert_eq!(
        finance
            .get(&format!("{replies_url}?contact_role=press"))
            .await
            .status,
        403
    );
    let press_reply = replies(&stack, "").await;
    assert_eq!(press_reply.len(), 1);
    let id = press_reply[0]["id"].as_str().unwrap();
    let update = finance
        .put(
            &format!("{replies_url}/{id}"),
            &json!({ "processed": true }),
        )
        .await;
    assert_eq!(
        update.status, 404,
        "another team's reply does not exist for it"
    );
    let other_artist = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    assert_eq!(other_artist.get(&replies_url).await.status, 403);
    assert_eq!(stack.anonymous().get(&replies_url).await.status, 401);

    let unassigned = "/api/email/replies/unassigned";
    assert_eq!(stack.owner().get(unassigned).await.status, 403);
    let admin = stack.caller(&["mailing:admin".to_owned()]);
    let listed = admin.get(unassigned).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    let items = listed.body["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{items:#?}");
    assert!(items.iter().all(|r| r["artist_id"].is_null()));
    assert_eq!(
        replies(&stack, "").await.len(),
        1,
        "the damaged reply is not shown to the artist"
    );

    // A new message from the contact's own address, without token or thread: by its sender.
    let address = &sent.contacts[0].1;
    let fresh = format!(
        "From: {address}\r\nTo: presse@{REPLY_DOMAIN}\r\nSubject: Une question\r\n\r\nAvez-vous un visuel ?\r\n"
    );
    deliver(&stack, fresh.into_bytes()).await;
    let by_sender: Vec<Value> = replies(&stack, "")
        .await
        .into_iter()
        .filter(|r| r["matched_by"] == "sender")
        .collect();
    assert_eq!(by_sender.len(), 1, "{by_sender:#?}");
    assert_eq!(by_sender[0]["from_other_address"], false);
    assert_eq!(by_sender[0]["content"], "Avez-vous un visuel ?");
}

#[tokio::test]
async fn a_reply_is_forwarded_once_when_the_sender_profile_asks_and_a_virus_keeps_nothing() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    let manager = format!("manager@{}", sent.domain);
    let profile = stack
        .owner()
        .put(
            &format!("/api/artists/{}/sender-profile", stack.artist),
            &json!({
                "display_name": "Label Nova", "default_language": "fr",
                "reply_handling": "store_and_forward", "forward_replies_to": manager,
            }),
        )
        .await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    let address = &sent.contacts[0].1;
    let key = deliver(&stack, reply_from(address, "ios.eml").await).await;
    let forward = message_to(&manager).await;
    assert_eq!(forward.subject, "Fwd: Re: Concert Paris");
    assert_eq!(forward.headers["Auto-Submitted"], "auto-forwarded");
    assert!(
        forward
            .text
            .as_deref()
            .unwrap()
            .contains("Oui, deux places pour moi.")
    );
    let replayed = receive(
        stack.app(),
        &InboundObject {
            bucket: stack.refs["InboundBucket"].clone(),
            key,
            received_at: Utc::now(),
        },
    )
    .await
    .unwrap();
    assert!(matches!(replayed, Received::Reply { new: false, .. }));
    let forwards = devstack::outbox::accepted(&devstack::outbox::Filter {
        to: Some(manager.clone()),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(forwards.len(), 1, "a replay forwards nothing again");
    // The forward coming back (the manager's own auto-reply) is never forwarded again.
    let listed = replies(&stack, "").await;
    assert_eq!(listed[0]["metadata"]["forwarded_to"], manager.as_str());

    let original = inbound::newest_to(address).await.unwrap();
    let infected = inbound::as_reply_to(&fixture("gmail-en.eml"), &original, "FAIL").unwrap();
    let key = deliver(&stack, infected).await;
    let quarantined: Vec<Value> = replies(&stack, "")
        .await
        .into_iter()
        .filter(|r| r["quarantined"] == true)
        .collect();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0]["content"], "");
    assert_eq!(quarantined[0]["full_text"], "");
    assert!(quarantined[0]["html"].is_null());
    let stored = stack
        .app()
        .aws
        .s3
        .get_object()
        .bucket(&stack.refs["InboundBucket"])
        .key(&key)
        .send()
        .await;
    assert!(stored.is_err(), "the infected raw message is deleted");
}

#[tokio::test]
async fn a_soft_bounce_report_counts_soft_and_an_oversized_message_keeps_its_headers_only() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 2).await;
    deliver(
        &stack,
        reply_from(&sent.contacts[0].1, "dsn-soft-bounce.eml").await,
    )
    .await;
    let campaign = stack.owner().get(&sent.campaign_url).await.body;
    assert_eq!(
        campaign["engagement"]["soft_bounces"], 1,
        "{:?}",
        campaign["engagement"]
    );
    assert_eq!(campaign["engagement"]["bounces"], 0);
    let contact = format!("{}/{}", stack.contacts_url(), sent.contacts[0].0);
    assert_eq!(stack.owner().get(&contact).await.body["status"], "active");

    let mut huge = reply_from(&sent.contacts[1].1, "apple-mail.eml").await;
    let limit = usize::try_from(mailing::replies::MAX_INBOUND_BYTES).unwrap();
    huge.extend(std::iter::repeat_n(b'x', limit + 1024));
    deliver(&stack, huge).await;
    let listed = replies(&stack, "").await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    let reply = &listed[0];
    assert_eq!(reply["metadata"]["too_large"], true);
    assert!(reply["metadata"]["size"].as_u64().unwrap() > limit as u64);
    assert_eq!(reply["content"], "");
    assert_eq!(reply["subject"], "Re: Video premiere");
    assert_eq!(
        reply["contact"]["id"],
        sent.contacts[1].0.as_str(),
        "matched from its headers"
    );
    assert_eq!(
        stack.owner().get(&sent.campaign_url).await.body["engagement"]["replied"],
        1
    );
}

/// Every item of a table of the test's stack, as DynamoDB holds it.
pub(crate) async fn raw_items(
    stack: &TestStack,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    stack
        .app()
        .aws
        .dynamodb
        .scan()
        .table_name(&stack.refs[table])
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

#[tokio::test]
async fn sends_interactions_and_replies_carry_their_expiry_and_the_tables_expire_them() {
    let stack = TestStack::new().await;
    let sent = sent_campaign(&stack, 1).await;
    stack.drain_queues().await;
    deliver(
        &stack,
        reply_from(&sent.contacts[0].1, "gmail-fr.eml").await,
    )
    .await;
    let retention = stack.app().config.retention;
    for (table, days, time) in [
        ("SendsTable", retention.sends_days, "created_at"),
        (
            "InteractionsTable",
            retention.interactions_days,
            "created_at",
        ),
        ("RepliesTable", retention.replies_days, "received_at"),
    ] {
        let items = raw_items(&stack, table).await;
        assert!(!items.is_empty(), "{table}");
        for item in items {
            let Some(aws_sdk_dynamodb::types::AttributeValue::N(expires)) = item.get("expires_at")
            else {
                panic!("{table}: an item without expires_at: {item:?}");
            };
            let expires = expires.parse::<i64>().unwrap();
            match item.get(time) {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(made)) => {
                    let made: chrono::DateTime<chrono::Utc> = made.parse().unwrap();
                    assert_eq!(
                        expires,
                        (made + chrono::Duration::days(i64::from(days))).timestamp(),
                        "{table}"
                    );
                }
                // A first-time mark lives as long as a send row, from its event.
                _ => {
                    let from_now = (chrono::Utc::now()
                        + chrono::Duration::days(i64::from(retention.sends_days)))
                    .timestamp();
                    assert!((from_now - expires).abs() < 600, "{table}: {item:?}");
                }
            }
        }
        let ttl = stack
            .app()
            .aws
            .dynamodb
            .describe_time_to_live()
            .table_name(&stack.refs[table])
            .send()
            .await
            .unwrap();
        let description = ttl.time_to_live_description.unwrap();
        assert_eq!(description.attribute_name(), Some("expires_at"), "{table}");
    }
    assert_eq!(
        (
            retention.sends_days,
            retention.interactions_days,
            retention.replies_days
        ),
        (400, 730, 730),
        "the template's defaults"
    );
}
