//! Validated domain values. Once you hold one, it is valid: every constructor parses.

mod contact;
mod email;
mod ids;
mod role;
mod template;

pub use contact::{
    Consent, ConsentBasis, Contact, ContactFields, ContactSource, ContactStatus, EngagementSummary,
    Tags,
};
pub use email::{AddressParts, EmailAddress, EmailError};
pub use ids::{ArtistId, AuditId, ContactId, IdError, ImportId, TemplateId, UserId};
pub use role::{ContactRole, UnknownRole};
pub use template::{EmailTemplate, Language, Signature, TemplateSummary};
