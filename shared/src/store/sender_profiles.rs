//! Each artist's sender profile, one item in the campaigns table (`sk` = `PROFILE`).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::team_list::{artist_pk, key};
use crate::domain::{ArtistId, SenderProfile};
use crate::{ApiError, App};

const SK: &str = "PROFILE";

#[derive(Serialize, Deserialize)]
struct ProfileItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    profile: SenderProfile,
}

pub async fn get(app: &App, artist: ArtistId) -> Result<Option<SenderProfile>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(key(artist_pk(artist), SK.to_owned())))
        .consistent_read(true)
        .send()
        .await?;
    output
        .item
        .map(|item| Ok(serde_dynamo::from_item::<_, ProfileItem>(item)?.profile))
        .transpose()
}

/// Writes `profile` if the stored one is still at `expected` (`None`: there is none yet).
pub fn put(
    app: &App,
    profile: &SenderProfile,
    expected: Option<u64>,
) -> Result<TransactWriteItem, ApiError> {
    let item = ProfileItem {
        pk: artist_pk(profile.artist_id),
        sk: SK.to_owned(),
        profile: profile.clone(),
    };
    let put = Put::builder()
        .table_name(&app.config.campaigns_table)
        .set_item(Some(serde_dynamo::to_item(item)?));
    let put = match expected {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(version) => put
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
    };
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(ApiError::internal)?)
        .build())
}
