//! A tracked link of one sent message, kept on its send: where a click token's link id leads.

use serde::{Deserialize, Serialize};

/// The id a click token carries, and the URL it leads to (never a URL the request names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Link {
    pub id: u16,
    pub url: String,
}
