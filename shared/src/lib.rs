//! ArtistHub Mailing: the domain, its services and the AWS adapters they use.
//!
//! Nothing in this crate knows about Lambda or HTTP framing: handlers in `functions` parse
//! requests into the types defined here, call a service, and map the result.

pub mod ab;
pub mod analytics;
pub mod app;
pub mod audit_trail;
pub mod auth;
pub mod aws;
pub mod campaigns;
pub mod config;
pub mod contacts;
pub mod contacts_import;
pub mod conversions;
pub mod cursor;
pub mod dns;
pub mod domain;
pub mod erasure;
pub mod error;
pub mod https;
pub mod import;
pub mod import_jobs;
pub mod mailers;
pub mod portability;
pub mod provider_keys;
pub mod render;
pub mod replies;
pub mod request_id;
pub mod secrets;
pub mod send_time;
pub mod sender_domains;
pub mod sender_profiles;
pub mod sending;
pub mod signatures;
pub mod store;
pub mod sync;
pub mod sync_jobs;
pub mod templates;
pub mod tracking;
pub mod webhooks;

pub use app::App;
pub use error::{ApiError, FieldError};
