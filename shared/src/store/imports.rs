//! Import jobs, in the contacts table under the artist's partition (`sk` = `IMPORT#{id}`): read
//! by (artist, id), written with a version check, processed under a lease so two deliveries of
//! the same upload never run it at once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{TransactOutcome, contacts, team_list, transact};
use crate::domain::{ArtistId, ImportId};
use crate::domain::{ImportJob, ImportStatus};
use crate::{ApiError, App};

#[derive(Serialize, Deserialize)]
struct JobItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    job: ImportJob,
}

fn key(artist: ArtistId, id: ImportId) -> HashMap<String, AttributeValue> {
    team_list::key(team_list::artist_pk(artist), format!("IMPORT#{id}"))
}

fn item(job: &ImportJob) -> Result<HashMap<String, AttributeValue>, ApiError> {
    let item = JobItem {
        pk: team_list::artist_pk(job.artist_id),
        sk: format!("IMPORT#{}", job.id),
        job: job.clone(),
    };
    Ok(serde_dynamo::to_item(item)?)
}

pub async fn get(app: &App, artist: ArtistId, id: ImportId) -> Result<Option<ImportJob>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(artist, id)))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(serde_dynamo::from_item::<_, JobItem>(item)?.job)),
        None => Ok(None),
    }
}

/// The write of a new job, to join the transaction that audits it.
pub fn put_new(app: &App, job: &ImportJob) -> Result<TransactWriteItem, ApiError> {
    contacts::put(app, item(job)?, "attribute_not_exists(pk)", None)
}

/// The write replacing the job if its version is still `expected`.
pub fn put_existing(
    app: &App,
    job: &ImportJob,
    expected: u64,
) -> Result<TransactWriteItem, ApiError> {
    contacts::put(
        app,
        item(job)?,
        "version = :expected",
        Some(AttributeValue::N(expected.to_string())),
    )
}

/// Takes the job for one run until `until`, if it is waiting or being processed and nobody else
/// holds a live lease. Returns the job as taken, or `None` when it is not ours to run.
pub async fn lease(
    app: &App,
    artist: ArtistId,
    id: ImportId,
    until: DateTime<Utc>,
) -> Result<Option<ImportJob>, ApiError> {
    let Some(mut job) = get(app, artist, id).await? else {
        return Ok(None);
    };
    let now = Utc::now();
    let free = job.lease_until.is_none_or(|held| held < now);
    if !job.status.is_open() || !free {
        return Ok(None);
    }
    let expected = job.version;
    // A lease still set was never given back: the run that held it died.
    if job.lease_until.is_some() {
        job.interrupted_runs += 1;
    }
    job.version += 1;
    job.lease_until = Some(until);
    job.status = ImportStatus::Processing;
    job.updated_at = now;
    let taken = transact(app, vec![put_existing(app, &job, expected)?]).await?;
    Ok((taken == TransactOutcome::Written).then_some(job))
}
