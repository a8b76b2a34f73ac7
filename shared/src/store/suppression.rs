//! The suppression list (`SuppressionTable`, env `SUPPRESSION_TABLE`): addresses nobody may
//! write to again — hard bounces, complaints, global unsubscribes, erasures. Keyed by a keyed
//! hash of the normalized address (`hash`), so the list never holds an address in clear and
//! survives the erasure of the person it protects.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::{ArtistId, EmailAddress};
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SuppressionItem {
    hash: String,
    reason: SuppressionReason,
    at: DateTime<Utc>,
}

/// HMAC-SHA256 of the normalized address under the deployment's hash key, hex.
pub fn address_hash(app: &App, email: &EmailAddress) -> String {
    keyed_hash(app, &[b"suppression", email.normalized().as_bytes()])
}

/// The hash of the address within one artist: someone who left everything from that artist
/// (and only that artist).
fn artist_hash(app: &App, artist: ArtistId, email: &EmailAddress) -> String {
    keyed_hash(
        app,
        &[
            b"artist-unsubscribe",
            artist.to_string().as_bytes(),
            email.normalized().as_bytes(),
        ],
    )
}

fn keyed_hash(app: &App, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app.config.email_hash_key.as_bytes())
        .expect("HMAC accepts any key length");
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

/// Adds the address to the list (idempotent: the first reason stays).
pub async fn suppress(
    app: &App,
    email: &EmailAddress,
    reason: SuppressionReason,
) -> Result<(), ApiError> {
    put(app, address_hash(app, email), reason).await
}

/// Keeps `artist`'s teams, all of them, from writing to the address again.
pub async fn suppress_for_artist(
    app: &App,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    put(
        app,
        artist_hash(app, artist, email),
        SuppressionReason::ArtistUnsubscribe,
    )
    .await
}

async fn put(app: &App, hash: String, reason: SuppressionReason) -> Result<(), ApiError> {
    let item = SuppressionItem {
        hash,
        reason,
        at: Utc::now(),
    };
    let result = app
        .aws
        .dynamodb
        .put_item()
        .table_name(&app.config.suppression_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression("attribute_not_exists(#hash)")
        .expression_attribute_names("#hash", "hash")
        .send()
        .await;
    super::done_unless_failed(result)
}

/// Which of `emails` `artist` may not write to, by normalized address: suppressed for
/// everyone, or unsubscribed from everything of this artist. One BatchGetItem per 50
/// addresses.
pub async fn suppressed(
    app: &App,
    artist: ArtistId,
    emails: &[&EmailAddress],
) -> Result<HashSet<String>, ApiError> {
    let by_hash: HashMap<String, &str> = emails
        .iter()
        .flat_map(|email| {
            [
                (address_hash(app, email), email.normalized()),
                (artist_hash(app, artist, email), email.normalized()),
            ]
        })
        .collect();
    let keys = by_hash
        .keys()
        .map(|hash| HashMap::from([("hash".to_owned(), AttributeValue::S(hash.clone()))]))
        .collect();
    let items = super::batch::get_many(app, &app.config.suppression_table, keys).await?;
    let items: Vec<SuppressionItem> = serde_dynamo::from_items(items)?;
    Ok(items
        .iter()
        .filter_map(|item| by_hash.get(&item.hash))
        .map(|email| (*email).to_owned())
        .collect())
}
