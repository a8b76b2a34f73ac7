//! A contact of one artist's team: the seed's `email_contacts` row, plus consent and an
//! engagement summary.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ArtistId, ContactId, ContactRole, EmailAddress, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    #[default]
    Active,
    Unsubscribed,
    Bounced,
    Invalid,
}

impl ContactStatus {
    pub const ALL: [ContactStatus; 4] = [
        Self::Active,
        Self::Unsubscribed,
        Self::Bounced,
        Self::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Unsubscribed => "unsubscribed",
            Self::Bounced => "bounced",
            Self::Invalid => "invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether a team member may move a contact from `self` to `to` by hand. Opting someone out
    /// is always allowed; opting them back in is not: an unsubscribed or bounced person only
    /// becomes reachable again through new consent or a delivery that proves the address works.
    pub fn manual_change_to(self, to: ContactStatus) -> Result<(), &'static str> {
        match (self, to) {
            (from, to) if from == to => Ok(()),
            (_, Self::Unsubscribed | Self::Invalid) => Ok(()),
            (Self::Invalid, Self::Active) => Ok(()),
            (Self::Unsubscribed, Self::Active) => {
                Err("an unsubscribed contact cannot be resubscribed by editing it")
            }
            (Self::Bounced, Self::Active) => {
                Err("a bounced contact becomes active again only when its address changes")
            }
            (_, Self::Bounced) => Err("bounced is set by delivery events, not by hand"),
            _ => Err("this status change is not allowed"),
        }
    }
}

/// Where a contact came from (seed: imported, manual, api).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactSource {
    Imported,
    #[default]
    Manual,
    Api,
}

/// The lawful basis for writing to a person (GDPR art. 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentBasis {
    Consent,
    Contract,
    LegalObligation,
    LegitimateInterest,
}

/// What we hold as proof that we may write to this person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Consent {
    pub basis: ConsentBasis,
    /// Where the consent was collected: a form, an import id, a meeting.
    pub source: String,
    pub recorded_at: DateTime<Utc>,
    /// Evidence as the source gave it (opt-in time and IP, a signed form's reference).
    #[serde(default)]
    pub proof: Option<Value>,
    /// The version of the wording the person agreed to, as the collecting form names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording_version: Option<String>,
}

impl Consent {
    /// A proof is a record's worth: an opt-in time and address, a form's reference.
    pub const MAX_PROOF_BYTES: usize = 4 * 1024;

    /// `proof`, when it is small enough to keep with every consent entry and storable.
    pub fn proof(proof: Value) -> Result<Value, String> {
        let size = serde_json::to_vec(&proof).map_or(usize::MAX, |bytes| bytes.len());
        if size > Self::MAX_PROOF_BYTES {
            return Err(format!(
                "must be at most {} bytes of JSON",
                Self::MAX_PROOF_BYTES
            ));
        }
        super::storable(&proof)?;
        Ok(proof)
    }
}

/// Engagement counters; delivery and tracking events fill them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct EngagementSummary {
    pub sent: u64,
    pub opened: u64,
    pub clicked: u64,
    pub replied: u64,
    pub last_activity_at: Option<DateTime<Utc>>,
    /// 0–100, now (`tracking::score`).
    pub score: u8,
    /// Sent `tracking::score::UNENGAGED_AFTER` messages in a row without a person's open,
    /// click or reply.
    pub unengaged: bool,
}

/// `value.chars().any(char::is_control)` on bytes: C0 controls and DEL are single bytes, C1
/// controls (U+0080..U+009F) are `C2 80`..`C2 9F` in UTF-8.
fn has_control(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.iter().any(|b| *b < 0x20 || *b == 0x7F)
        || (!value.is_ascii()
            && bytes
                .windows(2)
                .any(|pair| pair[0] == 0xC2 && (0x80..=0x9F).contains(&pair[1])))
}

/// Tags for segmentation: trimmed, lowercase, unique, in the order first given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Tags(Vec<String>);

impl Tags {
    pub const MAX_COUNT: usize = 50;
    pub const MAX_LENGTH: usize = 50;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, String> {
        Self::check(raw.iter().map(AsRef::as_ref))?;
        Ok(Self::from_checked(raw.iter().map(AsRef::as_ref)))
    }

    /// Whether [`Tags::parse`] accepts `raw`, allocating only past [`Tags::MAX_COUNT`] tags
    /// (where repeats decide).
    pub fn check<'a>(raw: impl Iterator<Item = &'a str> + Clone) -> Result<(), String> {
        let mut count = 0;
        for tag in raw.clone().map(str::trim).filter(|tag| !tag.is_empty()) {
            Self::check_one(tag)?;
            count += 1;
        }
        if count > Self::MAX_COUNT && Self::from_checked(raw).0.len() > Self::MAX_COUNT {
            return Err(format!("at most {} tags are allowed", Self::MAX_COUNT));
        }
        Ok(())
    }

    /// Tags that [`Tags::check`] accepted: trimmed, lowercased, without repeats.
    pub fn from_checked<'a>(raw: impl Iterator<Item = &'a str>) -> Self {
        let mut tags: Vec<String> = Vec::new();
        for tag in raw.map(str::trim).filter(|tag| !tag.is_empty()) {
            let tag = if tag.chars().any(char::is_uppercase) {
                tag.to_lowercase()
            } else {
                tag.to_owned()
            };
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Self(tags)
    }

    /// One trimmed, non-empty tag, measured as it will be kept (lowercased).
    fn check_one(tag: &str) -> Result<(), String> {
        let length = if tag.is_ascii() {
            tag.len()
        } else if tag.chars().any(char::is_uppercase) {
            tag.chars().flat_map(char::to_lowercase).count()
        } else {
            tag.chars().count()
        };
        if length > Self::MAX_LENGTH {
            return Err(format!(
                "a tag is longer than {} characters",
                Self::MAX_LENGTH
            ));
        }
        // Lowercasing neither makes nor removes control characters.
        if has_control(tag) {
            return Err("a tag contains a control character".into());
        }
        Ok(())
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

/// The fields a team edits, validated. Lengths are the seed schema's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ContactFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub position: Option<String>,
    pub phone: Option<String>,
    #[serde(default)]
    pub tags: Tags,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl ContactFields {
    pub const MAX_METADATA_BYTES: usize = 16 * 1024;
    /// `first_name`, `last_name`: VARCHAR(100) in the seed.
    pub const NAME_MAX: usize = 100;
    /// `company`, `position`: VARCHAR(200).
    pub const ORGANIZATION_MAX: usize = 200;
    /// `phone`: VARCHAR(50).
    pub const PHONE_MAX: usize = 50;

    /// A free-text field: trimmed, blank means absent, no control characters (they end up in
    /// mail headers), at most `max` characters.
    pub fn text(value: Option<&str>, max: usize) -> Result<Option<String>, String> {
        Self::check_text(value, max).map(|value| value.map(str::to_owned))
    }

    /// [`ContactFields::text`] without the copy: the trimmed value it would keep.
    pub fn check_text(value: Option<&str>, max: usize) -> Result<Option<&str>, String> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        // Byte length bounds the character count: most values never need counting.
        if value.len() > max && value.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if has_control(value) {
            return Err("must not contain control characters or line breaks".into());
        }
        Ok(Some(value))
    }

    pub fn metadata(value: Map<String, Value>) -> Result<Map<String, Value>, String> {
        if value.is_empty() {
            return Ok(value);
        }
        let size = serde_json::to_vec(&value).map_or(usize::MAX, |bytes| bytes.len());
        if size > Self::MAX_METADATA_BYTES {
            return Err(format!(
                "must be at most {} bytes of JSON",
                Self::MAX_METADATA_BYTES
            ));
        }
        if value
            .keys()
            .any(|k| k.is_empty() || k.chars().count() > 100)
        {
            return Err("keys must be 1 to 100 characters".into());
        }
        super::storable(&Value::Object(value.clone()))?;
        Ok(value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Contact {
    pub id: ContactId,
    pub artist_id: ArtistId,
    pub contact_role: ContactRole,
    pub email: EmailAddress,
    #[serde(flatten)]
    pub fields: ContactFields,
    pub status: ContactStatus,
    pub source: ContactSource,
    pub consent: Option<Consent>,
    #[serde(default)]
    pub engagement: EngagementSummary,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every write: the optimistic-concurrency guard.
    pub version: u64,
}

#[cfg(test)]
impl Contact {
    /// An active press contact of a new artist, for tests.
    pub fn example() -> Self {
        Self {
            id: ContactId::new(),
            artist_id: ArtistId::new(),
            contact_role: ContactRole::Press,
            email: EmailAddress::parse("jeanne@radio.example").expect("a valid address"),
            fields: ContactFields::default(),
            status: ContactStatus::Active,
            source: ContactSource::Manual,
            consent: None,
            engagement: EngagementSummary::default(),
            created_by: UserId::new("u"),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_is_resubscribed_by_an_edit() {
        use ContactStatus::*;
        let allowed = [
            (Active, Unsubscribed),
            (Active, Invalid),
            (Invalid, Active),
            (Bounced, Unsubscribed),
            (Unsubscribed, Unsubscribed),
        ];
        let refused = [
            (Unsubscribed, Active),
            (Bounced, Active),
            (Active, Bounced),
            (Invalid, Bounced),
        ];
        for (from, to) in allowed {
            assert!(from.manual_change_to(to).is_ok(), "{from:?} -> {to:?}");
        }
        for (from, to) in refused {
            assert!(from.manual_change_to(to).is_err(), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_unique() {
        let tags = Tags::parse(&[" VIP ", "vip", "", "Radio", "radio "]).unwrap();
        assert_eq!(tags.as_slice(), ["vip", "radio"]);
        assert!(Tags::parse(&["x".repeat(51)]).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(&many).is_err());
    }

    #[test]
    fn text_fields_refuse_line_breaks_and_overlong_values() {
        assert_eq!(
            ContactFields::text(Some("  Zoé "), 100),
            Ok(Some("Zoé".into()))
        );
        assert_eq!(ContactFields::text(Some("   "), 100), Ok(None));
        assert!(ContactFields::text(Some("a\r\nBcc: x"), 100).is_err());
        assert!(ContactFields::text(Some(&"1".repeat(51)), 50).is_err());
        assert!(ContactFields::text(Some(&"é".repeat(200)), 200).is_ok());
    }

    /// The rule as first written: lowercase, then measure, keep the first of repeats.
    fn tags_by_definition(raw: &[String]) -> Result<Vec<String>, String> {
        let mut kept: Vec<String> = Vec::new();
        for tag in raw.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            let tag = tag.to_lowercase();
            if tag.chars().count() > Tags::MAX_LENGTH {
                return Err("long".into());
            }
            if tag.chars().any(char::is_control) {
                return Err("control".into());
            }
            if !kept.contains(&tag) {
                kept.push(tag);
            }
        }
        if kept.len() > Tags::MAX_COUNT {
            return Err("count".into());
        }
        Ok(kept)
    }

    proptest::proptest! {
        #[test]
        fn checking_tags_without_allocating_agrees_with_their_definition(
            raw in proptest::collection::vec("[a-dA-D \u{1}İéÉß]{0,55}", 0..70),
        ) {
            let checked = Tags::check(raw.iter().map(String::as_str));
            let expected = tags_by_definition(&raw);
            proptest::prop_assert_eq!(checked.is_ok(), expected.is_ok(), "{:?} {:?}", checked, expected);
            if let Ok(expected) = expected {
                let parsed = Tags::parse(&raw).unwrap();
                proptest::prop_assert_eq!(parsed.as_slice(), expected.as_slice());
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn the_byte_scan_for_controls_is_char_is_control(value in "\\PC{0,3}[\u{0}-\u{a0}]{0,3}\\PC{0,3}") {
            proptest::prop_assert_eq!(has_control(&value), value.chars().any(char::is_control));
        }
    }
}
