//! The consent ledger, in the contacts table beside the contacts (layout in this module's parent
//! docs): one item per entry, written with `attribute_not_exists` in the transaction of the
//! change it records, never updated; read by contact, oldest first.

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::team_list::artist_pk;
use crate::domain::{ArtistId, ConsentEntry, ContactId};
use crate::{ApiError, App};

#[derive(Serialize, Deserialize)]
struct EntryItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    entry: ConsentEntry,
}

fn prefix(contact: ContactId) -> String {
    format!("CONSENT#{contact}#")
}

/// The entry, appended: for the transaction of the change it records.
pub fn append(
    app: &App,
    artist: ArtistId,
    entry: &ConsentEntry,
) -> Result<TransactWriteItem, ApiError> {
    let item = EntryItem {
        pk: artist_pk(artist),
        sk: format!("{}{}", prefix(entry.contact_id), entry.id),
        entry: entry.clone(),
    };
    let put = Put::builder()
        .table_name(&app.config.contacts_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression("attribute_not_exists(sk)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn of_contact(app: &App, artist: ArtistId, contact: ContactId) -> super::batch::Query {
    app.aws
        .dynamodb
        .query()
        .table_name(&app.config.contacts_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(artist_pk(artist)))
        .expression_attribute_values(":prefix", AttributeValue::S(prefix(contact)))
        .consistent_read(true)
}

/// A contact's ledger, oldest first.
pub async fn history(
    app: &App,
    artist: ArtistId,
    contact: ContactId,
) -> Result<Vec<ConsentEntry>, ApiError> {
    let items = super::batch::query_all(of_contact(app, artist, contact)).await?;
    let items: Vec<EntryItem> = serde_dynamo::from_items(items)?;
    Ok(items.into_iter().map(|item| item.entry).collect())
}

/// Deletes the ledgers of `contacts` (an erasure): answers how many entries.
pub async fn erase(app: &App, artist: ArtistId, contacts: &[ContactId]) -> Result<usize, ApiError> {
    let mut keys = Vec::new();
    for contact in contacts {
        let query = of_contact(app, artist, *contact).projection_expression("pk, sk");
        keys.extend(super::batch::query_all(query).await?);
    }
    super::batch::delete_many(app, &app.config.contacts_table, keys).await
}
