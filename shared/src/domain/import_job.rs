//! An import job as it is stored: the file a team asked to import, where the run stands (its
//! checkpoint and lease), the report, and why it failed if it did.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ArtistId, ConsentBasis, ContactRole, ImportId, UserId};
use crate::import::{ImportReport, Target};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    AwaitingUpload,
    Processing,
    Completed,
    Failed,
    /// A sync whose provider refused the credential (expired or revoked): sync again with a
    /// fresh one. What earlier pages brought stays.
    CredentialRejected,
}

impl ImportStatus {
    pub fn is_open(self) -> bool {
        matches!(self, Self::AwaitingUpload | Self::Processing)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ImportFailure {
    pub code: String,
    pub message: String,
}

/// The consent the team states for the whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ImportConsent {
    pub basis: ConsentBasis,
    pub source: String,
    pub proof: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportJob {
    pub id: ImportId,
    pub artist_id: ArtistId,
    pub contact_role: ContactRole,
    pub file_name: String,
    pub consent: ImportConsent,
    #[serde(default)]
    pub mapping: BTreeMap<String, Target>,
    pub sheet: Option<String>,
    pub dry_run: bool,
    pub status: ImportStatus,
    /// The checkpoint: data records already applied.
    pub records_read: u64,
    pub report: ImportReport,
    pub error_report_key: Option<String>,
    pub failure: Option<ImportFailure>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    pub lease_until: Option<DateTime<Utc>>,
    /// Runs that took the lease and never gave it back: the worker died reading the file (out
    /// of memory, out of time). Counted when the next run takes the expired lease.
    #[serde(default)]
    pub interrupted_runs: u32,
    /// Set when the job is a sync from another system rather than a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<super::SyncState>,
}
