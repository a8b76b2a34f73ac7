use std::collections::BTreeSet;

use devstack::template::Template;
use functions::routes::ROUTES;
use mailing::secrets::Key;

use crate::support::repo_root;

fn template() -> Template {
    Template::load(&repo_root().join("template.yaml")).unwrap()
}

#[test]
fn the_route_table_and_template_yaml_declare_the_same_routes_and_functions() {
    let from_table: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.to_owned(),
            )
        })
        .collect();
    let from_template: BTreeSet<(String, String, String)> = template()
        .functions()
        .into_iter()
        .flat_map(|f| {
            let binary = f.binary.clone();
            f.routes
                .into_iter()
                .map(move |(method, path)| (method, path, binary.clone()))
        })
        .collect();
    assert_eq!(from_table, from_template);
}

#[test]
fn exactly_the_public_routes_of_the_route_table_have_no_authorizer_in_the_template() {
    let from_table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|r| r.public)
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let from_template: BTreeSet<(String, String)> = template()
        .functions()
        .into_iter()
        .flat_map(|f| f.public_routes)
        .collect();
    assert_eq!(from_table, from_template);
    assert!(
        from_table
            .iter()
            .all(|(_, path)| path.starts_with("/api/email/track/")
                || path.starts_with("/api/email/unsubscribe/")
                || path.starts_with("/api/email/view/")
                || path.starts_with("/api/email/webhooks/")),
        "only the links inside messages and the providers' webhooks are public: {from_table:?}"
    );
}

#[test]
fn every_binary_is_a_template_function_with_its_camel_case_logical_id() {
    let binaries: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions/src/bin"))
        .unwrap()
        .map(|entry| {
            entry
                .unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let functions = template().functions();
    let declared: BTreeSet<String> = functions.iter().map(|f| f.binary.clone()).collect();
    assert_eq!(binaries, declared);
    for function in functions {
        let camel: String = function
            .binary
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase())
                    .into_iter()
                    .chain(chars)
                    .collect::<String>()
            })
            .collect();
        assert_eq!(function.logical_id, format!("{camel}Function"));
    }
}

#[test]
fn every_route_has_a_unique_method_and_path() {
    let mut seen = BTreeSet::new();
    for route in ROUTES {
        assert!(
            seen.insert((route.method, route.path)),
            "{} {} twice",
            route.method,
            route.path
        );
        assert!(route.path.starts_with("/api/"), "{}", route.path);
    }
}

#[test]
fn functions_get_least_privilege_and_tables_keep_their_history() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (id, resource) in yaml["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap();
        match resource["Type"].as_str().unwrap() {
            "AWS::Serverless::Function" => {
                let policies = serde_yaml::to_string(&resource["Properties"]["Policies"]).unwrap();
                assert!(
                    !policies.contains("FullAccess") && !policies.contains("CrudPolicy"),
                    "{id}: {policies}"
                );
                assert!(
                    !policies.contains("'*'") && !policies.contains("dynamodb:*"),
                    "{id}: {policies}"
                );
            }
            "AWS::DynamoDB::Table" => {
                let properties = &resource["Properties"];
                assert_eq!(
                    properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
                    true,
                    "{id}"
                );
                assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST", "{id}");
            }
            _ => {}
        }
    }
}

#[test]
fn every_queue_consumer_is_the_template_function_fed_by_that_queue() {
    let from_table: BTreeSet<(String, String)> = functions::routes::CONSUMERS
        .iter()
        .map(|c| (c.function.to_owned(), c.queue.to_owned()))
        .collect();
    let from_template: BTreeSet<(String, String)> = template()
        .functions()
        .into_iter()
        .flat_map(|f| {
            let binary = f.binary.clone();
            f.queues
                .into_iter()
                .map(move |(queue, _)| (binary.clone(), queue))
        })
        .collect();
    assert_eq!(from_table, from_template);
}

#[test]
fn the_import_worker_knows_which_delivery_is_the_imports_queues_last() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let receives =
        &yaml["Resources"]["ImportsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"];
    assert_eq!(
        receives.as_u64(),
        Some(u64::from(mailing::import_jobs::LAST_DELIVERY))
    );
}

/// The parameter naming each key's secret in `template.yaml`.
fn secret_parameter(key: Key) -> &'static str {
    match key {
        Key::Signing => "SigningKeySecretName",
        Key::EmailHash => "EmailHashKeySecretName",
        Key::Providers => "ProviderKeysSecretName",
    }
}

#[test]
fn each_function_may_read_exactly_the_secrets_its_environment_names() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let globals = template().global_environment();
    for key in Key::ALL {
        assert!(
            !globals.contains_key(key.variable()),
            "{} is in the globals: every function would read it",
            key.variable()
        );
    }
    for function in template().functions() {
        let resource = &yaml["Resources"][function.logical_id.as_str()];
        let readable: BTreeSet<Key> = resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|policy| {
                policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"].as_str()
            })
            .map(|arn| {
                *Key::ALL
                    .iter()
                    .find(|key| arn.contains(&format!("${{{}}}-??????", secret_parameter(**key))))
                    .unwrap_or_else(|| panic!("{}: a secret of no key: {arn}", function.binary))
            })
            .collect();
        let named: BTreeSet<Key> = function.keys().into_iter().collect();
        assert_eq!(readable, named, "{}", function.binary);
        for key in named {
            assert_eq!(
                function.environment[key.variable()],
                devstack::template::EnvValue::Ref(secret_parameter(key).to_owned()),
                "{}",
                function.binary
            );
        }
    }
}

#[test]
fn the_public_functions_hold_only_the_key_their_credential_needs() {
    for function in template().functions() {
        if function.public_routes.is_empty() {
            continue;
        }
        let needs = if function.binary == "email-webhooks" {
            Key::Providers
        } else {
            Key::Signing
        };
        assert_eq!(function.keys(), [needs], "{}", function.binary);
    }
}
