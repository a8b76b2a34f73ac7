//! Conversions (`ConversionsTable`; layout and access patterns in the module docs of `store`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::sends::{self, Send};
use super::stats::Changes;
use super::{TransactOutcome, transact};
use crate::domain::{ArtistId, Conversion, ConversionId};
use crate::{ApiError, App};

#[derive(Serialize, Deserialize)]
struct ConversionItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    conversion: Conversion,
}

fn key(artist: ArtistId, id: &ConversionId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("ARTIST#{artist}")),
        ),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("CONVERSION#{}", id.as_str())),
        ),
    ])
}

/// How writing a conversion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Written,
    /// A conversion of this id was there already: nothing was written.
    Duplicate,
    /// Another conversion of the same message was recorded first: write it again without
    /// marking the message converted.
    NotFirst,
}

/// Writes `conversion` with the counters it adds, in one transaction; when `first_of` is the
/// send, the send is marked converted in the same transaction (and `changes` must count it).
pub async fn put(
    app: &App,
    conversion: &Conversion,
    changes: &Changes,
    first_of: Option<&Send>,
) -> Result<Written, ApiError> {
    let item = serde_dynamo::to_item(ConversionItem {
        pk: format!("ARTIST#{}", conversion.artist_id),
        sk: format!("CONVERSION#{}", conversion.id.as_str()),
        conversion: conversion.clone(),
    })?;
    let put = Put::builder()
        .table_name(&app.config.conversions_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    let mut writes = vec![TransactWriteItem::builder().put(put).build()];
    if let Some(send) = first_of {
        writes.push(sends::mark_converted(app, send, conversion.at)?);
    }
    writes.extend(changes.updates(app)?);
    match transact(app, writes).await? {
        TransactOutcome::Written => Ok(Written::Written),
        TransactOutcome::ConditionFailed(failed) if failed.contains(&0) => Ok(Written::Duplicate),
        TransactOutcome::ConditionFailed(_) => Ok(Written::NotFirst),
    }
}

pub async fn get(
    app: &App,
    artist: ArtistId,
    id: &ConversionId,
) -> Result<Option<Conversion>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.conversions_table)
        .set_key(Some(key(artist, id)))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, ConversionItem>(item)?.conversion,
        )),
        None => Ok(None),
    }
}
