//! Contact sync from Gmail, Outlook and Mailchimp against the local stack's fake address books:
//! the endpoint creates an import job, `import-upload` reads the provider's pages, the status
//! endpoint reports; a second sync reads only the changes.

use std::time::Duration;

use devstack::fake_sources::{
    self, Failure, FakeSources, GOOGLE_TOKEN, GRAPH_TOKEN, MAILCHIMP_KEY, MAILCHIMP_LIST, Person,
};
use mailing::domain::{ContactRole, SyncProvider};
use serde_json::{Value, json};

use crate::support::TestStack;

const PROVIDERS: [SyncProvider; 3] = [
    SyncProvider::Gmail,
    SyncProvider::Outlook,
    SyncProvider::Mailchimp,
];

/// A sync request taking the fakes' credentials.
pub(crate) fn request(provider: SyncProvider, role: &str) -> Value {
    let mut body = json!({
        "contact_role": role,
        "consent": { "basis": "legitimate_interest" },
    });
    match provider {
        SyncProvider::Gmail => body["access_token"] = json!(GOOGLE_TOKEN),
        SyncProvider::Outlook => body["access_token"] = json!(GRAPH_TOKEN),
        SyncProvider::Mailchimp => {
            body["api_key"] = json!(MAILCHIMP_KEY);
            body["list_id"] = json!(MAILCHIMP_LIST);
        }
    }
    body
}

fn books(stack: &TestStack) -> &FakeSources {
    &stack.providers.fakes.sources
}

/// Starts a sync, lets `import-upload` run it, and answers the job.
async fn sync_with(stack: &TestStack, provider: SyncProvider, body: &Value) -> Value {
    let url = format!("{}/sync/{}", stack.contacts_url(), provider.as_str());
    let started = stack.owner().post(&url, body).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    assert_eq!(started.body["status"], "processing");
    stack.drain("import-upload").await;
    let id = started.body["id"].as_str().unwrap();
    let job = stack
        .owner()
        .get(&format!("{}/imports/{id}", stack.contacts_url()))
        .await;
    assert_eq!(job.status, 200);
    job.body
}

async fn sync(stack: &TestStack, provider: SyncProvider, role: &str) -> Value {
    sync_with(stack, provider, &request(provider, role)).await
}

async fn contacts(stack: &TestStack, role: &str) -> Vec<Value> {
    let listed = stack
        .owner()
        .get(&format!(
            "{}?contact_role={role}&limit=100",
            stack.contacts_url()
        ))
        .await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    listed.body["items"].as_array().unwrap().clone()
}

fn find<'a>(contacts: &'a [Value], email: &str) -> &'a Value {
    contacts
        .iter()
        .find(|c| c["email"] == email)
        .unwrap_or_else(|| panic!("{email} is not among {contacts:?}"))
}

fn counts(job: &Value) -> [u64; 6] {
    let report = &job["report"];
    [
        "rows",
        "created",
        "updated",
        "unchanged",
        "invalid",
        "duplicates",
    ]
    .map(|name| report[name].as_u64().unwrap())
}

/// `count` people `p0`, `p1`… at `provider`, addressed `p{i}@{provider}.example`.
fn fill(book: &FakeSources, provider: SyncProvider, count: usize) {
    for i in 0..count {
        let email = format!("p{i}@{}.example", provider.as_str());
        book.put(provider, &format!("p{i}"), Person::new(&email, "P", "Q"));
    }
}

fn person(email: &str, first: &str, company: &str, group: &str) -> Person {
    let mut person = Person::new(email, first, "Durand");
    person.company = company.to_owned();
    person.position = "Journalist".to_owned();
    person.phone = "+33 6 12 34 56 78".to_owned();
    person.groups = vec![group.to_owned()];
    person
}

#[tokio::test]
async fn each_provider_brings_its_contacts_in_once_then_only_the_changes() {
    let stack = TestStack::new().await;
    for (provider, role) in PROVIDERS.into_iter().zip(["press", "tour", "label"]) {
        let book = books(&stack);
        let domain = format!("{}.example", provider.as_str());
        for i in 0..5 {
            let email = format!("writer{i}@{domain}");
            book.put(
                provider,
                &format!("p{i}"),
                person(&email, &format!("W{i}"), "Radio Nova", "Press"),
            );
            if i == 0 {
                // The same address twice on one page: the first entry counts.
                book.put(
                    provider,
                    "again",
                    person(&format!("WRITER0@{domain}"), "Twice", "", "Press"),
                );
            }
        }
        book.put(provider, "bad", Person::new("not-an-address", "X", "Y"));

        let group_reads = book.group_reads();
        let first = sync(&stack, provider, role).await;
        assert_eq!(first["status"], "completed", "{provider:?}: {first}");
        assert_eq!(first["sync"]["mode"], "full");
        assert_eq!(first["sync"]["pages"], 3, "7 entries, 3 a page");
        if provider == SyncProvider::Gmail {
            assert_eq!(
                book.group_reads() - group_reads,
                1,
                "groups read once a run"
            );
        }
        // rows, created, updated, unchanged, invalid, duplicates
        assert_eq!(counts(&first), [7, 5, 0, 0, 1, 1], "{provider:?}: {first}");
        assert_eq!(first["report"]["errors"][0]["code"], "invalid_email");
        assert!(first["error_report_url"].is_string());
        let listed = contacts(&stack, role).await;
        assert_eq!(listed.len(), 5);
        let writer = find(&listed, &format!("writer1@{domain}"));
        assert_eq!(writer["first_name"], "W1");
        assert_eq!(
            find(&listed, &format!("writer0@{domain}"))["first_name"],
            "W0"
        );
        assert_eq!(writer["last_name"], "Durand");
        assert_eq!(writer["company"], "Radio Nova");
        assert_eq!(writer["phone"], "+33 6 12 34 56 78");
        assert_eq!(writer["tags"], json!(["press"]));
        assert_eq!(
            writer["metadata"][format!("{}_id", provider.as_str())],
            "p1"
        );
        if provider != SyncProvider::Mailchimp {
            assert_eq!(writer["position"], "Journalist");
        }
        assert_eq!(writer["consent"]["basis"], "legitimate_interest");
        assert!(
            writer["consent"]["source"]
                .as_str()
                .unwrap()
                .contains(provider.title()),
            "the provider is the consent's source: {writer}"
        );

        // A change, a newcomer and a deletion at the provider.
        book.put(
            provider,
            "p2",
            person(&format!("writer2@{domain}"), "W2", "FIP", "Radio"),
        );
        book.put(
            provider,
            "p9",
            person(&format!("new@{domain}"), "New", "", "Press"),
        );
        book.delete(provider, "p3");
        let second = sync(&stack, provider, role).await;
        assert_eq!(second["status"], "completed", "{second}");
        assert_eq!(second["sync"]["mode"], "incremental");
        assert_eq!(
            counts(&second),
            [2, 1, 1, 0, 0, 0],
            "{provider:?}: {second}"
        );
        assert_eq!(second["report"]["removed_at_source"], 1);
        assert_eq!(second["report"]["removed_at_source_ids"], json!(["p3"]));
        let listed = contacts(&stack, role).await;
        assert_eq!(
            listed.len(),
            6,
            "a deletion at the provider deletes nothing here"
        );
        let changed = find(&listed, &format!("writer2@{domain}"));
        assert_eq!(changed["company"], "FIP");
        assert_eq!(
            changed["tags"],
            json!(["press", "radio"]),
            "tags are added to"
        );
    }
}

#[tokio::test]
async fn an_expired_cursor_falls_back_to_a_full_sync_instead_of_failing() {
    let stack = TestStack::new().await;
    for provider in [SyncProvider::Gmail, SyncProvider::Outlook] {
        let book = books(&stack);
        fill(book, provider, 4);
        assert_eq!(sync(&stack, provider, "press").await["status"], "completed");
        book.expire_cursors(provider);
        book.put(
            provider,
            "p1",
            Person::new(&format!("p1@{}.example", provider.as_str()), "Renamed", "Q"),
        );
        let job = sync(&stack, provider, "press").await;
        assert_eq!(job["status"], "completed", "{job}");
        assert_eq!(job["sync"]["fell_back_to_full"], true);
        assert_eq!(job["sync"]["mode"], "full");
        assert_eq!(counts(&job), [4, 0, 1, 3, 0, 0], "{provider:?}: {job}");
        // The full sync left a fresh cursor: the next one is incremental again.
        let next = sync(&stack, provider, "press").await;
        assert_eq!(next["sync"]["mode"], "incremental");
        assert_eq!(next["report"]["rows"], 0);
    }
}

#[tokio::test]
async fn mailchimp_statuses_arrive_as_the_person_chose_and_an_unsubscribe_stays() {
    let stack = TestStack::new().await;
    let book = books(&stack);
    let member = |email: &str, status: &'static str| {
        let mut person = Person::new(email, "M", "C");
        person.mailchimp_status = status;
        person
    };
    book.put(
        SyncProvider::Mailchimp,
        "s",
        member("subscribed@fans.example", "subscribed"),
    );
    book.put(
        SyncProvider::Mailchimp,
        "u",
        member("gone@fans.example", "unsubscribed"),
    );
    book.put(
        SyncProvider::Mailchimp,
        "c",
        member("bounced@fans.example", "cleaned"),
    );
    book.put(
        SyncProvider::Mailchimp,
        "p",
        member("pending@fans.example", "pending"),
    );
    book.put(
        SyncProvider::Mailchimp,
        "k",
        member("known@fans.example", "unsubscribed"),
    );
    book.put(
        SyncProvider::Mailchimp,
        "a",
        member("archived@fans.example", "subscribed"),
    );
    book.delete(SyncProvider::Mailchimp, "a");
    // Someone the team already writes to, who unsubscribed in Mailchimp.
    let known = stack
        .owner()
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": "known@fans.example", "contact_role": "marketing",
                    "consent": { "basis": "consent", "source": "concert form" } }),
        )
        .await;

    let job = sync(&stack, SyncProvider::Mailchimp, "marketing").await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["report"]["removed_at_source"], 1, "archived is skipped");
    let listed = contacts(&stack, "marketing").await;
    assert_eq!(listed.len(), 5);
    let status = |email: &str| find(&listed, email)["status"].clone();
    assert_eq!(status("subscribed@fans.example"), "active");
    assert_eq!(status("gone@fans.example"), "unsubscribed");
    assert_eq!(status("bounced@fans.example"), "bounced");
    assert_eq!(status("pending@fans.example"), "active");
    assert_eq!(
        status("known@fans.example"),
        "unsubscribed",
        "the opt-out reaches a contact we had"
    );
    let subscribed = find(&listed, "subscribed@fans.example");
    assert_eq!(
        subscribed["consent"]["proof"]["timestamp_opt"],
        "2025-03-01T09:05:12+00:00"
    );
    assert_eq!(subscribed["consent"]["proof"]["ip_opt"], "198.51.100.7");
    assert_eq!(
        subscribed["consent"]["proof"]["mailchimp_list"],
        MAILCHIMP_LIST
    );
    assert_eq!(
        find(&listed, "pending@fans.example")["consent"],
        Value::Null,
        "pending is not consent"
    );
    let export = stack
        .owner()
        .get(&format!("{}/{known}/export", stack.contacts_url()))
        .await;
    let history: Vec<&str> = export.body["consent_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["change"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["given", "withdrawn"]);

    // Deleted here and subscribed again in Mailchimp: the person's opt-out still holds.
    let gone = find(&listed, "gone@fans.example")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = stack
        .owner()
        .delete(&format!("{}/{gone}", stack.contacts_url()))
        .await;
    assert_eq!(deleted.status, 204);
    book.put(
        SyncProvider::Mailchimp,
        "u",
        member("gone@fans.example", "subscribed"),
    );
    let again = sync(&stack, SyncProvider::Mailchimp, "marketing").await;
    assert_eq!(again["sync"]["mode"], "incremental");
    assert_eq!(again["report"]["skipped_suppressed"], 1, "{again}");
    let listed = contacts(&stack, "marketing").await;
    assert!(listed.iter().all(|c| c["email"] != "gone@fans.example"));
}

#[tokio::test]
async fn provider_errors_are_waited_out_retried_or_reported_and_never_half_apply_a_page() {
    let stack = TestStack::new().await;
    let book = books(&stack);
    fill(book, SyncProvider::Gmail, 5);
    // Throttled once (Retry-After: 1) and unavailable twice: waited out in the same run.
    book.fail_next(
        SyncProvider::Gmail,
        Failure {
            status: 429,
            retry_after: Some(1),
        },
        1,
    );
    book.fail_next(
        SyncProvider::Gmail,
        Failure {
            status: 503,
            retry_after: None,
        },
        2,
    );
    let before = book.calls(SyncProvider::Gmail);
    let job = sync(&stack, SyncProvider::Gmail, "press").await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(counts(&job), [5, 5, 0, 0, 0, 0]);
    assert_eq!(
        book.calls(SyncProvider::Gmail) - before,
        2 + 3,
        "two pages, three failures"
    );

    // Down for longer than the run retries: the message goes back to SQS, the job keeps every
    // page it applied whole and nothing of the failed one.
    book.put(
        SyncProvider::Gmail,
        "p5",
        Person::new("p5@gmail.example", "P", "Q"),
    );
    book.fail_next(
        SyncProvider::Gmail,
        Failure {
            status: 500,
            retry_after: None,
        },
        4,
    );
    let url = format!("{}/sync/gmail", stack.contacts_url());
    let started = stack
        .owner()
        .post(&url, &request(SyncProvider::Gmail, "press"))
        .await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    stack.poll_once("import-upload").await;
    let job = stack
        .owner()
        .get(&format!("{}/imports/{id}", stack.contacts_url()))
        .await
        .body;
    assert_eq!(job["status"], "processing", "{job}");
    assert_eq!(job["report"]["rows"], 0);

    // A revoked token: the job says so and keeps what earlier pages brought.
    let mut revoked = request(SyncProvider::Outlook, "tour");
    revoked["access_token"] = json!("EwB-revoked");
    let job = sync_with(&stack, SyncProvider::Outlook, &revoked).await;
    assert_eq!(job["status"], "credential_rejected", "{job}");
    assert_eq!(job["failure"]["code"], "credential_rejected");
    assert!(
        job["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("Outlook")
    );
    let mut wrong_list = request(SyncProvider::Mailchimp, "label");
    wrong_list["list_id"] = json!("nosuchlist");
    let job = sync_with(&stack, SyncProvider::Mailchimp, &wrong_list).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["failure"]["code"], "provider_refused");
}

/// Takes the sync's message off the imports queue, as Lambda's event source would, checking
/// it holds no credential in clear.
async fn queued_sync(stack: &TestStack) -> mailing::sync_jobs::ContinueSync {
    let queue = &stack.refs["ImportsQueue"];
    let sqs = &stack.app().aws.sqs;
    // The queue also holds S3's test event from when the bucket's notifications were set up.
    let mut continuation = None;
    while continuation.is_none() {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        assert!(
            !received.messages().is_empty(),
            "the sync's message is queued"
        );
        for message in received.messages() {
            let body = message.body().unwrap();
            assert!(
                !body.contains(GOOGLE_TOKEN) && !body.contains("local-google"),
                "{body}"
            );
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            continuation = continuation.or(mailing::sync_jobs::ContinueSync::read(
                &serde_json::from_str(body).unwrap(),
            ));
        }
    }
    continuation.unwrap()
}

/// A press sync of `people` Gmail contacts started through the API, and its queued message.
async fn started_gmail_sync(
    stack: &TestStack,
    people: usize,
) -> (String, mailing::sync_jobs::ContinueSync) {
    fill(books(stack), SyncProvider::Gmail, people);
    let url = format!("{}/sync/gmail", stack.contacts_url());
    let started = stack
        .owner()
        .post(&url, &request(SyncProvider::Gmail, "press"))
        .await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    (id, queued_sync(stack).await)
}

#[tokio::test]
async fn a_storage_failure_gives_the_sync_back_at_its_last_page_for_the_next_delivery() {
    let stack = TestStack::new().await;
    let (id, continuation) = started_gmail_sync(&stack, 5).await;
    let later = || tokio::time::Instant::now() + Duration::from_secs(60);
    let mut broken = stack.function("import-upload").clone();
    broken.config.suppression_table = format!("missing-{}", uuid::Uuid::new_v4().simple());
    assert!(
        mailing::sync_jobs::process(&broken, &continuation, later())
            .await
            .is_err()
    );
    let status_url = format!("{}/imports/{id}", stack.contacts_url());
    let job = stack.owner().get(&status_url).await.body;
    assert_eq!(job["status"], "processing", "{job}");
    assert_eq!(
        job["report"]["rows"], 0,
        "nothing of the failed page counts"
    );
    // The next delivery takes the job at once (the lease was given back) and finishes it.
    let app = stack.function("import-upload");
    let done = mailing::sync_jobs::process(app, &continuation, later())
        .await
        .unwrap();
    assert_eq!(done, mailing::import_jobs::Processed::Completed);
    let job = stack.owner().get(&status_url).await.body;
    assert_eq!(counts(&job), [5, 5, 0, 0, 0, 0], "{job}");
}

#[tokio::test]
async fn a_sync_that_cannot_be_queued_is_failed_rather_left_processing() {
    let stack = TestStack::new().await;
    let mut broken = stack.function("contacts-sync").clone();
    broken.config.imports_queue_url = format!(
        "{}/000000000000/missing-{}",
        std::env::var("AWS_ENDPOINT_URL").unwrap(),
        uuid::Uuid::new_v4().simple()
    );
    let caller = mailing::auth::Caller::new(
        mailing::domain::UserId::new("user-test"),
        [format!("artist:{}:*", stack.artist).as_str()],
    );
    let new = mailing::sync_jobs::NewSync {
        contact_role: ContactRole::Press,
        consent: mailing::contacts::ConsentInput {
            basis: mailing::domain::ConsentBasis::LegitimateInterest,
            source: None,
            proof: None,
            wording_version: None,
        },
        credential: mailing::sync::Credential::AccessToken(GOOGLE_TOKEN.to_owned()),
        list_id: None,
    };
    let refused =
        mailing::sync_jobs::start(&broken, &caller, stack.artist, SyncProvider::Gmail, new).await;
    assert!(
        refused.is_err(),
        "the caller hears that the sync did not start"
    );
    // The job was stored before the queue refused: the audit trail names it.
    let trail = stack
        .owner()
        .get(&format!(
            "/api/artists/{}/audit?action=import.created",
            stack.artist
        ))
        .await;
    let target = trail.body["items"][0]["target"]
        .as_str()
        .unwrap_or_default();
    let id = target
        .strip_prefix("import#")
        .expect("the sync's job is audited");
    let job = stack
        .owner()
        .get(&format!("{}/imports/{id}", stack.contacts_url()))
        .await
        .body;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["failure"]["code"], "sync_not_queued");
}

#[tokio::test]
async fn a_long_sync_continues_in_later_runs_with_its_credential_sealed() {
    let stack = TestStack::new().await;
    let (id, continuation) = started_gmail_sync(&stack, 8).await;

    // A run out of time applies one page and queues the rest, sealed the same way.
    let app = stack.function("import-upload");
    let first = mailing::sync_jobs::process(app, &continuation, tokio::time::Instant::now())
        .await
        .unwrap();
    assert_eq!(first, mailing::import_jobs::Processed::Continued);
    let status_url = format!("{}/imports/{id}", stack.contacts_url());
    let paused = stack.owner().get(&status_url).await.body;
    assert_eq!(
        (
            paused["status"].as_str(),
            paused["report"]["created"].as_u64()
        ),
        (Some("processing"), Some(3))
    );

    // A duplicate of the first message finds the job at its page and goes on from there.
    stack.drain("import-upload").await;
    let again = mailing::sync_jobs::process(
        app,
        &continuation,
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await
    .unwrap();
    assert_eq!(
        again,
        mailing::import_jobs::Processed::Skipped,
        "the job is done"
    );
    let job = stack.owner().get(&status_url).await.body;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(counts(&job), [8, 8, 0, 0, 0, 0]);
    assert_eq!(job["sync"]["pages"], 3);

    // A credential that does not open (tampered, or sealed for another job) fails the job.
    let url = format!("{}/sync/gmail", stack.contacts_url());
    let started = stack
        .owner()
        .post(&url, &request(SyncProvider::Gmail, "tour"))
        .await;
    let other: mailing::domain::ImportId = started.body["id"].as_str().unwrap().parse().unwrap();
    let forged = mailing::sync_jobs::ContinueSync {
        import_id: other,
        ..continuation
    };
    let outcome = mailing::sync_jobs::process(app, &forged, tokio::time::Instant::now())
        .await
        .unwrap();
    assert_eq!(outcome, mailing::import_jobs::Processed::Failed);
    let job = stack
        .owner()
        .get(&format!("{}/imports/{other}", stack.contacts_url()))
        .await
        .body;
    assert_eq!(job["failure"]["code"], "credential_unreadable");
    assert_eq!(job["report"]["rows"], 0);
}

#[tokio::test]
async fn bad_sync_requests_are_refused_with_the_field_named() {
    let stack = TestStack::new().await;
    let base = stack.contacts_url();
    // provider, the field changed (`None`: removed), the field the answer names.
    let cases: Vec<(SyncProvider, &str, Option<Value>)> = vec![
        (SyncProvider::Gmail, "access_token", None),
        (
            SyncProvider::Gmail,
            "access_token",
            Some(json!("has spaces")),
        ),
        (SyncProvider::Gmail, "api_key", Some(json!(MAILCHIMP_KEY))),
        (
            SyncProvider::Outlook,
            "contact_role",
            Some(json!("catering")),
        ),
        (
            SyncProvider::Mailchimp,
            "api_key",
            Some(json!("nodatacenter")),
        ),
        (
            SyncProvider::Mailchimp,
            "api_key",
            Some(json!("abc-evil.example/x")),
        ),
        (
            SyncProvider::Mailchimp,
            "list_id",
            Some(json!("../../lists")),
        ),
        (SyncProvider::Mailchimp, "list_id", None),
        (
            SyncProvider::Mailchimp,
            "access_token",
            Some(json!(GOOGLE_TOKEN)),
        ),
    ];
    let unknown = stack
        .owner()
        .post(
            &format!("{base}/sync/myspace"),
            &request(SyncProvider::Gmail, "press"),
        )
        .await;
    assert_eq!(unknown.status, 404);
    for (provider, field, value) in cases {
        let mut body = request(provider, "press");
        match value {
            Some(value) => body[field] = value,
            None => {
                body.as_object_mut().unwrap().remove(field);
            }
        }
        let reply = stack
            .owner()
            .post(&format!("{base}/sync/{}", provider.as_str()), &body)
            .await;
        assert_eq!(reply.status, 422, "{provider:?} {body}: {:?}", reply.body);
        assert!(
            reply.invalid_fields().contains(&field),
            "{body}: {:?}",
            reply.body
        );
        assert!(
            !reply.body.to_string().contains("local-google"),
            "no credential echoed"
        );
    }
    // The tour team cannot sync into press.
    let reply = stack
        .team("tour")
        .post(
            &format!("{base}/sync/gmail"),
            &request(SyncProvider::Gmail, "press"),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        fake_sources::PAGE,
        3,
        "the tests above count pages of three"
    );
}
