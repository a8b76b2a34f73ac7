//! The `BuiltInTemplates` custom resource: CloudFormation's request in, the answer on its URL.

use lambda_runtime::{Context, LambdaEvent};
use mailing::App;
use serde_json::{Value, json};

use crate::cargo_lambda_fixtures::CUSTOM_RESOURCE_FIXTURES;
use crate::support::{TestStack, capture_one_request, repo_root};

async fn run_custom_resource(app: &App, request_type: &str) -> (String, Value) {
    let text =
        std::fs::read_to_string(repo_root().join("events").join(CUSTOM_RESOURCE_FIXTURES[0]))
            .unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    let (url, received) = capture_one_request().await;
    event["ResponseURL"] = json!(url);
    event["RequestType"] = json!(request_type);
    if request_type != "Create" {
        event["PhysicalResourceId"] = json!("artisthub-built-in-templates");
        event["OldResourceProperties"] = event["ResourceProperties"].clone();
    }
    let request = serde_json::from_value(event).unwrap();
    functions::templates::install(app, LambdaEvent::new(request, Context::default()))
        .await
        .expect("the handler always answers CloudFormation");
    let (head, body) = received.await.unwrap();
    (head, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_custom_resource_installs_the_built_ins_idempotently_and_answers_cloudformation() {
    let stack = TestStack::new().await;
    // The stack installed them when it started: the deploy's run writes nothing new.
    let (head, answer) = run_custom_resource(stack.function("templates-install"), "Create").await;
    assert!(
        head.starts_with("PUT /response?X-Amz-Signature=abc HTTP/1.1"),
        "{head}"
    );
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], "artisthub-built-in-templates");
    assert_eq!(answer["LogicalResourceId"], "BuiltInTemplates");
    assert_eq!(answer["RequestId"], "7f3c2a10-8b6e-4d5f-9a1b-2c3d4e5f6a7b");
    assert_eq!(
        answer["Data"],
        json!({ "Written": "0", "Unchanged": "10", "Removed": "0" })
    );

    // A built-in edited behind our back (or of an older release) is rewritten on update.
    stack
        .app()
        .aws
        .dynamodb
        .update_item()
        .table_name(&stack.app().config.templates_table)
        .key(
            "id",
            aws_sdk_dynamodb::types::AttributeValue::S(
                "0193a6f0-0000-7000-8000-000000000201".into(),
            ),
        )
        .update_expression("SET revision = :old, #name = :name")
        .expression_attribute_names("#name", "name")
        .expression_attribute_values(
            ":old",
            aws_sdk_dynamodb::types::AttributeValue::S("old".into()),
        )
        .expression_attribute_values(
            ":name",
            aws_sdk_dynamodb::types::AttributeValue::S("Vieux".into()),
        )
        .send()
        .await
        .unwrap();
    let (_, answer) = run_custom_resource(stack.function("templates-install"), "Update").await;
    assert_eq!(
        answer["Data"],
        json!({ "Written": "1", "Unchanged": "9", "Removed": "0" })
    );
    let builtin = stack
        .owner()
        .get("/api/templates/email/0193a6f0-0000-7000-8000-000000000201")
        .await;
    assert_eq!(builtin.body["name"], "Communiqué de presse");

    let (_, answer) = run_custom_resource(stack.function("templates-install"), "Delete").await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert_eq!(
        stack.owner().get("/api/templates/email").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        10,
        "deleting the stack's resource keeps the retained table's built-ins"
    );
}

#[tokio::test]
async fn a_failed_install_is_reported_to_cloudformation_instead_of_hanging_the_stack() {
    let stack = TestStack::new().await;
    let mut broken = stack.app().clone();
    broken.config.templates_table = "no-such-table".into();
    let (_, answer) = run_custom_resource(&broken, "Create").await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    assert!(
        answer["Reason"]
            .as_str()
            .unwrap()
            .contains("built-in templates")
    );
    assert!(
        !answer["Reason"].as_str().unwrap().contains("no-such-table"),
        "causes stay in the logs"
    );
}
