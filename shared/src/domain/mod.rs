//! Validated domain values. Once you hold one, it is valid: every constructor parses.

mod contact;
mod email;
mod ids;
mod role;

pub use contact::{
    Consent, ConsentBasis, Contact, ContactFields, ContactSource, ContactStatus, EngagementSummary,
    Tags,
};
pub use email::{AddressParts, EmailAddress, EmailError};
pub use ids::{ArtistId, AuditId, ContactId, IdError, ImportId, UserId};
pub use role::{ContactRole, UnknownRole};
