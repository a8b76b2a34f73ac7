//! Postmark's webhooks: one JSON event per request (`RecordType`), authenticated by the basic
//! auth credentials put in the webhook's URL (Postmark signs nothing). A replay of a real
//! request records nothing new: the event's id is the same.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Rejected, same, told};
use crate::tracking::event::{BounceType, EventKind, UnsubscribeScope, clip_user_agent};
use crate::tracking::ses::Parsed;

/// The user and password of the webhook URL (`https://user:password@…/postmark`).
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(…)")
    }
}

impl Credentials {
    /// The `Authorization` header Postmark sends with them.
    pub fn header(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    record_type: String,
    #[serde(default)]
    metadata: Map<String, Value>,
    /// The bounce's type (`HardBounce`, `SoftBounce`…).
    #[serde(default, rename = "Type")]
    bounce_type: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    original_link: Option<String>,
    #[serde(default)]
    suppress_sending: Option<bool>,
    #[serde(default)]
    suppression_reason: Option<String>,
    #[serde(default)]
    delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    bounced_at: Option<DateTime<Utc>>,
    #[serde(default)]
    received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    changed_at: Option<DateTime<Utc>>,
}

/// The event of a request carrying `credentials`, if it does.
pub fn receive(
    credentials: &Credentials,
    authorization: Option<&str>,
    body: &[u8],
) -> Result<Vec<Parsed>, Rejected> {
    let given = authorization.unwrap_or_default().trim();
    if !same(given.as_bytes(), credentials.header().as_bytes()) {
        return Err(Rejected::Unverified);
    }
    let event: Event = serde_json::from_slice(body)
        .map_err(|_| Rejected::Malformed("a Postmark webhook event".into()))?;
    Ok(vec![parse(event)?])
}

fn parse(event: Event) -> Result<Parsed, Rejected> {
    let (kind, at, address) = match event.record_type.as_str() {
        "Delivery" => (EventKind::Delivery, event.delivered_at, None),
        "Bounce" => {
            let bounce_type = event.bounce_type.clone().unwrap_or_default();
            let kind = match bounce_type.as_str() {
                "HardBounce" | "BadEmailAddress" | "ManuallyDeactivated" => EventKind::Bounce {
                    bounce_type: BounceType::Permanent,
                    sub_type: bounce_type,
                    status: None,
                },
                "SoftBounce" | "Transient" | "DnsError" | "Blocked" | "DMARCPolicy" => {
                    EventKind::Bounce {
                        bounce_type: BounceType::Transient,
                        sub_type: bounce_type,
                        status: None,
                    }
                }
                "Unknown" | "SMTPApiError" => EventKind::Bounce {
                    bounce_type: BounceType::Undetermined,
                    sub_type: bounce_type,
                    status: None,
                },
                "SpamComplaint" => EventKind::Complaint {
                    feedback_type: None,
                },
                "Unsubscribe" => EventKind::Unsubscribe {
                    scope: UnsubscribeScope::Team,
                },
                // Automatic answers, address changes, challenges: not about delivery.
                _ => return Ok(Parsed::Ignored("a Postmark bounce that is not a failure")),
            };
            (kind, event.bounced_at, event.email.clone())
        }
        "SpamComplaint" => (
            EventKind::Complaint {
                feedback_type: event.description.clone(),
            },
            event.bounced_at,
            event.email.clone(),
        ),
        "Open" => (
            EventKind::Open {
                user_agent: event.user_agent.as_deref().map(clip_user_agent),
            },
            event.received_at,
            None,
        ),
        "Click" => (
            EventKind::Click {
                link: None,
                url: event.original_link.clone(),
                user_agent: event.user_agent.as_deref().map(clip_user_agent),
            },
            event.received_at,
            None,
        ),
        // A person's own unsubscribe; bounces and complaints come as their own events.
        "SubscriptionChange"
            if event.suppress_sending == Some(true)
                && event.suppression_reason.as_deref() == Some("ManualSuppression") =>
        {
            (
                EventKind::Unsubscribe {
                    scope: UnsubscribeScope::Team,
                },
                event.changed_at,
                None,
            )
        }
        "SubscriptionChange" => {
            return Ok(Parsed::Ignored(
                "a Postmark subscription change we do not record",
            ));
        }
        other => {
            return Err(Rejected::Malformed(format!(
                "a Postmark event of a known RecordType ({other:?} is not one)"
            )));
        }
    };
    let at = at.ok_or_else(|| Rejected::Malformed("a Postmark event with its time".into()))?;
    Ok(told(&event.metadata, kind, at, address))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tracking::EmailEvent;
    use crate::webhooks::tests::ours;

    fn credentials() -> Credentials {
        Credentials {
            user: "postmark".into(),
            password: "a-long-random-password".into(),
        }
    }

    fn one(event: Value) -> Result<Parsed, Rejected> {
        let mut event = event;
        if let Some(object) = event.as_object_mut() {
            object.insert("Metadata".into(), Value::Object(ours().1));
        }
        receive(
            &credentials(),
            Some(&credentials().header()),
            event.to_string().as_bytes(),
        )
        .map(|mut parsed| parsed.remove(0))
    }

    #[test]
    fn each_postmark_record_is_told_as_ses_would() {
        let (send, _) = ours();
        let at: DateTime<Utc> = "2026-11-30T17:28:10.273Z".parse().unwrap();
        let told = |kind, address: Option<&str>| {
            Ok(Parsed::Event(EmailEvent {
                send,
                kind,
                at,
                address: address.map(str::to_owned),
            }))
        };
        let cases = [
            (
                json!({ "RecordType": "Delivery", "Recipient": "a@fans.example", "DeliveredAt": "2026-11-30T12:28:10.273-05:00" }),
                told(EventKind::Delivery, None),
            ),
            (
                json!({ "RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1, "Email": "a@fans.example", "BouncedAt": "2026-11-30T17:28:10.273Z" }),
                told(
                    EventKind::Bounce {
                        bounce_type: BounceType::Permanent,
                        sub_type: "HardBounce".into(),
                        status: None,
                    },
                    Some("a@fans.example"),
                ),
            ),
            (
                json!({ "RecordType": "Bounce", "Type": "SoftBounce", "TypeCode": 4096, "Email": "a@fans.example", "BouncedAt": "2026-11-30T17:28:10.273Z" }),
                told(
                    EventKind::Bounce {
                        bounce_type: BounceType::Transient,
                        sub_type: "SoftBounce".into(),
                        status: None,
                    },
                    Some("a@fans.example"),
                ),
            ),
            (
                json!({ "RecordType": "Bounce", "Type": "AutoResponder", "Email": "a@fans.example", "BouncedAt": "2026-11-30T17:28:10.273Z" }),
                Ok(Parsed::Ignored("a Postmark bounce that is not a failure")),
            ),
            (
                json!({ "RecordType": "SpamComplaint", "Email": "a@fans.example", "BouncedAt": "2026-11-30T17:28:10.273Z" }),
                told(
                    EventKind::Complaint {
                        feedback_type: None,
                    },
                    Some("a@fans.example"),
                ),
            ),
            (
                json!({ "RecordType": "Open", "UserAgent": "Mozilla/5.0", "ReceivedAt": "2026-11-30T17:28:10.273Z" }),
                told(
                    EventKind::Open {
                        user_agent: Some("Mozilla/5.0".into()),
                    },
                    None,
                ),
            ),
            (
                json!({ "RecordType": "Click", "OriginalLink": "https://label.example/tour", "ReceivedAt": "2026-11-30T17:28:10.273Z" }),
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
                json!({ "RecordType": "SubscriptionChange", "SuppressSending": true, "SuppressionReason": "ManualSuppression", "ChangedAt": "2026-11-30T17:28:10.273Z" }),
                told(
                    EventKind::Unsubscribe {
                        scope: UnsubscribeScope::Team,
                    },
                    None,
                ),
            ),
            (
                json!({ "RecordType": "SubscriptionChange", "SuppressSending": false, "ChangedAt": "2026-11-30T17:28:10.273Z" }),
                Ok(Parsed::Ignored(
                    "a Postmark subscription change we do not record",
                )),
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(one(event.clone()), expected, "{event}");
        }
    }

    #[test]
    fn a_request_without_the_webhooks_credentials_or_of_an_unknown_record_is_refused() {
        let body =
            json!({ "RecordType": "Delivery", "DeliveredAt": "2026-11-30T17:28:10Z" }).to_string();
        let wrong = Credentials {
            password: "guess".into(),
            ..credentials()
        };
        for authorization in [None, Some(wrong.header()), Some("Basic".to_owned())] {
            assert_eq!(
                receive(&credentials(), authorization.as_deref(), body.as_bytes()),
                Err(Rejected::Unverified)
            );
        }
        for event in [
            json!({ "RecordType": "Teleport", "ReceivedAt": "2026-11-30T17:28:10Z" }),
            json!({ "RecordType": "Open" }),
            json!([]),
        ] {
            assert!(matches!(one(event), Err(Rejected::Malformed(_))));
        }
    }
}
