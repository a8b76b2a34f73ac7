//! The Lambda handlers of ArtistHub Mailing: one plain `async fn(&App, Event)` per endpoint or
//! trigger, callable from tests and from the local gateway exactly as Lambda calls them.
//!
//! Find an endpoint in one step: [`routes::ROUTES`] names its function; the handler is in the
//! module of its resource (`contacts.rs`); the service it calls is in `mailing`.

pub mod ab_tests;
pub mod analytics;
pub mod audit;
pub mod campaigns;
pub mod contacts;
#[cfg(feature = "openapi")]
pub mod contract;
pub mod conversions;
pub mod custom_resource;
pub mod domains;
pub mod emails;
pub mod erasure;
pub mod exports;
pub mod history;
pub mod http;
pub mod imports;
pub mod replies;
pub mod routes;
pub mod runtime;
pub mod sender_profiles;
pub mod sending;
pub mod signatures;
pub mod sync;
pub mod templates;
pub mod tracking;
pub mod webhooks;
