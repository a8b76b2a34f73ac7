//! `infra/dev event KIND --to ADDRESS`: what a mailbox provider would do to the newest message
//! the local SES accepted for an address (bounce it, complain about it, open it...), published
//! through the configuration set as SES would, so the whole tracking loop runs on one machine.

use anyhow::bail;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::outbox;

pub const KINDS: &[&str] = &[
    "bounce",
    "soft-bounce",
    "complaint",
    "delivery-delay",
    "reject",
    "open",
    "click",
];

/// Who opens or clicks, and when.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    /// A security gateway's scanner rather than the person (counted apart, never engagement).
    pub machine: bool,
    /// Minutes after now: a person reads minutes or hours after delivery, and an open within
    /// seconds of it is a machine's.
    pub minutes_after: i64,
}

/// The SES event type and its detail object for `kind`, about `address`.
pub fn event(
    kind: &str,
    address: &str,
    link: Option<&str>,
    actor: Actor,
) -> anyhow::Result<(&'static str, Value)> {
    let now = (Utc::now() + chrono::Duration::minutes(actor.minutes_after))
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let person = match actor.machine {
        false => {
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
        }
        true => "Mozilla/5.0 (compatible; Barracuda Email Security Gateway link protection)",
    };
    Ok(match kind {
        "bounce" => (
            "Bounce",
            json!({ "bounceType": "Permanent", "bounceSubType": "General", "timestamp": now,
                    "bouncedRecipients": [{ "emailAddress": address, "action": "failed", "status": "5.1.1",
                                            "diagnosticCode": "smtp; 550 5.1.1 user unknown" }] }),
        ),
        "soft-bounce" => (
            "Bounce",
            json!({ "bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": now,
                    "bouncedRecipients": [{ "emailAddress": address, "action": "failed", "status": "4.2.2",
                                            "diagnosticCode": "smtp; 452 4.2.2 mailbox full" }] }),
        ),
        "complaint" => (
            "Complaint",
            json!({ "complainedRecipients": [{ "emailAddress": address }], "timestamp": now,
                    "complaintFeedbackType": "abuse", "userAgent": "local-feedback-loop" }),
        ),
        "delivery-delay" => (
            "DeliveryDelay",
            json!({ "delayType": "MailboxFull", "timestamp": now,
                    "delayedRecipients": [{ "emailAddress": address, "status": "4.2.2" }] }),
        ),
        "reject" => ("Reject", json!({ "reason": "Bad content" })),
        "open" => (
            "Open",
            json!({ "timestamp": now, "userAgent": person, "ipAddress": "127.0.0.1" }),
        ),
        "click" => (
            "Click",
            json!({ "timestamp": now, "userAgent": person, "ipAddress": "127.0.0.1", "link": link.unwrap_or_default() }),
        ),
        other => bail!("unknown event {other}: one of {}", KINDS.join(", ")),
    })
}

/// Publishes `kind` for the newest message to `address`; answers the message's id.
pub async fn inject(
    kind: &str,
    address: &str,
    link: Option<&str>,
    actor: Actor,
) -> anyhow::Result<String> {
    let (event_type, detail) = event(kind, address, link, actor)?;
    let message = outbox::newest_to(address).await?;
    outbox::publish_event(&message.message_id, event_type, detail).await?;
    Ok(message.message_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_names_an_ses_event_type_and_unknown_kinds_are_refused() {
        for kind in KINDS {
            let (event_type, detail) = event(
                kind,
                "a@b.example",
                Some("https://x.example"),
                Actor::default(),
            )
            .unwrap();
            assert!(event_type.chars().next().unwrap().is_ascii_uppercase());
            assert!(detail.is_object());
        }
        assert!(event("explode", "a@b.example", None, Actor::default()).is_err());
    }
}
