//! Creates the template's tables in the emulator under a name prefix, and computes the
//! environment the functions get, resolving `!Ref`s to the local physical names.

use std::collections::BTreeMap;

use anyhow::{Context, anyhow, bail};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use mailing::App;
use mailing::aws::Clients;
use mailing::config::Config;
use serde_yaml::Value;

use crate::template::{EnvValue, Template};

/// Resource types the gateway plays itself or that need no local counterpart.
const NOT_EMULATED: &[&str] = &["AWS::Serverless::Function", "AWS::Serverless::HttpApi"];

#[derive(Debug, Default)]
pub struct Provisioned {
    /// Logical id → the value `!Ref` gives (a table's name).
    pub refs: BTreeMap<String, String>,
    /// Resources the emulator does not hold, by logical id and type, to say so.
    pub skipped: Vec<String>,
}

pub async fn provision(
    template: &Template,
    prefix: &str,
    clients: &Clients,
) -> anyhow::Result<Provisioned> {
    let mut provisioned = Provisioned::default();
    for resource in template.resources_of(&["AWS::DynamoDB::Table"]) {
        let name = format!("{prefix}-{}", resource.logical_id);
        create_table(&clients.dynamodb, &name, &resource.properties)
            .await
            .with_context(|| format!("creating table {}", resource.logical_id))?;
        provisioned.refs.insert(resource.logical_id, name);
    }
    for (id, kind) in template.resource_types() {
        if kind != "AWS::DynamoDB::Table" && !NOT_EMULATED.contains(&kind.as_str()) {
            provisioned.skipped.push(format!("{id} ({kind})"));
        }
    }
    Ok(provisioned)
}

/// The functions' environment: the template's global variables with `!Ref`s resolved to local
/// names, parameters to `overrides` or their defaults, and computed values from `overrides`.
pub fn environment(
    template: &Template,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    template
        .global_environment()
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

/// The app as a function sees it, from the local environment.
pub fn app(environment: &BTreeMap<String, String>, clients: Clients) -> anyhow::Result<App> {
    let config = Config::from_lookup(|name| environment.get(name).cloned())?;
    Ok(App::new(config, clients))
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
