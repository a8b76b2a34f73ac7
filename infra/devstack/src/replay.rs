//! AWS answers recorded once from the emulator, then replayed from memory: the SDK serializes,
//! signs and parses exactly as against AWS, but no socket is touched. What a benchmark measures
//! through a replaying client is our CPU and the SDK's, without the network's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

#[derive(Debug, Clone)]
struct Recorded {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// Responses by request kind: the operation (DynamoDB's target, or the REST path for SES v2),
/// the tables and key it reads and, for UpdateItem, its expression, so that reading a campaign
/// and a signature, or a claim and a counter update, answer differently.
#[derive(Debug, Clone, Default)]
pub struct Recordings(Arc<Mutex<HashMap<String, Recorded>>>);

/// What tells DynamoDB requests apart; the rest of a body is skipped unread.
#[derive(Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Shape {
    table_name: Option<String>,
    request_items: Option<std::collections::BTreeMap<String, serde::de::IgnoredAny>>,
    key: Option<serde_json::Value>,
    update_expression: Option<String>,
}

fn kind(request: &HttpRequest) -> String {
    let target = request.headers().get("x-amz-target").unwrap_or_default();
    // Only DynamoDB's bodies tell requests apart; an SES message is not read (it is large, and
    // reading it would bill the benchmark for the harness).
    let body: Shape = request
        .body()
        .bytes()
        .filter(|_| !target.is_empty())
        .and_then(|body| serde_json::from_slice(body).ok())
        .unwrap_or_default();
    let mut tables: Vec<&str> = body
        .request_items
        .iter()
        .flat_map(|items| items.keys().map(String::as_str))
        .collect();
    tables.extend(body.table_name.as_deref());
    tables.sort_unstable();
    let key = body.key.map(|key| key.to_string()).unwrap_or_default();
    let expression = body.update_expression.unwrap_or_default();
    let path = request
        .uri()
        .split_once("://")
        .map_or(request.uri(), |(_, rest)| rest);
    let path = path.find('/').map_or("", |at| &path[at..]);
    format!(
        "{target} {} {key} {expression} {}",
        tables.join(","),
        if target.is_empty() { path } else { "" }
    )
}

/// The kind of the request in flight, kept from before it is sent (the connector takes it).
#[derive(Debug, Clone)]
struct Kind(String);

impl Storable for Kind {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Recordings {
    fn name(&self) -> &'static str {
        "Recordings"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state()
            .store_put(Kind(kind(context.request())));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let (Some(Kind(kind)), Some(body)) = (cfg.load::<Kind>(), response.body().bytes()) else {
            return Ok(());
        };
        let recorded = Recorded {
            status: response.status().as_u16(),
            content_type: response.headers().get("content-type").map(str::to_owned),
            body: body.to_vec(),
        };
        if let Ok(mut held) = self.0.lock() {
            // The first answer of a kind: a campaign read before it completed, a claim that won.
            held.entry(kind.clone()).or_insert(recorded);
        }
        Ok(())
    }
}

impl HttpConnector for Recordings {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let key = kind(&request);
        let found = self.0.lock().ok().and_then(|held| held.get(&key).cloned());
        HttpConnectorFuture::ready(match found {
            Some(recorded) => {
                let mut response = HttpResponse::new(
                    recorded.status.try_into().expect("a recorded status"),
                    SdkBody::from(recorded.body),
                );
                if let Some(content_type) = recorded.content_type {
                    response.headers_mut().insert("content-type", content_type);
                }
                Ok(response)
            }
            None => Err(ConnectorError::other(
                format!("nothing recorded for {key}").into(),
                None,
            )),
        })
    }
}

impl HttpClient for Recordings {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
