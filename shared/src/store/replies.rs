//! Replies (`RepliesTable`, env `REPLIES_TABLE`; layout in this module's parent docs).
//!
//! A reply's id derives from where SES stored the message, and it is created with
//! `attribute_not_exists`: however often the notification comes, one row. An unassigned
//! reply (it matched nothing we sent) lives in the `UNASSIGNED` partition, for administrators.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::page::{Page, from_key, to_key};
use super::suppression::address_hash;
use crate::cursor::Position;
use crate::domain::{ArtistId, ContactId, ContactRole, EmailAddress, Reply, ReplyId};
use crate::{ApiError, App};

pub const BY_STATE_INDEX: &str = "by_state";
const BY_SENDER_INDEX: &str = "by_sender";
const BY_CONTACT_INDEX: &str = "by_contact";

/// Whose replies: one artist's, or those nobody's message explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Artist(ArtistId),
    Unassigned,
}

impl Owner {
    pub fn of(reply: &Reply) -> Self {
        reply.artist_id.map_or(Self::Unassigned, Self::Artist)
    }

    fn pk(self) -> String {
        match self {
            Self::Artist(artist) => format!("ARTIST#{artist}"),
            Self::Unassigned => "UNASSIGNED".to_owned(),
        }
    }

    fn state_pk(self, processed: bool) -> String {
        format!("{}#{}", self.pk(), u8::from(processed))
    }
}

#[derive(Serialize, Deserialize)]
struct ReplyItem {
    pk: String,
    sk: String,
    state_pk: String,
    state_sk: String,
    /// The `by_sender` index's key, for an artist's reply from an address: `{pk}#{address
    /// hash}` (an erasure by address finds the person's replies, their contact gone or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sender_pk: Option<String>,
    /// The `by_contact` index's key: `CONTACT#{contact_id}` (an erasure of a contact also finds
    /// what a colleague wrote on their behalf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact_pk: Option<String>,
    /// When DynamoDB's TTL removes the reply (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(flatten)]
    reply: Reply,
}

fn sk(id: ReplyId) -> String {
    format!("REPLY#{id}")
}

fn to_item(app: &App, reply: &Reply) -> Result<HashMap<String, AttributeValue>, ApiError> {
    let owner = Owner::of(reply);
    Ok(serde_dynamo::to_item(ReplyItem {
        expires_at: Some(crate::config::Retention::expires_at(
            reply.received_at,
            app.config.retention.replies_days,
        )),
        pk: owner.pk(),
        sk: sk(reply.id),
        state_pk: owner.state_pk(reply.processed),
        state_sk: format!(
            "{:013}#{}",
            reply.received_at.timestamp_millis().max(0),
            reply.id
        ),
        sender_pk: match (owner, sender(reply)) {
            (Owner::Artist(_), Some(from)) => Some(sender_pk(owner, &address_hash(app, &from)?)),
            _ => None,
        },
        contact_pk: reply.contact_id.map(contact_pk),
        reply: reply.clone(),
    })?)
}

fn sender(reply: &Reply) -> Option<EmailAddress> {
    EmailAddress::parse(reply.from_address.as_deref()?).ok()
}

fn sender_pk(owner: Owner, address_hash: &str) -> String {
    format!("{}#{address_hash}", owner.pk())
}

fn contact_pk(contact: ContactId) -> String {
    format!("CONTACT#{contact}")
}

/// Every reply of `artist` from the address of `address_hash` or on one of `contacts` (an
/// erasure's list): a Query per index key, then the rows.
pub async fn of_person(
    app: &App,
    artist: ArtistId,
    contacts: &[ContactId],
    address_hash: &str,
) -> Result<Vec<Reply>, ApiError> {
    let owner = Owner::Artist(artist);
    let lookups = contacts
        .iter()
        .map(|contact| (BY_CONTACT_INDEX, "contact_pk", contact_pk(*contact)))
        .chain([(BY_SENDER_INDEX, "sender_pk", sender_pk(owner, address_hash))])
        .collect::<Vec<_>>();
    let mut keys: Vec<HashMap<String, AttributeValue>> = Vec::new();
    for (index, attribute, value) in lookups {
        let query = app
            .aws
            .dynamodb
            .query()
            .table_name(&app.config.replies_table)
            .index_name(index)
            .key_condition_expression("#key = :value")
            .expression_attribute_names("#key", attribute)
            .expression_attribute_values(":value", AttributeValue::S(value));
        for item in super::batch::query_all(query).await? {
            let key: HashMap<String, AttributeValue> = item
                .into_iter()
                .filter(|(name, _)| name == "pk" || name == "sk")
                .collect();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    let items = super::batch::get_many(app, &app.config.replies_table, keys).await?;
    let items: Vec<ReplyItem> = serde_dynamo::from_items(items)?;
    Ok(items.into_iter().map(|item| item.reply).collect())
}

/// Deletes the rows of `replies` (an erasure): answers how many.
pub async fn delete_many(app: &App, replies: &[Reply]) -> Result<usize, ApiError> {
    let keys = replies
        .iter()
        .map(|reply| super::team_list::key(Owner::of(reply).pk(), sk(reply.id)))
        .collect();
    super::batch::delete_many(app, &app.config.replies_table, keys).await
}

/// Stores a new reply; `false` when it was stored before (a replayed notification).
pub async fn create(app: &App, reply: &Reply) -> Result<bool, ApiError> {
    let result = app
        .aws
        .dynamodb
        .put_item()
        .table_name(&app.config.replies_table)
        .set_item(Some(to_item(app, reply)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    super::written(result)
}

pub async fn get(app: &App, owner: Owner, id: ReplyId) -> Result<Option<Reply>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.replies_table)
        .set_key(Some(super::team_list::key(owner.pk(), sk(id))))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(serde_dynamo::from_item::<_, ReplyItem>(item)?.reply)),
        None => Ok(None),
    }
}

/// The whole row written over the version read (`reply.version` is the new one).
pub fn replace(app: &App, reply: &Reply) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.replies_table)
        .set_item(Some(to_item(app, reply)?))
        .condition_expression("version = :read")
        .expression_attribute_values(
            ":read",
            AttributeValue::N(reply.version.saturating_sub(1).to_string()),
        )
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Notes where the reply was forwarded: a replayed notification then forwards nothing.
pub async fn note_forwarded(
    app: &App,
    owner: Owner,
    id: ReplyId,
    to: &crate::domain::EmailAddress,
) -> Result<(), ApiError> {
    let result = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.replies_table)
        .set_key(Some(super::team_list::key(owner.pk(), sk(id))))
        .update_expression("SET metadata.forwarded_to = :to")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":to", AttributeValue::S(to.as_str().to_owned()))
        .send()
        .await;
    super::done_unless_failed(result)
}

/// What a listing keeps.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub processed: Option<bool>,
    /// The teams the caller may see (empty: every team).
    pub roles: Vec<ContactRole>,
    pub campaign_id: Option<String>,
    pub assigned_to: Option<String>,
    pub kind: Option<String>,
}

/// Queries one page may spend before it answers with what it has and a cursor.
const MAX_QUERIES_PER_PAGE: usize = 5;
const PHASE: &str = "phase";

/// Unprocessed first, then processed, newest first in each: the `by_state` index, one
/// partition per (owner, processed). The position carries which partition it is in.
pub async fn list(
    app: &App,
    owner: Owner,
    filters: &Filters,
    limit: usize,
    after: Option<Position>,
) -> Result<Page<Reply>, ApiError> {
    let phases: Vec<bool> = match filters.processed {
        Some(processed) => vec![processed],
        None => vec![false, true],
    };
    let (mut phase, mut start) = match after {
        Some(mut position) => {
            let processed = position.remove(PHASE).as_deref() == Some("1");
            let at = phases.iter().position(|p| *p == processed).unwrap_or(0);
            (at, Some(position))
        }
        None => (0, None),
    };
    let mut items = Vec::new();
    for _ in 0..MAX_QUERIES_PER_PAGE {
        let Some(&processed) = phases.get(phase) else {
            break;
        };
        let wanted = limit - items.len();
        let (found, last) = query(app, owner, processed, filters, wanted, start.take()).await?;
        items.extend(found);
        match last {
            Some(position) => start = Some(position),
            None => phase += 1,
        }
        if items.len() >= limit {
            break;
        }
    }
    let next = phases.get(phase).map(|&processed| {
        let mut position = start.unwrap_or_default();
        position.insert(PHASE.to_owned(), u8::from(processed).to_string());
        position
    });
    Ok(Page { items, next })
}

/// One query of one partition: the items kept, and where it stopped if there is more.
async fn query(
    app: &App,
    owner: Owner,
    processed: bool,
    filters: &Filters,
    limit: usize,
    after: Option<Position>,
) -> Result<(Vec<Reply>, Option<Position>), ApiError> {
    let mut request = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.replies_table)
        .index_name(BY_STATE_INDEX)
        .key_condition_expression("state_pk = :state")
        .expression_attribute_values(":state", AttributeValue::S(owner.state_pk(processed)))
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
        .set_exclusive_start_key(after.filter(|p| !p.is_empty()).map(to_key));
    let mut conditions = Vec::new();
    if !filters.roles.is_empty() {
        let names: Vec<String> = (0..filters.roles.len()).map(|i| format!(":r{i}")).collect();
        conditions.push(format!("#role IN ({})", names.join(", ")));
        request = request.expression_attribute_names("#role", "contact_role");
        for (name, role) in names.iter().zip(&filters.roles) {
            request = request
                .expression_attribute_values(name, AttributeValue::S(role.as_str().to_owned()));
        }
    }
    for (attribute, value) in [
        ("campaign_id", &filters.campaign_id),
        ("assigned_to", &filters.assigned_to),
        ("kind", &filters.kind),
    ] {
        if let Some(value) = value {
            conditions.push(format!("#{attribute} = :{attribute}"));
            request = request
                .expression_attribute_names(format!("#{attribute}"), attribute)
                .expression_attribute_values(
                    format!(":{attribute}"),
                    AttributeValue::S(value.clone()),
                );
        }
    }
    if !conditions.is_empty() {
        request = request.filter_expression(conditions.join(" AND "));
    }
    let output = request.send().await?;
    let items: Vec<ReplyItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
    let next = output.last_evaluated_key.map(from_key).transpose()?;
    Ok((items.into_iter().map(|item| item.reply).collect(), next))
}
