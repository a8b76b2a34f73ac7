//! Contacts' timelines and the marks that make "first" counts exact (layout in `store`'s docs).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::page::{Page, PartitionQuery, of_partition};
use crate::cursor::Position;
use crate::domain::{ContactId, Interaction};
use crate::{ApiError, App};

#[derive(Serialize, Deserialize)]
struct InteractionItem {
    pk: String,
    sk: String,
    artist_pk: String,
    /// When DynamoDB's TTL removes the event (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(flatten)]
    interaction: Interaction,
}

fn contact_pk(contact: ContactId) -> String {
    format!("CONTACT#{contact}")
}

/// Milliseconds, fixed width: the sort key orders by time as text.
fn timeline_sk(interaction: &Interaction) -> String {
    format!(
        "T#{}#{}",
        interaction.created_at.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        interaction.id
    )
}

fn conditional_put(
    app: &App,
    item: HashMap<String, AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.interactions_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The interaction, written only if it is not there yet: its condition failing means the event
/// was recorded before.
pub fn put_new(app: &App, interaction: &Interaction) -> Result<TransactWriteItem, ApiError> {
    let item = InteractionItem {
        pk: contact_pk(interaction.contact_id),
        sk: timeline_sk(interaction),
        artist_pk: format!("ARTIST#{}", interaction.artist_id),
        expires_at: Some(crate::config::Retention::expires_at(
            interaction.created_at,
            app.config.retention.interactions_days,
        )),
        interaction: interaction.clone(),
    };
    conditional_put(app, serde_dynamo::to_item(item)?)
}

/// The mark that `what` happened to the send for the first time (`open`, `click`,
/// `click#3`): its condition failing means it had happened before. It lives as long as a send
/// row from now: past that, the send is gone and its events count nowhere.
pub fn first_mark(app: &App, send: Uuid, what: &str) -> Result<TransactWriteItem, ApiError> {
    let expires =
        crate::config::Retention::expires_at(chrono::Utc::now(), app.config.retention.sends_days);
    let item = HashMap::from([
        ("pk".to_owned(), AttributeValue::S(format!("SEND#{send}"))),
        ("sk".to_owned(), AttributeValue::S(format!("FIRST#{what}"))),
        (
            "expires_at".to_owned(),
            AttributeValue::N(expires.to_string()),
        ),
    ]);
    conditional_put(app, item)
}

/// A contact's interactions, newest first.
pub async fn timeline(
    app: &App,
    contact: ContactId,
    limit: usize,
    after: Option<Position>,
) -> Result<Page<Interaction>, ApiError> {
    let page: Page<InteractionItem> = of_partition(
        app,
        PartitionQuery {
            table: &app.config.interactions_table,
            pk: contact_pk(contact),
            sk_prefix: "T#",
            descending: true,
            limit,
            after,
        },
    )
    .await?;
    Ok(page.map(|item| item.interaction))
}

/// Every interaction of `contact`, for an erasure: which messages the person got, whatever
/// their address was then.
pub async fn all_of(app: &App, contact: ContactId) -> Result<Vec<Interaction>, ApiError> {
    let query = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.interactions_table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(contact_pk(contact)))
        .consistent_read(true);
    let items: Vec<InteractionItem> =
        serde_dynamo::from_items(super::batch::query_all(query).await?)?;
    Ok(items.into_iter().map(|item| item.interaction).collect())
}

/// Deletes the timelines of `contacts` and the first-time marks of `sends` (an erasure):
/// answers how many items.
pub async fn erase(app: &App, contacts: &[ContactId], sends: &[Uuid]) -> Result<usize, ApiError> {
    let table = &app.config.interactions_table;
    let partitions: Vec<String> = contacts
        .iter()
        .map(|contact| contact_pk(*contact))
        .chain(sends.iter().map(|send| format!("SEND#{send}")))
        .collect();
    super::batch::delete_partitions(app, table, partitions).await
}
