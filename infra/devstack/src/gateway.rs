//! The dev gateway: API Gateway (HTTP API, payload 2.0) on loopback. It matches the route table,
//! runs the JWT authorizer emulation, builds the exact event Lambda would receive and calls the
//! route's handler in-process.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::apps::FunctionApps;
use crate::providers::LocalProviders;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use functions::routes::{ROUTES, Route};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

use crate::auth::LocalIssuer;

/// API Gateway's own payload limit.
const MAX_BODY: usize = 10 * 1024 * 1024;

pub struct Gateway {
    pub apps: FunctionApps,
    pub issuer: LocalIssuer,
    /// The fake providers, their credentials, and what they took.
    pub providers: LocalProviders,
}

/// A request as it reaches API Gateway.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// Path and query, as on the request line.
    pub target: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Gateway {
    pub async fn handle(&self, request: HttpRequest<'_>) -> Response<Body> {
        let (path, query) = request
            .target
            .split_once('?')
            .unwrap_or((request.target, ""));
        // The local stack's own pages: not API Gateway routes, so no authorizer.
        if request.method == "GET" && path == "/_local/outbox" {
            let (status, body) = crate::outbox::respond(query).await;
            return json_response(status, body);
        }
        // The API's contract, as shipped in openapi/, and as a page.
        if request.method == "GET" && path == "/_local/openapi.json" {
            return json_response(200, contract(&request.headers));
        }
        if request.method == "GET" && path == "/_local/api" {
            let mut response = Response::new(Body::Text(crate::api_page::render(&contract(
                &request.headers,
            ))));
            response.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return response;
        }
        // What the fake providers took, and their webhooks told on request.
        if request.method == "GET" && path == "/_local/providers" {
            return json_response(200, taken(&self.providers));
        }
        if request.method == "POST" && path == "/_local/providers/events" {
            return match Box::pin(self.tell(&request.body)).await {
                Ok(told) => json_response(200, told),
                Err(error) => json_response(400, json!({ "error": error.to_string() })),
            };
        }
        // The DNS stub, for the walkthrough: publish a domain's ownership proof.
        if request.method == "POST" && path == "/_local/dns" {
            return match publish_dns(&request.body).await {
                Ok(()) => json_response(200, json!({})),
                Err(error) => json_response(400, json!({ "error": error.to_string() })),
            };
        }
        let Some((route, path_parameters)) = find_route(request.method, path) else {
            return gateway_error(404, "Not Found");
        };
        if request.body.len() > MAX_BODY {
            return gateway_error(413, "Request Entity Too Large");
        }
        let authorization = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .map(|(_, value)| value.as_str());
        // Public routes (tracking, unsubscribe) have no authorizer, as in the template.
        let claims = if route.public {
            None
        } else {
            let Some(claims) = authorization.and_then(|token| self.issuer.verify(token)) else {
                return gateway_error(401, "Unauthorized");
            };
            Some(claims)
        };
        let event = event(&request, route, path, query, path_parameters, claims);
        let lambda_request: LambdaRequest = match serde_json::from_value(event) {
            Ok(request) => request,
            Err(error) => {
                tracing::error!(%error, "the gateway built an event Lambda would not accept");
                return gateway_error(500, "Internal Server Error");
            }
        };
        let Some(app) = self.apps.of(route.function) else {
            tracing::error!(
                function = route.function,
                "a function of the route table is not in template.yaml"
            );
            return gateway_error(500, "Internal Server Error");
        };
        let request = http::Request::<Body>::from(lambda_request);
        let id = functions::runtime::request_id(&request);
        functions::runtime::answer(id, (route.handler)(app, request)).await
    }
}

impl Gateway {
    /// `{"event": "delivered"|"opened", "limit"?}`: each provider's webhook for that event of
    /// the messages the fakes took (the first `limit`), posted to our own webhook route.
    async fn tell(&self, body: &[u8]) -> anyhow::Result<Value> {
        #[derive(serde::Deserialize)]
        struct Tell {
            event: String,
            limit: Option<usize>,
        }
        let tell: Tell = serde_json::from_slice(body)?;
        let at = chrono::Utc::now();
        let mut statuses = Vec::new();
        for taken in self
            .providers
            .fakes
            .taken()
            .iter()
            .take(tell.limit.unwrap_or(usize::MAX))
        {
            let post = crate::provider_events::webhook(&self.providers, taken, &tell.event, at)
                .ok_or_else(|| {
                    anyhow::anyhow!("no {} webhook for {:?}", taken.provider, tell.event)
                })?;
            let response = self
                .handle(HttpRequest {
                    method: "POST",
                    target: &post.path,
                    headers: post.headers,
                    body: post.body,
                })
                .await;
            statuses.push(response.status().as_u16());
        }
        Ok(json!({ "posted": statuses.len(), "statuses": statuses }))
    }
}

/// What the fake providers took, oldest first.
fn taken(providers: &LocalProviders) -> Value {
    let items: Vec<Value> = providers
        .fakes
        .taken()
        .into_iter()
        .map(|t| json!({ "provider": t.provider, "message_id": t.message_id, "to": t.to, "args": t.args }))
        .collect();
    use crate::fake_sources::{GOOGLE_TOKEN, GRAPH_TOKEN, MAILCHIMP_KEY, MAILCHIMP_LIST};
    json!({
        "items": items,
        // The credentials the fake address books take, for `POST …/contacts/sync/{provider}`.
        "sync": {
            "gmail": { "access_token": GOOGLE_TOKEN },
            "outlook": { "access_token": GRAPH_TOKEN },
            "mailchimp": { "api_key": MAILCHIMP_KEY, "list_id": MAILCHIMP_LIST },
        },
    })
}

/// The contract, its server the one this request reached.
fn contract(headers: &[(String, String)]) -> Value {
    let mut document = functions::contract::document();
    if let Some((_, host)) = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        document["servers"] =
            json!([{ "url": format!("http://{host}"), "description": "infra/dev up" }]);
    }
    document
}

/// `{"name", "value"}`: a TXT record for the emulator's resolver stub.
async fn publish_dns(body: &[u8]) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Record {
        name: String,
        value: String,
    }
    let record: Record = serde_json::from_slice(body)?;
    crate::dns::publish_txt(&record.name, &record.value).await
}

/// The route for `method` and `path`, with its path parameters.
pub fn find_route(method: &str, path: &str) -> Option<(&'static Route, BTreeMap<String, String>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // As API Gateway: a literal segment wins over a parameter (`…/analytics/heatmap` over
    // `…/analytics/{role}`).
    ROUTES
        .iter()
        .filter(|route| route.method == method)
        .filter_map(|route| {
            let pattern: Vec<&str> = route.path.split('/').collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut parameters = BTreeMap::new();
            for (expected, actual) in pattern.iter().zip(&segments) {
                match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !actual.is_empty() => {
                        parameters.insert(name.to_owned(), percent_decode(actual));
                    }
                    Some(_) => return None,
                    None if expected == actual => {}
                    None => return None,
                }
            }
            Some((route, parameters))
        })
        .max_by_key(|(route, parameters)| {
            (
                route.path.split('/').count() - parameters.len(),
                std::cmp::Reverse(route.path),
            )
        })
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn event(
    request: &HttpRequest<'_>,
    route: &Route,
    path: &str,
    query: &str,
    path_parameters: BTreeMap<String, String>,
    claims: Option<BTreeMap<String, String>>,
) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &request.headers {
        headers
            .entry(name.to_ascii_lowercase())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let mut query_parameters: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        query_parameters
            .entry(name.into_owned())
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let (body, is_base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(STANDARD.encode(&request.body)), true),
    };
    let now = chrono::Utc::now();
    let route_key = format!("{} {}", route.method, route.path);
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if query_parameters.is_empty() { Value::Null } else { json!(query_parameters) },
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": claims.map(|claims| json!({ "jwt": { "claims": claims, "scopes": null } })),
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": route.method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// API Gateway's own error bodies (`{"message": …}`), distinct from the functions' errors.
fn gateway_error(status: u16, message: &str) -> Response<Body> {
    json_response(status, json!({ "message": message }))
}

fn json_response(status: u16, body: Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// Serves the gateway on `address` until `shutdown` resolves.
pub async fn serve(
    gateway: std::sync::Arc<Gateway>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let gateway = gateway.clone();
        async move { forward(&gateway, request).await }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn forward(gateway: &Gateway, request: axum::extract::Request) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY + 1).await {
        Ok(bytes) => bytes.to_vec(),
        Err(_) => return into_axum(gateway_error(413, "Request Entity Too Large")),
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let response = gateway
        .handle(HttpRequest {
            method: parts.method.as_str(),
            target: &target,
            headers,
            body,
        })
        .await;
    tracing::info!(method = %parts.method, path = parts.uri.path(), status = response.status().as_u16(), "request");
    into_axum(response)
}

fn into_axum(response: Response<Body>) -> axum::response::Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    axum::response::Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Where a listener ended up, for the READY line.
pub fn local_url(address: SocketAddr) -> String {
    format!("http://{address}")
}
