//! An artist's claim on a sending domain. SES identities are account-wide, so SES saying a
//! domain is verified proves only that *someone* published its DKIM records: which artist may
//! send from it is proven separately, per artist, by a TXT record only the domain's owner can
//! publish, or by an administrator's approval.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ArtistId, DomainName, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProofMethod {
    /// The artist's TXT record was found in the domain's DNS.
    Dns,
    /// A `mailing:admin` approved the claim (a label's domain shared by its artists, say).
    Admin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct DomainProof {
    pub method: ProofMethod,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// Who carries an artist's messages from a domain: SES (the default), or another provider over
/// its HTTP API (`crate::mailers`), with its events through its webhook (`crate::webhooks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SendingProvider {
    #[default]
    Ses,
    Sendgrid,
    Mailgun,
    Postmark,
}

impl SendingProvider {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ses => "SES",
            Self::Sendgrid => "SendGrid",
            Self::Mailgun => "Mailgun",
            Self::Postmark => "Postmark",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainClaim {
    pub domain: DomainName,
    pub artist_id: ArtistId,
    /// `None` until the claim is proven: nothing is sent from the domain for this artist before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<DomainProof>,
    pub registered_by: UserId,
    pub registered_at: DateTime<Utc>,
    /// Chosen when the domain is claimed.
    #[serde(default)]
    pub provider: SendingProvider,
}
