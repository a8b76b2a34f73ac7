//! Events of the other sending providers (SendGrid, Mailgun, Postmark), as their webhooks post
//! them to `POST /api/email/webhooks/{provider}`: each request verified as its provider
//! documents, then told as the events SES publishes ([`Parsed`]), so recording, suppression,
//! counters, analytics and history work unchanged. A replayed event counts once: its id comes
//! from the send, the provider's time and the kind (`EmailEvent::id`).
//!
//! Our ids travel with each message the way each provider echoes them: SendGrid's
//! `custom_args`, Mailgun's user variables, Postmark's `Metadata`, under the names of SES's tags
//! (`artist`, `role`, `campaign`, `contact`, `send`, and `test` on a test message).

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::suppression::SuppressionReason;
use crate::tracking::event::{BounceType, EmailEvent, EventKind};
use crate::tracking::ses::{Parsed, send_ref};
use crate::{ApiError, App};

/// A provider whose webhook we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Sendgrid,
    Mailgun,
    Postmark,
}

impl FromStr for Provider {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "sendgrid" => Ok(Self::Sendgrid),
            "mailgun" => Ok(Self::Mailgun),
            "postmark" => Ok(Self::Postmark),
            _ => Err(()),
        }
    }
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sendgrid => "sendgrid",
            Self::Mailgun => "mailgun",
            Self::Postmark => "postmark",
        }
    }
}

/// What a webhook request brought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Received {
    /// Events in the request.
    pub events: usize,
    /// Those queued to be recorded (the others concern nothing we record).
    pub queued: usize,
}

/// Verifies a request of `provider`'s webhook and queues its events for `ses-events`. A request
/// that does not verify is refused (401) and queues nothing.
pub async fn receive(
    app: &App,
    provider: Provider,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Received, ApiError> {
    let keys = app.provider_keys()?;
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let not_configured = || ApiError::NotFound {
        code: "provider_not_configured",
        message: format!("no {} webhook is configured", provider.name()),
    };
    let now = Utc::now();
    let told = match provider {
        Provider::Sendgrid => sendgrid::receive(
            keys.sendgrid_webhook_key().ok_or_else(not_configured)?,
            header(sendgrid::SIGNATURE_HEADER),
            header(sendgrid::TIMESTAMP_HEADER),
            body,
            now,
        ),
        Provider::Mailgun => mailgun::receive(
            keys.mailgun_webhook_key().ok_or_else(not_configured)?,
            body,
            now,
        ),
        Provider::Postmark => postmark::receive(
            &keys.postmark_webhook().ok_or_else(not_configured)?,
            header("authorization"),
            body,
        ),
    }
    .map_err(|rejected| match rejected {
        Rejected::Unverified | Rejected::Stale(_) => {
            tracing::warn!(provider = provider.name(), reason = %rejected, "webhook refused");
            ApiError::Unauthorized
        }
        Rejected::Malformed(_) => ApiError::bad_request("webhook_malformed", rejected.to_string()),
    })?;
    let events = told.len();
    let queued = crate::tracking::enqueue_all(app, told).await?;
    Ok(Received { events, queued })
}

/// How far from now a signed timestamp may be: a request captured and posted again later is
/// refused. Fifteen minutes leaves room for clock skew and the provider's first retries.
pub const REPLAY_WINDOW_SECONDS: i64 = 15 * 60;

/// Why a request is not taken. Every case changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// No credential, or one that does not verify: answered 401.
    #[error("the request is not signed by the provider")]
    Unverified,
    /// Signed, but outside the replay window: answered 401.
    #[error("the request's signature is {0} seconds away from now, outside the replay window")]
    Stale(i64),
    /// Verified, but not the provider's event format: answered 400.
    #[error("the request is not {0}")]
    Malformed(String),
}

/// Whether `at` (epoch seconds) is within the replay window of `now`.
pub(crate) fn fresh(at: i64, now: DateTime<Utc>) -> Result<(), Rejected> {
    let age = now.timestamp() - at;
    if age.abs() > REPLAY_WINDOW_SECONDS {
        return Err(Rejected::Stale(age));
    }
    Ok(())
}

/// One provider event as SES would have told it: `args` are the message's custom arguments,
/// holding our ids. A test message's hard bounce or complaint suppresses its address, like
/// SES's; an event of a message without our ids is ignored.
pub(crate) fn told(
    args: &serde_json::Map<String, serde_json::Value>,
    kind: EventKind,
    at: DateTime<Utc>,
    address: Option<String>,
) -> Parsed {
    let args = |name: &str| args.get(name).and_then(serde_json::Value::as_str);
    if args("test") == Some("true") {
        let reason = match &kind {
            EventKind::Bounce {
                bounce_type: BounceType::Permanent,
                ..
            } => SuppressionReason::HardBounce,
            EventKind::Complaint { .. } => SuppressionReason::Complaint,
            _ => return Parsed::Ignored("a test message's event"),
        };
        return match address {
            Some(address) => Parsed::TestFeedback { address, reason },
            None => Parsed::Ignored("a test message's bounce without an address"),
        };
    }
    match send_ref(args) {
        Some(send) => Parsed::Event(EmailEvent {
            send,
            kind,
            at,
            address,
        }),
        None => Parsed::Ignored("a message without our ids in its custom arguments"),
    }
}

/// Constant-time equality of two secrets' bytes.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Map, Value, json};
    use uuid::Uuid;

    use crate::domain::{ArtistId, CampaignId, ContactId, ContactRole};
    use crate::tracking::event::SendRef;

    /// A send of ours, and the custom arguments our sender gives its message.
    pub fn ours() -> (SendRef, Map<String, Value>) {
        let send = SendRef {
            artist: ArtistId::from(Uuid::from_u128(1)),
            role: ContactRole::Press,
            campaign: CampaignId::from(Uuid::from_u128(2)),
            contact: ContactId::from(Uuid::from_u128(3)),
        };
        let args = json!({
            "artist": send.artist.to_string(),
            "role": "press",
            "campaign": send.campaign.to_string(),
            "contact": send.contact.to_string(),
            "send": send.send_id().to_string(),
        });
        (send, args.as_object().unwrap().clone())
    }

    #[test]
    fn provider_names_are_read_and_others_refused() {
        for name in ["sendgrid", "mailgun", "postmark"] {
            assert_eq!(name.parse::<super::Provider>().unwrap().name(), name);
        }
        for other in ["ses", "SendGrid", "", "mailgun/"] {
            assert!(other.parse::<super::Provider>().is_err(), "{other}");
        }
    }
}
