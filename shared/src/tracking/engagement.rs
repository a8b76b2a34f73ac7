//! Engagement as the counters hold it (`store::stats`), for readers of campaigns and contacts:
//! the seed's counters filled in, and the detail beside them.

use chrono::DateTime;
use serde::Serialize;

use crate::domain::{Campaign, Contact, EngagementSummary};
use crate::store::stats::{self, StatsKey};
use crate::{ApiError, App};

/// Opens and clicks are the person's; machines' are counted apart (`machine`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CampaignEngagement {
    pub delivered: u64,
    pub opens: u64,
    pub unique_opens: u64,
    pub machine_opens: u64,
    pub clicks: u64,
    pub unique_clicks: u64,
    pub machine_clicks: u64,
    /// Hard bounces; `soft_bounces` are temporary failures.
    pub bounces: u64,
    pub soft_bounces: u64,
    pub complaints: u64,
    pub rejects: u64,
    pub delivery_delays: u64,
    pub rendering_failures: u64,
    pub unsubscribes: u64,
    /// Messages a person answered (automatic replies are left out), and their replies.
    pub replied: u64,
    pub replies: u64,
    /// Clicks per link, in the order the message holds its links.
    pub links: Vec<LinkEngagement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    let counters = totals.remove(0);
    let engagement = CampaignEngagement {
        delivered: counters.get("delivered"),
        opens: counters.get("opens"),
        unique_opens: counters.get("unique_opens"),
        machine_opens: counters.get("machine_opens"),
        clicks: counters.get("clicks"),
        unique_clicks: counters.get("unique_clicks"),
        machine_clicks: counters.get("machine_clicks"),
        bounces: counters.get("bounces"),
        soft_bounces: counters.get("soft_bounces"),
        complaints: counters.get("complaints"),
        rejects: counters.get("rejects"),
        delivery_delays: counters.get("delivery_delays"),
        rendering_failures: counters.get("rendering_failures"),
        unsubscribes: counters.get("unsubscribes"),
        replied: counters.get("replied"),
        replies: counters.get("replies"),
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
    };
    let seed = &mut campaign.counters;
    seed.open_count = engagement.unique_opens;
    seed.click_count = engagement.unique_clicks;
    seed.bounce_count = engagement.bounces;
    seed.complaint_count = engagement.complaints;
    seed.unsubscribe_count = engagement.unsubscribes;
    seed.reply_count = engagement.replied;
    Ok(engagement)
}

/// Fills each contact's `engagement` from its counters (messages sent to it, messages it opened
/// and clicked as a person, its latest such activity): one BatchGetItem per 100 contacts. The
/// contact's item never holds them, so edits to a contact and events never overwrite each other.
pub async fn of_contacts(app: &App, contacts: &mut [Contact]) -> Result<(), ApiError> {
    if contacts.is_empty() {
        return Ok(());
    }
    let keys: Vec<StatsKey> = contacts
        .iter()
        .map(|contact| StatsKey::Contact(contact.id))
        .collect();
    let counters = stats::get_many(app, &keys).await?;
    for (contact, counters) in contacts.iter_mut().zip(counters) {
        let last_activity = counters.get(stats::LAST_ACTIVITY);
        contact.engagement = EngagementSummary {
            sent: counters.get("sent"),
            opened: counters.get("opened"),
            clicked: counters.get("clicked"),
            replied: counters.get("replied"),
            last_activity_at: i64::try_from(last_activity)
                .ok()
                .filter(|ms| *ms > 0)
                .and_then(DateTime::from_timestamp_millis),
        };
    }
    Ok(())
}
