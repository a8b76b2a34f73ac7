//! Postmark's `POST /email`: our parts and headers as JSON, our ids as `Metadata`, on a message
//! stream (`broadcast` for campaigns), Postmark's own tracking off (ours is in the message).

use bytes::Bytes;
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{HttpApi, Outbound, Outcome, by_status, display, excerpt, extra_headers};
use crate::https::Answered;

pub const DEFAULT_BASE_URL: &str = "https://api.postmarkapp.com";

pub struct Postmark<'a> {
    pub base_url: &'a str,
    pub server_token: &'a str,
    pub message_stream: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    error_code: i64,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "MessageID")]
    message_id: String,
}

impl HttpApi for Postmark<'_> {
    fn request(&self, message: &Outbound<'_>) -> http::Request<Full<Bytes>> {
        let headers: Vec<Value> = extra_headers(message)
            .filter(|(name, _)| *name != "Reply-To")
            .map(|(name, value)| json!({ "Name": name, "Value": value }))
            .collect();
        let reply_to = message
            .headers
            .iter()
            .find(|(name, _)| *name == "Reply-To")
            .map(|(_, value)| value.as_str());
        let metadata: Map<String, Value> = message
            .args
            .iter()
            .map(|(name, value)| (name.clone(), Value::String(value.clone())))
            .collect();
        let mut body = json!({
            "From": display(&message.from),
            "To": display(&message.to),
            "ReplyTo": reply_to,
            "Subject": message.subject,
            "TextBody": message.text,
            "Headers": headers,
            "Metadata": metadata,
            "MessageStream": self.message_stream,
            "TrackOpens": false,
            "TrackLinks": "None",
        });
        if !message.html.is_empty() {
            body["HtmlBody"] = json!(message.html);
        }
        if !message.attachments.is_empty() {
            body["Attachments"] = message
                .attachments
                .iter()
                .map(|a| json!({ "Name": a.name, "Content": a.base64(), "ContentType": a.content_type }))
                .collect();
        }
        http::Request::post(format!("{}/email", self.base_url.trim_end_matches('/')))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .header("x-postmark-server-token", self.server_token)
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request")
    }

    fn outcome(&self, answered: &Answered) -> Outcome {
        classify(answered.status, &answered.body)
    }
}

/// Postmark's answer: HTTP 200 with `ErrorCode` 0, or 422 with the code saying whose fault it
/// is (its API reference's error codes).
pub fn classify(status: http::StatusCode, body: &[u8]) -> Outcome {
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    let reason = |answer: &Option<Answer>| match answer {
        Some(answer) => format!("Postmark {}: {}", answer.error_code, answer.message),
        None => format!("Postmark HTTP {status}: {}", excerpt(body)),
    };
    match (status.as_u16(), &answer) {
        (200, Some(a)) if a.error_code == 0 => Outcome::Accepted(a.message_id.clone()),
        // The token, the sender signature, the account: nothing this campaign sends can pass.
        (_, Some(a)) if [10, 400, 401, 405, 412].contains(&a.error_code) => {
            Outcome::Stop(reason(&answer))
        }
        (422, _) => Outcome::Refused(reason(&answer)),
        _ => by_status(status, reason(&answer)).unwrap_or_else(|| Outcome::Later(reason(&answer))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailers::tests::{ORIGINAL_BASE64, body_of, headers, outbound, text_with_original};

    #[tokio::test]
    async fn the_request_carries_our_parts_headers_and_ids_and_turns_postmarks_tracking_off() {
        let headers = headers();
        let args = vec![("campaign".to_owned(), "c-1".to_owned())];
        let request = Postmark {
            base_url: "http://127.0.0.1:9/",
            server_token: "server-token",
            message_stream: "broadcast",
        }
        .request(&outbound(&headers, &args));
        assert_eq!(request.uri(), "http://127.0.0.1:9/email");
        assert_eq!(request.headers()["x-postmark-server-token"], "server-token");
        let body: Value = serde_json::from_slice(&body_of(request).await).unwrap();
        assert_eq!(body["From"], "Label Nova <presse@label.example>");
        assert_eq!(body["To"], "\"Inès Dupont, Le Monde\" <ines@media.example>");
        assert_eq!(body["ReplyTo"], "r-token@reply.example");
        assert_eq!(body["Metadata"], json!({ "campaign": "c-1" }));
        assert_eq!(body["MessageStream"], "broadcast");
        assert_eq!(
            (body["TrackOpens"].clone(), body["TrackLinks"].clone()),
            (json!(false), json!("None"))
        );
        let names: Vec<&str> = body["Headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["Name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Message-ID",
                "List-Unsubscribe",
                "List-Unsubscribe-Post",
                "Feedback-ID"
            ]
        );
    }

    #[tokio::test]
    async fn a_text_only_message_with_a_file_sends_no_html_and_the_file() {
        let headers = headers();
        let message = text_with_original(&headers);
        let api = Postmark {
            base_url: "http://127.0.0.1:9",
            server_token: "t",
            message_stream: "outbound",
        };
        let body: Value = serde_json::from_slice(&body_of(api.request(&message)).await).unwrap();
        assert!(body.get("HtmlBody").is_none(), "{body}");
        assert_eq!(body["TextBody"], "Bonjour");
        assert_eq!(
            body["Attachments"],
            json!([{ "Name": "original.eml", "Content": ORIGINAL_BASE64, "ContentType": "message/rfc822" }])
        );
    }

    #[test]
    fn postmarks_answers_fall_in_the_senders_classes() {
        let answer = |code: i64| {
            json!({ "ErrorCode": code, "Message": "m", "MessageID": "pm-1" }).to_string()
        };
        let cases = [
            (200, answer(0), Outcome::Accepted("pm-1".into())),
            (422, answer(406), Outcome::Refused("Postmark 406: m".into())),
            (422, answer(300), Outcome::Refused("Postmark 300: m".into())),
            (422, answer(405), Outcome::Stop("Postmark 405: m".into())),
            (401, answer(10), Outcome::Stop("Postmark 10: m".into())),
            (429, answer(429), Outcome::Later("Postmark 429: m".into())),
            (
                500,
                "oops".into(),
                Outcome::Later("Postmark HTTP 500 Internal Server Error: oops".into()),
            ),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                classify(http::StatusCode::from_u16(status).unwrap(), body.as_bytes()),
                expected,
                "{status} {body}"
            );
        }
    }
}
