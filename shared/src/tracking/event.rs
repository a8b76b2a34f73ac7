//! One thing that happened to one sent message, whoever told us: SES's event publishing or our
//! own tracking endpoints. Both become an [`EmailEvent`] naming the send by ids, so the rest of
//! the pipeline has one shape to deal with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{ArtistId, CampaignId, ContactId, ContactRole, MatchedBy, ReplyId};
use crate::store::sends::Send;

/// The send an event is about, by the ids the message carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SendRef {
    pub artist: ArtistId,
    pub role: ContactRole,
    pub campaign: CampaignId,
    pub contact: ContactId,
}

impl SendRef {
    pub fn send_id(&self) -> Uuid {
        Send::id_for(self.campaign, self.contact)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceType {
    /// The address will never accept mail: suppressed at once.
    Permanent,
    /// A full mailbox, a greylisting server: worth trying again later.
    Transient,
    /// SES could not tell.
    Undetermined,
}

/// Whose list an unsubscribe leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum UnsubscribeScope {
    /// The artist's team that sent the message (the contact's list): the RFC 8058 one-click
    /// default.
    Team,
    /// Everything from the artist, every team.
    Artist,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Send,
    Delivery,
    Bounce {
        bounce_type: BounceType,
        /// SES's `bounceSubType` (`General`, `NoEmail`, `MailboxFull`…).
        sub_type: String,
        /// The enhanced status code of the bounced recipient (`5.1.1`), when given.
        status: Option<String>,
    },
    Complaint {
        /// The ARF feedback type (`abuse`, `not-spam`…), when the provider sent one.
        feedback_type: Option<String>,
    },
    Reject {
        reason: String,
    },
    DeliveryDelay {
        delay_type: String,
    },
    Open {
        user_agent: Option<String>,
    },
    Click {
        /// The link's id in the message (our tracking endpoint knows it; SES's events give the
        /// URL, matched to an id against the send's links).
        link: Option<u16>,
        url: Option<String>,
        user_agent: Option<String>,
    },
    RenderingFailure {
        error: String,
    },
    Unsubscribe {
        scope: UnsubscribeScope,
    },
    /// A person answered the message (automatic replies are stored, never told as events).
    Reply {
        reply: ReplyId,
        matched_by: MatchedBy,
        from_other_address: bool,
    },
    /// An automatic answer (out of office): on the timeline and counted apart, never as a
    /// reply or as engagement.
    AutoReply {
        reply: ReplyId,
    },
}

impl EventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Delivery => "delivery",
            Self::Bounce { .. } => "bounce",
            Self::Complaint { .. } => "complaint",
            Self::Reject { .. } => "reject",
            Self::DeliveryDelay { .. } => "delivery_delay",
            Self::Open { .. } => "open",
            Self::Click { .. } => "click",
            Self::RenderingFailure { .. } => "rendering_failure",
            Self::Unsubscribe { .. } => "unsubscribe",
            Self::Reply { .. } => "reply",
            Self::AutoReply { .. } => "auto_reply",
        }
    }

    pub fn user_agent(&self) -> Option<&str> {
        match self {
            Self::Open { user_agent } | Self::Click { user_agent, .. } => user_agent.as_deref(),
            _ => None,
        }
    }
}

/// User agents are kept for the machine-open rules and the timeline, cut to this many bytes.
pub const MAX_USER_AGENT: usize = 256;

pub fn clip_user_agent(user_agent: &str) -> String {
    let mut end = user_agent.len().min(MAX_USER_AGENT);
    while !user_agent.is_char_boundary(end) {
        end -= 1;
    }
    user_agent[..end].trim().to_owned()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailEvent {
    pub send: SendRef,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    /// For a Bounce or Complaint: the recipient's address, to suppress. Never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

impl EmailEvent {
    /// The event's identity: the same event told twice (an SQS redelivery, SNS publishing
    /// twice, a pixel fetched twice in the same millisecond by the same client) has the same
    /// id, so it is recorded once.
    pub fn id(&self) -> Uuid {
        let kind = serde_json::to_string(&self.kind).unwrap_or_default();
        let name = format!("{}|{}", self.at.timestamp_millis(), kind);
        Uuid::new_v5(&self.send.send_id(), name.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, at_ms: i64) -> EmailEvent {
        EmailEvent {
            send: SendRef {
                artist: ArtistId::from(Uuid::from_u128(1)),
                role: ContactRole::Press,
                campaign: CampaignId::from(Uuid::from_u128(2)),
                contact: ContactId::from(Uuid::from_u128(3)),
            },
            kind,
            at: DateTime::from_timestamp_millis(at_ms).unwrap(),
            address: None,
        }
    }

    #[test]
    fn the_same_event_told_twice_has_one_id_and_different_events_have_different_ids() {
        let open = |ua: &str, at| {
            event(
                EventKind::Open {
                    user_agent: Some(ua.into()),
                },
                at,
            )
        };
        assert_eq!(open("Mail", 1_000).id(), open("Mail", 1_000).id());
        assert_ne!(open("Mail", 1_000).id(), open("Mail", 1_001).id());
        assert_ne!(open("Mail", 1_000).id(), open("Outlook", 1_000).id());
        assert_ne!(
            event(EventKind::Delivery, 1_000).id(),
            event(EventKind::Send, 1_000).id()
        );
    }

    #[test]
    fn user_agents_are_clipped_on_a_character_boundary() {
        let long = "é".repeat(200);
        let clipped = clip_user_agent(&long);
        assert!(clipped.len() <= MAX_USER_AGENT);
        assert!(clipped.chars().all(|c| c == 'é'));
        assert_eq!(clip_user_agent("  Mozilla/5.0 "), "Mozilla/5.0");
    }
}
