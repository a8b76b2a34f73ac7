//! A message someone sent to the reply domain: the seed's `email_replies` row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ArtistId, CampaignId, ContactId, ContactRole, ReplyId, UserId};

/// Who wrote it: a person, or a machine answering for them (out of office, vacation notices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    Human,
    /// Kept and shown, never counted and never forwarded.
    Auto,
}

impl ReplyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Auto => "auto",
        }
    }
}

/// How the reply was tied to the message it answers, surest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The signed token of the address it was sent to (`r-{token}@`).
    Token,
    /// `In-Reply-To` or `References` naming one of our `Message-ID`s (which carry the token).
    Thread,
    /// The sender's address, among the people the artists' messages went to lately.
    Sender,
}

/// One of SES's receipt verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
    /// SES did not say (scanning off, or a message that did not come through SES).
    #[default]
    Unknown,
}

/// What SES's receipt checks said of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Verdicts {
    pub spam: Verdict,
    pub virus: Verdict,
    pub spf: Verdict,
    pub dkim: Verdict,
    pub dmarc: Verdict,
}

/// Why the message was taken for what it is (`kind` plus the sign that decided it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Classification {
    pub kind: ReplyKind,
    /// The header or subject that marked an automatic reply, e.g. `Auto-Submitted: auto-replied`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign: Option<String>,
}

/// An attachment, described: its bytes stay in the raw message in S3, never copied or opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Attachment {
    pub filename: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// Its position among the parts of the raw message stored at `ReplyMetadata::object`.
    pub part: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ReplyMetadata {
    pub verdicts: Verdicts,
    pub classification: Classification,
    /// Where SES stored the raw message (`s3://bucket/key`): the full original.
    pub object: String,
    pub size: u64,
    /// Larger than the parsing limit: only its headers were read.
    #[serde(default)]
    pub too_large: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Where the reply was forwarded, when the campaign or the sender profile asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Reply {
    pub id: ReplyId,
    /// Unset while the reply is unassigned (it matched nothing we sent).
    #[serde(default)]
    pub artist_id: Option<ArtistId>,
    #[serde(default)]
    pub contact_role: Option<ContactRole>,
    #[serde(default)]
    pub campaign_id: Option<CampaignId>,
    #[serde(default)]
    pub contact_id: Option<ContactId>,
    /// The message it answers.
    #[serde(default)]
    pub send_id: Option<Uuid>,
    pub kind: ReplyKind,
    #[serde(default)]
    pub matched_by: Option<MatchedBy>,
    /// Written from another address than the contact's (a colleague, a personal mailbox).
    #[serde(default)]
    pub from_other_address: bool,
    /// SES found a virus: nothing of the body was kept.
    #[serde(default)]
    pub quarantined: bool,
    #[serde(default)]
    pub from_address: Option<String>,
    #[serde(default)]
    pub from_name: Option<String>,
    pub subject: String,
    /// What the person wrote, without quoted history or signature.
    pub content: String,
    /// The whole text part (or the text of the HTML part), quotes included.
    pub full_text: String,
    /// The HTML part as received: only ever returned sanitized.
    #[serde(default)]
    pub html: Option<String>,
    pub received_at: DateTime<Utc>,
    #[serde(default)]
    pub processed: bool,
    #[serde(default)]
    pub assigned_to: Option<UserId>,
    #[serde(default)]
    pub note: Option<String>,
    pub metadata: ReplyMetadata,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub version: u64,
}
