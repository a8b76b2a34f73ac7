//! Who an artist is as a sender: the name and postal address the footer of every message
//! shows (CAN-SPAM and the French LCEN ask marketing mail for a postal address), the sender a
//! new campaign starts from, what happens to replies, and the language of its pages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{ArtistId, ConsentPolicy, ContactRole, EmailAddress, Language, UserId};

/// Longest display name, and longest postal address (several lines).
pub const DISPLAY_NAME_MAX: usize = 200;
pub const POSTAL_ADDRESS_MAX: usize = 500;

/// What happens to a reply: it is always kept in the CRM; it may also be forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReplyHandling {
    /// Kept in the CRM only.
    #[default]
    Store,
    /// Kept, and forwarded to `forward_replies_to`.
    StoreAndForward,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SenderProfile {
    pub artist_id: ArtistId,
    pub display_name: String,
    #[serde(default)]
    pub postal_address: Option<String>,
    #[serde(default)]
    pub default_from_name: Option<String>,
    #[serde(default)]
    pub default_from_email: Option<EmailAddress>,
    #[serde(default)]
    pub reply_handling: ReplyHandling,
    #[serde(default)]
    pub forward_replies_to: Option<EmailAddress>,
    pub default_language: Language,
    /// Where the artist's team works: the heatmap's hours are theirs (IANA name).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Each team's consent policy where it differs from the default
    /// ([`ConsentPolicy::default_for`]).
    #[serde(default)]
    pub consent_policies: BTreeMap<ContactRole, ConsentPolicy>,
    pub updated_by: UserId,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl SenderProfile {
    /// Which contacts the team's campaigns may go to.
    pub fn consent_policy(&self, role: ContactRole) -> ConsentPolicy {
        self.consent_policies
            .get(&role)
            .copied()
            .unwrap_or_else(|| ConsentPolicy::default_for(role))
    }
}

/// The time zone of an artist without a profile, or a profile that does not say.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Paris";

fn default_time_zone() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}

/// An IANA time zone name the bundled database knows (`Europe/Paris`, `America/Montreal`).
pub fn time_zone(name: &str) -> Result<String, String> {
    let name = name.trim();
    jiff::tz::TimeZone::get(name)
        .map(|_| name.to_owned())
        .map_err(|_| format!("{name:?} is not a time zone name such as Europe/Paris"))
}

/// A display name or postal address as given: trimmed, not empty, within its limit; the
/// address keeps its lines.
pub fn profile_text(value: &str, max: usize) -> Result<String, String> {
    let lines: Vec<&str> = value
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let text = lines.join("\n");
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    if text.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err("must not contain control characters".into());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_texts_are_trimmed_line_by_line_and_bounded() {
        assert_eq!(
            profile_text("  Label Nova \n\n 12 rue des Lilas \r\n75011 Paris ", 500).unwrap(),
            "Label Nova\n12 rue des Lilas\n75011 Paris"
        );
        for bad in ["", "  \n ", "a\u{7}b"] {
            assert!(profile_text(bad, 500).is_err(), "{bad:?}");
        }
        assert!(profile_text(&"x".repeat(501), 500).is_err());
        assert!(profile_text(&"x".repeat(500), 500).is_ok());
    }
}
