//! Creates the template's tables in the emulator under a name prefix, and computes the
//! environment the functions get, resolving `!Ref`s to the local physical names.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use mailing::App;
use mailing::aws::Clients;
use serde_yaml::Value;

use crate::template::{EnvValue, Template};

/// Resource types the local stack plays itself: functions behind the gateway, and the built-in
/// templates the stack installs when it starts.
const NOT_EMULATED: &[&str] = &[
    "AWS::Serverless::Function",
    "AWS::Serverless::HttpApi",
    "Custom::BuiltInTemplates",
];
/// Resource types created in the emulator.
const EMULATED: &[&str] = &[
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::S3::Bucket",
    "AWS::SES::ConfigurationSet",
    "AWS::SES::ConfigurationSetEventDestination",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
];

#[derive(Debug, Default)]
pub struct Provisioned {
    /// Logical id → the value `!Ref` gives (a table's or bucket's name, a queue's URL).
    pub refs: BTreeMap<String, String>,
    /// Logical id → its ARN (`!GetAtt X.Arn`).
    pub arns: BTreeMap<String, String>,
    /// Resources the emulator does not hold, by logical id and type, to say so.
    pub skipped: Vec<String>,
}

pub async fn provision(
    template: &Template,
    prefix: &str,
    clients: &Clients,
    sns: &aws_sdk_sns::Client,
) -> anyhow::Result<Provisioned> {
    let mut provisioned = Provisioned::default();
    for resource in template.resources_of(&["AWS::DynamoDB::Table"]) {
        let name = format!("{prefix}-{}", resource.logical_id);
        create_table(&clients.dynamodb, &name, &resource.properties)
            .await
            .with_context(|| format!("creating table {}", resource.logical_id))?;
        provisioned.refs.insert(resource.logical_id, name);
    }
    let queues = template.resources_of(&["AWS::SQS::Queue"]);
    for queue in &queues {
        let name = format!("{prefix}-{}", queue.logical_id);
        let mut request = clients.sqs.create_queue().queue_name(&name);
        for attribute in [
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
        ] {
            if let Some(value) = scalar(&queue.properties[attribute]) {
                request = request.attributes(QueueAttributeName::from(attribute), value);
            }
        }
        let url = request
            .send()
            .await
            .with_context(|| format!("creating queue {}", queue.logical_id))?
            .queue_url
            .unwrap_or_default();
        let arn = clients
            .sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| anyhow!("queue {} has no ARN", queue.logical_id))?;
        provisioned.refs.insert(queue.logical_id.clone(), url);
        provisioned.arns.insert(queue.logical_id.clone(), arn);
    }
    // Dead-letter queues exist now: wire the redrive policies.
    for queue in &queues {
        let redrive = &queue.properties["RedrivePolicy"];
        let Some((target, _)) = crate::template::get_att(&redrive["deadLetterTargetArn"]) else {
            continue;
        };
        let policy = serde_json::json!({
            "deadLetterTargetArn": provisioned.arns.get(&target).ok_or_else(|| anyhow!("no queue {target}"))?,
            "maxReceiveCount": scalar(&redrive["maxReceiveCount"]).unwrap_or_else(|| "5".into()),
        });
        clients
            .sqs
            .set_queue_attributes()
            .queue_url(&provisioned.refs[&queue.logical_id])
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .send()
            .await?;
    }
    for bucket in template.resources_of(&["AWS::S3::Bucket"]) {
        // Bucket names are lowercase and global: the prefix keeps tests apart.
        let name = format!("{prefix}-{}", bucket.logical_id).to_lowercase();
        clients
            .s3
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .with_context(|| format!("creating bucket {}", bucket.logical_id))?;
        notify_queues(clients, &name, &bucket.properties, &provisioned).await?;
        provisioned
            .arns
            .insert(bucket.logical_id.clone(), format!("arn:aws:s3:::{name}"));
        provisioned.refs.insert(bucket.logical_id, name);
    }
    for set in template.resources_of(&["AWS::SES::ConfigurationSet"]) {
        let name = format!("{prefix}-{}", set.logical_id);
        clients
            .sesv2
            .create_configuration_set()
            .configuration_set_name(&name)
            .send()
            .await
            .with_context(|| format!("creating configuration set {}", set.logical_id))?;
        provisioned.refs.insert(set.logical_id, name);
    }
    crate::provision_events::provision(template, prefix, clients, sns, &mut provisioned).await?;
    for (id, kind) in template.resource_types() {
        if !EMULATED.contains(&kind.as_str()) && !NOT_EMULATED.contains(&kind.as_str()) {
            provisioned.skipped.push(format!("{id} ({kind})"));
        }
    }
    Ok(provisioned)
}

/// The functions' environment: the template's global variables and every function's own (the
/// keys' secrets; each function is then given only its own, see `apps`), with `!Ref`s resolved
/// to local names, parameters to `overrides` or their defaults, and computed values from
/// `overrides`.
pub fn environment(
    template: &Template,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut variables = template.global_environment();
    for function in template.functions() {
        variables.extend(function.environment);
    }
    variables
        .into_iter()
        .map(|(name, value)| {
            let resolved = match (overrides.get(&name), value) {
                (Some(value), _) => value.clone(),
                (None, EnvValue::Literal(value)) => value,
                (None, EnvValue::Ref(target)) => provisioned
                    .refs
                    .get(&target)
                    .cloned()
                    .or_else(|| template.parameter_default(&target))
                    .ok_or_else(|| anyhow!("{name}: no local value for !Ref {target}"))?,
                (None, EnvValue::Computed) => {
                    bail!("{name}: computed in the template; the local stack must set it")
                }
            };
            Ok((name, resolved))
        })
        .collect()
}

/// A cold start of a function with `environment`: its keys read from the secrets it names.
pub async fn cold_start(
    environment: &BTreeMap<String, String>,
    clients: Clients,
) -> anyhow::Result<App> {
    let sdk = mailing::aws::load_config().await;
    app(&sdk, environment, clients).await
}

/// The app as a function sees it on a cold start, from the local environment: its keys read
/// from the secrets it names.
pub async fn app(
    sdk: &aws_config::SdkConfig,
    environment: &BTreeMap<String, String>,
    clients: Clients,
) -> anyhow::Result<App> {
    let config = App::configure(sdk, |name| environment.get(name).cloned()).await?;
    Ok(App::new(config, clients))
}

/// The secrets a deployment creates before the stack (the template names them), created in
/// the emulator under `prefix` with fresh random keys (and `providers`' credentials); the
/// environment names them so.
pub async fn create_secrets(
    sdk: &aws_config::SdkConfig,
    prefix: &str,
    environment: &mut BTreeMap<String, String>,
    providers: &crate::providers::LocalProviders,
) -> anyhow::Result<()> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    for key in mailing::secrets::Key::ALL {
        let variable = key.variable();
        let name = environment
            .get(variable)
            .ok_or_else(|| anyhow!("the template names no {variable}"))?;
        // The provider keys' parameter is empty by default (a deployment sending through SES
        // only): locally it is always there, for the fake providers.
        let name = if name.is_empty() {
            "provider-keys"
        } else {
            name
        };
        let local = format!("{prefix}/{name}");
        let key = match key {
            mailing::secrets::Key::Providers => providers.secret(),
            _ => String::from_utf8(crate::auth::random_secret()).expect("hex is UTF-8"),
        };
        client
            .create_secret()
            .name(&local)
            .secret_string(key)
            .send()
            .await
            .with_context(|| format!("creating the secret {local}"))?;
        environment.insert(variable.to_owned(), local);
    }
    Ok(())
}

/// What a rotation does (`aws secretsmanager put-secret-value`): a new current value, the
/// old one kept as `AWSPREVIOUS`.
pub async fn rotate_secret(secret: &str) -> anyhow::Result<()> {
    let sdk = mailing::aws::load_config().await;
    let key = String::from_utf8(crate::auth::random_secret()).expect("hex is UTF-8");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .put_secret_value()
        .secret_id(secret)
        .secret_string(key)
        .send()
        .await
        .with_context(|| format!("rotating the secret {secret}"))?;
    Ok(())
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    properties: &Value,
) -> anyhow::Result<()> {
    let attributes = properties["AttributeDefinitions"]
        .as_sequence()
        .ok_or_else(|| anyhow!("no AttributeDefinitions"))?
        .iter()
        .map(|attribute| {
            Ok(AttributeDefinition::builder()
                .attribute_name(string(&attribute["AttributeName"])?)
                .attribute_type(ScalarAttributeType::from(string(
                    &attribute["AttributeType"],
                )?))
                .build()?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let indexes = properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|index| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(string(
                    &index["Projection"]["ProjectionType"],
                )?))
                .set_non_key_attributes(index["Projection"]["NonKeyAttributes"].as_sequence().map(
                    |names| {
                        names
                            .iter()
                            .filter_map(|n| n.as_str().map(str::to_owned))
                            .collect()
                    },
                ))
                .build();
            Ok(GlobalSecondaryIndex::builder()
                .index_name(string(&index["IndexName"])?)
                .set_key_schema(Some(key_schema(&index["KeySchema"])?))
                .projection(projection)
                .build()?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(&properties["KeySchema"])?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await?;
    let ttl = &properties["TimeToLiveSpecification"];
    if ttl["Enabled"].as_bool() == Some(true) {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(string(&ttl["AttributeName"])?)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

fn key_schema(value: &Value) -> anyhow::Result<Vec<KeySchemaElement>> {
    value
        .as_sequence()
        .ok_or_else(|| anyhow!("no KeySchema"))?
        .iter()
        .map(|element| {
            Ok(KeySchemaElement::builder()
                .attribute_name(string(&element["AttributeName"])?)
                .key_type(KeyType::from(string(&element["KeyType"])?))
                .build()?)
        })
        .collect()
}

fn string(value: &Value) -> anyhow::Result<&str> {
    value
        .as_str()
        .ok_or_else(|| anyhow!("expected a plain string, found {value:?}"))
}

/// The bucket's `QueueConfigurations`, pointed at the local queues.
async fn notify_queues(
    clients: &Clients,
    bucket: &str,
    properties: &Value,
    provisioned: &Provisioned,
) -> anyhow::Result<()> {
    let mut configurations = Vec::new();
    for configuration in properties["NotificationConfiguration"]["QueueConfigurations"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let (queue, _) = crate::template::get_att(&configuration["Queue"])
            .ok_or_else(|| anyhow!("a queue notification without !GetAtt"))?;
        let rules = configuration["Filter"]["S3Key"]["Rules"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|rule| {
                Ok(FilterRule::builder()
                    .name(FilterRuleName::from(string(&rule["Name"])?))
                    .value(string(&rule["Value"])?)
                    .build())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        configurations.push(
            QueueConfiguration::builder()
                .queue_arn(
                    provisioned
                        .arns
                        .get(&queue)
                        .ok_or_else(|| anyhow!("no queue {queue}"))?,
                )
                .events(Event::from(string(&configuration["Event"])?))
                .filter(
                    NotificationConfigurationFilter::builder()
                        .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                        .build(),
                )
                .build()?,
        );
    }
    if configurations.is_empty() {
        return Ok(());
    }
    clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(configurations))
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The template's SQS-fed functions, wired to their local queues.
pub fn consumers(
    template: &Template,
    provisioned: &Provisioned,
) -> anyhow::Result<Vec<crate::consumers::LocalConsumer>> {
    let mut wired = Vec::new();
    for function in template.functions() {
        for (queue, batch_size) in &function.queues {
            let consumer = functions::routes::CONSUMERS
                .iter()
                .find(|c| c.function == function.binary)
                .ok_or_else(|| {
                    anyhow!("{} has a queue but no entry in CONSUMERS", function.binary)
                })?;
            wired.push(crate::consumers::LocalConsumer {
                consumer,
                queue_url: provisioned
                    .refs
                    .get(queue)
                    .cloned()
                    .ok_or_else(|| anyhow!("no local queue {queue}"))?,
                queue_arn: provisioned.arns.get(queue).cloned().unwrap_or_default(),
                batch_size: *batch_size,
                timeout: std::time::Duration::from_secs(function.timeout),
            });
        }
    }
    Ok(wired)
}
