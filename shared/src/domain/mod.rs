//! Validated domain values. Once you hold one, it is valid: every constructor parses.

mod ab_test;
mod audit;
mod campaign;
mod consent;
mod contact;
mod conversion;
mod counter;
mod email;
mod ids;
mod import_job;
mod interaction;
mod link;
mod reply;
mod role;
mod sender_domain;
mod sender_profile;
mod stored_json;
mod sync;
mod template;

pub use ab_test::{
    AbDecision, AbMetric, AbMode, AbOutcome, AbTest, Variant, VariantEvidence, VariantIndex,
};
pub use audit::{AuditAction, AuditRecord, Erased, contact_target};
pub use campaign::{
    ArtistIdentity, BestTimeWindow, CONDITION_FIELDS, Campaign, CampaignContent, CampaignCounters,
    CampaignKind, CampaignStatus, Condition, ConditionOp, FrozenContent, FrozenVariant,
    MessageSources, Recipients, Sender,
};
pub use consent::{ConsentChange, ConsentEntry, ConsentPolicy, RECIPIENT};
pub use contact::{
    Consent, ConsentBasis, Contact, ContactFields, ContactSource, ContactStatus, EngagementSummary,
    Tags,
};
pub use conversion::{
    AttributedBy, Attribution, Conversion, ConversionId, ConversionKind, Currency, Money,
};
pub use counter::Counter;
pub use email::{AddressParts, DomainName, EmailAddress, EmailError};
pub use ids::{
    ArtistId, AuditId, CampaignId, ContactId, IdError, ImportId, ReplyId, TemplateId, UserId,
};
pub use import_job::{ImportConsent, ImportFailure, ImportJob, ImportStatus};
pub use interaction::{Interaction, InteractionType, MachineReason};
pub use link::Link;
pub use reply::{
    Attachment, Classification, MatchedBy, Reply, ReplyKind, ReplyMetadata, Verdict, Verdicts,
};
pub use role::{ContactRole, UnknownRole};
pub use sender_domain::{DomainClaim, DomainProof, ProofMethod, SendingProvider};
pub use sender_profile::{
    DEFAULT_TIME_ZONE, DISPLAY_NAME_MAX, POSTAL_ADDRESS_MAX, ReplyHandling, SenderProfile,
    profile_text, time_zone,
};
pub use stored_json::storable;
pub use sync::{SyncMode, SyncPosition, SyncProvider, SyncState, SyncSummary};
pub use template::{EmailTemplate, Language, Signature, TemplateSummary};
