//! Campaigns in the campaigns table (layout in the module docs of `store`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::page::Page;
use super::team_list::{self, TeamQuery, Teams, artist_pk, key, role_pk};
use crate::cursor::Position;
use crate::domain::{ArtistId, Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::{ApiError, App};

/// The sparse index of campaigns with something due, by the time it is due: a scheduled
/// start, or the end of an A/B test (each its own partition of the index).
pub const DUE_INDEX: &str = "due";
const DUE_PK: &str = "SCHEDULED";
const TEST_DUE_PK: &str = "AB_TEST";
const SLOT_DUE_PK: &str = "SLOT";

#[derive(Serialize, Deserialize)]
struct CampaignItem {
    pk: String,
    sk: String,
    role_pk: String,
    role_sk: String,
    /// Only while scheduled: the item is in the `due` index exactly then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due_at: Option<String>,
    #[serde(flatten)]
    campaign: Campaign,
}

/// Fixed-width UTC text sorts as time; the id keeps two campaigns due together apart.
fn due_at(at: DateTime<Utc>, id: CampaignId) -> String {
    format!("{}#{id}", at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// What puts a campaign in the `due` index for `at` (for [`move_status`] to `Scheduled`).
pub fn due_fields(at: DateTime<Utc>, id: CampaignId) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("due_pk", AttributeValue::S(DUE_PK.to_owned())),
        ("due_at", AttributeValue::S(due_at(at, id))),
        ("scheduled_at", AttributeValue::S(at.to_rfc3339())),
    ]
}

/// What puts a sending campaign in the `due` index for the end of its A/B test at `at` (for
/// [`move_status`] to `Sending`): the scheduler decides it then.
pub fn test_due_fields(at: DateTime<Utc>, id: CampaignId) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("due_pk", AttributeValue::S(TEST_DUE_PK.to_owned())),
        ("due_at", AttributeValue::S(due_at(at, id))),
        ("test_ends_at", AttributeValue::S(at.to_rfc3339())),
    ]
}

fn campaign_sk(id: CampaignId) -> String {
    format!("CAMPAIGN#{id}")
}

fn to_item(campaign: &Campaign) -> CampaignItem {
    let due = (campaign.status == CampaignStatus::Scheduled)
        .then_some(campaign.scheduled_at)
        .flatten();
    CampaignItem {
        pk: artist_pk(campaign.artist_id),
        sk: campaign_sk(campaign.id),
        role_pk: role_pk(campaign.artist_id, campaign.contact_role),
        role_sk: campaign.id.to_string(),
        due_pk: due.map(|_| DUE_PK.to_owned()),
        due_at: due.map(|at| due_at(at, campaign.id)),
        campaign: campaign.clone(),
    }
}

pub async fn get(
    app: &App,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Option<Campaign>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(key(artist_pk(artist), campaign_sk(id))))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, CampaignItem>(item)?.campaign,
        )),
        None => Ok(None),
    }
}

fn put(
    app: &App,
    campaign: &Campaign,
    condition: &str,
    values: HashMap<String, AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.campaigns_table)
        .set_item(Some(serde_dynamo::to_item(to_item(campaign))?))
        .condition_expression(condition)
        .set_expression_attribute_values((!values.is_empty()).then_some(values))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub fn put_new(app: &App, campaign: &Campaign) -> Result<TransactWriteItem, ApiError> {
    put(app, campaign, "attribute_not_exists(pk)", HashMap::new())
}

/// Replaces the campaign if it is still at `expected_version` (and so still in the status that
/// version had): every status move is one of these.
pub fn put_existing(
    app: &App,
    campaign: &Campaign,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    put(
        app,
        campaign,
        "version = :expected",
        HashMap::from([(
            ":expected".to_owned(),
            AttributeValue::N(expected_version.to_string()),
        )]),
    )
}

/// Sets `campaign`'s cost (and `updated_at`, `version`) alone, on condition of the version
/// read: whatever else moves under a started campaign stays as it is.
pub fn set_cost(
    app: &App,
    campaign: &Campaign,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(campaign_key(campaign.artist_id, campaign.id)))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
        .expression_attribute_values(":version", AttributeValue::N(campaign.version.to_string()))
        .expression_attribute_values(
            ":updated",
            AttributeValue::S(campaign.updated_at.to_rfc3339()),
        );
    let update = match &campaign.cost {
        Some(cost) => update
            .update_expression("SET cost = :cost, version = :version, updated_at = :updated")
            .expression_attribute_values(":cost", serde_dynamo::to_attribute_value(cost)?),
        None => {
            update.update_expression("SET version = :version, updated_at = :updated REMOVE cost")
        }
    };
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(ApiError::internal)?)
        .build())
}

pub fn delete(
    app: &App,
    campaign: &Campaign,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(key(
            artist_pk(campaign.artist_id),
            campaign_sk(campaign.id),
        )))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Deletes the campaign if it is an individual email (an erasure of its recipient): whether
/// it was one.
pub async fn delete_if_individual(
    app: &App,
    artist: ArtistId,
    id: CampaignId,
) -> Result<bool, ApiError> {
    let result = app
        .aws
        .dynamodb
        .delete_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(key(artist_pk(artist), campaign_sk(id))))
        .condition_expression("#kind = :individual")
        .expression_attribute_names("#kind", "kind")
        .expression_attribute_values(
            ":individual",
            AttributeValue::S(CampaignKind::Individual.as_str().to_owned()),
        )
        .send()
        .await;
    super::written(result)
}

pub struct ListQuery {
    pub artist: ArtistId,
    pub teams: Teams,
    pub status: Option<CampaignStatus>,
    pub limit: usize,
    pub after: Option<Position>,
}

pub async fn list(app: &App, query: &ListQuery) -> Result<Page<Campaign>, ApiError> {
    team_list::list(
        app,
        &TeamQuery {
            table: &app.config.campaigns_table,
            sk_prefix: "CAMPAIGN#",
            artist: query.artist,
            teams: query.teams.clone(),
            // Individual emails share the pipeline, not the lists.
            equals: std::iter::once(("kind", CampaignKind::Bulk.as_str().to_owned()))
                .chain(
                    query
                        .status
                        .map(|status| ("status", status.as_str().to_owned())),
                )
                .collect(),
            contains: Vec::new(),
            limit: query.limit,
            after: query.after.clone(),
        },
    )
    .await
}

/// What a campaign in the `due` index is due for: each its own partition of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// A scheduled start.
    Start,
    /// The end of its A/B test (the decision).
    TestEnd,
    /// The next hour of a best-time campaign's window.
    NextHour,
}

impl Due {
    fn partition(self) -> &'static str {
        match self {
            Due::Start => DUE_PK,
            Due::TestEnd => TEST_DUE_PK,
            Due::NextHour => SLOT_DUE_PK,
        }
    }
}

/// Campaigns due for `what` at `now` or before, oldest first: one Query on the `due` index.
pub async fn due(
    app: &App,
    what: Due,
    now: DateTime<Utc>,
    limit: i32,
) -> Result<Vec<Campaign>, ApiError> {
    // `~` sorts after every id, so everything due at `now` is included.
    let until = format!("{}#~", now.to_rfc3339_opts(SecondsFormat::Millis, true));
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.campaigns_table)
        .index_name(DUE_INDEX)
        .key_condition_expression("due_pk = :due AND due_at <= :until")
        .expression_attribute_values(":due", AttributeValue::S(what.partition().to_owned()))
        .expression_attribute_values(":until", AttributeValue::S(until))
        .limit(limit)
        .send()
        .await?;
    let items: Vec<CampaignItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
    Ok(items.into_iter().map(|item| item.campaign).collect())
}

/// Puts a sending best-time campaign in the `due` index at `at` (out of it with `None`), and
/// starts its `slots_queued` at 0 if it has none. Nothing when it is no longer sending.
pub async fn best_time_due(
    app: &App,
    campaign: &Campaign,
    at: Option<DateTime<Utc>>,
) -> Result<(), ApiError> {
    let mut request = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(campaign_key(campaign.artist_id, campaign.id)))
        .condition_expression("#status = :sending")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(
            ":sending",
            AttributeValue::S(CampaignStatus::Sending.as_str().to_owned()),
        )
        .expression_attribute_values(":zero", AttributeValue::N("0".into()));
    request = match at {
        Some(at) => request
            .update_expression(
                "SET slots_queued = if_not_exists(slots_queued, :zero), due_pk = :due, due_at = :at",
            )
            .expression_attribute_values(":due", AttributeValue::S(SLOT_DUE_PK.to_owned()))
            .expression_attribute_values(":at", AttributeValue::S(due_at(at, campaign.id))),
        None => request.update_expression(
            "SET slots_queued = if_not_exists(slots_queued, :zero) REMOVE due_pk, due_at",
        ),
    };
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error) => match error.into_service_error() {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => Ok(()),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("setting a best-time campaign's next hour"),
            )),
        },
    }
}

/// Moves a sending best-time campaign's `slots_queued` from `from` to `to`, once: `false` when
/// another tick moved it first (or it is no longer sending).
pub async fn advance_slots(
    app: &App,
    campaign: &Campaign,
    from: Option<u16>,
    to: u16,
) -> Result<bool, ApiError> {
    let mut request = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(campaign_key(campaign.artist_id, campaign.id)))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(
            ":sending",
            AttributeValue::S(CampaignStatus::Sending.as_str().to_owned()),
        )
        .expression_attribute_values(":to", AttributeValue::N(to.to_string()))
        .update_expression("SET slots_queued = :to");
    request = match from {
        Some(from) => request
            .condition_expression("#status = :sending AND slots_queued = :from")
            .expression_attribute_values(":from", AttributeValue::N(from.to_string())),
        None => request
            .condition_expression("#status = :sending AND attribute_not_exists(slots_queued)"),
    };
    match request.send().await {
        Ok(_) => Ok(true),
        Err(error) => match error.into_service_error() {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("moving a best-time campaign's queued hours"),
            )),
        },
    }
}

fn campaign_key(artist: ArtistId, id: CampaignId) -> HashMap<String, AttributeValue> {
    key(artist_pk(artist), campaign_sk(id))
}

/// What a status move is conditional on, beyond the status it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The status alone: counters other writers keep adding to do not stop the move.
    Status,
    /// The version too: nothing about the campaign changed since it was checked (a start).
    Version,
}

/// Moves `campaign` from its status to `to`, also setting `set`, in one transaction with its
/// audit record: the one way a campaign's status changes. A move the state machine does not
/// allow is refused before any write. `None` when the campaign changed meanwhile (per
/// `expect`); else the campaign as written.
pub async fn move_status(
    app: &App,
    campaign: &Campaign,
    expect: Expect,
    to: CampaignStatus,
    set: Vec<(&'static str, AttributeValue)>,
    audit: crate::domain::AuditRecord,
) -> Result<Option<Campaign>, ApiError> {
    let from = campaign.status;
    let audit = audit.with_change("status", from, to);
    if !from.can_move_to(to) {
        return Err(ApiError::internal(anyhow::anyhow!(
            "campaign {}: {} → {} is not a move a campaign makes",
            campaign.id,
            from.as_str(),
            to.as_str()
        )));
    }
    let (artist, id) = (campaign.artist_id, campaign.id);
    let mut assignments = vec![
        "#status = :to".to_owned(),
        "version = version + :one".to_owned(),
    ];
    let condition = match expect {
        Expect::Status => "#status = :from",
        Expect::Version => "#status = :from AND version = :version",
    };
    let mut update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(campaign_key(artist, id)))
        .condition_expression(condition)
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":from", AttributeValue::S(from.as_str().to_owned()))
        .expression_attribute_values(":to", AttributeValue::S(to.as_str().to_owned()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    if expect == Expect::Version {
        update = update.expression_attribute_values(
            ":version",
            AttributeValue::N(campaign.version.to_string()),
        );
    }
    let set_names: Vec<&str> = set.iter().map(|(name, _)| *name).collect();
    for (i, (name, value)) in set.into_iter().enumerate() {
        assignments.push(format!("#s{i} = :s{i}"));
        update = update
            .expression_attribute_names(format!("#s{i}"), name)
            .expression_attribute_values(format!(":s{i}"), value);
    }
    // Out of the `due` index the moment nothing is due, unless the move puts it there again.
    let expression = if set_names.contains(&"due_pk") {
        format!("SET {}", assignments.join(", "))
    } else {
        format!("SET {} REMOVE due_pk, due_at", assignments.join(", "))
    };
    let update = update
        .update_expression(expression)
        .build()
        .map_err(ApiError::internal)?;
    let writes = vec![
        TransactWriteItem::builder().update(update).build(),
        super::audit::put(app, audit)?,
    ];
    match super::transact(app, writes).await? {
        super::TransactOutcome::Written => get(app, artist, id).await,
        super::TransactOutcome::ConditionFailed(_) => Ok(None),
    }
}

/// Records the decision of `campaign`'s A/B test and takes it out of the `due` index, with its
/// audit record, once: `None` when it was decided meanwhile or is no longer sending.
pub async fn record_decision(
    app: &App,
    campaign: &Campaign,
    decision: &crate::domain::AbDecision,
    audit: crate::domain::AuditRecord,
) -> Result<Option<Campaign>, ApiError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(campaign_key(campaign.artist_id, campaign.id)))
        .condition_expression("attribute_not_exists(ab_decision) AND #status = :sending")
        .update_expression("SET ab_decision = :decision REMOVE due_pk, due_at")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(
            ":sending",
            AttributeValue::S(CampaignStatus::Sending.as_str().to_owned()),
        )
        .expression_attribute_values(":decision", serde_dynamo::to_attribute_value(decision)?)
        .build()
        .map_err(ApiError::internal)?;
    let writes = vec![
        TransactWriteItem::builder().update(update).build(),
        super::audit::put(app, audit)?,
    ];
    match super::transact(app, writes).await? {
        super::TransactOutcome::Written => get(app, campaign.artist_id, campaign.id).await,
        super::TransactOutcome::ConditionFailed(_) => Ok(None),
    }
}

/// Adds to counters (and sets `set`) in one write, answering the campaign after it: many
/// recipients' outcomes cost one write, not one each.
pub async fn add_counters(
    app: &App,
    artist: ArtistId,
    id: CampaignId,
    counters: &[(&'static str, u64)],
    set: Vec<(&'static str, AttributeValue)>,
) -> Result<Option<Campaign>, ApiError> {
    let mut adds = Vec::new();
    let mut sets = Vec::new();
    let mut request = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.campaigns_table)
        .set_key(Some(campaign_key(artist, id)))
        .condition_expression("attribute_exists(pk)")
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
    for (i, (name, amount)) in counters.iter().enumerate() {
        adds.push(format!("#a{i} :a{i}"));
        request = request
            .expression_attribute_names(format!("#a{i}"), *name)
            .expression_attribute_values(format!(":a{i}"), AttributeValue::N(amount.to_string()));
    }
    for (i, (name, value)) in set.into_iter().enumerate() {
        sets.push(format!("#s{i} = :s{i}"));
        request = request
            .expression_attribute_names(format!("#s{i}"), name)
            .expression_attribute_values(format!(":s{i}"), value);
    }
    let mut expression = String::new();
    if !sets.is_empty() {
        expression.push_str(&format!("SET {} ", sets.join(", ")));
    }
    if !adds.is_empty() {
        expression.push_str(&format!("ADD {}", adds.join(", ")));
    }
    if expression.is_empty() {
        return get(app, artist, id).await;
    }
    match request.update_expression(expression.trim()).send().await {
        Ok(output) => Ok(output
            .attributes
            .map(serde_dynamo::from_item::<_, CampaignItem>)
            .transpose()?
            .map(|item| item.campaign)),
        Err(error) => match error.into_service_error() {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(_) => Ok(None),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("counting a campaign's sends"),
            )),
        },
    }
}
