//! Engagement as the counters hold it (`store::stats`), for readers of campaigns and contacts:
//! the seed's counters filled in, and the detail beside them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::score;
use crate::analytics::Volumes;
use crate::domain::{Campaign, Contact, Counter, EngagementSummary};
use crate::store::stats::{self, Counters, LinkStats, StatsKey};
use crate::{ApiError, App};

/// A campaign's counts as `campaigns-get` shows them: the analytics' volumes, SES's delays and
/// rendering failures, and the clicks of each link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CampaignEngagement {
    #[serde(flatten)]
    pub volumes: Volumes,
    pub delivery_delays: u64,
    pub rendering_failures: u64,
    /// Clicks per link, in the order the message holds its links.
    pub links: Vec<LinkEngagement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct LinkEngagement {
    /// The link's place in the message (0 for the first tracked link).
    pub link_id: u16,
    pub url: Option<String>,
    pub clicks: u64,
    pub unique_clicks: u64,
    pub machine_clicks: u64,
}

/// Reads the campaign's counters and writes the seed's (`open_count` is unique human opens,
/// `click_count` unique human clicks) into `campaign`.
pub async fn of(app: &App, campaign: &mut Campaign) -> Result<CampaignEngagement, ApiError> {
    let total = [StatsKey::Campaign(campaign.id)];
    let (mut totals, links) =
        tokio::try_join!(stats::get_many(app, &total), stats::links(app, campaign.id))?;
    let engagement = campaign_engagement(&totals.remove(0), links);
    fill_seed_counters(campaign, &engagement);
    Ok(engagement)
}

/// A campaign's engagement from its counters and its links' (no request).
pub fn campaign_engagement(counters: &Counters, links: Vec<LinkStats>) -> CampaignEngagement {
    CampaignEngagement {
        volumes: Volumes::of(counters),
        delivery_delays: counters.get(Counter::DeliveryDelays),
        rendering_failures: counters.get(Counter::RenderingFailures),
        links: links
            .into_iter()
            .filter_map(|link| {
                Some(LinkEngagement {
                    link_id: link.id()?,
                    url: link.url,
                    clicks: link.clicks,
                    unique_clicks: link.unique_clicks,
                    machine_clicks: link.machine_clicks,
                })
            })
            .collect(),
    }
}

/// The seed's counters are the analytics' numbers, never counted apart.
pub fn fill_seed_counters(campaign: &mut Campaign, engagement: &CampaignEngagement) {
    let seed = &mut campaign.counters;
    let engagement = &engagement.volumes;
    seed.open_count = engagement.unique_opens;
    seed.click_count = engagement.unique_clicks;
    seed.bounce_count = engagement.bounces;
    seed.complaint_count = engagement.complaints;
    seed.unsubscribe_count = engagement.unsubscribes;
    seed.reply_count = engagement.replied;
}

/// A contact's engagement from its counters, its score as of `now` (no request).
pub fn contact_summary(counters: &Counters, now: DateTime<Utc>) -> EngagementSummary {
    let lost = counters.get(Counter::Bounces) > 0 || counters.get(Counter::Complaints) > 0;
    EngagementSummary {
        sent: counters.get(Counter::Sent),
        opened: counters.get(Counter::Opened),
        clicked: counters.get(Counter::Clicked),
        replied: counters.get(Counter::Replied),
        last_activity_at: i64::try_from(counters.last_activity_ms())
            .ok()
            .filter(|ms| *ms > 0)
            .and_then(DateTime::from_timestamp_millis),
        score: score::score(counters.score_points(), now, lost),
        unengaged: counters.get(Counter::SendsSinceEngagement) >= score::UNENGAGED_AFTER,
    }
}

/// The contacts among `contacts` whose score is at least `min`: one BatchGetItem per 100.
pub async fn scoring_at_least<'a>(
    app: &App,
    contacts: Vec<&'a Contact>,
    min: u8,
) -> Result<Vec<&'a Contact>, ApiError> {
    if contacts.is_empty() || min == 0 {
        return Ok(contacts);
    }
    let keys: Vec<StatsKey> = contacts.iter().map(|c| StatsKey::Contact(c.id)).collect();
    let counters = stats::get_many(app, &keys).await?;
    let now = Utc::now();
    Ok(contacts
        .into_iter()
        .zip(counters)
        .filter(|(_, counters)| contact_summary(counters, now).score >= min)
        .map(|(contact, _)| contact)
        .collect())
}

/// Fills each contact's `engagement` from its counters (messages sent to it, messages it opened,
/// clicked and answered as a person, its latest such activity, its score): one BatchGetItem per
/// 100 contacts. The contact's item never holds them, so edits to a contact and events never
/// overwrite each other.
pub async fn of_contacts(app: &App, contacts: &mut [Contact]) -> Result<Vec<Counters>, ApiError> {
    if contacts.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<StatsKey> = contacts
        .iter()
        .map(|contact| StatsKey::Contact(contact.id))
        .collect();
    let counters = stats::get_many(app, &keys).await?;
    let now = Utc::now();
    for (contact, counters) in contacts.iter_mut().zip(&counters) {
        contact.engagement = contact_summary(counters, now);
    }
    Ok(counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_is_unengaged_after_eleven_sends_in_a_row_and_lost_contacts_score_nothing() {
        let now = Utc::now();
        let summary = |values: &[(Counter, u64)]| contact_summary(&Counters::of(values), now);
        assert!(!summary(&[(Counter::SendsSinceEngagement, 10)]).unengaged);
        assert!(summary(&[(Counter::SendsSinceEngagement, 11)]).unengaged);
        assert_eq!(summary(&[]).score, 0);
        assert!(!summary(&[]).unengaged, "never sent to is not unengaged");
    }
}
