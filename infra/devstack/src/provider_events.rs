//! What the fake providers' webhooks post: for a message a fake took, the signed request its
//! provider would send us when it is delivered or opened. The local stack's
//! `POST /_local/providers/events` posts them to its own webhook route, and tests post them as
//! the providers would.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::fake_providers::Taken;
use crate::providers::LocalProviders;

/// The user agent an open is told with: a person's mail client, not a scanner.
pub const READER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

/// A webhook request: path, headers and body.
pub struct WebhookPost {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `taken`'s `event` (`delivered` or `opened`) at `at`, signed now, as its provider posts it;
/// `None` for another event.
pub fn webhook(
    providers: &LocalProviders,
    taken: &Taken,
    event: &str,
    at: DateTime<Utc>,
) -> Option<WebhookPost> {
    let args = serde_json::to_value(&taken.args).expect("strings");
    let now = Utc::now().timestamp();
    let json_headers = |extra: Vec<(String, String)>| {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(extra);
        headers
    };
    let post = match (taken.provider, event) {
        ("postmark", "delivered" | "opened") => {
            let mut body = match event {
                "delivered" => json!({ "RecordType": "Delivery", "DeliveredAt": at.to_rfc3339() }),
                _ => {
                    json!({ "RecordType": "Open", "ReceivedAt": at.to_rfc3339(), "UserAgent": READER, "FirstOpen": true })
                }
            };
            body["MessageID"] = json!(taken.message_id);
            body["Recipient"] = json!(taken.to);
            body["Metadata"] = args;
            WebhookPost {
                path: "/api/email/webhooks/postmark".into(),
                headers: json_headers(vec![("authorization".into(), providers.postmark.header())]),
                body: body.to_string().into_bytes(),
            }
        }
        ("mailgun", "delivered" | "opened") => {
            let mut data = json!({
                "event": event, "timestamp": at.timestamp_millis() as f64 / 1000.0,
                "id": format!("{}-{event}", taken.message_id), "recipient": taken.to,
                "user-variables": args,
            });
            if event == "opened" {
                data["client-info"] = json!({ "user-agent": READER });
            }
            let token = format!("{:x}", uuid::Uuid::new_v4().as_u128());
            let body = mailing::webhooks::mailgun::signed(
                &providers.mailgun_signing_key,
                now,
                &token,
                data,
            );
            WebhookPost {
                path: "/api/email/webhooks/mailgun".into(),
                headers: json_headers(vec![]),
                body: body.to_string().into_bytes(),
            }
        }
        ("sendgrid", "delivered" | "opened") => {
            let name = if event == "opened" {
                "open"
            } else {
                "delivered"
            };
            let mut record = json!({
                "email": taken.to, "timestamp": at.timestamp(), "event": name,
                "sg_event_id": format!("{}-{event}", taken.message_id),
                "sg_message_id": taken.message_id,
            });
            if event == "opened" {
                record["useragent"] = json!(READER);
            }
            if let (Some(record), Value::Object(args)) = (record.as_object_mut(), args) {
                record.extend(args);
            }
            let (signature, body) = mailing::webhooks::sendgrid::signed(
                &providers.sendgrid_key(),
                now,
                &json!([record]),
            );
            WebhookPost {
                path: "/api/email/webhooks/sendgrid".into(),
                headers: json_headers(vec![
                    (
                        mailing::webhooks::sendgrid::SIGNATURE_HEADER.into(),
                        signature,
                    ),
                    (
                        mailing::webhooks::sendgrid::TIMESTAMP_HEADER.into(),
                        now.to_string(),
                    ),
                ]),
                body,
            }
        }
        _ => return None,
    };
    Some(post)
}
