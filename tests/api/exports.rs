//! Portability: one contact's whole record as JSON, a team's list as CSV no spreadsheet runs,
//! through a link when large; nothing of another team or artist.

use chrono::{Duration, Utc};
use devstack::outbox;
use mailing::analytics::report::Locale;
use mailing::auth::Caller;
use mailing::contacts::ListRequest;
use mailing::domain::{ContactRole, UserId};
use mailing::portability::{self, ListExport};
use serde_json::json;

use crate::replies::deliver;
use crate::support::{TestStack, presigned};
use crate::tracking::{HUMAN, message_to, send_press_campaign};

fn rows(csv: &[u8], separator: u8) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(csv).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for Excel");
    csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn a_contacts_export_holds_its_fields_messages_events_and_replies_and_only_its_own() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = stack.new_sending_domain("export").await;
    let email = format!("ines@radio-{domain}");
    let id = owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": email, "contact_role": "press", "first_name": "Inès", "company": "Radio Nova",
                    "consent": { "basis": "legitimate_interest", "source": "salon 2026" } }),
        )
        .await;
    // The same person on the label team, whose reply is that team's business.
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": email, "contact_role": "label" }),
        )
        .await;
    send_press_campaign(&stack, &domain).await;
    let message = message_to(&email).await;
    outbox::publish_event(
        &message.message_id,
        "Open",
        json!({ "timestamp": (Utc::now() + Duration::minutes(5)).to_rfc3339(), "userAgent": HUMAN }),
    )
    .await
    .unwrap();
    stack.drain_queues().await;
    let original = devstack::inbound::newest_to(&email).await.unwrap();
    let reply = format!(
        "From: Inès <{email}>\r\nSubject: Re: Bonjour\r\nMessage-ID: <{}@radio.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p>Avec plaisir !</p><script>alert(1)</script>\r\n",
        uuid::Uuid::new_v4().simple()
    );
    deliver(
        &stack,
        devstack::inbound::as_reply_to(reply.as_bytes(), &original, "PASS").unwrap(),
    )
    .await;

    let url = format!("{}/{id}/export", stack.contacts_url());
    let export = stack.team("press").get(&url).await;
    assert_eq!(export.status, 200, "{:?}", export.body);
    let body = &export.body;
    assert_eq!(body["contact"]["email"], email.as_str());
    assert_eq!(body["contact"]["company"], "Radio Nova");
    assert_eq!(body["contact"]["consent"]["source"], "salon 2026");
    assert_eq!(body["contact"]["engagement"]["opened"], 1);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{body}");
    assert_eq!(messages[0]["status"], "sent");
    assert!(messages[0]["opened_at"].is_string(), "{body}");
    assert!(
        messages[0].get("opt_out").is_none(),
        "no keyed hash: {body}"
    );
    let kinds: Vec<&str> = body["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["interaction_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"email_opened") && kinds.contains(&"reply_received"),
        "{kinds:?}"
    );
    let replies = body["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "{body}");
    assert!(
        replies[0]["content"]
            .as_str()
            .unwrap()
            .contains("Avec plaisir")
    );
    assert!(
        !replies[0]["html"]
            .as_str()
            .unwrap_or_default()
            .contains("<script"),
        "{body}"
    );

    // Another team of the artist does not learn it exists; another artist is refused.
    let finance = stack.team("finance").get(&url).await;
    assert_eq!(finance.status, 404, "{:?}", finance.body);
    let other = mailing::domain::ArtistId::new();
    let stranger = stack.caller(&[format!("artist:{other}:*")]).get(&url).await;
    assert_eq!(stranger.status, 403, "{:?}", stranger.body);
    let label_view = stack.team("label").get(&url).await;
    assert_eq!(label_view.status, 404);
}

#[tokio::test]
async fn a_teams_list_exports_as_csv_no_spreadsheet_runs_inline_or_through_a_link() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let hostile = [
        "=HYPERLINK(\"http://evil.example\",\"x\")",
        "+cmd|' /C calc'!A0",
        "@SUM(1+1)",
        "-2+3",
    ];
    for (i, name) in hostile.iter().enumerate() {
        owner
            .create_contact(
                &stack.contacts_url(),
                json!({ "email": format!("p{i}@{suffix}.example"), "contact_role": "press",
                        "first_name": name, "tags": ["festival", "radio"] }),
            )
            .await;
    }
    let gone = owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": format!("gone@{suffix}.example"), "contact_role": "press" }),
        )
        .await;
    owner
        .put(
            &format!("{}/{gone}", stack.contacts_url()),
            &json!({ "status": "unsubscribed" }),
        )
        .await;
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": format!("label@{suffix}.example"), "contact_role": "label" }),
        )
        .await;

    let url = format!("{}/export?contact_role=press", stack.contacts_url());
    let inline = stack.team("press").get_raw(&url, &[]).await;
    assert_eq!(
        inline.status,
        200,
        "{}",
        String::from_utf8_lossy(&inline.body)
    );
    assert!(inline.headers["content-type"].starts_with("text/csv"));
    let table = rows(&inline.body, b',');
    assert_eq!(table[0][..4], ["id", "email", "contact_role", "status"]);
    assert_eq!(table.len(), 1 + 5, "the press team only");
    let first_names: Vec<&str> = table[1..].iter().map(|row| row[4].as_str()).collect();
    for name in hostile {
        assert!(
            first_names.contains(&format!("'{name}").as_str()),
            "{first_names:?}"
        );
    }
    assert!(
        table[1..]
            .iter()
            .flatten()
            .all(|cell| !cell.starts_with(['=', '+', '-', '@'])),
        "no cell starts a formula"
    );
    assert!(table[1..].iter().any(|row| row[9] == "festival, radio"));

    let french = stack
        .team("press")
        .get_raw(
            &format!(
                "{}/export?contact_role=press&status=unsubscribed&locale=fr",
                stack.contacts_url()
            ),
            &[],
        )
        .await;
    let table = rows(&french.body, b';');
    assert_eq!(table.len(), 2, "{table:?}");
    assert_eq!(table[1][1], format!("gone@{suffix}.example"));

    for (caller, target, status) in [
        (stack.team("finance"), url.clone(), 403),
        (
            stack.team("press"),
            format!("{}/export?contact_role=label", stack.contacts_url()),
            403,
        ),
        (stack.team("press"), format!("{url}&status=gone"), 400),
        (stack.team("press"), format!("{url}&locale=de"), 400),
        (stack.anonymous(), url.clone(), 401),
    ] {
        assert_eq!(caller.get(&target).await.status, status, "{target}");
    }

    // Past what a response carries, the same file comes through a short-lived link.
    let mut small = stack.app().clone();
    small.config.export_inline_bytes = 200;
    let caller = Caller::new(
        UserId::new("user-test"),
        [format!("artist:{}:press", stack.artist).as_str()],
    );
    let listing = ListRequest {
        artist: stack.artist,
        contact_role: Some(ContactRole::Press),
        status: None,
        tag: None,
        limit: 50,
        cursor: None,
    };
    let ListExport::Link(link) = portability::list(&small, &caller, listing, Locale::English)
        .await
        .unwrap()
    else {
        panic!("a link past the inline limit");
    };
    let (status, linked) = presigned("GET", &link, b"").await;
    assert_eq!(status, 200);
    assert_eq!(rows(&linked, b','), rows(&inline.body, b','));
}
