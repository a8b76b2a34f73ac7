//! Email templates (the seed's `email_templates`) and signatures.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ArtistId, ContactRole, TemplateId, UserId};

/// The language a template is written in: built-in defaults exist in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Fr,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Self::Fr, Self::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }
}

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|language| language.as_str() == s)
            .ok_or_else(|| "is not a template language; expected fr or en".to_owned())
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct EmailTemplate {
    pub id: TemplateId,
    /// `None` for a built-in default, shared by every artist and read-only.
    pub artist_id: Option<ArtistId>,
    pub contact_role: ContactRole,
    pub name: String,
    pub language: Language,
    pub subject_template: String,
    /// The HTML part.
    pub content_template: String,
    /// The plain-text part; derived from the HTML when `None`.
    pub text_template: Option<String>,
    /// Whether the sender's signature is added (where `{{ signature }}` stands, else before
    /// `</body>`).
    pub append_signature: bool,
    /// Every variable the template reads, found when it was saved.
    pub variables: Vec<String>,
    /// The team's default for its language: one per (artist, role, language); an artist's own
    /// default replaces the built-in one for that artist.
    pub is_default: bool,
    pub built_in: bool,
    /// The template this one was made from, if any.
    pub based_on: Option<TemplateId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A template in a list: everything but the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TemplateSummary {
    pub id: TemplateId,
    pub artist_id: Option<ArtistId>,
    pub contact_role: ContactRole,
    pub name: String,
    pub language: Language,
    pub subject_template: String,
    pub variables: Vec<String>,
    pub append_signature: bool,
    pub is_default: bool,
    pub built_in: bool,
    pub based_on: Option<TemplateId>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&EmailTemplate> for TemplateSummary {
    fn from(template: &EmailTemplate) -> Self {
        Self {
            id: template.id,
            artist_id: template.artist_id,
            contact_role: template.contact_role,
            name: template.name.clone(),
            language: template.language,
            subject_template: template.subject_template.clone(),
            variables: template.variables.clone(),
            append_signature: template.append_signature,
            is_default: template.is_default,
            built_in: template.built_in,
            based_on: template.based_on,
            updated_at: template.updated_at,
            version: template.version,
        }
    }
}

/// One user's signature for one team of one artist: sanitized HTML, safe to place in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Signature {
    pub artist_id: ArtistId,
    pub contact_role: ContactRole,
    pub user: UserId,
    pub html: String,
    pub updated_at: DateTime<Utc>,
}
