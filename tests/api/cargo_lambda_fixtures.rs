//! Every `events/` fixture goes through the handler of its route, deserialized the way the Lambda
//! runtime deserializes it. `infra/dev test` also invokes one through `cargo lambda invoke`.

use functions::routes::ROUTES;
use lambda_http::request::LambdaRequest;
use serde_json::Value;

use crate::support::{TestStack, repo_root};

/// What each fixture answers on an empty stack.
const EXPECTED: &[(&str, u16)] = &[
    ("apigw-contacts-create.json", 201),
    ("apigw-contacts-list.json", 200),
    ("apigw-contacts-get.json", 404),
    ("apigw-contacts-update.json", 404),
    ("apigw-contacts-delete.json", 404),
];

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
        .map(|(name, _)| (*name).to_owned())
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
