//! A contact sync as its import job keeps it: which system, whether it started from the cursor
//! of the last completed sync, and the page it stands at.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A system contacts are synced from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncProvider {
    /// Google Contacts, through the People API.
    Gmail,
    /// Outlook contacts, through Microsoft Graph.
    Outlook,
    /// One Mailchimp audience.
    Mailchimp,
}

impl SyncProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gmail => "gmail",
            Self::Outlook => "outlook",
            Self::Mailchimp => "mailchimp",
        }
    }

    /// How the provider is named to people (reports, consent sources).
    pub fn title(self) -> &'static str {
        match self {
            Self::Gmail => "Google Contacts",
            Self::Outlook => "Outlook",
            Self::Mailchimp => "Mailchimp",
        }
    }
}

impl std::str::FromStr for SyncProvider {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "gmail" => Ok(Self::Gmail),
            "outlook" => Ok(Self::Outlook),
            "mailchimp" => Ok(Self::Mailchimp),
            _ => Err("must be gmail, outlook or mailchimp".to_owned()),
        }
    }
}

/// Whether a sync reads everything or what changed since the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    Full,
    Incremental,
}

/// What the API shows of a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SyncSummary {
    pub provider: SyncProvider,
    /// The Mailchimp audience synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<String>,
    pub mode: SyncMode,
    /// The cursor of the last sync had expired at the provider: this one read everything.
    pub fell_back_to_full: bool,
    /// Pages read so far.
    pub pages: u64,
}

/// Where in the provider's pages a sync stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPosition {
    /// The incremental cursor this round reads from (Google sync token, Graph delta link,
    /// Mailchimp `since_last_changed`); `None` in a full sync.
    pub cursor: Option<String>,
    /// The next page (Google page token, Graph next link); `None` before the first.
    pub page: Option<String>,
    /// Mailchimp's offset into the members.
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    #[serde(flatten)]
    pub summary: SyncSummary,
    pub position: SyncPosition,
    /// When the sync began: Mailchimp's next `since_last_changed`.
    pub started_at: DateTime<Utc>,
}
