//! Artists' claims on sending domains, in the campaigns table (`sk` = `DOMAIN#{domain}`).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::team_list::{artist_pk, key};
use crate::domain::{ArtistId, DomainClaim, DomainName, SendingProvider};
use crate::{ApiError, App};

const SK_PREFIX: &str = "DOMAIN#";

#[derive(Serialize, Deserialize)]
struct ClaimItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    claim: DomainClaim,
}

fn sk(domain: &DomainName) -> String {
    format!("{SK_PREFIX}{domain}")
}

pub async fn get(
    app: &App,
    artist: ArtistId,
    domain: &DomainName,
) -> Result<Option<DomainClaim>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(key(artist_pk(artist), sk(domain))))
        .consistent_read(true)
        .send()
        .await?;
    output
        .item
        .map(|item| Ok(serde_dynamo::from_item::<_, ClaimItem>(item)?.claim))
        .transpose()
}

/// The artist's claims, every one (an artist has a handful).
pub async fn list(app: &App, artist: ArtistId) -> Result<Vec<DomainClaim>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.campaigns_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(artist_pk(artist)))
        .expression_attribute_values(":prefix", AttributeValue::S(SK_PREFIX.to_owned()))
        .consistent_read(true)
        .send()
        .await?;
    let items: Vec<ClaimItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
    Ok(items.into_iter().map(|item| item.claim).collect())
}

/// A new claim (`attribute_not_exists`: registering again keeps the first claim and its proof),
/// or the proof of an unproven one (`attribute_not_exists(proof)`).
pub fn put(app: &App, claim: &DomainClaim) -> Result<TransactWriteItem, ApiError> {
    let item = ClaimItem {
        pk: artist_pk(claim.artist_id),
        sk: sk(&claim.domain),
        claim: claim.clone(),
    };
    let condition = if claim.proof.is_some() {
        "attribute_exists(pk) AND attribute_not_exists(proof)"
    } else {
        "attribute_not_exists(pk)"
    };
    let put = Put::builder()
        .table_name(&app.config.campaigns_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression(condition)
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Moves a claim to another provider, if it is still with the one read.
pub fn set_provider(
    app: &App,
    claim: &DomainClaim,
    to: SendingProvider,
) -> Result<TransactWriteItem, ApiError> {
    let from = serde_dynamo::to_attribute_value(claim.provider)?;
    // Claims made before providers existed have none stored: they are SES's.
    let unset = if claim.provider == SendingProvider::Ses {
        " OR attribute_not_exists(provider)"
    } else {
        ""
    };
    let update = Update::builder()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(key(artist_pk(claim.artist_id), sk(&claim.domain))))
        .update_expression("SET provider = :to")
        .condition_expression(format!(
            "attribute_exists(pk) AND (provider = :from{unset})"
        ))
        .expression_attribute_values(":to", serde_dynamo::to_attribute_value(to)?)
        .expression_attribute_values(":from", from)
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}
