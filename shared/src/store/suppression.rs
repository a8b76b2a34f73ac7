//! The suppression list (`SuppressionTable`, env `SUPPRESSION_TABLE`): addresses nobody may
//! write to again — hard bounces, complaints, global unsubscribes, erasures — and the opt-outs
//! of one artist or one team, which outlive the contact they were made from. Keyed by a keyed
//! hash of the normalized address (`hash`), so the list never holds an address in clear and
//! survives the erasure of the person it protects.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::SigningKey;
use crate::domain::{
    ArtistId, AuditAction, AuditRecord, ContactRole, ContactStatus, EmailAddress, UserId,
};
use crate::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    HardBounce,
    Complaint,
    GlobalUnsubscribe,
    Erasure,
    /// Unsubscribed from everything of one artist (the item's hash names the artist).
    ArtistUnsubscribe,
    /// Unsubscribed from one team of one artist (the item's hash names both).
    TeamUnsubscribe,
}

impl SuppressionReason {
    /// The status a contact of a suppressed address has, whatever a file or a caller says.
    pub fn contact_status(self) -> ContactStatus {
        match self {
            Self::HardBounce => ContactStatus::Bounced,
            _ => ContactStatus::Unsubscribed,
        }
    }
}

/// The keyed hashes under which one person's opt-outs are kept for one team: computed where the
/// address is known (dispatch, an individual email) and kept on the send, so an unsubscribe
/// link still works once the contact is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutKeys {
    pub team: String,
    pub artist: String,
    /// The address's own hash: how a reply from the person finds the sends made to them
    /// (`store::sends::latest_to`). Empty on sends made before it was kept.
    #[serde(default)]
    pub address: String,
}

impl OptOutKeys {
    pub fn of(
        app: &App,
        artist: ArtistId,
        role: ContactRole,
        email: &EmailAddress,
    ) -> Result<Self, ApiError> {
        let key = app.email_hash_key()?;
        Ok(Self {
            team: team_hash(key, artist, role, email),
            artist: artist_hash(key, artist, email),
            address: hash_of(key, email),
        })
    }
}

/// Which addresses of a lookup may not be written to, and why (the first reason found).
#[derive(Debug, Clone, Default)]
pub struct Suppressed(HashMap<String, SuppressionReason>);

impl Suppressed {
    /// Whether the normalized address is suppressed.
    pub fn contains(&self, normalized: &str) -> bool {
        self.0.contains_key(normalized)
    }

    pub fn reason(&self, normalized: &str) -> Option<SuppressionReason> {
        self.0.get(normalized).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SuppressionItem {
    hash: String,
    reason: SuppressionReason,
    at: DateTime<Utc>,
}

/// HMAC-SHA256 of the normalized address under the deployment's hash key, hex.
pub fn address_hash(app: &App, email: &EmailAddress) -> Result<String, ApiError> {
    Ok(hash_of(app.email_hash_key()?, email))
}

fn hash_of(key: &SigningKey, email: &EmailAddress) -> String {
    keyed_hash(key, &[b"suppression", email.normalized().as_bytes()])
}

/// The hash of the address within one artist: someone who left everything from that artist
/// (and only that artist).
fn artist_hash(key: &SigningKey, artist: ArtistId, email: &EmailAddress) -> String {
    keyed_hash(
        key,
        &[
            b"artist-unsubscribe",
            artist.to_string().as_bytes(),
            email.normalized().as_bytes(),
        ],
    )
}

/// The hash of the address within one team of one artist: someone who left that team's list.
fn team_hash(
    key: &SigningKey,
    artist: ArtistId,
    role: ContactRole,
    email: &EmailAddress,
) -> String {
    keyed_hash(
        key,
        &[
            b"team-unsubscribe",
            artist.to_string().as_bytes(),
            role.as_str().as_bytes(),
            email.normalized().as_bytes(),
        ],
    )
}

fn keyed_hash(key: &SigningKey, parts: &[&[u8]]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts any key length");
    for part in parts {
        // NUL-separated: no two lists of parts hash alike.
        mac.update(part);
        mac.update(b"\0");
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Who a suppression is recorded for in the audit trail: the artist whose message or request
/// caused it, and the actor (the service, or the user who erased someone). `None`: a test
/// message's address, which belongs to no artist's list.
pub type Recorder<'a> = Option<(ArtistId, &'a UserId)>;

/// Adds the address to the list (idempotent: the first reason stays).
pub async fn suppress(
    app: &App,
    recorder: Recorder<'_>,
    email: &EmailAddress,
    reason: SuppressionReason,
) -> Result<(), ApiError> {
    put(app, recorder, address_hash(app, email)?, reason).await
}

/// Keeps one team (`scope` Team) or every team of the artist from writing to the person again,
/// by the keys their send carries: the person's contact may be gone, their choice stays.
pub async fn opt_out(
    app: &App,
    recorder: Recorder<'_>,
    keys: &OptOutKeys,
    artist_wide: bool,
) -> Result<(), ApiError> {
    put(
        app,
        recorder,
        keys.team.clone(),
        SuppressionReason::TeamUnsubscribe,
    )
    .await?;
    if artist_wide {
        put(
            app,
            recorder,
            keys.artist.clone(),
            SuppressionReason::ArtistUnsubscribe,
        )
        .await?;
    }
    Ok(())
}

/// Keeps every team of the artist from writing to an erased person again: the one trace of
/// them left is this keyed hash.
pub async fn erased(
    app: &App,
    actor: &UserId,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    put(
        app,
        Some((artist, actor)),
        artist_hash(app.email_hash_key()?, artist, email),
        SuppressionReason::Erasure,
    )
    .await
}

/// The item, written once (the first reason stays), with its audit record in the same
/// transaction when it is recorded for an artist.
async fn put(
    app: &App,
    recorder: Recorder<'_>,
    hash: String,
    reason: SuppressionReason,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let audit = recorder.map(|(artist, actor)| {
        AuditRecord::new(
            artist,
            actor,
            AuditAction::AddressSuppressed,
            format!("suppression#{}", &hash[..16]),
            vec!["reason".to_owned()],
            now,
        )
        .with_change("reason", (), reason)
    });
    let item = SuppressionItem {
        hash,
        reason,
        at: now,
    };
    let put = Put::builder()
        .table_name(&app.config.suppression_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression("attribute_not_exists(#hash)")
        .expression_attribute_names("#hash", "hash")
        .build()
        .map_err(ApiError::internal)?;
    let mut writes = vec![TransactWriteItem::builder().put(put).build()];
    if let Some(audit) = audit {
        writes.push(super::audit::put(app, audit)?);
    }
    // Its condition failing: suppressed before, nothing changes and nothing is recorded.
    super::transact(app, writes).await.map(|_| ())
}

/// Which of `emails` the `role` team of `artist` may not write to, by normalized address:
/// suppressed for everyone, unsubscribed from everything of this artist, or from this team.
/// One BatchGetItem per 33 addresses (three keys each).
pub async fn suppressed(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    emails: &[&EmailAddress],
) -> Result<Suppressed, ApiError> {
    let key = app.email_hash_key()?;
    let by_hash: HashMap<String, &str> = emails
        .iter()
        .flat_map(|email| {
            [
                (hash_of(key, email), email.normalized()),
                (artist_hash(key, artist, email), email.normalized()),
                (team_hash(key, artist, role, email), email.normalized()),
            ]
        })
        .collect();
    let keys = by_hash
        .keys()
        .map(|hash| HashMap::from([("hash".to_owned(), AttributeValue::S(hash.clone()))]))
        .collect();
    let items = super::batch::get_many(app, &app.config.suppression_table, keys).await?;
    let items: Vec<SuppressionItem> = serde_dynamo::from_items(items)?;
    let mut found = HashMap::new();
    for item in items {
        if let Some(email) = by_hash.get(&item.hash) {
            found.entry((*email).to_owned()).or_insert(item.reason);
        }
    }
    Ok(Suppressed(found))
}
