//! One row per (campaign, contact): the idempotency key of a send (layout in `store`'s docs).
//!
//! A row moves `pending → claimed → sent | failed`, each step a conditional write: the dispatcher
//! creates it only if absent, the sender claims it only if pending, so however often a message
//! is delivered, one SES call at most is made per row.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{ArtistId, CampaignId, ContactId};
use crate::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Claimed => "claimed",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Send {
    pub send_id: Uuid,
    pub artist_id: ArtistId,
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
}

#[derive(Serialize, Deserialize)]
struct SendItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    send: Send,
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

fn to_item(send: &Send) -> Result<HashMap<String, AttributeValue>, ApiError> {
    Ok(serde_dynamo::to_item(SendItem {
        pk: format!("CAMPAIGN#{}", send.campaign_id),
        sk: format!("CONTACT#{}", send.contact_id),
        send: send.clone(),
    })?)
}

/// The pending row, in a transaction (an individual email writes it with its record).
pub fn put_new(app: &App, send: &Send) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.sends_table)
        .set_item(Some(to_item(send)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Creates the pending row; `false` when one exists already (a replayed dispatch).
pub async fn create(app: &App, send: &Send) -> Result<bool, ApiError> {
    let result = app
        .aws
        .dynamodb
        .put_item()
        .table_name(&app.config.sends_table)
        .set_item(Some(to_item(send)?))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) => match error.into_service_error() {
            PutItemError::ConditionalCheckFailedException(_) => Ok(false),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("creating a send"),
            )),
        },
    }
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

/// Moves the row from `from` to `to`, setting `set` too; the row after, or `None` when it was
/// not in `from`.
async fn transition(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
    from: SendStatus,
    to: SendStatus,
    mut set: Vec<(&'static str, AttributeValue)>,
) -> Result<Option<Send>, ApiError> {
    let status = |s: SendStatus| AttributeValue::S(s.as_str().to_owned());
    set.push(("status", status(to)));
    let assignments: Vec<String> = set
        .iter()
        .enumerate()
        .map(|(i, _)| format!("#f{i} = :v{i}"))
        .collect();
    let mut request = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.sends_table)
        .set_key(Some(key(campaign, contact)))
        .update_expression(format!("SET {}", assignments.join(", ")))
        .condition_expression("#status = :from")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":from", status(from))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
    for (i, (name, value)) in set.into_iter().enumerate() {
        request = request
            .expression_attribute_names(format!("#f{i}"), name)
            .expression_attribute_values(format!(":v{i}"), value);
    }
    match request.send().await {
        Ok(output) => Ok(output
            .attributes
            .map(serde_dynamo::from_item::<_, SendItem>)
            .transpose()?
            .map(|item| item.send)),
        Err(error) => match error.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(_) => Ok(None),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("moving a send"),
            )),
        },
    }
}

fn time(at: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(at.to_rfc3339())
}

/// Takes a pending row for sending; `None` when another delivery took it or it is done.
pub async fn claim(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
) -> Result<Option<Send>, ApiError> {
    transition(
        app,
        campaign,
        contact,
        SendStatus::Pending,
        SendStatus::Claimed,
        vec![("claimed_at", time(Utc::now()))],
    )
    .await
}

/// Gives a claimed row back (SES throttled us before accepting anything): a retry may send it.
pub async fn release(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
) -> Result<Option<Send>, ApiError> {
    transition(
        app,
        campaign,
        contact,
        SendStatus::Claimed,
        SendStatus::Pending,
        vec![],
    )
    .await
}

pub async fn mark_sent(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
    ses_message_id: &str,
) -> Result<Option<Send>, ApiError> {
    transition(
        app,
        campaign,
        contact,
        SendStatus::Claimed,
        SendStatus::Sent,
        vec![
            ("sent_at", time(Utc::now())),
            (
                "ses_message_id",
                AttributeValue::S(ses_message_id.to_owned()),
            ),
        ],
    )
    .await
}

pub async fn mark_failed(
    app: &App,
    campaign: CampaignId,
    contact: ContactId,
    reason: &str,
) -> Result<Option<Send>, ApiError> {
    transition(
        app,
        campaign,
        contact,
        SendStatus::Claimed,
        SendStatus::Failed,
        vec![("error", AttributeValue::S(reason.to_owned()))],
    )
    .await
}
