//! Erasure: a person with a full history is erased and nothing of their address or name is left
//! in any table or bucket of the stack; only the keyed hash keeps them from coming back.

use chrono::{Duration, Utc};
use devstack::outbox;
use devstack::template::Template;
use serde_json::{Value, json};

use crate::imports_flow::{import_through_s3, press_import};
use crate::replies::deliver;
use crate::support::{TestStack, repo_root};
use crate::tracking::{HUMAN, link, message_to, send_press_campaign};

/// Someone of the press team and of the label team, with a unique name and address.
struct Person {
    email: String,
    first_name: &'static str,
    last_name: String,
}

impl Person {
    fn new(domain: &str) -> Self {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        Self {
            email: format!("zephyrine.quillard.{suffix}@radio-{domain}"),
            first_name: "Zéphyrine",
            last_name: format!("Quillard{suffix}"),
        }
    }

    /// What must be found nowhere once erased, lowercase.
    fn traces(&self) -> Vec<String> {
        let local = self.email.split('@').next().unwrap();
        [
            self.email.as_str(),
            local,
            self.first_name,
            self.last_name.as_str(),
        ]
        .map(str::to_lowercase)
        .to_vec()
    }
}

/// A reply the person writes by hand to the newest message they got.
async fn reply_of(person: &Person) -> Vec<u8> {
    let original = devstack::inbound::newest_to(&person.email).await.unwrap();
    let raw = format!(
        "From: {} {} <{}>\r\nSubject: Re: Bonjour\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
         Message-ID: <{}@radio.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Avec plaisir pour l'interview, appelez-moi.\r\n\r\n{} {}\r\n",
        person.first_name,
        person.last_name,
        person.email,
        uuid::Uuid::new_v4().simple(),
        person.first_name,
        person.last_name,
    );
    devstack::inbound::as_reply_to(raw.as_bytes(), &original, "PASS").unwrap()
}

/// Where a trace of the person was found: every table and bucket the template declares.
async fn traces_in_the_stack(stack: &TestStack, person: &Person) -> Vec<String> {
    let traces = person.traces();
    let template = Template::load(&repo_root().join("template.yaml")).unwrap();
    let mut found = Vec::new();
    for table in template.resources_of(&["AWS::DynamoDB::Table"]) {
        let name = &stack.refs[&table.logical_id];
        let mut start = None;
        loop {
            let page = stack
                .app()
                .aws
                .dynamodb
                .scan()
                .table_name(name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in page.items() {
                let text = format!("{item:?}").to_lowercase();
                found.extend(
                    traces
                        .iter()
                        .filter(|trace| text.contains(trace.as_str()))
                        .map(|trace| format!("{trace} in {}: {item:?}", table.logical_id)),
                );
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    for bucket in template.resources_of(&["AWS::S3::Bucket"]) {
        let name = &stack.refs[&bucket.logical_id];
        let s3 = &stack.app().aws.s3;
        let listed = s3.list_objects_v2().bucket(name).send().await.unwrap();
        for object in listed.contents() {
            let key = object.key().unwrap();
            let body = s3.get_object().bucket(name).key(key).send().await.unwrap();
            let bytes = body.body.collect().await.unwrap().into_bytes();
            let text = String::from_utf8_lossy(&bytes).to_lowercase();
            found.extend(
                traces
                    .iter()
                    .filter(|trace| text.contains(trace.as_str()))
                    .map(|trace| format!("{trace} in {}/{key}", bucket.logical_id)),
            );
        }
    }
    found
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

#[tokio::test]
async fn an_erased_person_leaves_no_trace_in_any_table_or_bucket_and_never_comes_back() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = stack.new_sending_domain("erase").await;
    let person = Person::new(&domain);

    // Imported into the press team with a colleague and a broken row...
    let file = format!(
        "email,first_name,last_name\n{},{},{}\ncolleague@radio-{domain},Paul,Martin\nnot-an-address,Bad,Row\n",
        person.email, person.first_name, person.last_name
    );
    let job = import_through_s3(
        &stack,
        press_import("presse.csv"),
        file.clone().into_bytes(),
    )
    .await;
    assert_eq!(job["report"]["created"], 2, "{job}");
    assert!(job["error_report_url"].is_string(), "{job}");
    let listed = owner
        .get(&format!("{}?contact_role=press", stack.contacts_url()))
        .await;
    let press_id = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == person.email.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // ...also on the label team's list...
    let label_id = owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": person.email, "contact_role": "label", "first_name": person.first_name, "last_name": person.last_name }),
        )
        .await;
    // ...two campaigns, an open and a click, a conversion through the click...
    let first = send_press_campaign(&stack, &domain).await;
    let message = message_to(&person.email).await;
    let click = link(&message, "/api/email/track/click/");
    for (kind, detail) in [
        (
            "Open",
            json!({ "timestamp": at(Duration::minutes(20)), "userAgent": HUMAN }),
        ),
        (
            "Click",
            json!({ "timestamp": at(Duration::minutes(21)), "userAgent": HUMAN, "link": "https://label.example/presse" }),
        ),
    ] {
        outbox::publish_event(&message.message_id, kind, detail)
            .await
            .unwrap();
    }
    stack.drain_queues().await;
    let converted = owner
        .post(
            &format!("/api/artists/{}/email/conversions", stack.artist),
            &json!({ "id": "order-erase-1", "kind": "ticket_sale", "value": "42", "currency": "EUR",
                     "click_token": click.rsplit('/').next().unwrap() }),
        )
        .await;
    assert_eq!(converted.status, 201, "{:?}", converted.body);
    send_press_campaign(&stack, &domain).await;
    // ...a one-to-one email that names them, and their reply to it.
    let individual = owner
        .post(
            &format!("{}/{press_id}/emails", stack.contacts_url()),
            &json!({ "from_name": "Léa", "from_email": format!("lea@{domain}"),
                     "subject": format!("Pour {} : l'interview", person.first_name),
                     "content": "<p>Bonjour {{ contact.first_name }}, on se parle jeudi ?</p>" }),
        )
        .await;
    assert_eq!(individual.status, 202, "{:?}", individual.body);
    stack.drain_sending().await;
    deliver(&stack, reply_of(&person).await).await;
    let replies = owner
        .get(&format!("/api/artists/{}/email/replies", stack.artist))
        .await;
    assert_eq!(replies.body["items"][0]["contact_id"], press_id.as_str());
    assert!(
        !traces_in_the_stack(&stack, &person).await.is_empty(),
        "the history names the person before the erasure"
    );

    // Only an artist-wide grant erases.
    let erase_url = format!("{}/{press_id}/erase", stack.contacts_url());
    let refused = stack.team("press").post(&erase_url, &json!({})).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);

    let erased = owner.post(&erase_url, &json!({})).await;
    assert_eq!(erased.status, 200, "{:?}", erased.body);
    let counts = &erased.body["erased"];
    let mut contacts: Vec<&str> = counts["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    contacts.sort_unstable();
    let mut expected = vec![press_id.as_str(), label_id.as_str()];
    expected.sort_unstable();
    assert_eq!(contacts, expected, "every team's contact of the person");
    assert_eq!(counts["sends"], 3, "{counts}");
    assert_eq!(counts["replies"], 1, "{counts}");
    assert_eq!(counts["raw_messages"], 1, "{counts}");
    assert_eq!(counts["individual_emails"], 1, "{counts}");
    assert_eq!(counts["consent_entries"], 1, "the import's, {counts}");
    assert!(counts["interactions"].as_u64().unwrap() >= 5, "{counts}");
    assert!(counts["counters"].as_u64().unwrap() >= 1, "{counts}");

    let left = traces_in_the_stack(&stack, &person).await;
    assert!(left.is_empty(), "{left:#?}");
    assert_eq!(
        owner
            .get(&format!("{}/{press_id}", stack.contacts_url()))
            .await
            .status,
        404
    );
    // Nothing keyed by the contacts either: no ledger entry, timeline or counter names them
    // (the audit trail and conversions keep the bare ids, which now lead nowhere).
    for table in [
        "ContactsTable",
        "InteractionsTable",
        "StatsTable",
        "SendsTable",
    ] {
        for item in crate::replies::raw_items(&stack, table).await {
            let text = format!("{item:?}");
            assert!(
                !text.contains(&press_id) && !text.contains(&label_id),
                "{table}: {text}"
            );
        }
    }

    // The aggregates stay, anonymous.
    let analytics = owner.get(&format!("{first}/analytics")).await;
    assert_eq!(
        analytics.body["volumes"]["conversions"], 1,
        "{:?}",
        analytics.body
    );
    assert_eq!(analytics.body["volumes"]["unique_clicks"], 1);

    // The trail says who erased, when and how much, never whom.
    let trail = owner
        .get(&format!(
            "/api/artists/{}/audit?action=person.erased",
            stack.artist
        ))
        .await;
    assert_eq!(trail.status, 200, "{:?}", trail.body);
    let record = &trail.body["items"][0];
    assert_eq!(record["id"], erased.body["id"]);
    assert_eq!(record["erased"], *counts);
    let text = record.to_string().to_lowercase();
    assert!(
        person
            .traces()
            .iter()
            .all(|trace| !text.contains(trace.as_str())),
        "{text}"
    );

    // The same file again: the person is skipped, never re-created; nothing reaches them.
    let again = import_through_s3(&stack, press_import("presse.csv"), file.into_bytes()).await;
    assert_eq!(again["report"]["skipped_suppressed"], 1, "{again}");
    assert_eq!(again["report"]["created"], 0, "{again}");
    let left = traces_in_the_stack(&stack, &person).await;
    assert!(left.is_empty(), "{left:#?}");
}

#[tokio::test]
async fn erasure_by_address_finds_a_person_whose_contact_was_deleted_and_refuses_bad_requests() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = stack.new_sending_domain("erase").await;
    let person = Person::new(&domain);
    let id = owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": person.email, "contact_role": "press", "first_name": person.first_name, "last_name": person.last_name }),
        )
        .await;
    send_press_campaign(&stack, &domain).await;
    deliver(&stack, reply_of(&person).await).await;
    let deleted = owner
        .delete(&format!("{}/{id}", stack.contacts_url()))
        .await;
    assert_eq!(deleted.status, 204);
    assert!(
        !traces_in_the_stack(&stack, &person).await.is_empty(),
        "a deleted contact's reply still names them"
    );

    let url = format!("{}/erase", stack.contacts_url());
    let erased = owner
        .post(&url, &json!({ "email": person.email.to_uppercase() }))
        .await;
    assert_eq!(erased.status, 200, "{:?}", erased.body);
    assert_eq!(erased.body["erased"]["contacts"], json!([]));
    assert_eq!(erased.body["erased"]["sends"], 1);
    assert_eq!(erased.body["erased"]["replies"], 1);
    let left = traces_in_the_stack(&stack, &person).await;
    assert!(left.is_empty(), "{left:#?}");
    // Erasing again finds nothing more and says so.
    let again = owner.post(&url, &json!({ "email": person.email })).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["erased"]["sends"], 0);

    // A new contact of the address is kept from being written to.
    let back = owner
        .post(
            &stack.contacts_url(),
            &json!({ "email": person.email, "contact_role": "press" }),
        )
        .await;
    assert_eq!(back.status, 201, "{:?}", back.body);
    assert_eq!(back.body["status"], "unsubscribed");

    let other = mailing::domain::ArtistId::new();
    let cases: Vec<(crate::support::Caller<'_>, String, Value, u16)> = vec![
        (
            stack.team("press"),
            url.clone(),
            json!({ "email": person.email }),
            403,
        ),
        (
            stack.caller(&[format!("artist:{other}:*")]),
            url.clone(),
            json!({ "email": person.email }),
            403,
        ),
        (
            stack.anonymous(),
            url.clone(),
            json!({ "email": person.email }),
            401,
        ),
        (
            owner.clone(),
            url.clone(),
            json!({ "email": "not-an-address" }),
            422,
        ),
        (owner.clone(), url.clone(), json!({}), 422),
        (
            owner.clone(),
            url.clone(),
            json!({ "email": person.email, "why": "x" }),
            422,
        ),
        (
            owner.clone(),
            format!(
                "{}/{}/erase",
                stack.contacts_url(),
                mailing::domain::ContactId::new()
            ),
            json!({}),
            404,
        ),
    ];
    for (caller, target, body, status) in cases {
        let answered = caller.post(&target, &body).await;
        assert_eq!(
            answered.status, status,
            "{target} {body}: {:?}",
            answered.body
        );
        // A missing token is API Gateway's answer, in its own shape.
        assert!(
            status == 401 || answered.body["error"]["code"].is_string(),
            "{:?}",
            answered.body
        );
    }
}
