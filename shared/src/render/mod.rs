//! The message renderer: template → personalization → signature → link tracking and open
//! pixel → text part → MIME. Everything that parses HTML happens once per template
//! ([`compose`]); a recipient costs one MiniJinja render of each part, a few HMACs and the MIME
//! assembly ([`MessageTemplate::render`], [`MessageTemplate::mime`]).

pub mod checks;
pub mod compose;
pub mod language;
mod message;
pub mod mime;
mod preview;
pub mod sanitize;
mod tags;
pub mod tokens;

pub use language::TemplateProblem;
pub use message::{
    Addressing, ArtistVars, CampaignVars, ContactVars, MAX_PART_BYTES, MessageTemplate, Recipient,
    Rendered, SenderVars, Shared, TemplateSource, Tracking, Utm, over_budget,
};
pub use mime::Mailbox;
pub use preview::{Header, Preview, PreviewError, PreviewInput, preview};
pub use tags::{MessageIds, MessageTag, feedback_id, message_tags};
pub use tokens::{Token, TokenKind, TokenSigner};
