//! Audit trail: who did what to which record, and when. Records name ids and changed field
//! names; they keep values only of fields that name nobody (a status, a campaign's subject),
//! never a person's (an address or a name would be personal data kept forever).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ArtistId, AuditId, ContactId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub enum AuditAction {
    #[serde(rename = "contact.created")]
    ContactCreated,
    #[serde(rename = "contact.updated")]
    ContactUpdated,
    #[serde(rename = "contact.deleted")]
    ContactDeleted,
    /// An address went on the suppression list: a hard bounce, a complaint, an unsubscribe, an
    /// erasure (the target is the list's keyed hash, shortened; the value is the reason).
    #[serde(rename = "address.suppressed")]
    AddressSuppressed,
    /// Everything held about a person was erased (the target is the erasure, the record says
    /// which contacts and how much, never the address).
    #[serde(rename = "person.erased")]
    PersonErased,
    #[serde(rename = "import.created")]
    ImportCreated,
    /// An import finished: its contacts were written (the target is the import).
    #[serde(rename = "contacts.imported")]
    ContactsImported,
    #[serde(rename = "template.created")]
    TemplateCreated,
    #[serde(rename = "template.updated")]
    TemplateUpdated,
    #[serde(rename = "template.deleted")]
    TemplateDeleted,
    #[serde(rename = "campaign.created")]
    CampaignCreated,
    #[serde(rename = "campaign.updated")]
    CampaignUpdated,
    #[serde(rename = "campaign.deleted")]
    CampaignDeleted,
    #[serde(rename = "campaign.send_started")]
    CampaignSendStarted,
    /// A scheduled campaign failed the readiness checks at its time: it is a draft again, with
    /// the reason (the actor is the service).
    #[serde(rename = "campaign.start_refused")]
    CampaignStartRefused,
    /// Every recipient was handed to SES (the actor is the service).
    #[serde(rename = "campaign.sent")]
    CampaignSent,
    #[serde(rename = "campaign.paused")]
    CampaignPaused,
    #[serde(rename = "campaign.resumed")]
    CampaignResumed,
    #[serde(rename = "campaign.cancelled")]
    CampaignCancelled,
    #[serde(rename = "campaign.scheduled")]
    CampaignScheduled,
    /// The A/B test of a campaign was decided: a winner or the fallback goes to the rest (the
    /// actor is the service).
    #[serde(rename = "campaign.ab_decided")]
    CampaignAbDecided,
    /// One email to one contact was queued (the target is the contact).
    #[serde(rename = "contact.emailed")]
    ContactEmailed,
    /// Test messages of the campaign were sent to addresses the caller gave.
    #[serde(rename = "campaign.test_sent")]
    CampaignTestSent,
    /// A sending domain was registered for the artist (the target names the domain).
    #[serde(rename = "domain.registered")]
    DomainRegistered,
    /// The artist's claim on a domain was proven (DNS) or approved (an administrator).
    #[serde(rename = "domain.verified")]
    DomainVerified,
    /// The domain's mail goes through another provider from now on (registered again with it).
    #[serde(rename = "domain.provider_changed")]
    DomainProviderChanged,
    #[serde(rename = "sender_profile.updated")]
    SenderProfileUpdated,
    /// A user saved their signature for a team (the target names team and user).
    #[serde(rename = "signature.updated")]
    SignatureUpdated,
    /// A reply was marked processed, assigned, or annotated (the target is the reply).
    #[serde(rename = "reply.updated")]
    ReplyUpdated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AuditRecord {
    pub id: AuditId,
    pub artist_id: ArtistId,
    pub actor: UserId,
    pub action: AuditAction,
    /// `{type}#{id}`, e.g. `contact#0190…`.
    pub target: String,
    /// Names of the fields the action changed.
    #[serde(default)]
    pub changed: Vec<String>,
    /// Before and after of the changed fields that name nobody (a status, a time zone, a
    /// campaign's name): a person's fields appear in `changed` only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueChange>,
    /// Where a test message went: the team's own mailboxes (see `sending::test_send`), the one
    /// kind of address an audit record names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erased>,
    /// The invocation that made the change (API Gateway's request id for an API call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// One field's value before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ValueChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// What an erasure deleted: the contacts by id, the rest counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Erased {
    pub contacts: Vec<ContactId>,
    pub sends: u64,
    /// Timeline events and the first-time marks of the person's messages.
    pub interactions: u64,
    /// Counter items that named the person: their contacts' and their individual emails'.
    pub counters: u64,
    pub replies: u64,
    /// Raw inbound messages of those replies.
    pub raw_messages: u64,
    /// One-to-one emails to the person (`POST …/contacts/{id}/emails`).
    pub individual_emails: u64,
    /// Entries of the contacts' consent ledgers.
    pub consent_entries: u64,
}

impl AuditRecord {
    pub fn new(
        artist_id: ArtistId,
        actor: &UserId,
        action: AuditAction,
        target: String,
        changed: Vec<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: AuditId::new(),
            artist_id,
            actor: actor.clone(),
            action,
            target,
            changed,
            recipients: Vec::new(),
            values: Vec::new(),
            erased: None,
            request_id: crate::request_id::current(),
            at,
        }
    }

    /// Keeps `field`'s value before and after; only for a field that names nobody.
    pub fn with_change(
        mut self,
        field: &str,
        before: impl Serialize,
        after: impl Serialize,
    ) -> Self {
        let (before, after) = (json(before), json(after));
        if before != after {
            self.values.push(ValueChange {
                field: field.to_owned(),
                before,
                after,
            });
        }
        self
    }

    /// Keeps the before and after of those of `fields` that differ between two versions of a
    /// record, as the API shows them; `fields` must name nobody.
    pub fn with_values(
        self,
        before: &impl Serialize,
        after: &impl Serialize,
        fields: &[&str],
    ) -> Self {
        let (before, after) = (json(before), json(after));
        fields.iter().fold(self, |record, field| {
            record.with_change(
                field,
                before.get(field).cloned().unwrap_or(Value::Null),
                after.get(field).cloned().unwrap_or(Value::Null),
            )
        })
    }

    pub fn contact(
        artist_id: ArtistId,
        actor: &UserId,
        action: AuditAction,
        contact: ContactId,
        changed: Vec<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self::new(
            artist_id,
            actor,
            action,
            contact_target(contact),
            changed,
            at,
        )
    }
}

fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub fn contact_target(contact: ContactId) -> String {
    format!("contact#{contact}")
}
