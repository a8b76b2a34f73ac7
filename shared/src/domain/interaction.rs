//! One entry of a contact's timeline: the seed's `email_interactions` row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ArtistId, CampaignId, ContactId, ContactRole};

/// The seed's interaction types, and the delivery events it did not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InteractionType {
    EmailSent,
    EmailDelivered,
    EmailOpened,
    EmailClicked,
    ReplyReceived,
    /// An out-of-office or other automatic answer.
    AutoReplyReceived,
    Unsubscribed,
    /// Hard or soft: `details.bounce_type` says which.
    Bounced,
    Complained,
    Rejected,
    DeliveryDelayed,
    RenderingFailed,
}

/// Why an open or a click is taken for a machine's rather than the person's (the rules are in
/// `tracking::machine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MachineReason {
    /// A user agent of a privacy proxy or security scanner.
    KnownAgent,
    /// Seconds after delivery: no person reads that fast, a prefetching proxy does.
    TooSoonAfterDelivery,
    /// Links clicked one after another within a second or two: a scanner following each.
    ClickBurst,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Interaction {
    /// Derived from the event it records, so recording it twice is one write.
    pub id: Uuid,
    pub artist_id: ArtistId,
    pub contact_id: ContactId,
    pub contact_role: ContactRole,
    pub interaction_type: InteractionType,
    pub campaign_id: CampaignId,
    pub send_id: Uuid,
    /// Set for opens and clicks taken for a machine's: kept and shown, never counted as the
    /// person's engagement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineReason>,
    /// What the event said beyond its type (bounce type and status, link, user agent), never
    /// an address.
    #[serde(default)]
    pub details: Map<String, Value>,
    pub created_at: DateTime<Utc>,
}
