//! One campaign's analytics (`GET …/campaigns/{campaignId}/analytics`): its volumes and rates,
//! clicks per link, and its time series, per hour for the first three days after its start
//! and per day after (and an A/B campaign's evidence, `ab`). Five requests whatever its audience
//! (six with an A/B test): the campaign (GetItem), its total
//! (BatchGetItem), its links, its hours and its days (one Query each; a campaign has tens of
//! links, 72 hours, a day item per day it drew events).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use super::ab::{self, AbAnalytics};
use super::volumes::{Rates, Volumes};
use crate::auth::Caller;
use crate::domain::{ArtistId, CampaignId, CampaignStatus, ContactRole, Money};
use crate::store::stats::{self, HOUR_FORMAT, StatsKey};
use crate::tracking::engagement::{self, LinkEngagement};
use crate::{ApiError, App, campaigns};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
    Week,
    Month,
}

/// One period of a time series: when it starts (UTC), how long it is, what it counted.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Point {
    pub start: DateTime<Utc>,
    pub granularity: Granularity,
    #[serde(flatten)]
    pub volumes: Volumes,
}

/// A team's share of the campaign (a campaign is one team's: one entry).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TeamShare {
    pub contact_role: ContactRole,
    pub volumes: Volumes,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CampaignAnalytics {
    pub campaign_id: CampaignId,
    pub name: String,
    pub contact_role: ContactRole,
    pub status: CampaignStatus,
    pub started_at: Option<DateTime<Utc>>,
    /// Recipients the dispatch chose.
    pub recipients: u64,
    pub volumes: Volumes,
    pub rates: Rates,
    pub links: Vec<LinkEngagement>,
    pub series: Vec<Point>,
    pub teams: Vec<TeamShare>,
    /// An A/B campaign's variants, their evidence and the decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ab_test: Option<AbAnalytics>,
    /// The return on the campaign's declared cost, from the revenue in its currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roi: Option<Roi>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Roi {
    pub cost: Money,
    pub revenue: Money,
    /// (revenue − cost) / cost; absent for a cost of nothing.
    pub return_on_cost: Option<f64>,
}

impl Roi {
    pub fn of(cost: Money, revenue: &[Money]) -> Self {
        let earned = revenue
            .iter()
            .find(|money| money.currency == cost.currency)
            .map_or(0, |money| money.minor);
        Self {
            cost,
            revenue: Money {
                minor: earned,
                currency: cost.currency,
            },
            return_on_cost: (cost.minor > 0).then(|| {
                let ratio = (earned as f64 - cost.minor as f64) / cost.minor as f64;
                (ratio * 10_000.0).round() / 10_000.0
            }),
        }
    }
}

pub async fn of(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<CampaignAnalytics, ApiError> {
    let mut campaign = campaigns::get(app, caller, artist, id).await?;
    let pk = stats::campaign_pk(id);
    let total_key = [StatsKey::Campaign(id)];
    let (mut totals, links, hours, days) = tokio::try_join!(
        stats::get_many(app, &total_key),
        stats::links(app, id),
        stats::range(app, &pk, ("HOUR#", "HOUR#~")),
        stats::range(app, &pk, ("DAY#", "DAY#~")),
    )?;
    let total = totals.remove(0);
    // One more Query, for A/B campaigns only: their cohorts.
    let ab_test = match &campaign.ab_test {
        Some(_) => ab::of(&campaign, &stats::cohorts(app, id).await?),
        None => None,
    };
    let engagement = engagement::campaign_engagement(&total, links);
    engagement::fill_seed_counters(&mut campaign, &engagement);
    let volumes = engagement.volumes.clone();
    let series = hours
        .iter()
        .filter_map(|(sk, counters)| {
            let start = NaiveDateTime::parse_from_str(
                &format!("{}:00", sk.strip_prefix("HOUR#")?),
                &format!("{HOUR_FORMAT}:%M"),
            )
            .ok()?
            .and_utc();
            Some(Point {
                start,
                granularity: Granularity::Hour,
                volumes: Volumes::of(counters),
            })
        })
        .chain(days.iter().filter_map(|(sk, counters)| {
            let day = NaiveDate::parse_from_str(sk.strip_prefix("DAY#")?, "%Y-%m-%d").ok()?;
            Some(Point {
                start: day.and_hms_opt(0, 0, 0)?.and_utc(),
                granularity: Granularity::Day,
                volumes: Volumes::of(counters),
            })
        }))
        .collect();
    Ok(CampaignAnalytics {
        campaign_id: campaign.id,
        name: campaign.name.clone(),
        contact_role: campaign.contact_role,
        status: campaign.status,
        started_at: campaign
            .frozen
            .as_ref()
            .map(|frozen| frozen.frozen_at)
            .or(campaign.sent_at),
        recipients: campaign.counters.recipient_count,
        roi: campaign.cost.map(|cost| Roi::of(cost, &volumes.revenue)),
        rates: volumes.rates(),
        teams: vec![TeamShare {
            contact_role: campaign.contact_role,
            volumes: volumes.clone(),
        }],
        volumes,
        links: engagement.links,
        series,
        ab_test,
    })
}
