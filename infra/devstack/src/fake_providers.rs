//! SendGrid, Mailgun and Postmark as the local stack and the tests reach them: one server on
//! loopback answering each provider's send endpoint with its documented request and answer
//! shapes (and refusing a wrong key as it would), remembering every message it took so a test
//! or a developer can send their events back through the webhooks. An address whose local
//! part starts with `inactive` is one the provider refuses (Postmark's 406, SendGrid's and
//! Mailgun's 400), as it does addresses that bounced or complained with it before.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};

/// The keys the fake providers take (and the local provider keys' secret gives).
pub const SENDGRID_KEY: &str = "SG.local";
pub const MAILGUN_KEY: &str = "local";
pub const POSTMARK_TOKEN: &str = "local";

/// One message a fake provider took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub provider: &'static str,
    pub message_id: String,
    pub to: String,
    /// Our ids, as the provider will echo them in its events.
    pub args: BTreeMap<String, String>,
    /// What it was given: Postmark's and SendGrid's JSON, Mailgun's MIME message.
    pub body: String,
}

#[derive(Clone, Default)]
pub struct FakeProviders {
    taken: Arc<Mutex<Vec<Taken>>>,
    /// The address books contact syncs read, on the same server.
    pub sources: crate::fake_sources::FakeSources,
}

impl FakeProviders {
    /// Serves the providers on `listener` until the process ends.
    pub fn serve(&self, listener: tokio::net::TcpListener) {
        let router = axum::Router::new()
            .route("/email", post(postmark))
            .route("/v3/mail/send", post(sendgrid))
            .route("/v3/{domain}/messages.mime", post(mailgun))
            .with_state(self.clone())
            .merge(self.sources.routes());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the fake providers stopped");
            }
        });
    }

    /// Every message taken so far, oldest first.
    pub fn taken(&self) -> Vec<Taken> {
        self.taken.lock().expect("not poisoned").clone()
    }

    fn take(&self, taken: Taken) {
        self.taken.lock().expect("not poisoned").push(taken);
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

fn strings(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// What the providers refuse to send to.
fn inactive(address: &str) -> bool {
    let address = address.rsplit('<').next().unwrap_or(address);
    address.trim_start_matches('"').starts_with("inactive")
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn postmark(State(fake): State<FakeProviders>, headers: HeaderMap, body: Bytes) -> Response {
    if header(&headers, "x-postmark-server-token") != POSTMARK_TOKEN {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            json!({ "ErrorCode": 10, "Message": "Bad or missing Server API token." }),
        );
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return json_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "ErrorCode": 300, "Message": "Invalid email request" }),
        );
    };
    if inactive(message["To"].as_str().unwrap_or_default()) {
        return json_answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "ErrorCode": 406, "Message": "You tried to send to recipient(s) that have been marked as inactive." }),
        );
    }
    let message_id = uuid::Uuid::new_v4().to_string();
    fake.take(Taken {
        provider: "postmark",
        message_id: message_id.clone(),
        to: message["To"].as_str().unwrap_or_default().to_owned(),
        args: strings(&message["Metadata"]),
        body: message.to_string(),
    });
    json_answer(
        StatusCode::OK,
        json!({ "To": message["To"], "SubmittedAt": chrono::Utc::now().to_rfc3339(),
                "MessageID": message_id, "ErrorCode": 0, "Message": "OK" }),
    )
}

async fn sendgrid(State(fake): State<FakeProviders>, headers: HeaderMap, body: Bytes) -> Response {
    if header(&headers, "authorization") != format!("Bearer {SENDGRID_KEY}") {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            json!({ "errors": [{ "message": "The provided authorization grant is invalid, expired, or revoked" }] }),
        );
    }
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({ "errors": [{ "message": "Bad Request" }] }),
        );
    };
    let personalization = &message["personalizations"][0];
    if inactive(
        personalization["to"][0]["email"]
            .as_str()
            .unwrap_or_default(),
    ) {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({ "errors": [{ "message": "The recipient is on the account's suppression list", "field": "personalizations.0.to" }] }),
        );
    }
    let message_id = uuid::Uuid::new_v4().simple().to_string();
    fake.take(Taken {
        provider: "sendgrid",
        message_id: message_id.clone(),
        to: personalization["to"][0]["email"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        args: strings(&personalization["custom_args"]),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    (StatusCode::ACCEPTED, [("x-message-id", message_id)]).into_response()
}

async fn mailgun(
    State(fake): State<FakeProviders>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("api:{MAILGUN_KEY}"));
    if header(&headers, "authorization") != format!("Basic {expected}") {
        return (StatusCode::UNAUTHORIZED, "Forbidden").into_response();
    }
    let content_type = header(&headers, "content-type");
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return json_answer(StatusCode::BAD_REQUEST, json!({ "message": "not a form" }));
    };
    let fields = form_fields(&body, boundary);
    let Some(to) = fields.get("to").cloned() else {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({ "message": "'to' parameter is missing" }),
        );
    };
    if inactive(&to) {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({ "message": "to parameter is not a valid address or is suppressed" }),
        );
    }
    if !fields.contains_key("message") {
        return json_answer(
            StatusCode::BAD_REQUEST,
            json!({ "message": "'message' parameter is missing" }),
        );
    }
    let message_id = format!("<{}@{domain}>", uuid::Uuid::new_v4().simple());
    fake.take(Taken {
        provider: "mailgun",
        message_id: message_id.clone(),
        to,
        args: fields
            .iter()
            .filter_map(|(name, value)| Some((name.strip_prefix("v:")?.to_owned(), value.clone())))
            .collect(),
        body: fields["message"].clone(),
    });
    json_answer(
        StatusCode::OK,
        json!({ "id": message_id, "message": "Queued. Thank you." }),
    )
}

/// The fields of a `multipart/form-data` body, by name (a file's content as text).
fn form_fields(body: &[u8], boundary: &str) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split(&format!("--{boundary}"))
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?;
            Some((name.to_owned(), value.trim_end_matches("\r\n").to_owned()))
        })
        .collect()
}
