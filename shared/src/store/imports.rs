//! Import jobs, in the contacts table under the artist's partition (`sk` = `IMPORT#{id}`): read
//! by (artist, id), written with a version check, processed under a lease so two deliveries of
//! the same upload never run it at once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{ArtistId, ImportId};
use crate::import_jobs::ImportJob;
use crate::{ApiError, App};

#[derive(Serialize, Deserialize)]
struct JobItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    job: ImportJob,
}

fn key(artist: ArtistId, id: ImportId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("ARTIST#{artist}")),
        ),
        ("sk".to_owned(), AttributeValue::S(format!("IMPORT#{id}"))),
    ])
}

fn item(job: &ImportJob) -> Result<HashMap<String, AttributeValue>, ApiError> {
    let item = JobItem {
        pk: format!("ARTIST#{}", job.artist_id),
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
pub fn put_new(
    app: &App,
    job: &ImportJob,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, ApiError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&app.config.contacts_table)
        .set_item(Some(item(job)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(put)
        .build())
}

/// The write replacing the job if its version is still `expected`.
pub fn put_existing(
    app: &App,
    job: &ImportJob,
    expected: u64,
) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, ApiError> {
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&app.config.contacts_table)
        .set_item(Some(item(job)?))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(aws_sdk_dynamodb::types::TransactWriteItem::builder()
        .put(put)
        .build())
}

/// Replaces the job if its version is still `expected`; `false` when someone else wrote it.
async fn replace(app: &App, job: &ImportJob, expected: u64) -> Result<bool, ApiError> {
    let result = app
        .aws
        .dynamodb
        .put_item()
        .table_name(&app.config.contacts_table)
        .set_item(Some(item(job)?))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
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
    job.version += 1;
    job.lease_until = Some(until);
    job.status = crate::import_jobs::ImportStatus::Processing;
    job.updated_at = now;
    Ok(replace(app, &job, expected).await?.then_some(job))
}
