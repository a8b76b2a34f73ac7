//! Mailgun's webhooks (JSON): `{"signature": {timestamp, token, signature}, "event-data": {…}}`,
//! signed with the webhook signing key as HMAC-SHA256 of the timestamp followed by the token
//! (Mailgun's "Securing Webhooks").

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Sha256;

use super::{Rejected, fresh, same, told};
use crate::tracking::event::{BounceType, EventKind, UnsubscribeScope, clip_user_agent};
use crate::tracking::ses::Parsed;

#[derive(Deserialize)]
struct Body {
    signature: Signature,
    #[serde(rename = "event-data")]
    event: Event,
}

#[derive(Deserialize)]
struct Signature {
    timestamp: String,
    token: String,
    signature: String,
}

#[derive(Deserialize)]
struct Event {
    event: String,
    /// Seconds since the epoch, with a fraction.
    timestamp: f64,
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default, rename = "user-variables")]
    variables: Map<String, Value>,
    /// `permanent` or `temporary`, on `failed`.
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default, rename = "delivery-status")]
    delivery_status: Option<DeliveryStatus>,
    #[serde(default, rename = "client-info")]
    client: Option<ClientInfo>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct DeliveryStatus {
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct ClientInfo {
    #[serde(default, rename = "user-agent")]
    user_agent: Option<String>,
}

/// The event of a request signed with `signing_key`, if it is.
pub fn receive(
    signing_key: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<Parsed>, Rejected> {
    let body: Body = serde_json::from_slice(body)
        .map_err(|_| Rejected::Malformed("a Mailgun webhook".into()))?;
    verify(signing_key, &body.signature, now)?;
    Ok(vec![parse(body.event)?])
}

fn verify(signing_key: &str, signature: &Signature, now: DateTime<Utc>) -> Result<(), Rejected> {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(signature.timestamp.as_bytes());
    mac.update(signature.token.as_bytes());
    let expected = data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes());
    if !same(
        expected.as_bytes(),
        signature.signature.to_ascii_lowercase().as_bytes(),
    ) {
        return Err(Rejected::Unverified);
    }
    let at = signature
        .timestamp
        .trim()
        .parse::<i64>()
        .map_err(|_| Rejected::Unverified)?;
    fresh(at, now)
}

fn parse(event: Event) -> Result<Parsed, Rejected> {
    let at = DateTime::from_timestamp_millis((event.timestamp * 1000.0).round() as i64)
        .ok_or_else(|| Rejected::Malformed("a Mailgun event with a readable timestamp".into()))?;
    let user_agent = || {
        event
            .client
            .as_ref()
            .and_then(|c| c.user_agent.as_deref())
            .map(clip_user_agent)
    };
    let status = || {
        event.delivery_status.as_ref().and_then(|s| match &s.code {
            Some(Value::Number(code)) => Some(code.to_string()),
            Some(Value::String(code)) => Some(code.clone()),
            _ => None,
        })
    };
    let detail = || {
        event
            .delivery_status
            .as_ref()
            .and_then(|s| {
                s.description
                    .clone()
                    .filter(|d| !d.is_empty())
                    .or(s.message.clone())
            })
            .or(event.reason.clone())
            .unwrap_or_default()
    };
    let (kind, address) = match event.event.as_str() {
        "accepted" => (EventKind::Send, None),
        "delivered" => (EventKind::Delivery, None),
        "failed" if event.severity.as_deref() == Some("permanent") => (
            EventKind::Bounce {
                bounce_type: BounceType::Permanent,
                sub_type: event.reason.clone().unwrap_or_default(),
                status: status(),
            },
            event.recipient.clone(),
        ),
        // Mailgun keeps trying after a temporary failure: a delay, as SES tells it.
        "failed" => (
            EventKind::DeliveryDelay {
                delay_type: detail(),
            },
            None,
        ),
        "rejected" => (EventKind::Reject { reason: detail() }, None),
        "opened" => (
            EventKind::Open {
                user_agent: user_agent(),
            },
            None,
        ),
        "clicked" => (
            EventKind::Click {
                link: None,
                url: event.url.clone(),
                user_agent: user_agent(),
            },
            None,
        ),
        "unsubscribed" => (
            EventKind::Unsubscribe {
                scope: UnsubscribeScope::Team,
            },
            None,
        ),
        "complained" => (
            EventKind::Complaint {
                feedback_type: None,
            },
            event.recipient.clone(),
        ),
        _ => return Ok(Parsed::Ignored("a Mailgun event we do not record")),
    };
    Ok(told(&event.variables, kind, at, address))
}

/// What Mailgun posts for `event_data`, signed with `signing_key` at `timestamp`: what the
/// tests and the local fake provider send.
pub fn signed(signing_key: &str, timestamp: i64, token: &str, event_data: Value) -> Value {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(token.as_bytes());
    serde_json::json!({
        "signature": {
            "timestamp": timestamp.to_string(),
            "token": token,
            "signature": data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes()),
        },
        "event-data": event_data,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::store::suppression::SuppressionReason;
    use crate::tracking::EmailEvent;
    use crate::webhooks::tests::ours;

    const KEY: &str = "key-0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_770_000_000, 0).unwrap()
    }

    fn post(event_data: Value) -> Vec<u8> {
        signed(KEY, now().timestamp() - 30, "t0k3n", event_data)
            .to_string()
            .into_bytes()
    }

    fn one(event_data: Value) -> Parsed {
        receive(KEY, &post(event_data), now()).unwrap().remove(0)
    }

    fn event(name: &str, extra: Value) -> Value {
        let mut data = json!({
            "event": name,
            "timestamp": 1_769_999_950.25,
            "id": "DACSsAdVSeGpLid7TN03WA",
            "recipient": "someone@fans.example",
            "user-variables": ours().1,
        });
        data.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        data
    }

    #[test]
    fn each_mailgun_event_is_told_as_ses_would() {
        let (send, _) = ours();
        let at = DateTime::from_timestamp_millis(1_769_999_950_250).unwrap();
        let told = |kind, address: Option<&str>| {
            Parsed::Event(EmailEvent {
                send,
                kind,
                at,
                address: address.map(str::to_owned),
            })
        };
        let cases = [
            (
                event("delivered", json!({})),
                told(EventKind::Delivery, None),
            ),
            (
                event(
                    "failed",
                    json!({ "severity": "permanent", "reason": "bounce", "delivery-status": { "code": 550 } }),
                ),
                told(
                    EventKind::Bounce {
                        bounce_type: BounceType::Permanent,
                        sub_type: "bounce".into(),
                        status: Some("550".into()),
                    },
                    Some("someone@fans.example"),
                ),
            ),
            (
                event(
                    "failed",
                    json!({ "severity": "temporary", "delivery-status": { "code": 452, "description": "mailbox full" } }),
                ),
                told(
                    EventKind::DeliveryDelay {
                        delay_type: "mailbox full".into(),
                    },
                    None,
                ),
            ),
            (
                event(
                    "opened",
                    json!({ "client-info": { "user-agent": "Mozilla/5.0" } }),
                ),
                told(
                    EventKind::Open {
                        user_agent: Some("Mozilla/5.0".into()),
                    },
                    None,
                ),
            ),
            (
                event("clicked", json!({ "url": "https://label.example/tour" })),
                told(
                    EventKind::Click {
                        link: None,
                        url: Some("https://label.example/tour".into()),
                        user_agent: None,
                    },
                    None,
                ),
            ),
            (
                event("unsubscribed", json!({})),
                told(
                    EventKind::Unsubscribe {
                        scope: UnsubscribeScope::Team,
                    },
                    None,
                ),
            ),
            (
                event("complained", json!({})),
                told(
                    EventKind::Complaint {
                        feedback_type: None,
                    },
                    Some("someone@fans.example"),
                ),
            ),
            (
                event("stored", json!({})),
                Parsed::Ignored("a Mailgun event we do not record"),
            ),
        ];
        for (data, expected) in cases {
            assert_eq!(one(data.clone()), expected, "{data}");
        }
    }

    #[test]
    fn a_test_messages_hard_bounce_suppresses_its_address_and_a_stranger_message_is_ignored() {
        let test = event(
            "failed",
            json!({ "severity": "permanent", "user-variables": { "test": "true" } }),
        );
        assert_eq!(
            one(test),
            Parsed::TestFeedback {
                address: "someone@fans.example".into(),
                reason: SuppressionReason::HardBounce,
            }
        );
        let stranger = event("delivered", json!({ "user-variables": {} }));
        assert!(matches!(one(stranger), Parsed::Ignored(_)));
    }

    #[test]
    fn a_forged_stale_or_unreadable_request_is_refused() {
        let data = event("delivered", json!({}));
        assert_eq!(
            receive("another-key", &post(data.clone()), now()),
            Err(Rejected::Unverified)
        );
        let mut tampered: Value = serde_json::from_slice(&post(data.clone())).unwrap();
        tampered["signature"]["token"] = json!("an0th3r");
        assert_eq!(
            receive(KEY, tampered.to_string().as_bytes(), now()),
            Err(Rejected::Unverified)
        );
        let old = signed(KEY, now().timestamp() - 3600, "t0k3n", data.clone()).to_string();
        assert_eq!(
            receive(KEY, old.as_bytes(), now()),
            Err(Rejected::Stale(3600))
        );
        for body in [&b"not json"[..], b"{}", b"[]"] {
            assert!(matches!(
                receive(KEY, body, now()),
                Err(Rejected::Malformed(_))
            ));
        }
    }
}
