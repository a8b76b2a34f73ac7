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

/// What an artist's audit trail is filtered by (all optional but the artist and times).
pub struct TrailQuery<'a> {
    pub artist: ArtistId,
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
    pub target: Option<&'a str>,
    /// Sort keys bounding the time range (`AUDIT#{uuid v7}` sorts as time).
    pub from_sk: String,
    pub to_sk: String,
    pub limit: usize,
    pub after: Option<crate::cursor::Position>,
}

/// Queries read per page at most: a rare filter over a long trail answers a short page with a
/// cursor rather than scanning on.
const QUERIES_PER_PAGE: usize = 10;

/// One page of an artist's records, newest first: Query of its partition between the times,
/// the filters applied by DynamoDB; the next page starts after the last record returned.
pub async fn trail(
    app: &App,
    query: TrailQuery<'_>,
) -> Result<super::page::Page<AuditRecord>, ApiError> {
    let mut filters = Vec::new();
    let mut request = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.audit_table)
        .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
        .expression_attribute_values(":pk", AttributeValue::S(artist_pk(query.artist)))
        .expression_attribute_values(":from", AttributeValue::S(query.from_sk.clone()))
        .expression_attribute_values(":to", AttributeValue::S(query.to_sk.clone()))
        .scan_index_forward(false);
    for (name, value) in [
        ("actor", query.actor),
        ("action", query.action),
        ("target", query.target),
    ] {
        if let Some(value) = value {
            filters.push(format!("#{name} = :{name}"));
            request = request
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(
                    format!(":{name}"),
                    AttributeValue::S(value.to_owned()),
                );
        }
    }
    if !filters.is_empty() {
        request = request.filter_expression(filters.join(" AND "));
    }
    let mut records: Vec<(String, AuditRecord)> = Vec::new();
    let mut start = query.after.map(super::page::to_key);
    for _ in 0..QUERIES_PER_PAGE {
        let output = request
            .clone()
            .set_exclusive_start_key(start.take())
            .limit(i32::try_from(query.limit).unwrap_or(i32::MAX))
            .send()
            .await?;
        let items: Vec<AuditItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
        records.extend(items.into_iter().map(|item| (item.sk, item.record)));
        if records.len() >= query.limit {
            records.truncate(query.limit);
            let next = records.last().map(|(sk, _)| {
                crate::cursor::Position::from([
                    ("pk".to_owned(), artist_pk(query.artist)),
                    ("sk".to_owned(), sk.clone()),
                ])
            });
            return Ok(page(records, next));
        }
        match output.last_evaluated_key {
            Some(key) => start = Some(key),
            None => return Ok(page(records, None)),
        }
    }
    // Filtered out for many queries running: a short page, and where to go on.
    let next = start.map(super::page::from_key).transpose()?;
    Ok(page(records, next))
}

fn page(
    records: Vec<(String, AuditRecord)>,
    next: Option<crate::cursor::Position>,
) -> super::page::Page<AuditRecord> {
    super::page::Page {
        items: records.into_iter().map(|(_, record)| record).collect(),
        next,
    }
}
