//! Every `events/` fixture goes through the handler of its route, deserialized the way the Lambda
//! runtime deserializes it. `infra/dev test` also invokes one through `cargo lambda invoke`.

use functions::routes::ROUTES;
use lambda_http::request::LambdaRequest;
use serde_json::Value;

use crate::support::{TestStack, repo_root};

/// What each HTTP fixture answers on an empty stack.
const EXPECTED: &[(&str, u16)] = &[
    ("apigw-contacts-import.json", 201),
    ("apigw-contacts-create.json", 201),
    ("apigw-contacts-list.json", 200),
    ("apigw-contacts-get.json", 404),
    ("apigw-contacts-update.json", 404),
    ("apigw-contacts-delete.json", 404),
    ("apigw-contact-emails-send.json", 404),
    ("apigw-campaigns-list.json", 200),
    ("apigw-campaigns-create.json", 201),
    ("apigw-campaigns-get.json", 404),
    ("apigw-campaigns-update.json", 404),
    ("apigw-campaigns-delete.json", 404),
    ("apigw-campaigns-send.json", 404),
    ("apigw-campaigns-schedule.json", 404),
    ("apigw-campaigns-pause.json", 404),
    ("apigw-campaigns-resume.json", 404),
    ("apigw-campaigns-cancel.json", 404),
    ("apigw-campaigns-test.json", 404),
    ("apigw-campaigns-sends.json", 404),
    ("apigw-domains-create.json", 201),
    ("apigw-domains-list.json", 200),
    ("apigw-templates-list.json", 200),
    ("apigw-templates-create.json", 201),
    ("apigw-templates-get.json", 200),
    // A built-in is read-only.
    ("apigw-templates-update.json", 409),
    ("apigw-templates-delete.json", 404),
    ("apigw-templates-preview.json", 200),
    ("apigw-signatures-update.json", 200),
    // Runs after the update above: the signature is there.
    ("apigw-signatures-get.json", 200),
    ("apigw-contacts-history.json", 404),
    ("apigw-replies-list.json", 200),
    ("apigw-replies-update.json", 404),
    ("apigw-replies-unassigned.json", 200),
    // Public: a token the stack did not sign still gets its pixel, and a harmless 404 page
    // instead of a redirect or an unsubscribe.
    ("apigw-track-open.json", 200),
    ("apigw-track-click.json", 404),
    ("apigw-email-unsubscribe.json", 404),
    ("apigw-analytics-artist.json", 200),
    ("apigw-analytics-heatmap.json", 200),
    ("apigw-analytics-team.json", 200),
    ("apigw-audit-list.json", 200),
    ("apigw-campaigns-analytics.json", 404),
    ("apigw-contact-export.json", 404),
    ("apigw-contacts-erase-address.json", 200),
    ("apigw-contacts-erase.json", 404),
    ("apigw-contacts-export.json", 200),
    ("apigw-contacts-imports-get.json", 404),
    ("apigw-contacts-sync.json", 202),
    // No campaign of this stack carried that utm_campaign: nothing to attribute it to.
    ("apigw-conversions-create.json", 422),
    // The domain registered above has no ownership proof in DNS yet.
    ("apigw-domains-verify.json", 422),
    // Public: an unknown token's web view is a harmless 404 page; a webhook whose signature
    // this stack's key did not make is refused.
    ("apigw-email-view.json", 404),
    ("apigw-email-webhooks.json", 401),
    ("apigw-sender-profile-update.json", 200),
    // Runs after the update above: the profile is there.
    ("apigw-sender-profile-get.json", 200),
];

/// CloudFormation custom resource fixtures, run in `templates::custom_resource_*` tests.
pub const CUSTOM_RESOURCE_FIXTURES: &[&str] = &["cfn-templates-install-create.json"];

#[tokio::test]
async fn every_event_fixture_runs_through_its_handler() {
    let stack = TestStack::new().await;
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    let mut expected: Vec<String> = EXPECTED
        .iter()
        .map(|(name, _)| *name)
        .chain(QUEUE_EXPECTED.iter().map(|(name, _, _)| *name))
        .chain(CUSTOM_RESOURCE_FIXTURES.iter().copied())
        .chain(std::iter::once(SCHEDULER_FIXTURE))
        .map(str::to_owned)
        .collect();
    expected.sort();
    assert_eq!(files, expected, "every fixture has an expectation here");

    for (name, status) in EXPECTED {
        let text = std::fs::read_to_string(repo_root().join("events").join(name)).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        let route_key = event["routeKey"].as_str().unwrap();
        let route = ROUTES
            .iter()
            .find(|r| format!("{} {}", r.method, r.path) == route_key)
            .unwrap_or_else(|| panic!("{name}: no route {route_key}"));
        let request: LambdaRequest = serde_json::from_value(event).unwrap();
        let response = functions::runtime::respond(
            (route.handler)(stack.app(), http::Request::from(request)).await,
        );
        assert_eq!(
            response.status().as_u16(),
            *status,
            "{name}: {:?}",
            response.body()
        );
    }
}

/// Queue fixtures: the consumer and how many of the batch's messages it fails. The S3 event names
/// an import this empty stack does not hold: acknowledged, nothing to run.
/// The sending fixtures carry a message for a campaign this stack does not hold (acknowledged:
/// nothing to do) and a poison message (reported, so SQS retries it into the dead-letter queue).
const QUEUE_EXPECTED: &[(&str, &str, usize)] = &[
    ("sqs-import-upload-s3-event.json", "import-upload", 0),
    ("sqs-campaign-dispatch.json", "campaign-dispatch", 1),
    // A message stored in a bucket this stack does not have (unreadable: retried until the
    // dead-letter queue, never dropped) and a poison message.
    ("sqs-email-inbound-s3-event.json", "email-inbound", 2),
    ("sqs-email-send.json", "email-send", 1),
    // SES's events for a message this stack never sent: acknowledged, nothing recorded.
    ("sqs-ses-events-send.json", "ses-events", 0),
    ("sqs-ses-events-delivery.json", "ses-events", 0),
    ("sqs-ses-events-bounce-permanent.json", "ses-events", 0),
    ("sqs-ses-events-bounce-transient.json", "ses-events", 0),
    ("sqs-ses-events-bounce-undetermined.json", "ses-events", 0),
    ("sqs-ses-events-complaint.json", "ses-events", 0),
    ("sqs-ses-events-reject.json", "ses-events", 0),
    ("sqs-ses-events-delivery-delay.json", "ses-events", 0),
    ("sqs-ses-events-open.json", "ses-events", 0),
    ("sqs-ses-events-click.json", "ses-events", 0),
    ("sqs-ses-events-rendering-failure.json", "ses-events", 0),
    ("sqs-ses-events-subscription.json", "ses-events", 0),
];

#[tokio::test]
async fn every_queue_fixture_runs_through_its_consumer() {
    let stack = TestStack::new().await;
    for (name, function, failures) in QUEUE_EXPECTED {
        let text = std::fs::read_to_string(repo_root().join("events").join(name)).unwrap();
        let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&text).unwrap();
        let consumer = functions::routes::CONSUMERS
            .iter()
            .find(|c| c.function == *function)
            .unwrap();
        let mut context = lambda_runtime::Context::default();
        context.deadline = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap() + 60_000;
        let response = (consumer.handler)(
            stack.app(),
            lambda_runtime::LambdaEvent::new(event, context),
        )
        .await
        .unwrap();
        assert_eq!(response.batch_item_failures.len(), *failures, "{name}");
    }
}

/// EventBridge Scheduler's tick for `campaign-scheduler`.
const SCHEDULER_FIXTURE: &str = "eventbridge-campaign-scheduler.json";

#[tokio::test]
async fn the_scheduler_fixture_runs_through_its_handler() {
    let stack = TestStack::new().await;
    let text = std::fs::read_to_string(repo_root().join("events").join(SCHEDULER_FIXTURE)).unwrap();
    let event: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_str(&text).unwrap();
    functions::sending::schedule_tick(
        stack.function("campaign-scheduler"),
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .expect("a tick with nothing due succeeds");
}
