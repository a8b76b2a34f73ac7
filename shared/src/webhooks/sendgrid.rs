//! SendGrid's signed event webhook: a JSON array of events, signed with ECDSA (P-256, SHA-256)
//! over the `X-Twilio-Email-Event-Webhook-Timestamp` header followed by the raw body; the
//! signature (base64 of its DER form) is in `X-Twilio-Email-Event-Webhook-Signature`, checked
//! with the webhook's public key (base64 of its DER `SubjectPublicKeyInfo`, as SendGrid shows
//! it). Our ids are custom arguments, which SendGrid puts at the top of each event.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Rejected, fresh, told};
use crate::tracking::event::{BounceType, EventKind, UnsubscribeScope, clip_user_agent};
use crate::tracking::ses::Parsed;

pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

#[derive(Deserialize)]
struct Event {
    event: String,
    /// Seconds since the epoch.
    timestamp: i64,
    #[serde(default)]
    email: Option<String>,
    /// On `bounce`: `bounce` (permanent) or `blocked` (temporary).
    #[serde(default, rename = "type")]
    bounce_type: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    useragent: Option<String>,
    #[serde(default)]
    url: Option<String>,
    /// The custom arguments, and whatever else SendGrid adds.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The events of a request signed by the key `public_key` (base64 DER), if it is.
pub fn receive(
    public_key: &str,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<Parsed>, Rejected> {
    let (Some(signature), Some(timestamp)) = (signature, timestamp) else {
        return Err(Rejected::Unverified);
    };
    let key = STANDARD
        .decode(public_key.trim())
        .map_err(|_| Rejected::Unverified)?;
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| Rejected::Unverified)?;
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, key)
        .verify(&signed, &signature)
        .map_err(|_| Rejected::Unverified)?;
    let at = timestamp
        .trim()
        .parse::<i64>()
        .map_err(|_| Rejected::Unverified)?;
    fresh(at, now)?;
    let events: Vec<Event> = serde_json::from_slice(body)
        .map_err(|_| Rejected::Malformed("a SendGrid event array".into()))?;
    events.into_iter().map(parse).collect()
}

fn parse(event: Event) -> Result<Parsed, Rejected> {
    let at = DateTime::from_timestamp(event.timestamp, 0)
        .ok_or_else(|| Rejected::Malformed("a SendGrid event with a readable timestamp".into()))?;
    let user_agent = event.useragent.as_deref().map(clip_user_agent);
    let (kind, address) = match event.event.as_str() {
        "processed" => (EventKind::Send, None),
        "delivered" => (EventKind::Delivery, None),
        "deferred" => (
            EventKind::DeliveryDelay {
                delay_type: event.response.clone().unwrap_or_default(),
            },
            None,
        ),
        "dropped" => (
            EventKind::Reject {
                reason: event.reason.clone().unwrap_or_default(),
            },
            None,
        ),
        "bounce" => {
            let bounce_type = match event.bounce_type.as_deref() {
                Some("blocked") => BounceType::Transient,
                Some("bounce") | None => BounceType::Permanent,
                Some(_) => BounceType::Undetermined,
            };
            (
                EventKind::Bounce {
                    bounce_type,
                    sub_type: event.bounce_type.clone().unwrap_or_default(),
                    status: event.status.clone(),
                },
                event.email.clone(),
            )
        }
        "spamreport" => (
            EventKind::Complaint {
                feedback_type: None,
            },
            event.email.clone(),
        ),
        "open" => (EventKind::Open { user_agent }, None),
        "click" => (
            EventKind::Click {
                link: None,
                url: event.url.clone(),
                user_agent,
            },
            None,
        ),
        "unsubscribe" | "group_unsubscribe" => (
            EventKind::Unsubscribe {
                scope: UnsubscribeScope::Team,
            },
            None,
        ),
        _ => return Ok(Parsed::Ignored("a SendGrid event we do not record")),
    };
    Ok(told(&event.rest, kind, at, address))
}

/// What SendGrid posts for `events`, signed with `key` at `timestamp`: the signature header's
/// value and the body. For the tests and the local fake provider.
pub fn signed(
    key: &aws_lc_rs::signature::EcdsaKeyPair,
    timestamp: i64,
    events: &Value,
) -> (String, Vec<u8>) {
    let body = events.to_string().into_bytes();
    let mut message = timestamp.to_string().into_bytes();
    message.extend_from_slice(&body);
    let signature = key
        .sign(&aws_lc_rs::rand::SystemRandom::new(), &message)
        .expect("signing with a valid key");
    (STANDARD.encode(signature.as_ref()), body)
}

/// The public key SendGrid shows for `key`: base64 of its DER `SubjectPublicKeyInfo`.
pub fn public_key(key: &aws_lc_rs::signature::EcdsaKeyPair) -> String {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair;
    let der = key
        .public_key()
        .as_der()
        .expect("a P-256 public key has a DER form");
    STANDARD.encode(der.as_ref())
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::tracking::EmailEvent;
    use crate::webhooks::tests::ours;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_770_000_000, 0).unwrap()
    }

    fn event(name: &str, extra: Value) -> Value {
        let mut event = json!({
            "email": "a@fans.example",
            "timestamp": 1_769_999_900,
            "event": name,
            "sg_event_id": "sg-1",
            "sg_message_id": "m-1",
        });
        let object = event.as_object_mut().unwrap();
        object.extend(ours().1);
        object.extend(extra.as_object().unwrap().clone());
        event
    }

    #[test]
    fn a_signed_batch_is_told_event_by_event_as_ses_would() {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let events = json!([
            event("processed", json!({})),
            event("delivered", json!({})),
            event("deferred", json!({ "response": "421 try later" })),
            event("bounce", json!({ "type": "bounce", "status": "5.1.1" })),
            event("bounce", json!({ "type": "blocked", "status": "4.7.1" })),
            event("open", json!({ "useragent": "Mozilla/5.0" })),
            event("click", json!({ "url": "https://label.example/tour" })),
            event("spamreport", json!({})),
            event("group_unsubscribe", json!({ "asm_group_id": 1 })),
            event("group_resubscribe", json!({})),
        ]);
        let timestamp = now().timestamp() - 10;
        let (signature, body) = signed(&key, timestamp, &events);
        let parsed = receive(
            &public_key(&key),
            Some(&signature),
            Some(&timestamp.to_string()),
            &body,
            now(),
        )
        .unwrap();
        let (send, _) = ours();
        let at = DateTime::from_timestamp(1_769_999_900, 0).unwrap();
        let told = |kind, address: Option<&str>| {
            Parsed::Event(EmailEvent {
                send,
                kind,
                at,
                address: address.map(str::to_owned),
            })
        };
        let bounce = |bounce_type, sub_type: &str, status: &str| EventKind::Bounce {
            bounce_type,
            sub_type: sub_type.into(),
            status: Some(status.into()),
        };
        assert_eq!(
            parsed,
            [
                told(EventKind::Send, None),
                told(EventKind::Delivery, None),
                told(
                    EventKind::DeliveryDelay {
                        delay_type: "421 try later".into()
                    },
                    None
                ),
                told(
                    bounce(BounceType::Permanent, "bounce", "5.1.1"),
                    Some("a@fans.example")
                ),
                told(
                    bounce(BounceType::Transient, "blocked", "4.7.1"),
                    Some("a@fans.example")
                ),
                told(
                    EventKind::Open {
                        user_agent: Some("Mozilla/5.0".into())
                    },
                    None
                ),
                told(
                    EventKind::Click {
                        link: None,
                        url: Some("https://label.example/tour".into()),
                        user_agent: None
                    },
                    None
                ),
                told(
                    EventKind::Complaint {
                        feedback_type: None
                    },
                    Some("a@fans.example")
                ),
                told(
                    EventKind::Unsubscribe {
                        scope: UnsubscribeScope::Team
                    },
                    None
                ),
                Parsed::Ignored("a SendGrid event we do not record"),
            ]
        );
    }

    #[test]
    fn a_forged_tampered_or_stale_request_is_refused() {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let other = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let events = json!([event("delivered", json!({}))]);
        let timestamp = now().timestamp();
        let (signature, body) = signed(&key, timestamp, &events);
        let stamp = timestamp.to_string();
        let check = |public: &str, signature: Option<&str>, stamp: Option<&str>, body: &[u8]| {
            receive(public, signature, stamp, body, now())
        };
        let public = public_key(&key);
        assert!(check(&public, Some(&signature), Some(&stamp), &body).is_ok());
        assert_eq!(
            check(&public_key(&other), Some(&signature), Some(&stamp), &body),
            Err(Rejected::Unverified),
            "another key"
        );
        let mut tampered = body.clone();
        tampered[3] ^= 1;
        assert_eq!(
            check(&public, Some(&signature), Some(&stamp), &tampered),
            Err(Rejected::Unverified),
            "a changed body"
        );
        assert_eq!(
            check(&public, Some(&signature), Some("1769999999"), &body),
            Err(Rejected::Unverified),
            "another timestamp"
        );
        for (signature, stamp) in [
            (None, Some(stamp.as_str())),
            (Some(signature.as_str()), None),
        ] {
            assert_eq!(
                check(&public, signature, stamp, &body),
                Err(Rejected::Unverified)
            );
        }
        assert_eq!(
            check(&public, Some("bm90IGEgc2lnbmF0dXJl"), Some(&stamp), &body),
            Err(Rejected::Unverified)
        );
        let old = now().timestamp() - 3600;
        let (signature, body) = signed(&key, old, &events);
        assert_eq!(
            check(&public, Some(&signature), Some(&old.to_string()), &body),
            Err(Rejected::Stale(3600))
        );
        let (signature, body) = signed(&key, timestamp, &json!({ "not": "an array" }));
        assert!(matches!(
            check(&public, Some(&signature), Some(&stamp), &body),
            Err(Rejected::Malformed(_))
        ));
    }
}
