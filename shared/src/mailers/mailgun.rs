//! Mailgun's `POST /v3/{domain}/messages.mime`: our MIME message as is, our ids as user
//! variables (`v:`), Mailgun's tracking off; US or EU region by base URL.

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use serde::Deserialize;

use super::{HttpApi, Outbound, Outcome, by_status, excerpt};
use crate::https::Answered;

pub const US_BASE_URL: &str = "https://api.mailgun.net";
pub const EU_BASE_URL: &str = "https://api.eu.mailgun.net";

pub struct Mailgun<'a> {
    pub base_url: &'a str,
    pub api_key: &'a str,
    /// The sending domain as Mailgun knows it: the From address's.
    pub domain: &'a str,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    id: String,
    #[serde(default)]
    message: String,
}

impl HttpApi for Mailgun<'_> {
    fn request(&self, message: &Outbound<'_>) -> http::Request<Full<Bytes>> {
        let boundary = format!("artisthub-{}", uuid::Uuid::new_v4().simple());
        let mut body = Vec::with_capacity(message.mime.len() + 1024);
        let mut field = |name: &str, value: &[u8], file: bool| {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            if file {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"message.mime\"\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
                );
            } else {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
            }
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        field("to", message.to.address.as_bytes(), false);
        field("o:tracking", b"no", false);
        for (name, value) in message.args {
            field(&format!("v:{name}"), value.as_bytes(), false);
        }
        field("message", message.mime, true);
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("api:{}", self.api_key));
        http::Request::post(format!(
            "{}/v3/{}/messages.mime",
            self.base_url.trim_end_matches('/'),
            self.domain
        ))
        .header("authorization", format!("Basic {credentials}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request")
    }

    fn outcome(&self, answered: &Answered) -> Outcome {
        classify(answered.status, &answered.body)
    }
}

/// Mailgun's answer: 200 with the queued message's id; 401 a wrong key, 403 a disabled account
/// or domain (both stop), 404 a domain Mailgun does not know (stop: every message would fail).
pub fn classify(status: http::StatusCode, body: &[u8]) -> Outcome {
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    let reason = match &answer {
        Some(answer) if !answer.message.is_empty() => {
            format!("Mailgun {status}: {}", answer.message)
        }
        _ => format!("Mailgun {status}: {}", excerpt(body)),
    };
    match (status.as_u16(), answer) {
        (200, Some(answer)) if !answer.id.is_empty() => Outcome::Accepted(answer.id),
        (404, _) => Outcome::Stop(reason),
        _ => by_status(status, reason.clone()).unwrap_or(Outcome::Later(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailers::tests::{body_of, headers, outbound};

    #[tokio::test]
    async fn the_request_carries_our_mime_message_and_ids_as_form_fields() {
        let headers = headers();
        let args = vec![("campaign".to_owned(), "c-1".to_owned())];
        let request = Mailgun {
            base_url: EU_BASE_URL,
            api_key: "key-1",
            domain: "label.example",
        }
        .request(&outbound(&headers, &args));
        assert_eq!(
            request.uri(),
            "https://api.eu.mailgun.net/v3/label.example/messages.mime"
        );
        assert_eq!(request.headers()["authorization"], "Basic YXBpOmtleS0x");
        let content_type = request.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let boundary = content_type.split("boundary=").nth(1).unwrap().to_owned();
        let body = String::from_utf8(body_of(request).await.to_vec()).unwrap();
        for expected in [
            "name=\"to\"\r\n\r\nines@media.example\r\n",
            "name=\"o:tracking\"\r\n\r\nno\r\n",
            "name=\"v:campaign\"\r\n\r\nc-1\r\n",
            "filename=\"message.mime\"\r\nContent-Type: message/rfc822\r\n\r\nFrom: presse@label.example\r\n\r\nBonjour\r\n",
        ] {
            assert!(body.contains(expected), "{expected:?} in {body}");
        }
        assert!(body.ends_with(&format!("--{boundary}--\r\n")));
    }

    #[test]
    fn mailguns_answers_fall_in_the_senders_classes() {
        let cases = [
            (
                200,
                r#"{"id":"<m1@label.example>","message":"Queued. Thank you."}"#,
                Outcome::Accepted("<m1@label.example>".into()),
            ),
            (
                400,
                r#"{"message":"'to' parameter is not a valid address"}"#,
                Outcome::Refused(
                    "Mailgun 400 Bad Request: 'to' parameter is not a valid address".into(),
                ),
            ),
            (
                401,
                "Forbidden",
                Outcome::Stop("Mailgun 401 Unauthorized: Forbidden".into()),
            ),
            (
                403,
                r#"{"message":"Domain label.example is disabled"}"#,
                Outcome::Stop("Mailgun 403 Forbidden: Domain label.example is disabled".into()),
            ),
            (
                404,
                r#"{"message":"Domain not found"}"#,
                Outcome::Stop("Mailgun 404 Not Found: Domain not found".into()),
            ),
            (
                429,
                "",
                Outcome::Later("Mailgun 429 Too Many Requests: ".into()),
            ),
            (502, "", Outcome::Later("Mailgun 502 Bad Gateway: ".into())),
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
