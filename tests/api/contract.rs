//! Every answer the tests get, held to the OpenAPI contract (`functions::contract`): its status
//! documented for the operation, its body valid against the schema of its media type; and
//! every request the service accepted, its body and query parameters as the contract describes
//! them. A field, a status or a parameter added to the code without the contract fails here.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;

/// Where the schemas of the contract resolve from.
const BASE: &str = "urn:artisthub:contract";

struct Contract {
    document: &'static Value,
    /// The document, indexed once per test process: each schema compiled against it reads only
    /// what it names.
    registry: jsonschema::Registry<'static>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    let document: &'static Value = Box::leak(Box::new(functions::contract::document()));
    let registry = jsonschema::Registry::new()
        .add(BASE, document)
        .and_then(|registry| registry.prepare())
        .expect("the contract is a schema resource");
    Contract {
        document,
        registry,
        validators: Mutex::default(),
    }
});

/// One exchange with the gateway, as the test made it and the service answered it.
pub struct Exchange<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub request_headers: &'a [(&'a str, &'a str)],
    pub request_body: &'a [u8],
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// Panics, naming what differs, when the exchange is outside the contract.
pub fn check(exchange: &Exchange<'_>) {
    let (path, query) = exchange
        .target
        .split_once('?')
        .unwrap_or((exchange.target, ""));
    // No operation: not a route (the gateway's own 404), nothing the contract promises.
    let Some(operation) = operation(exchange.method, path) else {
        return;
    };
    let context = format!("{} {path} answered {}", exchange.method, exchange.status);
    let Some(response) = operation["responses"].get(exchange.status.to_string()) else {
        panic!(
            "contract: {context}, a status it does not document: {}",
            excerpt(exchange.body)
        );
    };
    if !exchange.body.is_empty() {
        let media_type = header(exchange.headers, "content-type")
            .map(|value| {
                value
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            })
            .unwrap_or_else(|| panic!("contract: {context} with a body and no content type"));
        let Some(content) = response["content"].get(&media_type) else {
            panic!("contract: {context} as {media_type}, a media type it does not document");
        };
        if media_type == "application/json" {
            let body: Value = serde_json::from_slice(exchange.body)
                .unwrap_or_else(|_| panic!("contract: {context} with JSON that does not parse"));
            validate(&content["schema"], &body, &format!("{context}: the answer"));
        }
    }
    if (200..300).contains(&exchange.status) {
        check_accepted_request(exchange, operation, query, &context);
    }
}

/// A request the service accepted must be one the contract describes: its query parameters
/// named, its JSON body valid.
fn check_accepted_request(exchange: &Exchange<'_>, operation: &Value, query: &str, context: &str) {
    let documented: Vec<&str> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|parameter| parameter["in"] == "query")
        .filter_map(|parameter| parameter["name"].as_str())
        .collect();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let name = pair.split('=').next().unwrap_or_default();
        assert!(
            documented.contains(&name),
            "contract: {context} to query parameter {name}, which it does not document"
        );
    }
    let json = header(exchange.request_headers, "content-type")
        .is_some_and(|value| value.starts_with("application/json"));
    let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
    if json && !schema.is_null() && !exchange.request_body.is_empty() {
        let body: Value = serde_json::from_slice(exchange.request_body)
            .unwrap_or_else(|_| panic!("contract: {context} to a body that is not JSON"));
        validate(
            schema,
            &body,
            &format!("{context}: the request it accepted"),
        );
    }
}

/// The operation for `method` on `path`: a literal segment wins over a parameter, as at the
/// gateway.
fn operation(method: &str, path: &str) -> Option<&'static Value> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let method = method.to_ascii_lowercase();
    CONTRACT.document["paths"]
        .as_object()?
        .iter()
        .filter_map(|(template, operations)| {
            let pattern: Vec<&str> = template.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut literals = 0;
            for (expected, actual) in pattern.iter().zip(&segments) {
                if expected.starts_with('{') {
                    if actual.is_empty() {
                        return None;
                    }
                } else if expected == actual {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some((literals, operations.get(&method)?))
        })
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, operation)| operation)
}

fn validate(schema: &Value, instance: &Value, context: &str) {
    let validator = validator(schema);
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(5)
        .map(|error| {
            let mut message = error.to_string();
            message.truncate(200);
            format!(
                "at {} (rule {}): {message}",
                error.instance_path(),
                error.evaluation_path()
            )
        })
        .collect();
    assert!(
        errors.is_empty(),
        "contract: {context} is not valid against {schema}:\n{}\nthe value: {}",
        errors.join("\n"),
        excerpt(instance.to_string().as_bytes()),
    );
}

fn validator(schema: &Value) -> Arc<jsonschema::Validator> {
    let key = schema.to_string();
    let mut validators = CONTRACT.validators.lock().expect("not poisoned");
    if let Some(validator) = validators.get(&key) {
        return validator.clone();
    }
    // The schema's references are the document's own: made absolute, they resolve there.
    let absolute: Value = serde_json::from_str(&key.replace(
        "\"$ref\":\"#/components/",
        &format!("\"$ref\":\"{BASE}#/components/"),
    ))
    .expect("was JSON");
    let validator = Arc::new(
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&CONTRACT.registry)
            .should_validate_formats(true)
            .build(&absolute)
            .unwrap_or_else(|error| panic!("contract: {schema} does not compile: {error}")),
    );
    validators.insert(key, validator.clone());
    validator
}

fn header<'a, N: AsRef<str>, V: AsRef<str>>(headers: &'a [(N, V)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_ref())
}

fn excerpt(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(600)]).into_owned()
}
