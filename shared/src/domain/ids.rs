//! Identifiers. Ours are UUID v7 (time-ordered, so keys sort by creation); artist ids come from
//! the CRM and may be any UUID; user ids are the identity provider's `sub`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid {kind} id (a UUID is expected)")]
pub struct IdError {
    pub kind: &'static str,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                // Only the hyphenated form: one spelling per id keeps keys and cursors canonical.
                if s.len() != 36 {
                    return Err(IdError { kind: $kind });
                }
                Uuid::try_parse(s)
                    .map(|uuid| Self(uuid))
                    .map_err(|_| IdError { kind: $kind })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

uuid_id!(
    /// An artist of the CRM: the tenant every record belongs to.
    ArtistId,
    "artist"
);
uuid_id!(
    /// A contact of one artist's team.
    ContactId,
    "contact"
);
uuid_id!(
    /// One import of a file into a team's contacts.
    ImportId,
    "import"
);
uuid_id!(
    /// An email template: a built-in default or one of an artist's own.
    TemplateId,
    "template"
);
uuid_id!(
    /// A campaign of one artist's team.
    CampaignId,
    "campaign"
);
uuid_id!(
    /// One audit record.
    AuditId,
    "audit"
);
uuid_id!(
    /// One message received on the reply domain (derived from where SES stored it, so a
    /// replayed notification names the same reply).
    ReplyId,
    "reply"
);

/// The authenticated user, as the identity provider names them (the token's `sub`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    pub fn new(sub: impl Into<String>) -> Self {
        Self(sub.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_sort_by_creation() {
        let first = ContactId::new();
        let second = ContactId::new();
        assert_eq!(first.as_uuid().get_version_num(), 7);
        assert!(first.to_string() < second.to_string());
    }

    #[test]
    fn ids_parse_only_from_the_hyphenated_form() {
        let id = ContactId::new();
        assert_eq!(id.to_string().parse::<ContactId>(), Ok(id));
        for bad in [
            "",
            "42",
            "not-a-uuid",
            &id.as_uuid().simple().to_string(),
            "{00000000-0000-0000-0000-000000000000}",
        ] {
            assert!(
                bad.parse::<ContactId>().is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
