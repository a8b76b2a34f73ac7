//! The OpenAPI 3.1 contract of the HTTP API, generated from the code: the route table gives the
//! operations and who may call them, each resource module describes its own next to its
//! handlers (`describe`), and every schema is derived from the type the handler parses or
//! answers (schemars reads the same serde attributes serde obeys). `openapi/openapi.json` is
//! this document as shipped to the CRM team; a test fails when the two differ, and every answer
//! of the integration tests is validated against it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::routes::ROUTES;

const COMPONENTS: &str = "/components/schemas";
const REF_PREFIX: &str = "#/components/schemas/";

/// The media type of CSV downloads.
pub const CSV: &str = "text/csv";

/// Schemas of query parameters a handler parses itself rather than as a type.
pub mod schema {
    use serde_json::{Value, json};

    pub fn date() -> Value {
        json!({ "type": "string", "format": "date" })
    }

    pub fn date_time() -> Value {
        json!({ "type": "string", "format": "date-time" })
    }

    pub fn text() -> Value {
        json!({ "type": "string" })
    }

    pub fn boolean() -> Value {
        json!({ "type": "boolean" })
    }

    pub fn uuid() -> Value {
        json!({ "type": "string", "format": "uuid" })
    }

    pub fn one_of(values: &[&str]) -> Value {
        json!({ "type": "string", "enum": values })
    }
}

/// What API Gateway's JWT authorizer answers, before any function runs.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "GatewayError")]
struct GatewayError {
    message: String,
}

/// The operations being described, and the schemas they name.
pub struct Api {
    /// Schemas of answers: how the types serialize.
    output: SchemaGenerator,
    /// Schemas of requests: how the types deserialize (`deny_unknown_fields` closes them).
    input: SchemaGenerator,
    operations: BTreeMap<(String, String), Operation>,
}

#[derive(Default)]
struct Operation {
    summary: String,
    description: Option<String>,
    parameters: Vec<Value>,
    body: Option<Value>,
    responses: BTreeMap<u16, Value>,
    errors: Vec<u16>,
}

/// One operation being described: `api.operation("GET", path).summary(…).answers::<T>(200, …)`.
pub struct Describe<'a> {
    api: &'a mut Api,
    key: (String, String),
}

impl Api {
    fn new() -> Self {
        let generator = |settings: SchemaSettings| {
            settings
                .with(|s| s.definitions_path = COMPONENTS.into())
                .into_generator()
        };
        Self {
            output: generator(SchemaSettings::draft2020_12().for_serialize()),
            input: generator(SchemaSettings::draft2020_12().for_deserialize()),
            operations: BTreeMap::new(),
        }
    }

    pub fn operation(&mut self, method: &str, path: &str) -> Describe<'_> {
        let key = (path.to_owned(), method.to_ascii_lowercase());
        self.operations.entry(key.clone()).or_default();
        Describe { api: self, key }
    }

    /// `HEAD` of a described `GET`: the same parameters and statuses, no bodies.
    pub fn head_of_get(&mut self, path: &str) {
        let get = &self.operations[&(path.to_owned(), "get".to_owned())];
        let responses = get
            .responses
            .iter()
            .map(|(status, response)| {
                let description = response["description"].clone();
                (*status, json!({ "description": description }))
            })
            .collect();
        let head = Operation {
            summary: format!("{} (headers only)", get.summary),
            description: get.description.clone(),
            parameters: get.parameters.clone(),
            body: None,
            responses,
            errors: get.errors.clone(),
        };
        self.operations
            .insert((path.to_owned(), "head".to_owned()), head);
    }
}

impl Describe<'_> {
    fn op(&mut self) -> &mut Operation {
        self.api.operations.get_mut(&self.key).expect("inserted")
    }

    pub fn summary(mut self, summary: &str) -> Self {
        self.op().summary = summary.to_owned();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.op().description = Some(description.to_owned());
        self
    }

    /// An optional query parameter parsed as `T`.
    pub fn query<T: JsonSchema>(mut self, name: &str, description: &str) -> Self {
        let schema = self.api.input.subschema_for::<T>().to_value();
        self.op().parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": schema,
        }));
        self.op().errors.push(400);
        self
    }

    /// An optional query parameter a handler parses itself, described by `schema`.
    pub fn query_schema(mut self, name: &str, description: &str, schema: Value) -> Self {
        self.op().parameters.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": schema,
        }));
        self.op().errors.push(400);
        self
    }

    /// `?limit=` (1 to `max`) and `?cursor=` (the `next_cursor` of the page before).
    pub fn paged(self, max: usize) -> Self {
        self.query_schema(
            "limit",
            "How many items at most.",
            json!({ "type": "integer", "minimum": 1, "maximum": max }),
        )
        .query_schema(
            "cursor",
            "The `next_cursor` of the page before; valid for the same listing only.",
            schema::text(),
        )
    }

    /// The JSON body, parsed as `T`: broken JSON is a 400, a body over the limit a 413, a
    /// well-formed body of the wrong shape a 422.
    pub fn body<T: JsonSchema>(mut self) -> Self {
        let schema = self.api.input.subschema_for::<T>().to_value();
        self.op().body = Some(json!({
            "required": true,
            "content": { "application/json": { "schema": schema } },
        }));
        self.op().errors.extend([400, 413, 422]);
        self
    }

    /// A body of several media types, described as they are parsed.
    pub fn body_schema(mut self, required: bool, content: Value) -> Self {
        self.op().body = Some(json!({ "required": required, "content": content }));
        self
    }

    /// A required query parameter a handler parses itself.
    pub fn required_query_schema(self, name: &str, description: &str, schema: Value) -> Self {
        let mut this = self.query_schema(name, description, schema);
        if let Some(parameter) = this.op().parameters.last_mut() {
            parameter["required"] = json!(true);
        }
        this
    }

    /// A JSON answer of type `T`.
    pub fn answers<T: JsonSchema>(self, status: u16, description: &str) -> Self {
        let schema = self.api.output.subschema_for::<T>().to_value();
        self.content(status, "application/json", schema, description)
    }

    /// `media_type` as one content of the answer of `status`.
    fn content(mut self, status: u16, media_type: &str, schema: Value, description: &str) -> Self {
        let response = self
            .op()
            .responses
            .entry(status)
            .or_insert_with(|| json!({ "description": description, "content": {} }));
        let known = response["description"].as_str().unwrap_or_default();
        if !known.contains(description) {
            response["description"] = json!(format!("{known} {description}"));
        }
        response["content"][media_type] = json!({ "schema": schema });
        self
    }

    /// An answer without a body.
    pub fn empty(mut self, status: u16, description: &str) -> Self {
        self.op()
            .responses
            .insert(status, json!({ "description": description }));
        self
    }

    /// An answer of another media type (a page, a pixel, a download); beside a JSON answer of
    /// the same status, one the caller may ask for instead.
    pub fn media(self, status: u16, media_type: &str, description: &str) -> Self {
        let schema = if media_type.starts_with("text/") {
            json!({ "type": "string" })
        } else {
            json!({ "type": "string", "contentEncoding": "base64" })
        };
        self.content(status, media_type, schema, description)
    }

    /// A redirect to the `Location` header.
    pub fn redirect(mut self, status: u16, description: &str) -> Self {
        self.op().responses.insert(
            status,
            json!({
                "description": description,
                "headers": { "Location": { "required": true, "schema": { "type": "string", "format": "uri" } } },
            }),
        );
        self
    }

    /// Refusals besides the ones every operation of its kind may give.
    pub fn errors(mut self, statuses: &[u16]) -> Self {
        self.op().errors.extend_from_slice(statuses);
        self
    }
}

/// What a refusal of each status means, in every operation that may give it.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => "The request is malformed: broken JSON or an invalid query parameter.",
        401 => "No valid bearer token.",
        403 => "The token does not grant this artist and team.",
        404 => "No such resource for this caller.",
        409 => "The resource is not in a state that allows this.",
        413 => "The body is larger than this operation reads.",
        422 => "The body is well-formed but a field is invalid; `details.fields` names each.",
        _ => "Refused.",
    }
}

/// Every route of the route table described, or the routes and descriptions that do not match.
pub fn gaps() -> Vec<String> {
    let api = described();
    let routes: Vec<(String, String)> = ROUTES
        .iter()
        .map(|route| (route.path.to_owned(), route.method.to_ascii_lowercase()))
        .collect();
    let mut gaps: Vec<String> = routes
        .iter()
        .filter(|key| !api.operations.contains_key(*key))
        .map(|(path, method)| format!("{method} {path}: a route the contract does not describe"))
        .collect();
    gaps.extend(
        api.operations
            .keys()
            .filter(|key| !routes.contains(key))
            .map(|(path, method)| format!("{method} {path}: described but not in the route table")),
    );
    for ((path, method), operation) in &api.operations {
        if operation.summary.is_empty() || operation.responses.is_empty() {
            gaps.push(format!(
                "{method} {path}: no summary or no answer described"
            ));
        }
    }
    gaps
}

fn described() -> Api {
    let mut api = Api::new();
    crate::analytics::describe(&mut api);
    crate::audit::describe(&mut api);
    crate::campaigns::describe(&mut api);
    crate::contacts::describe(&mut api);
    crate::conversions::describe(&mut api);
    crate::domains::describe(&mut api);
    crate::emails::describe(&mut api);
    crate::erasure::describe(&mut api);
    crate::exports::describe(&mut api);
    crate::history::describe(&mut api);
    crate::imports::describe(&mut api);
    crate::sync::describe(&mut api);
    crate::replies::describe(&mut api);
    crate::sender_profiles::describe(&mut api);
    crate::signatures::describe(&mut api);
    crate::templates::describe(&mut api);
    crate::tracking::describe(&mut api);
    crate::webhooks::describe(&mut api);
    api
}

/// The OpenAPI 3.1 document of every described route.
pub fn document() -> Value {
    let mut api = described();
    let error = api
        .output
        .subschema_for::<mailing::error::ErrorBody>()
        .to_value();
    let gateway = api.output.subschema_for::<GatewayError>().to_value();
    let role = api
        .input
        .subschema_for::<mailing::domain::ContactRole>()
        .to_value();

    let (schemas, renamed) = merge(
        api.output.take_definitions(true),
        api.input.take_definitions(true),
    );
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for ((path, method), operation) in std::mem::take(&mut api.operations) {
        let Some(route) = ROUTES
            .iter()
            .find(|r| r.path == path && r.method.eq_ignore_ascii_case(&method))
        else {
            continue;
        };
        let mut responses = Map::new();
        for (status, response) in &operation.responses {
            responses.insert(status.to_string(), response.clone());
        }
        let mut errors = operation.errors.clone();
        if !route.public {
            errors.extend([401, 403]);
        }
        if path.contains('{') {
            errors.push(404);
        }
        errors.sort_unstable();
        errors.dedup();
        for status in errors {
            let (description, schema) = if status == 401 && !route.public {
                ("No valid bearer token (answered by the gateway).", &gateway)
            } else {
                (error_description(status), &error)
            };
            let response = responses
                .entry(status.to_string())
                .or_insert_with(|| json!({ "description": description }));
            // A status the operation already answers in another media type (an HTML page)
            // may also come as the JSON error.
            if method != "head" {
                response["content"]["application/json"] = json!({ "schema": schema });
            }
        }
        // Parameters and bodies are read: they name the requests' schemas.
        let mut parameters = path_parameters(&path, &role);
        parameters.extend(operation.parameters);
        let mut parameters = Value::Array(parameters);
        rename_refs(&mut parameters, &renamed);
        let mut value = json!({
            "operationId": operation_id(route.function, &method),
            "summary": operation.summary,
            "tags": [tag(&path)],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(description) = operation.description {
            value["description"] = json!(description);
        }
        if let Some(mut body) = operation.body {
            rename_refs(&mut body, &renamed);
            value["requestBody"] = body;
        }
        if route.public {
            value["security"] = json!([]);
        }
        paths.entry(path).or_default().insert(method, value);
    }
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "ArtistHub Mailing",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The mailing service of the ArtistHub CRM: contacts per artist and team with their consent, individual and bulk email, and every delivery, open, click, reply, bounce and unsubscribe. Generated from the code (functions/src/contract.rs); every answer of the integration tests is checked against it.",
        },
        "servers": [{ "url": "http://127.0.0.1:3000", "description": "infra/dev up" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT of the CRM's identity provider, validated by API Gateway. Its `scope` claim grants artists and teams: `artist:{artistId}:{role}` one team of one artist, `artist:{artistId}:*` every team of it, `mailing:admin` everything (`infra/dev token` prints one for the local stack).",
                },
            },
        },
    })
}

fn operation_id(function: &str, method: &str) -> String {
    // Functions answering several methods (tracking) get the method in their id.
    let shared = ROUTES
        .iter()
        .filter(|route| route.function == function)
        .count()
        > 1;
    if shared {
        format!("{function}-{method}")
    } else {
        function.to_owned()
    }
}

/// The resource an operation belongs to: its path's first segment after the artist.
fn tag(path: &str) -> String {
    let segments: Vec<&str> = path
        .trim_start_matches("/api/")
        .split('/')
        .filter(|s| !s.starts_with('{') && *s != "artists" && *s != "email")
        .collect();
    segments.first().copied().unwrap_or("email").to_owned()
}

fn path_parameters(path: &str, role: &Value) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let (schema, description) = match name {
                "role" => (role.clone(), "The team."),
                "domain" => (
                    json!({ "type": "string" }),
                    "A sending domain, as claimed.",
                ),
                "trackingId" => (
                    json!({ "type": "string" }),
                    "The signed token of one message, from its links.",
                ),
                _ => (json!({ "type": "string", "format": "uuid" }), "An id."),
            };
            json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
        })
        .collect()
}

/// One set of components from the answers' and the requests' schemas: a type both read and
/// written the same way appears once; one whose request shape differs is named `…Input`.
fn merge(
    output: Map<String, Value>,
    input: Map<String, Value>,
) -> (Map<String, Value>, BTreeMap<String, String>) {
    // A type is read differently when its own schema differs or one it names is read
    // differently: grown until nothing more changes.
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let more: Vec<String> = input
            .iter()
            .filter(|(name, schema)| {
                !renamed.contains_key(*name)
                    && output
                        .get(*name)
                        .is_some_and(|out| out != *schema || names_any(schema, &renamed))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        renamed.extend(more.into_iter().map(|name| {
            let new = format!("{name}Input");
            (name, new)
        }));
    }
    let mut schemas = output;
    for (name, mut schema) in input {
        rename_refs(&mut schema, &renamed);
        let name = renamed.get(&name).cloned().unwrap_or(name);
        schemas.entry(name).or_insert(schema);
    }
    (schemas, renamed)
}

fn names_any(value: &Value, renamed: &BTreeMap<String, String>) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, value)| match value {
            Value::String(reference) if key == "$ref" => reference
                .strip_prefix(REF_PREFIX)
                .is_some_and(|name| renamed.contains_key(name)),
            _ => names_any(value, renamed),
        }),
        Value::Array(items) => items.iter().any(|value| names_any(value, renamed)),
        _ => false,
    }
}

fn rename_refs(value: &mut Value, renamed: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref")
                && let Some(name) = reference.strip_prefix(REF_PREFIX)
                && let Some(new) = renamed.get(name)
            {
                *reference = format!("{REF_PREFIX}{new}");
            }
            map.values_mut()
                .for_each(|value| rename_refs(value, renamed));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|value| rename_refs(value, renamed)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_of_the_route_table_is_described_and_nothing_else() {
        assert_eq!(gaps(), Vec::<String>::new());
    }

    #[test]
    fn the_shipped_document_is_the_one_the_code_generates() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
        let shipped = std::fs::read_to_string(path).expect("openapi/openapi.json");
        let generated = serde_json::to_string_pretty(&document()).expect("serializes");
        assert!(
            shipped.trim_end() == generated,
            "openapi/openapi.json differs from the contract the code describes: run infra/dev openapi and review the difference"
        );
    }

    #[test]
    fn every_reference_names_a_schema_of_the_document() {
        let document = document();
        let schemas = document["components"]["schemas"]
            .as_object()
            .expect("schemas");
        let mut missing = Vec::new();
        fn walk(value: &Value, schemas: &Map<String, Value>, missing: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(reference)) = map.get("$ref")
                        && !reference
                            .strip_prefix(REF_PREFIX)
                            .is_some_and(|name| schemas.contains_key(name))
                    {
                        missing.push(reference.clone());
                    }
                    map.values().for_each(|v| walk(v, schemas, missing));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, schemas, missing)),
                _ => {}
            }
        }
        walk(&document, schemas, &mut missing);
        assert_eq!(missing, Vec::<String>::new());
    }

    /// Two fields of one name in an object (a flattened type repeating a field of its holder)
    /// would be written twice in one JSON object.
    #[test]
    fn no_schema_names_a_required_field_twice() {
        let document = document();
        for (name, schema) in document["components"]["schemas"]
            .as_object()
            .expect("schemas")
        {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let mut unique = required.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), required.len(), "{name} requires {required:?}");
        }
    }

    #[test]
    fn a_type_read_differently_than_written_gets_its_own_input_schema() {
        let output = Map::from_iter([
            ("Role".to_owned(), json!({ "enum": ["a"] })),
            (
                "Holder".to_owned(),
                json!({ "properties": { "r": { "$ref": "#/components/schemas/Role" } } }),
            ),
            ("Same".to_owned(), json!({ "type": "string" })),
        ]);
        let input = Map::from_iter([
            ("Role".to_owned(), json!({ "enum": ["a", "b"] })),
            (
                "Holder".to_owned(),
                json!({ "properties": { "r": { "$ref": "#/components/schemas/Role" } } }),
            ),
            ("Same".to_owned(), json!({ "type": "string" })),
        ]);
        let (schemas, renamed) = merge(output, input);
        assert_eq!(renamed.get("Role").map(String::as_str), Some("RoleInput"));
        // Holder's own JSON is the same, but it names a type read differently.
        assert_eq!(
            renamed.get("Holder").map(String::as_str),
            Some("HolderInput")
        );
        assert!(!renamed.contains_key("Same"));
        assert_eq!(
            schemas["HolderInput"]["properties"]["r"]["$ref"],
            "#/components/schemas/RoleInput"
        );
        assert_eq!(
            schemas["Holder"]["properties"]["r"]["$ref"],
            "#/components/schemas/Role"
        );
    }
}
