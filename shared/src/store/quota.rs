//! Daily send quotas: one counter per (artist, UTC day) in the campaigns table, reserved a
//! batch at a time before any SES call and given back for what was not sent; and each user's
//! test messages per day, under the same artist.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::team_list::{artist_pk, key};
use crate::domain::{ArtistId, UserId};
use crate::{ApiError, App};

/// Whose sends a counter counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quota {
    /// Everything the artist's teams send.
    Artist(ArtistId),
    /// The test messages one user sends for the artist.
    TestSends(ArtistId, UserId),
}

fn quota_key(
    quota: &Quota,
    at: DateTime<Utc>,
) -> std::collections::HashMap<String, AttributeValue> {
    let day = at.format("%Y-%m-%d");
    match quota {
        Quota::Artist(artist) => key(artist_pk(*artist), format!("QUOTA#{day}")),
        Quota::TestSends(artist, user) => key(
            artist_pk(*artist),
            format!("TESTQUOTA#{day}#{}", user.as_str()),
        ),
    }
}

/// Takes `count` sends from `quota` for the day of `at`: `false` (and nothing taken) when that
/// would pass `limit`.
pub async fn reserve(
    app: &App,
    quota: &Quota,
    at: DateTime<Utc>,
    count: u64,
    limit: u64,
) -> Result<bool, ApiError> {
    if count == 0 {
        return Ok(true);
    }
    let Some(ceiling) = limit.checked_sub(count) else {
        return Ok(false);
    };
    let result = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(quota_key(quota, at)))
        .update_expression("ADD sent :count")
        .condition_expression("attribute_not_exists(sent) OR sent <= :ceiling")
        .expression_attribute_values(":count", AttributeValue::N(count.to_string()))
        .expression_attribute_values(":ceiling", AttributeValue::N(ceiling.to_string()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) => match error.into_service_error() {
            UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("reserving send quota"),
            )),
        },
    }
}

/// Gives back `count` reserved sends that were not made.
pub async fn give_back(
    app: &App,
    quota: &Quota,
    at: DateTime<Utc>,
    count: u64,
) -> Result<(), ApiError> {
    if count == 0 {
        return Ok(());
    }
    app.aws
        .dynamodb
        .update_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(quota_key(quota, at)))
        .update_expression("ADD sent :count")
        .expression_attribute_values(":count", AttributeValue::N(format!("-{count}")))
        .send()
        .await?;
    Ok(())
}

/// Sends taken today so far.
pub async fn used(app: &App, quota: &Quota, at: DateTime<Utc>) -> Result<u64, ApiError> {
    let item = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(quota_key(quota, at)))
        .consistent_read(true)
        .send()
        .await?
        .item;
    Ok(item
        .and_then(|item| item.get("sent")?.as_n().ok()?.parse().ok())
        .unwrap_or(0))
}
