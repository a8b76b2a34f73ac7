//! SendGrid's v3 `POST /v3/mail/send`: it takes no raw MIME, so our rendered parts and headers
//! (List-Unsubscribe included), our ids as `custom_args`, SendGrid's own tracking off.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Map, Value, json};

use super::{HttpApi, Outbound, Outcome, by_status, excerpt, extra_headers};
use crate::https::Answered;

pub const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

pub struct Sendgrid<'a> {
    pub base_url: &'a str,
    pub api_key: &'a str,
}

impl HttpApi for Sendgrid<'_> {
    fn request(&self, message: &Outbound<'_>) -> http::Request<Full<Bytes>> {
        let mailbox = |m: &crate::render::Mailbox<'_>| match m.name.filter(|n| !n.trim().is_empty())
        {
            Some(name) => json!({ "email": m.address, "name": name }),
            None => json!({ "email": m.address }),
        };
        let reply_to = message
            .headers
            .iter()
            .find(|(name, _)| *name == "Reply-To")
            .map(|(_, value)| json!({ "email": value }));
        let headers: Map<String, Value> = extra_headers(message)
            .filter(|(name, _)| *name != "Reply-To")
            .map(|(name, value)| ((*name).to_owned(), Value::String(value.clone())))
            .collect();
        let custom_args: Map<String, Value> = message
            .args
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let content: Vec<Value> = [("text/plain", message.text), ("text/html", message.html)]
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(kind, value)| json!({ "type": kind, "value": value }))
            .collect();
        let mut body = json!({
            "personalizations": [{ "to": [mailbox(&message.to)], "custom_args": custom_args }],
            "from": mailbox(&message.from),
            "subject": message.subject,
            "content": content,
            "headers": headers,
            "tracking_settings": {
                "click_tracking": { "enable": false, "enable_text": false },
                "open_tracking": { "enable": false },
                "subscription_tracking": { "enable": false },
            },
        });
        if let Some(reply_to) = reply_to {
            body["reply_to"] = reply_to;
        }
        if !message.attachments.is_empty() {
            body["attachments"] = message
                .attachments
                .iter()
                .map(|a| {
                    json!({ "content": a.base64(), "filename": a.name, "type": a.content_type,
                            "disposition": "attachment" })
                })
                .collect();
        }
        http::Request::post(format!(
            "{}/v3/mail/send",
            self.base_url.trim_end_matches('/')
        ))
        .header("authorization", format!("Bearer {}", self.api_key))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid request")
    }

    fn outcome(&self, answered: &Answered) -> Outcome {
        classify(
            answered.status,
            answered
                .headers
                .get("x-message-id")
                .and_then(|v| v.to_str().ok()),
            &answered.body,
        )
    }
}

/// SendGrid's answer: 202 with the id in `X-Message-Id`; 401 and 403 a key without the right
/// (stop), 400 and 413 this message (refused), 429 and 5xx later.
pub fn classify(status: http::StatusCode, message_id: Option<&str>, body: &[u8]) -> Outcome {
    let reason = format!("SendGrid {status}: {}", excerpt(body));
    match by_status(status, reason) {
        None => Outcome::Accepted(message_id.unwrap_or_default().to_owned()),
        Some(outcome) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailers::tests::{ORIGINAL_BASE64, body_of, headers, outbound, text_with_original};

    #[tokio::test]
    async fn a_text_only_message_with_a_file_sends_one_part_and_the_file() {
        let headers = headers();
        let message = text_with_original(&headers);
        let api = Sendgrid {
            base_url: DEFAULT_BASE_URL,
            api_key: "SG.key",
        };
        let body: Value = serde_json::from_slice(&body_of(api.request(&message)).await).unwrap();
        assert_eq!(
            body["content"],
            json!([{ "type": "text/plain", "value": "Bonjour" }])
        );
        assert_eq!(
            body["attachments"],
            json!([{ "content": ORIGINAL_BASE64, "filename": "original.eml",
                     "type": "message/rfc822", "disposition": "attachment" }])
        );
    }

    #[tokio::test]
    async fn the_request_carries_our_parts_headers_and_ids_and_turns_sendgrids_tracking_off() {
        let headers = headers();
        let args = vec![("campaign".to_owned(), "c-1".to_owned())];
        let request = Sendgrid {
            base_url: DEFAULT_BASE_URL,
            api_key: "SG.key",
        }
        .request(&outbound(&headers, &args));
        assert_eq!(request.uri(), "https://api.sendgrid.com/v3/mail/send");
        assert_eq!(request.headers()["authorization"], "Bearer SG.key");
        let body: Value = serde_json::from_slice(&body_of(request).await).unwrap();
        assert_eq!(
            body["personalizations"][0],
            json!({
                "to": [{ "email": "ines@media.example", "name": "Inès Dupont, Le Monde" }],
                "custom_args": { "campaign": "c-1" },
            })
        );
        assert_eq!(
            body["from"],
            json!({ "email": "presse@label.example", "name": "Label Nova" })
        );
        assert_eq!(
            body["reply_to"],
            json!({ "email": "r-token@reply.example" })
        );
        assert_eq!(body["content"][1]["type"], "text/html");
        assert_eq!(
            body["headers"]["List-Unsubscribe-Post"],
            "List-Unsubscribe=One-Click"
        );
        assert!(body["headers"].get("Subject").is_none());
        assert_eq!(body["tracking_settings"]["open_tracking"]["enable"], false);
    }

    #[test]
    fn sendgrids_answers_fall_in_the_senders_classes() {
        let status = |s| http::StatusCode::from_u16(s).unwrap();
        assert_eq!(
            classify(status(202), Some("sg-1"), b""),
            Outcome::Accepted("sg-1".into())
        );
        assert!(matches!(
            classify(status(400), None, b"{}"),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            classify(status(403), None, b"{}"),
            Outcome::Stop(_)
        ));
        assert!(matches!(
            classify(status(429), None, b""),
            Outcome::Later(_)
        ));
        assert!(matches!(
            classify(status(503), None, b""),
            Outcome::Later(_)
        ));
    }
}
