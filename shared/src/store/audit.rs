//! Audit records in the audit table (layout in the module docs of `store`).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use crate::domain::ArtistId;
use crate::domain::AuditRecord;
use crate::{ApiError, App};

#[derive(Serialize, Deserialize)]
struct AuditItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    record: AuditRecord,
}

fn artist_pk(artist: ArtistId) -> String {
    format!("ARTIST#{artist}")
}

/// The write that records `record`, to join the transaction of the mutation it describes.
pub fn put(app: &App, record: AuditRecord) -> Result<TransactWriteItem, ApiError> {
    let item = AuditItem {
        pk: artist_pk(record.artist_id),
        sk: format!("AUDIT#{}", record.id),
        record,
    };
    let put = Put::builder()
        .table_name(&app.config.audit_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// One record's history, newest first.
pub async fn for_target(app: &App, target: &str, limit: i32) -> Result<Vec<AuditRecord>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.audit_table)
        .index_name("by_target")
        .key_condition_expression("target = :target")
        .expression_attribute_values(":target", AttributeValue::S(target.to_owned()))
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await?;
    let items: Vec<AuditItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
    Ok(items.into_iter().map(|item| item.record).collect())
}
