//! The consent ledger (GDPR art. 7(1): the controller must be able to demonstrate consent):
//! every basis a contact was given and every withdrawal, appended by whoever made it — a team
//! member through the API, an import, the person's unsubscribe — and never rewritten. The
//! contact's `consent` is the latest basis; the ledger is how it came to be.
//!
//! Which basis a team's bulk sends need is its [`ConsentPolicy`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Consent, ConsentBasis, ContactId, ContactRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentChange {
    /// A basis was recorded (or replaced by a newer one).
    Given,
    /// The person left: unsubscribed themselves, or a team member recorded that they objected.
    Withdrawn,
}

/// Who recorded an entry the person made themselves (an unsubscribe, a complaint).
pub const RECIPIENT: &str = "recipient";

/// One line of a contact's ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ConsentEntry {
    /// UUID v7: the ledger reads in time order.
    pub id: Uuid,
    pub contact_id: ContactId,
    pub change: ConsentChange,
    /// The basis given (none for a withdrawal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<ConsentBasis>,
    /// Where it happened: a form, an import's file, the unsubscribe link, a reply.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Value>,
    /// The version of the wording the person agreed to, as the collecting form names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording_version: Option<String>,
    /// Who recorded it: a user, `import:{id}`, or `recipient` for the person themselves.
    pub recorded_by: String,
    pub at: DateTime<Utc>,
}

impl ConsentEntry {
    pub fn given(contact: ContactId, consent: &Consent, recorded_by: impl Into<String>) -> Self {
        Self {
            id: Uuid::now_v7(),
            contact_id: contact,
            change: ConsentChange::Given,
            basis: Some(consent.basis),
            source: consent.source.clone(),
            proof: consent.proof.clone(),
            wording_version: consent.wording_version.clone(),
            recorded_by: recorded_by.into(),
            at: consent.recorded_at,
        }
    }

    pub fn withdrawn(
        contact: ContactId,
        source: impl Into<String>,
        recorded_by: impl Into<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            contact_id: contact,
            change: ConsentChange::Withdrawn,
            basis: None,
            source: source.into(),
            proof: None,
            wording_version: None,
            recorded_by: recorded_by.into(),
            at,
        }
    }
}

/// Which contacts a team's campaigns may go to, by the basis recorded for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentPolicy {
    /// Professional relations written to as such (press, tour, label, finance by default): a
    /// recorded basis is welcome, not required.
    NotRequired,
    /// A recorded basis of any kind: consent, contract, legal obligation, legitimate interest.
    AnyBasis,
    /// The person's own consent, recorded (marketing by default: ePrivacy asks it of marketing
    /// email to individuals).
    Consent,
}

impl ConsentPolicy {
    pub fn default_for(role: ContactRole) -> Self {
        match role {
            ContactRole::Marketing => Self::Consent,
            _ => Self::NotRequired,
        }
    }

    /// Whether a contact whose latest basis is `consent` may be written to.
    pub fn allows(self, consent: Option<&Consent>) -> bool {
        match (self, consent) {
            (Self::NotRequired, _) => true,
            (Self::AnyBasis, Some(_)) => true,
            (Self::Consent, Some(consent)) => consent.basis == ConsentBasis::Consent,
            (_, None) => false,
        }
    }

    /// Why a contact was skipped under this policy, for the campaign's readers.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::NotRequired => "the team's policy requires no recorded basis",
            Self::AnyBasis => "the team sends only to contacts with a recorded lawful basis",
            Self::Consent => {
                "the team sends only to contacts whose recorded basis is their consent"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(basis: ConsentBasis) -> Consent {
        Consent {
            basis,
            source: "form".into(),
            recorded_at: Utc::now(),
            proof: None,
            wording_version: None,
        }
    }

    #[test]
    fn each_policy_lets_through_exactly_the_bases_it_names() {
        use ConsentBasis::*;
        let cases: [(ConsentPolicy, Option<ConsentBasis>, bool); 12] = [
            (ConsentPolicy::NotRequired, None, true),
            (ConsentPolicy::NotRequired, Some(LegitimateInterest), true),
            (ConsentPolicy::NotRequired, Some(Consent), true),
            (ConsentPolicy::AnyBasis, None, false),
            (ConsentPolicy::AnyBasis, Some(LegitimateInterest), true),
            (ConsentPolicy::AnyBasis, Some(Contract), true),
            (ConsentPolicy::AnyBasis, Some(Consent), true),
            (ConsentPolicy::Consent, None, false),
            (ConsentPolicy::Consent, Some(LegitimateInterest), false),
            (ConsentPolicy::Consent, Some(Contract), false),
            (ConsentPolicy::Consent, Some(LegalObligation), false),
            (ConsentPolicy::Consent, Some(Consent), true),
        ];
        for (policy, basis, allowed) in cases {
            let consent = basis.map(with);
            assert_eq!(
                policy.allows(consent.as_ref()),
                allowed,
                "{policy:?} {basis:?}"
            );
        }
    }

    #[test]
    fn marketing_needs_consent_by_default_and_the_other_teams_nothing() {
        for role in ContactRole::ALL {
            let expected = if role == ContactRole::Marketing {
                ConsentPolicy::Consent
            } else {
                ConsentPolicy::NotRequired
            };
            assert_eq!(ConsentPolicy::default_for(role), expected, "{role}");
        }
    }
}
