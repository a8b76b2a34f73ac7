//! Validated domain values. Once you hold one, it is valid: every constructor parses.

mod campaign;
mod contact;
mod email;
mod ids;
mod interaction;
mod role;
mod template;

pub use campaign::{
    CONDITION_FIELDS, Campaign, CampaignContent, CampaignCounters, CampaignKind, CampaignStatus,
    Condition, ConditionOp, Recipients, Sender,
};
pub use contact::{
    Consent, ConsentBasis, Contact, ContactFields, ContactSource, ContactStatus, EngagementSummary,
    Tags,
};
pub use email::{AddressParts, DomainName, EmailAddress, EmailError};
pub use ids::{ArtistId, AuditId, CampaignId, ContactId, IdError, ImportId, TemplateId, UserId};
pub use interaction::{Interaction, InteractionType, MachineReason};
pub use role::{ContactRole, UnknownRole};
pub use template::{EmailTemplate, Language, Signature, TemplateSummary};
