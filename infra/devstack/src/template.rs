//! Reads what the local stack needs from `template.yaml`: the resources to create, the functions
//! with their routes, and the environment every function gets.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use mailing::secrets::Key;
use serde_yaml::Value;

pub struct Template {
    root: Value,
}

/// A resource the emulator must hold, with its template properties.
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    pub properties: Value,
}

/// A function of the template: its binary and the HTTP route, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub logical_id: String,
    pub binary: String,
    pub routes: Vec<(String, String)>,
    /// The routes among them without an authorizer (`Auth: { Authorizer: NONE }`).
    pub public_routes: Vec<(String, String)>,
    /// SQS event sources: the queue's logical id and the batch size.
    pub queues: Vec<(String, i32)>,
    /// Seconds, from the function or the globals.
    pub timeout: u64,
    /// MiB, from the function or the globals.
    pub memory: u64,
    /// The function's own variables, beside the globals (the keys' secrets it may read).
    pub environment: BTreeMap<String, EnvValue>,
}

impl Function {
    /// The keys the function is given: those whose secret its environment names.
    pub fn keys(&self) -> Vec<Key> {
        Key::ALL
            .into_iter()
            .filter(|key| self.environment.contains_key(key.variable()))
            .collect()
    }
}

/// What Lambda would give one function: its binary, memory, timeout and environment.
#[derive(Debug, serde::Serialize)]
pub struct FunctionSetting {
    pub binary: String,
    pub memory: u64,
    pub timeout: u64,
    pub environment: BTreeMap<String, String>,
}

/// Each function's environment out of the stack's resolved one (`all`): everything but the
/// variables other functions declare for themselves (the keys' secrets it is not given).
pub fn per_function(template: &Template, all: &BTreeMap<String, String>) -> Vec<FunctionSetting> {
    let functions = template.functions();
    let own: std::collections::BTreeSet<&String> = functions
        .iter()
        .flat_map(|function| function.environment.keys())
        .collect();
    functions
        .iter()
        .map(|function| FunctionSetting {
            binary: function.binary.clone(),
            memory: function.memory,
            timeout: function.timeout,
            environment: all
                .iter()
                .filter(|(name, _)| !own.contains(name) || function.environment.contains_key(*name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        })
        .collect()
}

/// How an environment variable's value is defined in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    /// `!Ref` to a resource (its physical name) or a parameter.
    Ref(String),
    /// Anything else (`!Sub`, dynamic references): the local stack must supply it by name.
    Computed,
}

impl Template {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let root: Value = serde_yaml::from_str(text).context("template.yaml is not valid YAML")?;
        if !root.get("Resources").is_some_and(Value::is_mapping) {
            bail!("template.yaml has no Resources");
        }
        Ok(Self { root })
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(id, resource)| Some((id.as_str()?, resource)))
    }

    /// Every resource of the given CloudFormation types, in template order.
    pub fn resources_of(&self, kinds: &[&str]) -> Vec<Resource> {
        self.resources()
            .filter_map(|(id, resource)| {
                let kind = resource["Type"].as_str()?;
                kinds.contains(&kind).then(|| Resource {
                    logical_id: id.to_owned(),
                    kind: kind.to_owned(),
                    properties: resource["Properties"].clone(),
                })
            })
            .collect()
    }

    /// Every resource's logical id and type.
    pub fn resource_types(&self) -> Vec<(String, String)> {
        self.resources()
            .filter_map(|(id, resource)| {
                Some((id.to_owned(), resource["Type"].as_str()?.to_owned()))
            })
            .collect()
    }

    pub fn functions(&self) -> Vec<Function> {
        self.resources()
            .filter(|(_, resource)| resource["Type"].as_str() == Some("AWS::Serverless::Function"))
            .map(|(id, resource)| Function {
                logical_id: id.to_owned(),
                binary: resource["Metadata"]["BuildProperties"]["Binary"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                routes: http_routes(resource, |_| true),
                public_routes: http_routes(resource, |properties| {
                    properties["Auth"]["Authorizer"].as_str() == Some("NONE")
                }),
                queues: resource["Properties"]["Events"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .filter(|(_, event)| event["Type"].as_str() == Some("SQS"))
                    .filter_map(|(_, event)| {
                        let properties = &event["Properties"];
                        let queue = get_att(&properties["Queue"])?.0;
                        let batch = properties["BatchSize"].as_i64().unwrap_or(10);
                        Some((queue, i32::try_from(batch).unwrap_or(10)))
                    })
                    .collect(),
                timeout: self.setting(resource, "Timeout").unwrap_or(3),
                memory: self.setting(resource, "MemorySize").unwrap_or(128),
                environment: variables(&resource["Properties"]),
            })
            .collect()
    }

    /// A function's numeric property, or the globals' when it has none.
    fn setting(&self, resource: &Value, name: &str) -> Option<u64> {
        resource["Properties"][name]
            .as_u64()
            .or_else(|| self.root["Globals"]["Function"][name].as_u64())
    }

    /// `Globals.Function.Environment.Variables`.
    pub fn global_environment(&self) -> BTreeMap<String, EnvValue> {
        variables(&self.root["Globals"]["Function"])
    }

    pub fn parameter_default(&self, name: &str) -> Option<String> {
        match &self.root["Parameters"][name]["Default"] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// `Environment.Variables` of a function's properties (or the globals).
fn variables(properties: &Value) -> BTreeMap<String, EnvValue> {
    properties["Environment"]["Variables"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| Some((name.as_str()?.to_owned(), env_value(value))))
        .collect()
}

/// `!GetAtt Resource.Attribute` (short or long form) as (resource, attribute).
pub fn get_att(value: &Value) -> Option<(String, String)> {
    let target = match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
            Value::String(s) => s.clone(),
            Value::Sequence(parts) => parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("."),
            _ => return None,
        },
        Value::Mapping(map) => match map.get("Fn::GetAtt") {
            Some(Value::Sequence(parts)) => parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("."),
            _ => return None,
        },
        _ => return None,
    };
    let (resource, attribute) = target.split_once('.')?;
    Some((resource.to_owned(), attribute.to_owned()))
}

/// `!Ref Target` (short or long form) as its target.
pub fn ref_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_owned),
        Value::Mapping(map) if map.len() == 1 => map.get("Ref")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn env_value(value: &Value) -> EnvValue {
    match value {
        Value::String(s) => EnvValue::Literal(s.clone()),
        Value::Number(n) => EnvValue::Literal(n.to_string()),
        Value::Bool(b) => EnvValue::Literal(b.to_string()),
        other => ref_target(other).map_or(EnvValue::Computed, EnvValue::Ref),
    }
}

/// A function's `HttpApi` events as (method, path), those whose properties pass `keep`.
fn http_routes(resource: &Value, keep: impl Fn(&Value) -> bool) -> Vec<(String, String)> {
    resource["Properties"]["Events"]
        .as_mapping()
        .into_iter()
        .flatten()
        .filter(|(_, event)| event["Type"].as_str() == Some("HttpApi"))
        .filter(|(_, event)| keep(&event["Properties"]))
        .filter_map(|(_, event)| {
            let properties = &event["Properties"];
            Some((
                properties["Method"].as_str()?.to_owned(),
                properties["Path"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Globals:
  Function:
    Environment:
      Variables:
        RUST_LOG: info
        CONTACTS_TABLE: !Ref ContactsTable
        SIGNING_KEY: !Sub "{{resolve:secretsmanager:${Name}:SecretString}}"
Resources:
  ContactsTable:
    Type: AWS::DynamoDB::Table
    Properties: { BillingMode: PAY_PER_REQUEST }
  ContactsGetFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: contacts-get } }
    Properties:
      Environment:
        Variables:
          EMAIL_HASH_KEY_SECRET: !Ref EmailHashKeySecretName
      Events:
        Api: { Type: HttpApi, Properties: { Method: GET, Path: "/api/x/{id}" } }
"#;

    #[test]
    fn functions_routes_and_environment_are_read_from_the_template() {
        let template = Template::parse(TEMPLATE).unwrap();
        assert_eq!(
            template.functions(),
            [Function {
                logical_id: "ContactsGetFunction".into(),
                binary: "contacts-get".into(),
                routes: vec![("GET".into(), "/api/x/{id}".into())],
                public_routes: vec![],
                queues: vec![],
                timeout: 3,
                memory: 128,
                environment: BTreeMap::from([(
                    "EMAIL_HASH_KEY_SECRET".into(),
                    EnvValue::Ref("EmailHashKeySecretName".into())
                )]),
            }]
        );
        assert_eq!(template.functions()[0].keys(), [Key::EmailHash]);
        let env = template.global_environment();
        assert_eq!(env["RUST_LOG"], EnvValue::Literal("info".into()));
        assert_eq!(env["CONTACTS_TABLE"], EnvValue::Ref("ContactsTable".into()));
        assert_eq!(env["SIGNING_KEY"], EnvValue::Computed);
        assert_eq!(template.resources_of(&["AWS::DynamoDB::Table"]).len(), 1);
    }

    #[test]
    fn each_function_gets_the_globals_and_its_own_variables_with_its_memory_and_timeout() {
        let template = Template::parse(&format!(
            "{TEMPLATE}{}",
            r#"
  SenderFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: email-send } }
    Properties:
      MemorySize: 1024
      Timeout: 60
      Environment:
        Variables:
          SIGNING_KEY_SECRET: !Ref SigningKeySecretName
"#
        ))
        .unwrap();
        let all = BTreeMap::from(
            [
                ("RUST_LOG", "info"),
                ("CONTACTS_TABLE", "t-contacts"),
                ("EMAIL_HASH_KEY_SECRET", "hash"),
                ("SIGNING_KEY_SECRET", "signing"),
            ]
            .map(|(name, value)| (name.to_owned(), value.to_owned())),
        );
        let settings = per_function(&template, &all);
        let names = |at: usize| settings[at].environment.keys().cloned().collect::<Vec<_>>();
        assert_eq!(settings[0].binary, "contacts-get");
        assert_eq!(
            names(0),
            ["CONTACTS_TABLE", "EMAIL_HASH_KEY_SECRET", "RUST_LOG"]
        );
        assert_eq!((settings[0].memory, settings[0].timeout), (128, 3));
        assert_eq!(settings[1].binary, "email-send");
        assert_eq!(
            names(1),
            ["CONTACTS_TABLE", "RUST_LOG", "SIGNING_KEY_SECRET"]
        );
        assert_eq!((settings[1].memory, settings[1].timeout), (1024, 60));
    }

    #[test]
    fn a_template_without_resources_is_refused() {
        assert!(Template::parse("Globals: {}").is_err());
        assert!(Template::parse(": not yaml [").is_err());
    }
}
