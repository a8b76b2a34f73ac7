//! What the local SES accepted, read from the emulator (`infra/ses_local.py`): the raw record for
//! tests, and `GET /_local/outbox` as a developer reads it (parsed headers, HTML and text).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use mail_parser::MessageParser;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which accepted messages to list; newest first.
#[derive(Debug, Clone)]
pub struct Filter {
    /// An envelope recipient, any case.
    pub to: Option<String>,
    /// The sender's domain.
    pub from_domain: Option<String>,
    pub limit: usize,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            to: None,
            from_domain: None,
            limit: 100,
        }
    }
}

/// One message SES accepted, as the emulator recorded it.
#[derive(Debug, Clone, Deserialize)]
pub struct Accepted {
    pub message_id: String,
    pub timestamp: String,
    pub source: String,
    /// The envelope recipients.
    pub destinations: Vec<String>,
    pub configuration_set: Option<String>,
    /// The message tags given to SendEmail.
    pub tags: BTreeMap<String, String>,
    /// The whole MIME message, base64 in transit.
    #[serde(deserialize_with = "from_base64")]
    pub raw: Vec<u8>,
}

/// An outbox entry as `GET /_local/outbox` answers it.
#[derive(Debug, Serialize)]
pub struct OutboxItem {
    pub message_id: String,
    pub sent_at: String,
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    /// Header name → value as sent (unfolded); repeated headers joined by ", ".
    pub headers: BTreeMap<String, String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub configuration_set: Option<String>,
    pub tags: BTreeMap<String, String>,
}

fn from_base64<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    STANDARD.decode(text).map_err(serde::de::Error::custom)
}

/// The emulator's endpoint (`AWS_ENDPOINT_URL`, loopback only).
pub(crate) fn emulator() -> anyhow::Result<String> {
    Ok(crate::stack::require_local_endpoint()?
        .trim_end_matches('/')
        .to_owned())
}

/// Messages the local SES accepted, newest first.
pub async fn accepted(filter: &Filter) -> anyhow::Result<Vec<Accepted>> {
    let url = format!("{}/_local/ses/outbox?{}", emulator()?, outbox_query(filter));
    let body = call(http::Method::GET, &url, None).await?;
    #[derive(Deserialize)]
    struct Listing {
        items: Vec<Accepted>,
    }
    Ok(serde_json::from_slice::<Listing>(&body)
        .context("reading the emulator's outbox")?
        .items)
}

/// The newest message the local SES accepted for `address`.
pub async fn newest_to(address: &str) -> anyhow::Result<Accepted> {
    let newest = accepted(&Filter {
        to: Some(address.to_owned()),
        limit: 1,
        ..Default::default()
    })
    .await?
    .into_iter()
    .next();
    newest.with_context(|| format!("the local SES accepted no message to {address}"))
}

/// Publishes another SES event (`Bounce`, `Complaint`, `Open`...) for an accepted message, as
/// SES would through the configuration set; `detail` is the event's type-specific object.
pub async fn publish_event(
    message_id: &str,
    event_type: &str,
    detail: Value,
) -> anyhow::Result<()> {
    let url = format!("{}/_local/ses/events", emulator()?);
    let body =
        serde_json::json!({ "message_id": message_id, "event_type": event_type, "detail": detail });
    call(http::Method::POST, &url, Some(body.to_string())).await?;
    Ok(())
}

/// Makes the local SES answer the next `count` sends from `from_domain` with
/// `TooManyRequestsException`.
pub async fn throttle(from_domain: &str, count: u32) -> anyhow::Result<()> {
    let url = format!("{}/_local/ses/throttle", emulator()?);
    let body = serde_json::json!({ "from_domain": from_domain, "count": count });
    call(http::Method::POST, &url, Some(body.to_string())).await?;
    Ok(())
}

fn outbox_query(filter: &Filter) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &filter.limit.to_string());
    if let Some(to) = &filter.to {
        query.append_pair("to", to);
    }
    if let Some(domain) = &filter.from_domain {
        query.append_pair("from_domain", domain);
    }
    query.finish()
}

pub(crate) async fn call(
    method: http::Method,
    url: &str,
    body: Option<String>,
) -> anyhow::Result<Bytes> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))?;
    let response = client
        .request(request)
        .await
        .with_context(|| format!("calling the emulator at {url}"))?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!(
            "the emulator answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    Ok(bytes)
}

impl OutboxItem {
    pub fn from_accepted(accepted: Accepted) -> Self {
        let parsed = MessageParser::default().parse(&accepted.raw[..]);
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        let (mut from, mut subject, mut html, mut text) =
            (String::new(), String::new(), None, None);
        if let Some(message) = &parsed {
            for header in message.headers() {
                let raw = &accepted.raw[header.offset_start as usize..header.offset_end as usize];
                let value = unfold(&String::from_utf8_lossy(raw));
                headers
                    .entry(header.name.as_str().to_owned())
                    .and_modify(|joined| {
                        joined.push_str(", ");
                        joined.push_str(&value);
                    })
                    .or_insert(value);
            }
            if let Some(address) = message.from().and_then(|a| a.first()) {
                let mailbox = address.address.as_deref().unwrap_or_default();
                from = match address.name.as_deref() {
                    Some(name) => format!("{name} <{mailbox}>"),
                    None => mailbox.to_owned(),
                };
            }
            subject = message.subject().unwrap_or_default().to_owned();
            html = message.body_html(0).map(|b| b.into_owned());
            text = message.body_text(0).map(|b| b.into_owned());
        }
        Self {
            message_id: accepted.message_id,
            sent_at: accepted.timestamp,
            to: accepted.destinations,
            from,
            subject,
            headers,
            html,
            text,
            configuration_set: accepted.configuration_set,
            tags: accepted.tags,
        }
    }
}

fn unfold(value: &str) -> String {
    value
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /_local/outbox?to=&from_domain=&limit=`: `{ "items": [...] }`, newest first.
pub async fn respond(query: &str) -> (u16, Value) {
    let mut filter = Filter::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "to" => filter.to = Some(value.into_owned()),
            "from_domain" => filter.from_domain = Some(value.into_owned()),
            "limit" => match value.parse::<usize>() {
                Ok(limit @ 1..=10_000) => filter.limit = limit,
                _ => return (400, local_error("limit: a number from 1 to 10000")),
            },
            other => return (400, local_error(&format!("unknown parameter {other}"))),
        }
    }
    match accepted(&filter).await {
        Ok(items) => {
            let items: Vec<_> = items.into_iter().map(OutboxItem::from_accepted).collect();
            (200, serde_json::json!({ "items": items }))
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "reading the outbox");
            (
                502,
                local_error("the emulator did not answer; is infra/dev up running?"),
            )
        }
    }
}

fn local_error(message: &str) -> Value {
    serde_json::json!({ "error": { "code": "local_outbox", "message": message, "details": {} } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_item_shows_decoded_subject_parts_and_headers_as_sent() {
        let raw = concat!(
            "From: =?utf-8?q?L=C3=A9a?= <news@label.example>\r\n",
            "To: fan@example.com\r\n",
            "Subject: =?utf-8?q?Tourn=C3=A9e?=\r\n",
            "List-Unsubscribe: <https://x.example/u/1>,\r\n <mailto:u@x.example>\r\n",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour\r\n",
            "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Bonjour</p>\r\n--b--\r\n"
        );
        let item = OutboxItem::from_accepted(Accepted {
            message_id: "m-1".into(),
            timestamp: "2026-11-25T10:00:00.000Z".into(),
            source: "news@label.example".into(),
            destinations: vec!["fan@example.com".into()],
            configuration_set: Some("set".into()),
            tags: BTreeMap::new(),
            raw: raw.as_bytes().to_vec(),
        });
        assert_eq!(item.from, "Léa <news@label.example>");
        assert_eq!(item.subject, "Tournée");
        assert_eq!(
            item.headers["List-Unsubscribe"],
            "<https://x.example/u/1>, <mailto:u@x.example>"
        );
        assert_eq!(
            item.headers["List-Unsubscribe-Post"],
            "List-Unsubscribe=One-Click"
        );
        assert_eq!(item.text.as_deref().map(str::trim), Some("Bonjour"));
        assert_eq!(item.html.as_deref().map(str::trim), Some("<p>Bonjour</p>"));
    }
}
