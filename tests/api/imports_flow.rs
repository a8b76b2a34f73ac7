//! The import flow end to end: the API creates the job and a presigned upload URL, the upload's
//! S3 event reaches `import-upload` through the imports queue, the status and error report come
//! back through the API.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use mailing::domain::ImportId;
use mailing::import_jobs;
use serde_json::{Value, json};

use crate::support::{TestStack, presigned, repo_root};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/import").join(name)).unwrap()
}

fn import_url(stack: &TestStack) -> String {
    format!("{}/import", stack.contacts_url())
}

fn status_url(stack: &TestStack, id: &str) -> String {
    format!("{}/imports/{id}", stack.contacts_url())
}

/// Creates an import, uploads `file` to its presigned URL and lets the event source run.
pub(crate) async fn import_through_s3(stack: &TestStack, body: Value, file: Vec<u8>) -> Value {
    let created = stack.owner().post(&import_url(stack), &body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["status"], "awaiting_upload");
    assert_eq!(created.body["upload"]["method"], "PUT");
    let (status, _) = presigned(
        "PUT",
        created.body["upload"]["url"].as_str().unwrap(),
        &file,
    )
    .await;
    assert_eq!(status, 200, "the presigned URL takes the upload");
    assert!(
        stack.drain_queues().await >= 1,
        "the upload's event reached import-upload"
    );
    let id = created.body["id"].as_str().unwrap();
    stack.owner().get(&status_url(stack, id)).await.body
}

pub(crate) fn press_import(file_name: &str) -> Value {
    json!({
        "contact_role": "press",
        "file_name": file_name,
        "consent": { "basis": "legitimate_interest", "source": "fichier presse automne" }
    })
}

#[tokio::test]
async fn an_uploaded_file_is_imported_and_its_error_report_downloads() {
    let stack = TestStack::new().await;
    let job = import_through_s3(
        &stack,
        press_import("equipe-presse.xlsx"),
        fixture("equipe-presse.xlsx"),
    )
    .await;
    assert_eq!(job["status"], "completed", "{job}");
    let report = &job["report"];
    assert_eq!(
        (
            report["rows"].as_u64(),
            report["valid"].as_u64(),
            report["invalid"].as_u64()
        ),
        (Some(6), Some(4), Some(2))
    );
    assert_eq!(
        (report["created"].as_u64(), report["duplicates"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(report["detected"]["format"], "xlsx");
    assert_eq!(report["detected"]["header_row"], 3);

    let (status, csv) = presigned("GET", job["error_report_url"].as_str().unwrap(), b"").await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with("\u{feff}row,code,field,message\n"), "{csv}");
    assert!(csv.contains("8,missing_email,email,"), "{csv}");
    assert!(csv.contains("10,invalid_field,phone,"), "{csv}");

    let listed = stack
        .owner()
        .get(&format!("{}?contact_role=press", stack.contacts_url()))
        .await;
    let contacts = listed.body["items"].as_array().unwrap();
    assert_eq!(contacts.len(), 3);
    assert!(
        contacts.iter().all(
            |c| c["consent"]["source"] == "fichier presse automne" && c["source"] == "imported"
        )
    );
}

#[tokio::test]
async fn a_dry_run_reports_against_existing_contacts_without_writing() {
    let stack = TestStack::new().await;
    stack
        .owner()
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": "luc.moreau@radio-bleue.example", "contact_role": "press" }),
        )
        .await;
    let mut body = press_import("equipe-presse.csv");
    body["dryRun"] = json!(true);
    let job = import_through_s3(&stack, body, fixture("equipe-presse.csv")).await;
    assert_eq!(job["status"], "completed");
    assert_eq!(job["dry_run"], true);
    assert_eq!(
        (
            job["report"]["created"].as_u64(),
            job["report"]["updated"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let listed = stack
        .owner()
        .get(&format!("{}?contact_role=press", stack.contacts_url()))
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_refused_file_fails_the_import_with_its_reason() {
    let stack = TestStack::new().await;
    let garbage: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8)
        .collect();
    let job = import_through_s3(&stack, press_import("export.csv"), garbage).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["failure"]["code"], "unreadable_file");
    assert!(
        job["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("binary")
    );
}

fn sqs_event(bodies: &[(&str, String)]) -> LambdaEvent<SqsEvent> {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| json!({ "messageId": id, "receiptHandle": "h", "body": body, "eventSource": "aws:sqs" }))
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
    let mut context = Context::default();
    context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 900_000;
    LambdaEvent::new(event, context)
}

#[tokio::test]
async fn duplicate_events_change_nothing_and_poison_messages_are_failed_for_the_dead_letter_queue()
{
    let stack = TestStack::new().await;
    let job = import_through_s3(
        &stack,
        press_import("equipe-presse.csv"),
        fixture("equipe-presse.csv"),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let key = import_jobs::upload_key(stack.artist, id.parse().unwrap());
    let s3_event = json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventName": "ObjectCreated:Put",
        "s3": { "bucket": { "name": "b" }, "object": { "key": key, "size": 1 } }
    }] })
    .to_string();
    let continuation =
        json!({ "continue_import": { "artist_id": stack.artist, "import_id": id } }).to_string();
    let event = sqs_event(&[
        ("duplicate", s3_event),
        ("late-continuation", continuation),
        ("test-event", json!({ "Service": "Amazon S3", "Event": "s3:TestEvent" }).to_string()),
        ("poison", "{not json".to_owned()),
        ("foreign", json!({ "Records": [{ "eventName": "ObjectCreated:Put", "s3": { "object": { "key": "elsewhere/x" } } }] }).to_string()),
        ("shapeless", json!({ "hello": "world" }).to_string()),
    ]);
    let response = functions::imports::upload(stack.function("import-upload"), event)
        .await
        .unwrap();
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison", "shapeless"]);
    let mut after = stack.owner().get(&status_url(&stack, id)).await.body;
    let mut before = job.clone();
    // Download links are signed anew on every read.
    for view in [&mut after, &mut before] {
        view.as_object_mut().unwrap().remove("error_report_url");
    }
    assert_eq!(after, before, "the job did not move");
    let listed = stack
        .owner()
        .get(&format!("{}?contact_role=press", stack.contacts_url()))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 3);
}

/// A job created through the API, its file uploaded but its S3 event not yet run.
async fn uploaded(stack: &TestStack) -> (ImportId, String) {
    let created = stack
        .owner()
        .post(&import_url(stack), &press_import("equipe-presse.csv"))
        .await;
    let (status, _) = presigned(
        "PUT",
        created.body["upload"]["url"].as_str().unwrap(),
        &fixture("equipe-presse.csv"),
    )
    .await;
    assert_eq!(status, 200);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let continuation =
        json!({ "continue_import": { "artist_id": stack.artist, "import_id": id } }).to_string();
    (id.parse().unwrap(), continuation)
}

#[tokio::test]
async fn a_file_that_stops_the_worker_twice_fails_its_import_with_the_reason() {
    let stack = TestStack::new().await;
    let (id, _) = uploaded(&stack).await;
    // Two runs take the lease and die with it (an out-of-memory abort runs no code): each
    // lease expires unreturned.
    for _ in 0..2 {
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        let taken = mailing::store::imports::lease(stack.app(), stack.artist, id, past)
            .await
            .unwrap();
        assert!(taken.is_some());
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let outcome = import_jobs::process(stack.app(), stack.artist, id, deadline)
        .await
        .unwrap();
    assert_eq!(outcome, import_jobs::Processed::Failed);
    let job = stack
        .owner()
        .get(&status_url(&stack, &id.to_string()))
        .await
        .body;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["failure"]["code"], "import_interrupted");
    assert!(
        job["failure"]["message"]
            .as_str()
            .unwrap()
            .contains("stopped 2 times")
    );
}

#[tokio::test]
async fn a_storage_failure_on_the_last_delivery_fails_the_import_instead_of_dead_lettering_it() {
    let stack = TestStack::new().await;
    let (id, continuation) = uploaded(&stack).await;
    // The bucket cannot be read: a storage failure, retried by SQS until its last delivery.
    let mut broken = stack.function("import-upload").clone();
    broken.config.imports_bucket = format!("missing-{}", uuid::Uuid::new_v4().simple());
    let delivered = |count: u32| {
        let mut event = sqs_event(&[("run", continuation.clone())]);
        event.payload.records[0]
            .attributes
            .insert("ApproximateReceiveCount".into(), count.to_string());
        event
    };
    let url = status_url(&stack, &id.to_string());
    let early = functions::imports::upload(&broken, delivered(1))
        .await
        .unwrap();
    assert_eq!(early.batch_item_failures.len(), 1, "retried");
    assert_eq!(stack.owner().get(&url).await.body["status"], "processing");
    let last = functions::imports::upload(&broken, delivered(import_jobs::LAST_DELIVERY))
        .await
        .unwrap();
    assert!(last.batch_item_failures.is_empty(), "acknowledged");
    let job = stack.owner().get(&url).await.body;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["failure"]["code"], "import_failed");
}

#[tokio::test]
async fn a_long_import_continues_from_its_checkpoint_in_a_new_invocation() {
    let stack = TestStack::new().await;
    let mut csv = String::from("Courriel;Prénom\n");
    for i in 0..260 {
        csv.push_str(&format!("fan{i}@label.example;F{i}\n"));
    }
    csv.push_str("broken-address;X\nFAN7@label.example;again\n");
    let created = stack
        .owner()
        .post(&import_url(&stack), &press_import("long.csv"))
        .await;
    let id: ImportId = created.body["id"].as_str().unwrap().parse().unwrap();
    presigned(
        "PUT",
        created.body["upload"]["url"].as_str().unwrap(),
        csv.as_bytes(),
    )
    .await;

    // An invocation with no time left applies one batch, saves its checkpoint and queues the rest.
    let first = import_jobs::process(stack.app(), stack.artist, id, tokio::time::Instant::now())
        .await
        .unwrap();
    assert_eq!(first, import_jobs::Processed::Continued);
    let paused = stack
        .owner()
        .get(&status_url(&stack, &id.to_string()))
        .await
        .body;
    assert_eq!(paused["status"], "processing");
    assert_eq!(paused["report"]["created"], 100);

    // The S3 event and the continuation both arrive; only one run does the rest.
    stack.drain_queues().await;
    let job = stack
        .owner()
        .get(&status_url(&stack, &id.to_string()))
        .await
        .body;
    assert_eq!(job["status"], "completed", "{job}");
    let report = &job["report"];
    assert_eq!(
        (
            report["rows"].as_u64(),
            report["invalid"].as_u64(),
            report["duplicates"].as_u64()
        ),
        (Some(262), Some(1), Some(1))
    );
    assert_eq!(report["created"], 260);
    let (_, csv) = presigned("GET", job["error_report_url"].as_str().unwrap(), b"").await;
    assert!(
        String::from_utf8(csv)
            .unwrap()
            .contains("262,invalid_email,email,")
    );
}

#[tokio::test]
async fn imports_are_refused_to_callers_without_the_team_grant() {
    let stack = TestStack::new().await;
    let created = stack
        .owner()
        .post(&import_url(&stack), &press_import("presse.csv"))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let finance = stack.team("finance");
    assert_eq!(
        finance
            .post(&import_url(&stack), &press_import("presse.csv"))
            .await
            .status,
        403
    );
    assert_eq!(
        finance.get(&status_url(&stack, id)).await.status,
        404,
        "same answer as no such import"
    );
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    assert_eq!(stranger.get(&status_url(&stack, id)).await.status, 403);
    assert_eq!(
        stranger
            .post(&import_url(&stack), &press_import("presse.csv"))
            .await
            .status,
        403
    );
    assert_eq!(
        stack
            .team("press")
            .get(&status_url(&stack, id))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bad_import_requests_are_refused_with_the_field() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let cases = [
        (
            "no consent",
            json!({ "contact_role": "press", "file_name": "a.csv" }),
            "consent",
        ),
        (
            "unknown role",
            json!({ "contact_role": "booking", "file_name": "a.csv", "consent": { "basis": "consent" } }),
            "contact_role",
        ),
        (
            "a path",
            json!({ "contact_role": "press", "file_name": "../etc/passwd", "consent": { "basis": "consent" } }),
            "file_name",
        ),
        (
            // Found by infra/dev fuzz api: a proof DynamoDB cannot store was a 500.
            "a proof number DynamoDB cannot store",
            json!({ "contact_role": "press", "file_name": "a.csv", "consent": { "basis": "consent", "proof": { "at": 2.44e161 } } }),
            "consent.proof",
        ),
        (
            // Found by infra/dev fuzz api: a blank header was stored, then its import was a 500.
            "a blank header",
            json!({ "contact_role": "press", "file_name": "a.csv", "consent": { "basis": "consent" }, "mapping": { "": "email" } }),
            "mapping",
        ),
        (
            "a header with control characters",
            json!({ "contact_role": "press", "file_name": "a.csv", "consent": { "basis": "consent" }, "mapping": { "E\u{7}mail": "email" } }),
            "mapping",
        ),
        (
            "unknown target",
            json!({ "contact_role": "press", "file_name": "a.csv", "consent": { "basis": "consent" }, "mapping": { "Mél": "telepathy" } }),
            "mapping.Mél",
        ),
    ];
    for (case, body, field) in cases {
        let reply = owner.post(&import_url(&stack), &body).await;
        assert_eq!(reply.status, 422, "{case}: {:?}", reply.body);
        assert_eq!(
            reply.body["error"]["details"]["fields"][0]["field"], field,
            "{case}"
        );
    }
    let missing = owner
        .get(&status_url(&stack, &ImportId::new().to_string()))
        .await;
    assert_eq!(missing.status, 404);
}
