//! One row per (campaign, contact): the idempotency key of a send (layout in `store`'s docs).
//!
//! A row moves `pending → claimed → sent | failed`, each step a conditional write: the dispatcher
//! creates it only if absent, the sender claims it only if pending, so however often a message
//! is delivered, one SES call at most is made per row. The writes of a batch go together, one
//! transaction of conditional writes for all its rows (`store::write_each`): a transaction, not
//! BatchWriteItem, because only a transaction carries conditions, and it costs two write units
//! per row instead of one, which is cents per million emails beside SES's dollars.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::page::{Page, PartitionQuery, of_partition};
use super::suppression::OptOutKeys;
use super::write_each;
use crate::config::Retention;
use crate::cursor::Position;
use crate::domain::Link;
use crate::domain::{ArtistId, CampaignId, ContactId, ContactRole, VariantIndex};
use crate::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// Created by the dispatcher; no SES call made.
    Pending,
    /// A sender took it and may have called SES: never sent again (see the module docs).
    Claimed,
    /// SES accepted it.
    Sent,
    /// SES refused this recipient for good.
    Failed,
    /// Never to be sent: the team's consent policy leaves the contact out (the campaign counts
    /// it in `skipped_no_basis`).
    Skipped,
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Claimed => "claimed",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub send_id: Uuid,
    pub artist_id: ArtistId,
    pub contact_role: ContactRole,
    pub campaign_id: CampaignId,
    pub contact_id: ContactId,
    pub status: SendStatus,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub claimed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ses_message_id: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    /// The message's tracked links: where a click token's link id leads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Where the person's unsubscribe is recorded: it holds even once the contact is deleted.
    pub opt_out: OptOutKeys,
    /// The A/B variant the message carries, if the campaign tests any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantIndex>,
    /// Sent to the rest after a test, with the variant the test chose: counted apart from the
    /// test that chose it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub winner_send: bool,
    /// The hour of a best-time campaign's window the message goes in (0 is the start's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u16>,
    /// What happened to the message after SES took it, from its events.
    #[serde(default, flatten)]
    pub engagement: SendEngagement,
}

/// When each thing first happened to a sent message. Each is set once (`if_not_exists`), so a
/// late or replayed event never moves one back; the seed's send status is the furthest reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SendEngagement {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The person's first open (machine opens are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clicked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounced_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complained_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// The person's first reply (automatic replies are left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_at: Option<DateTime<Utc>>,
    /// When the CRM first reported a conversion from this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converted_at: Option<DateTime<Utc>>,
    /// The latest click, any kind, for the click-burst rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_click_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_click_link: Option<u16>,
}

impl Send {
    /// A pending row of `campaign` for `contact`, whose opt-outs are kept under `opt_out`.
    pub fn pending(
        (artist, role): (ArtistId, ContactRole),
        campaign: CampaignId,
        contact: ContactId,
        opt_out: OptOutKeys,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            send_id: Self::id_for(campaign, contact),
            artist_id: artist,
            contact_role: role,
            campaign_id: campaign,
            contact_id: contact,
            opt_out,
            variant: None,
            winner_send: false,
            slot: None,
            status: SendStatus::Pending,
            created_at: now,
            claimed_at: None,
            sent_at: None,
            ses_message_id: None,
            error: None,
            links: Vec::new(),
            engagement: SendEngagement::default(),
        }
    }

    /// The same row, carrying `variant` (of a test, or for the rest when `winner_send`).
    /// The row of a recipient the consent policy leaves out: kept, so the skip counts once.
    pub fn skipped(self) -> Self {
        Self {
            status: SendStatus::Skipped,
            ..self
        }
    }

    pub fn with_variant(self, variant: Option<VariantIndex>, winner_send: bool) -> Self {
        Self {
            variant,
            winner_send,
            ..self
        }
    }

    /// The same row, going out in `slot` of its campaign's window.
    pub fn in_slot(self, slot: Option<u16>) -> Self {
        Self { slot, ..self }
    }

    /// The send's id, derived from what it is for (a UUID v5 named by the contact within the
    /// campaign): a replayed dispatch and the sender, which claims rows without reading them,
    /// arrive at the same id as the row. Tokens carrying it are signed, so being derivable
    /// gives nobody anything.
    pub fn id_for(campaign: CampaignId, contact: ContactId) -> Uuid {
        Uuid::new_v5(&campaign.as_uuid(), contact.as_uuid().as_bytes())
    }
}

#[derive(Serialize, Deserialize)]
struct SendItem {
    pk: String,
    sk: String,
    /// The `by_address` index's key: the person's address hash (`OptOutKeys::address`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address_hash: Option<String>,
    /// The `by_slot` index's key, for a best-time campaign's rows: `{campaign}#{slot}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    slot_pk: Option<String>,
    /// When DynamoDB's TTL removes the row (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    #[serde(flatten)]
    send: Send,
}

fn slot_pk(campaign: CampaignId, slot: u16) -> String {
    format!("{campaign}#{slot:03}")
}

fn key(campaign: CampaignId, contact: ContactId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            AttributeValue::S(format!("CAMPAIGN#{campaign}")),
        ),
        (
            "sk".to_owned(),
            AttributeValue::S(format!("CONTACT#{contact}")),
        ),
    ])
}

fn to_item(app: &App, send: &Send) -> Result<HashMap<String, AttributeValue>, ApiError> {
    Ok(serde_dynamo::to_item(SendItem {
        expires_at: Some(Retention::expires_at(
            send.created_at,
            app.config.retention.sends_days,
        )),
        pk: format!("CAMPAIGN#{}", send.campaign_id),
        sk: format!("CONTACT#{}", send.contact_id),
        address_hash: Some(send.opt_out.address.clone()).filter(|hash| !hash.is_empty()),
        slot_pk: send.slot.map(|slot| slot_pk(send.campaign_id, slot)),
        send: send.clone(),
    })?)
}

/// The pending row, in a transaction (an individual email writes it with its record).
pub fn put_new(app: &App, send: &Send) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.sends_table)
        .set_item(Some(to_item(app, send)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Creates the pending rows that do not exist yet (a replayed dispatch finds them all);
/// answers how many were new.
pub async fn create_many(app: &App, sends: &[Send]) -> Result<usize, ApiError> {
    let puts = sends
        .iter()
        .map(|send| put_new(app, send))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(write_each(app, puts).await?.len())
}

pub async fn get(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
) -> Result<Option<Send>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.sends_table)
        .set_key(Some(key(campaign, contact)))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(serde_dynamo::from_item::<_, SendItem>(item)?.send)),
        None => Ok(None),
    }
}

/// The conditional update moving one row from `from` to `to`, setting `set` too.
fn transition(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
    (from, to): (SendStatus, SendStatus),
    mut set: Vec<(&'static str, AttributeValue)>,
) -> Result<TransactWriteItem, ApiError> {
    let status = |s: SendStatus| AttributeValue::S(s.as_str().to_owned());
    set.push(("status", status(to)));
    let assignments: Vec<String> = (0..set.len()).map(|i| format!("#f{i} = :v{i}")).collect();
    let mut update = Update::builder()
        .table_name(&app.config.sends_table)
        .set_key(Some(key(campaign, contact)))
        .update_expression(format!("SET {}", assignments.join(", ")))
        .condition_expression("#status = :from")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":from", status(from));
    for (i, (name, value)) in set.into_iter().enumerate() {
        update = update
            .expression_attribute_names(format!("#f{i}"), name)
            .expression_attribute_values(format!(":v{i}"), value);
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(ApiError::internal)?)
        .build())
}

fn time(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(at.to_rfc3339())
}

/// Takes the pending rows of `contacts` for sending, all in one transaction when no other
/// delivery holds any; answers those taken, in order (the others are taken or done already).
pub async fn claim(
    app: &App,
    campaign: CampaignId,
    contacts: &[ContactId],
) -> Result<Vec<ContactId>, ApiError> {
    let claimed_at = time(Utc::now());
    let claims = contacts
        .iter()
        .map(|contact| {
            transition(
                app,
                campaign,
                *contact,
                (SendStatus::Pending, SendStatus::Claimed),
                vec![("claimed_at", claimed_at.clone())],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let written = write_each(app, claims).await?;
    Ok(written.into_iter().map(|at| contacts[at]).collect())
}

/// What became of a claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// SES accepted the message under this id; it carried these links.
    Sent(String, Vec<Link>),
    /// Never to be sent, for this reason.
    Failed(String),
    /// No SES call was made for it (throttled, paused, out of time): pending again, so a retry
    /// or a resume sends it.
    Released,
}

/// Records the outcomes of claimed rows together; a row no longer claimed is left as it is.
/// Answers how many were recorded.
pub async fn record(
    app: &App,
    campaign: CampaignId,
    outcomes: &[(ContactId, Outcome)],
) -> Result<usize, ApiError> {
    let now = time(Utc::now());
    let updates = outcomes
        .iter()
        .map(|(contact, outcome)| {
            let (to, set) = match outcome {
                Outcome::Sent(message_id, links) => {
                    let mut set = vec![
                        ("sent_at", now.clone()),
                        ("ses_message_id", AttributeValue::S(message_id.clone())),
                    ];
                    if !links.is_empty() {
                        set.push(("links", serde_dynamo::to_attribute_value(links)?));
                    }
                    (SendStatus::Sent, set)
                }
                Outcome::Failed(reason) => (
                    SendStatus::Failed,
                    vec![("error", AttributeValue::S(reason.clone()))],
                ),
                Outcome::Released => (SendStatus::Pending, vec![]),
            };
            transition(app, campaign, *contact, (SendStatus::Claimed, to), set)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(write_each(app, updates).await?.len())
}

/// Marks the send converted at `at`, on condition it was not already: the first conversion of
/// a message counts it once in `converted` (for `store::conversions`' transaction).
pub fn mark_converted(
    app: &App,
    send: &Send,
    at: DateTime<Utc>,
) -> Result<TransactWriteItem, ApiError> {
    let update = Update::builder()
        .table_name(&app.config.sends_table)
        .set_key(Some(key(send.campaign_id, send.contact_id)))
        .condition_expression("attribute_exists(pk) AND attribute_not_exists(converted_at)")
        .update_expression("SET converted_at = :at")
        .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The sparse index of best-time rows by campaign and hour of its window.
const BY_SLOT_INDEX: &str = "by_slot";

/// A row of a slot, as the `by_slot` index projects it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InSlot {
    pub contact_id: ContactId,
    #[serde(default)]
    pub variant: Option<VariantIndex>,
}

/// One page of the rows of a best-time campaign's `slot`: what its hour queues.
pub async fn of_slot(
    app: &App,
    campaign: CampaignId,
    slot: u16,
    after: Option<Position>,
) -> Result<Page<InSlot>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.sends_table)
        .index_name(BY_SLOT_INDEX)
        .key_condition_expression("slot_pk = :slot")
        .expression_attribute_values(":slot", AttributeValue::S(slot_pk(campaign, slot)))
        .set_exclusive_start_key(after.map(super::page::to_key))
        .limit(1000)
        .send()
        .await?;
    Ok(Page {
        items: serde_dynamo::from_items(output.items.unwrap_or_default())?,
        next: output
            .last_evaluated_key
            .map(super::page::from_key)
            .transpose()?,
    })
}

/// The index from a send's id to its row: tracking tokens carry the id alone.
const BY_SEND_INDEX: &str = "by_send";

/// The send a tracking token names: one Query of the `by_send` index.
pub async fn by_id(app: &App, send_id: Uuid) -> Result<Option<Send>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.sends_table)
        .index_name(BY_SEND_INDEX)
        .key_condition_expression("send_id = :id")
        .expression_attribute_values(":id", AttributeValue::S(send_id.hyphenated().to_string()))
        .limit(1)
        .send()
        .await?;
    match output.items.unwrap_or_default().into_iter().next() {
        Some(item) => Ok(Some(serde_dynamo::from_item::<_, SendItem>(item)?.send)),
        None => Ok(None),
    }
}

/// The index from a person's address hash to the messages sent to them, newest first.
const BY_ADDRESS_INDEX: &str = "by_address";

/// How many of the latest messages to an address a reply from it is matched against.
const LATEST_TO: i32 = 10;

fn to_address(app: &App, address_hash: &str) -> QueryFluentBuilder {
    app.aws
        .dynamodb
        .query()
        .table_name(&app.config.sends_table)
        .index_name(BY_ADDRESS_INDEX)
        .key_condition_expression("address_hash = :hash")
        .expression_attribute_values(":hash", AttributeValue::S(address_hash.to_owned()))
        .scan_index_forward(false)
}

/// The latest sends to the address of `address_hash`, newest first: one Query.
pub async fn latest_to(app: &App, address_hash: &str) -> Result<Vec<Send>, ApiError> {
    let output = to_address(app, address_hash)
        .limit(LATEST_TO)
        .send()
        .await?;
    let items: Vec<SendItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
    Ok(items.into_iter().map(|item| item.send).collect())
}

/// Every send of `artist` to the address of `address_hash` (an erasure's list), newest first:
/// the index's projection, which holds the keys, ids and status.
pub async fn all_to(
    app: &App,
    artist: ArtistId,
    address_hash: &str,
) -> Result<Vec<Send>, ApiError> {
    let query = to_address(app, address_hash)
        .filter_expression("artist_id = :artist")
        .expression_attribute_values(":artist", AttributeValue::S(artist.to_string()));
    let items: Vec<SendItem> = serde_dynamo::from_items(super::batch::query_all(query).await?)?;
    Ok(items.into_iter().map(|item| item.send).collect())
}

/// Deletes the rows of `sends` (an erasure): answers how many.
pub async fn delete_many(app: &App, sends: &[Send]) -> Result<usize, ApiError> {
    let keys = sends
        .iter()
        .map(|send| key(send.campaign_id, send.contact_id))
        .collect();
    super::batch::delete_many(app, &app.config.sends_table, keys).await
}

/// A page of a campaign's sends, in the order of their contacts' ids (UUID v7: the order the
/// contacts were added in).
pub async fn of_campaign(
    app: &App,
    campaign: CampaignId,
    limit: usize,
    after: Option<Position>,
) -> Result<Page<Send>, ApiError> {
    let page: Page<SendItem> = of_partition(
        app,
        PartitionQuery {
            table: &app.config.sends_table,
            pk: format!("CAMPAIGN#{campaign}"),
            sk_prefix: "CONTACT#",
            descending: false,
            limit,
            after,
        },
    )
    .await?;
    Ok(page.map(|item| item.send))
}

/// The rows of `keys` that exist (strongly consistent): one BatchGetItem per 100.
pub async fn get_many(app: &App, keys: &[(CampaignId, ContactId)]) -> Result<Vec<Send>, ApiError> {
    let keys = keys
        .iter()
        .map(|(campaign, contact)| key(*campaign, *contact))
        .collect();
    let items = super::batch::get_many(app, &app.config.sends_table, keys).await?;
    let items: Vec<SendItem> = serde_dynamo::from_items(items)?;
    Ok(items.into_iter().map(|item| item.send).collect())
}

/// Sets the engagement times not set yet, and the latest click; repeating it changes nothing.
pub async fn note_engagement(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
    engagement: &SendEngagement,
) -> Result<(), ApiError> {
    let first = [
        ("delivered_at", engagement.delivered_at),
        ("opened_at", engagement.opened_at),
        ("clicked_at", engagement.clicked_at),
        ("bounced_at", engagement.bounced_at),
        ("complained_at", engagement.complained_at),
        ("unsubscribed_at", engagement.unsubscribed_at),
        ("replied_at", engagement.replied_at),
    ];
    let mut assignments = Vec::new();
    let mut update = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.sends_table)
        .set_key(Some(key(campaign, contact)))
        // An event for a row that is gone (the contact was erased) must not recreate it.
        .condition_expression("attribute_exists(pk)");
    for (i, (name, at)) in first.into_iter().enumerate() {
        if let Some(at) = at {
            assignments.push(format!("#f{i} = if_not_exists(#f{i}, :v{i})"));
            update = update
                .expression_attribute_names(format!("#f{i}"), name)
                .expression_attribute_values(format!(":v{i}"), time(at));
        }
    }
    if let (Some(at), Some(link)) = (engagement.last_click_at, engagement.last_click_link) {
        assignments.push("last_click_at = :click_at, last_click_link = :click_link".to_owned());
        update = update
            .expression_attribute_values(":click_at", time(at))
            .expression_attribute_values(":click_link", AttributeValue::N(link.to_string()));
    }
    if assignments.is_empty() {
        return Ok(());
    }
    let result = update
        .update_expression(format!("SET {}", assignments.join(", ")))
        .send()
        .await;
    super::done_unless_failed(result)
}
