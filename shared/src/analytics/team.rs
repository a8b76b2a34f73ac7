//! An artist's analytics and one team's (`GET /api/artists/{artistId}/email/analytics[/{role}]`):
//! volumes and rates per period for each team side by side, the list's growth, the best
//! campaigns by a person's click and reply rates, the reply rate of each campaign.
//!
//! Read from the teams' day items (one Query per team over the range, at most 366 small
//! items), the totals of the artist's latest campaigns (one Query, one BatchGetItem) and the
//! teams' score distributions (one BatchGetItem): at most eight requests for five teams,
//! whatever their audience.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::campaign::Granularity;
use super::volumes::{Rate, Rates, Volumes};
use crate::auth::{Caller, RoleAccess};
use crate::domain::{ArtistId, CampaignId, ContactRole, Counter};
use crate::store::campaigns::ListQuery;
use crate::store::stats::{self, Counters, StatsKey};
use crate::store::team_list::Teams;
use crate::tracking::score;
use crate::{ApiError, App, store};

/// The longest range one call covers.
pub const MAX_DAYS: i64 = 366;
/// Without `from`, the range is the 30 days up to `to` (today, UTC, without `to`).
pub const DEFAULT_DAYS: i64 = 30;
/// How many of the artist's latest campaigns are ranked.
pub const CAMPAIGNS_RANKED: usize = 50;

#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
}

impl Range {
    /// The range asked for, with the documented defaults; an error names what is wrong.
    pub fn new(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        granularity: Option<Granularity>,
    ) -> Result<Self, String> {
        let to = to.unwrap_or_else(|| Utc::now().date_naive());
        let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        if from > to {
            return Err("from must not be after to".into());
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(format!("the range must be at most {MAX_DAYS} days"));
        }
        let granularity = granularity.unwrap_or(Granularity::Day);
        if granularity == Granularity::Hour {
            return Err("granularity must be day, week or month".into());
        }
        Ok(Self {
            from,
            to,
            granularity,
        })
    }

    /// The start of the period `day` falls in (weeks start on Monday).
    fn period_of(&self, day: NaiveDate) -> NaiveDate {
        match self.granularity {
            Granularity::Week => day - Duration::days(day.weekday().num_days_from_monday().into()),
            Granularity::Month => day.with_day(1).unwrap_or(day),
            Granularity::Day | Granularity::Hour => day,
        }
    }

    fn periods(&self) -> Vec<NaiveDate> {
        let mut periods: Vec<NaiveDate> = self
            .from
            .iter_days()
            .take_while(|day| *day <= self.to)
            .map(|day| self.period_of(day))
            .collect();
        periods.dedup();
        periods
    }
}

/// One period of a team: what it counted, and its list's growth.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Period {
    pub start: NaiveDate,
    #[serde(flatten)]
    pub volumes: Volumes,
    pub rates: Rates,
    pub contacts_created: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TeamAnalytics {
    pub contact_role: ContactRole,
    pub volumes: Volumes,
    pub rates: Rates,
    pub contacts_created: u64,
    pub periods: Vec<Period>,
    /// The team's contacts who ever engaged (or were lost), by their score now.
    pub score_distribution: Vec<ScoreBand>,
}

/// Contacts whose score today is in `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ScoreBand {
    pub from: u8,
    pub to: u8,
    pub contacts: u64,
}

/// Ten bands of ten points (the last one 90–100) from a team's buckets.
pub fn score_bands(buckets: &[(i64, u64)], now: chrono::DateTime<Utc>) -> Vec<ScoreBand> {
    let mut bands: Vec<ScoreBand> = (0..10)
        .map(|i| ScoreBand {
            from: i * 10,
            to: if i == 9 { 100 } else { i * 10 + 9 },
            contacts: 0,
        })
        .collect();
    for (bucket, contacts) in buckets {
        let band = usize::from((score::bucket_score(*bucket, now) / 10).min(9));
        bands[band].contacts += contacts;
    }
    bands
}

/// One campaign of the range, ranked.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CampaignRate {
    pub campaign_id: CampaignId,
    pub name: String,
    pub contact_role: ContactRole,
    pub delivered: u64,
    pub click_rate: Rate,
    pub reply_rate: Rate,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ArtistAnalytics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub volumes: Volumes,
    pub rates: Rates,
    /// Side by side, one entry per team the caller may see.
    pub teams: Vec<TeamAnalytics>,
    /// The range's campaigns (among the artist's latest), best click rate first.
    pub best_by_click_rate: Vec<CampaignRate>,
    /// The same, best reply rate first: the reply rate of each campaign.
    pub best_by_reply_rate: Vec<CampaignRate>,
}

/// The teams the caller may see of `artist`, or only `role` (403 without it).
pub(super) fn teams_of(
    caller: &Caller,
    artist: ArtistId,
    role: Option<ContactRole>,
) -> Result<Vec<ContactRole>, ApiError> {
    let access = caller.require_artist(artist)?;
    Ok(match role {
        Some(role) => {
            caller.require_team(artist, role)?;
            vec![role]
        }
        None => ContactRole::ALL
            .into_iter()
            .filter(|role| match &access {
                RoleAccess::All => true,
                RoleAccess::Only(roles) => roles.contains(role),
            })
            .collect(),
    })
}

pub async fn of(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    role: Option<ContactRole>,
    range: Range,
) -> Result<ArtistAnalytics, ApiError> {
    let roles = teams_of(caller, artist, role)?;
    let bounds = (format!("DAY#{}", range.from), format!("DAY#{}", range.to));
    let days = futures::future::try_join_all(roles.iter().map(|role| {
        let pk = stats::team_pk(artist, *role);
        let bounds = bounds.clone();
        async move { stats::range(app, &pk, (&bounds.0, &bounds.1)).await }
    }));
    let (days, ranked, distributions) = tokio::try_join!(
        days,
        ranked_campaigns(app, artist, &roles, range),
        stats::distributions(app, artist, &roles)
    )?;
    let now = Utc::now();
    let mut volumes = Volumes::default();
    let teams: Vec<TeamAnalytics> = roles
        .iter()
        .zip(days)
        .zip(distributions)
        .map(|((role, days), distribution)| {
            let mut team = team(*role, &days, &range);
            team.score_distribution = score_bands(&distribution.buckets(), now);
            volumes.add(&team.volumes);
            team
        })
        .collect();
    let mut best_by_reply_rate = ranked.clone();
    best_by_reply_rate.sort_by(|a, b| rate_order(&b.reply_rate, &a.reply_rate));
    let mut best_by_click_rate = ranked;
    best_by_click_rate.sort_by(|a, b| rate_order(&b.click_rate, &a.click_rate));
    Ok(ArtistAnalytics {
        from: range.from,
        to: range.to,
        granularity: range.granularity,
        rates: volumes.rates(),
        volumes,
        teams,
        best_by_click_rate,
        best_by_reply_rate,
    })
}

fn rate_order(a: &Rate, b: &Rate) -> std::cmp::Ordering {
    a.value
        .unwrap_or(-1.0)
        .total_cmp(&b.value.unwrap_or(-1.0))
        .then(a.denominator.cmp(&b.denominator))
}

pub(super) fn team(role: ContactRole, days: &[(String, Counters)], range: &Range) -> TeamAnalytics {
    let mut periods: Vec<Period> = range
        .periods()
        .into_iter()
        .map(|start| Period {
            start,
            volumes: Volumes::default(),
            rates: Volumes::default().rates(),
            contacts_created: 0,
        })
        .collect();
    for (sk, counters) in days {
        let Some(day) = sk
            .strip_prefix("DAY#")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        else {
            continue;
        };
        let start = range.period_of(day);
        if let Some(period) = periods.iter_mut().find(|p| p.start == start) {
            period.volumes.add(&Volumes::of(counters));
            period.contacts_created += counters.get(Counter::ContactsCreated);
        }
    }
    let mut volumes = Volumes::default();
    let mut contacts_created = 0;
    for period in &mut periods {
        period.rates = period.volumes.rates();
        volumes.add(&period.volumes);
        contacts_created += period.contacts_created;
    }
    TeamAnalytics {
        contact_role: role,
        rates: volumes.rates(),
        volumes,
        contacts_created,
        periods,
        score_distribution: Vec::new(),
    }
}

/// The artist's latest campaigns of these teams started in the range, with their totals.
async fn ranked_campaigns(
    app: &App,
    artist: ArtistId,
    roles: &[ContactRole],
    range: Range,
) -> Result<Vec<CampaignRate>, ApiError> {
    let teams = match roles {
        [one] => Teams::One(*one),
        all if all.len() == ContactRole::ALL.len() => Teams::All,
        several => Teams::Several(several.to_vec()),
    };
    let page = store::campaigns::list(
        app,
        &ListQuery {
            artist,
            teams,
            status: None,
            limit: CAMPAIGNS_RANKED,
            after: None,
        },
    )
    .await?;
    let campaigns: Vec<_> = page
        .items
        .into_iter()
        .filter(|campaign| {
            let started = campaign
                .frozen
                .as_ref()
                .map(|frozen| frozen.frozen_at.date_naive());
            started.is_some_and(|day| range.from <= day && day <= range.to)
        })
        .collect();
    let keys: Vec<StatsKey> = campaigns
        .iter()
        .map(|campaign| StatsKey::Campaign(campaign.id))
        .collect();
    let totals = if keys.is_empty() {
        Vec::new()
    } else {
        stats::get_many(app, &keys).await?
    };
    Ok(campaigns
        .into_iter()
        .zip(totals)
        .map(|(campaign, counters)| {
            let volumes = Volumes::of(&counters);
            let rates = volumes.rates();
            CampaignRate {
                campaign_id: campaign.id,
                name: campaign.name,
                contact_role: campaign.contact_role,
                delivered: volumes.delivered,
                click_rate: rates.click_rate,
                reply_rate: rates.reply_rate,
            }
        })
        .collect())
}
