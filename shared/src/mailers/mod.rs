//! Where a rendered message leaves us besides SES: SendGrid, Mailgun and Postmark, over their
//! HTTP APIs, each at a configurable base URL (the local stack's fakes; Mailgun's EU region).
//! Each takes what it can: Mailgun our MIME message as is; SendGrid and Postmark, which take no
//! raw MIME, our rendered parts and headers (List-Unsubscribe included). Our ids ride as the
//! provider's custom arguments, which its webhook echoes (`crate::webhooks`).
//!
//! Every answer falls in the classes the sender acts on ([`Outcome`]), as SES's do: accepted;
//! refused for this address (4xx); later (429, 5xx, no answer); stop (the account or the key
//! cannot send: the campaign pauses with the reason).

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod ses;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;

use crate::App;
use crate::domain::SendingProvider;
use crate::https::{Answered, Lazy};
use crate::render::Mailbox;

/// Sends `message` through `provider`, with the deployment's keys for it.
pub async fn send(app: &App, provider: SendingProvider, message: &Outbound<'_>) -> Outcome {
    let missing = |what: &str| {
        Outcome::Stop(format!(
            "{} is not configured: the providers' keys have no {what}",
            provider.name()
        ))
    };
    // SES needs none; a function sending through another provider must be given the keys.
    let keys = app.provider_keys().ok();
    match provider {
        SendingProvider::Ses => ses::send(app, message).await,
        SendingProvider::Postmark => {
            let Some(keys) = keys.and_then(|k| k.postmark.as_ref()) else {
                return missing("postmark entry");
            };
            let Some(server_token) = keys.server_token.as_deref() else {
                return missing("postmark server_token");
            };
            let api = postmark::Postmark {
                base_url: keys
                    .base_url
                    .as_deref()
                    .unwrap_or(postmark::DEFAULT_BASE_URL),
                server_token,
                message_stream: keys.message_stream.as_deref().unwrap_or("broadcast"),
            };
            send_over(&app.http, &api, message).await
        }
        SendingProvider::Mailgun => {
            let Some(keys) = keys.and_then(|k| k.mailgun.as_ref()) else {
                return missing("mailgun entry");
            };
            let Some(api_key) = keys.api_key.as_deref() else {
                return missing("mailgun api_key");
            };
            let region = match keys.region.as_deref() {
                Some("eu") => mailgun::EU_BASE_URL,
                _ => mailgun::US_BASE_URL,
            };
            let domain = message.from.address.rsplit('@').next().unwrap_or_default();
            let api = mailgun::Mailgun {
                base_url: keys.base_url.as_deref().unwrap_or(region),
                api_key,
                domain,
            };
            send_over(&app.http, &api, message).await
        }
        SendingProvider::Sendgrid => {
            let Some(keys) = keys.and_then(|k| k.sendgrid.as_ref()) else {
                return missing("sendgrid entry");
            };
            let Some(api_key) = keys.api_key.as_deref() else {
                return missing("sendgrid api_key");
            };
            let api = sendgrid::Sendgrid {
                base_url: keys
                    .base_url
                    .as_deref()
                    .unwrap_or(sendgrid::DEFAULT_BASE_URL),
                api_key,
            };
            send_over(&app.http, &api, message).await
        }
    }
}

/// How long one provider call may take before the message is retried later.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a provider's answer we read: an id and an error message.
const MAX_ANSWER: usize = 64 * 1024;

/// One message, rendered, as the providers take it.
pub struct Outbound<'a> {
    pub from: Mailbox<'a>,
    pub to: Mailbox<'a>,
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    /// The headers of our MIME message past From, To and Subject (Reply-To, Message-ID,
    /// List-Unsubscribe, List-Unsubscribe-Post, Feedback-ID…).
    pub headers: &'a [(&'static str, String)],
    /// The whole MIME message.
    pub mime: &'a [u8],
    /// Our ids, named as SES's tags (and `test`), for the provider's events.
    pub args: &'a [(String, String)],
    /// Files the MIME message carries, for the providers that take parts instead (a reply's
    /// original, when it is forwarded).
    pub attachments: &'a [Attachment<'a>],
}

/// A file attached to a message.
pub struct Attachment<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

impl Attachment<'_> {
    fn base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.bytes)
    }
}

/// How a provider answered one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider's message id.
    Accepted(String),
    /// This address, for good.
    Refused(String),
    /// Throttled or unavailable: retry later.
    Later(String),
    /// The account or key cannot send at all.
    Stop(String),
}

/// The headers of our message a provider must not be given again: it writes them from its own
/// fields.
const OWN_FIELDS: [&str; 5] = ["From", "To", "Subject", "Date", "MIME-Version"];

fn extra_headers<'a>(
    message: &'a Outbound<'_>,
) -> impl Iterator<Item = &'a (&'static str, String)> {
    message
        .headers
        .iter()
        .filter(|(name, _)| !OWN_FIELDS.contains(name))
}

/// A provider reached over HTTP: how it is asked, and how its answer reads.
pub trait HttpApi {
    fn request(&self, message: &Outbound<'_>) -> http::Request<Full<Bytes>>;
    fn outcome(&self, answered: &Answered) -> Outcome;
}

/// Sends `message` to `api`; a transport failure or a timeout is a `Later`.
async fn send_over(http: &Lazy, api: &impl HttpApi, message: &Outbound<'_>) -> Outcome {
    match http.call(api.request(message), TIMEOUT, MAX_ANSWER).await {
        Ok(answered) => api.outcome(&answered),
        Err(error) => Outcome::Later(format!("no answer: {error:#}")),
    }
}

/// The classes shared by every provider's HTTP statuses; `None` for a success.
fn by_status(status: http::StatusCode, message: String) -> Option<Outcome> {
    match status.as_u16() {
        200..=299 => None,
        401 | 403 => Some(Outcome::Stop(message)),
        408 | 429 | 500..=599 => Some(Outcome::Later(message)),
        _ => Some(Outcome::Refused(message)),
    }
}

/// A short, printable excerpt of a provider's answer for a reason: never the whole body.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(300);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].trim().to_owned()
}

/// `Name <address>`, the name quoted when it holds a character RFC 5322 reserves.
fn display(mailbox: &Mailbox<'_>) -> String {
    match mailbox.name.map(str::trim).filter(|name| !name.is_empty()) {
        None => mailbox.address.to_owned(),
        Some(name)
            if name
                .chars()
                .all(|c| c.is_alphanumeric() || " -'.".contains(c)) =>
        {
            format!("{name} <{}>", mailbox.address)
        }
        Some(name) => {
            let quoted: String = name
                .chars()
                .filter(|c| !c.is_control())
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("\"{quoted}\" <{}>", mailbox.address)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The bytes a request would send.
    pub async fn body_of(request: http::Request<Full<Bytes>>) -> Bytes {
        use http_body_util::BodyExt;
        request.into_body().collect().await.unwrap().to_bytes()
    }

    /// A message as the sender hands it over.
    pub fn outbound<'a>(
        headers: &'a [(&'static str, String)],
        args: &'a [(String, String)],
    ) -> Outbound<'a> {
        Outbound {
            from: Mailbox {
                name: Some("Label Nova"),
                address: "presse@label.example",
            },
            to: Mailbox {
                name: Some("Inès Dupont, Le Monde"),
                address: "ines@media.example",
            },
            subject: "Bonjour Inès",
            html: "<p>Bonjour</p>",
            text: "Bonjour",
            headers,
            mime: b"From: presse@label.example\r\n\r\nBonjour",
            args,
            attachments: &[],
        }
    }

    /// A forwarded reply's original, attached.
    pub const ORIGINAL: [Attachment<'static>; 1] = [Attachment {
        name: "original.eml",
        content_type: "message/rfc822",
        bytes: b"From: a@b.example",
    }];
    /// `ORIGINAL`'s bytes as an API carries them.
    pub const ORIGINAL_BASE64: &str = "RnJvbTogYUBiLmV4YW1wbGU=";

    /// A forward as the HTTP providers get it: text only, the original attached.
    pub fn text_with_original<'a>(headers: &'a [(&'static str, String)]) -> Outbound<'a> {
        Outbound {
            html: "",
            attachments: &ORIGINAL,
            ..outbound(headers, &[])
        }
    }

    pub fn headers() -> Vec<(&'static str, String)> {
        vec![
            ("From", "Label Nova <presse@label.example>".into()),
            ("To", "ines@media.example".into()),
            ("Reply-To", "r-token@reply.example".into()),
            ("Subject", "Bonjour Inès".into()),
            ("Message-ID", "<token@reply.example>".into()),
            (
                "List-Unsubscribe",
                "<https://mail.example/u/t>, <mailto:u-t@reply.example>".into(),
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()),
            ("Feedback-ID", "c:press:a:artisthub".into()),
            ("MIME-Version", "1.0".into()),
        ]
    }

    #[test]
    fn names_are_quoted_only_when_they_must_be() {
        let mailbox = |name| Mailbox {
            name,
            address: "a@b.example",
        };
        assert_eq!(display(&mailbox(None)), "a@b.example");
        assert_eq!(
            display(&mailbox(Some("Inès Dupont"))),
            "Inès Dupont <a@b.example>"
        );
        assert_eq!(
            display(&mailbox(Some("Dupont, \"Inès\""))),
            "\"Dupont, \\\"Inès\\\"\" <a@b.example>"
        );
        assert_eq!(
            display(&mailbox(Some("a\r\nBcc: x"))),
            "\"aBcc: x\" <a@b.example>"
        );
    }

    #[test]
    fn statuses_fall_in_the_senders_classes() {
        for (status, expected) in [
            (200, None),
            (202, None),
            (400, Some("refused")),
            (413, Some("refused")),
            (422, Some("refused")),
            (401, Some("stop")),
            (403, Some("stop")),
            (429, Some("later")),
            (500, Some("later")),
            (503, Some("later")),
        ] {
            let class = by_status(http::StatusCode::from_u16(status).unwrap(), String::new()).map(
                |outcome| match outcome {
                    Outcome::Refused(_) => "refused",
                    Outcome::Stop(_) => "stop",
                    Outcome::Later(_) => "later",
                    Outcome::Accepted(_) => "accepted",
                },
            );
            assert_eq!(class, expected, "{status}");
        }
    }
}
