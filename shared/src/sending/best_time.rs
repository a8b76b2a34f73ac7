//! Best-time campaigns: each recipient's message goes in the hour of the window its best send
//! hour falls in (`send_time`), through the queues of a normal send, with no process waiting.
//!
//! The first dispatch pass creates every recipient's row with its hour (`slot`, in the sends
//! table's sparse `by_slot` index) and queues the rows whose hour has come. The campaign then
//! sits in the `due` index (partition `SLOT`) at its next hour: each scheduler tick queues, for
//! every hour come since the last one queued, a dispatch message of that hour's rows (read
//! from the index) and moves `slots_queued` on with a conditional write, so each hour is
//! queued once (a replay queues rows the sender then skips). Pause takes the campaign out of
//! the index; resume queues again every hour come so far and puts it back; cancel ends it.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::messages::{DispatchMessage, SendBatch, enqueue_batches, enqueue_dispatch};
use crate::domain::{BestTimeWindow, Campaign, CampaignStatus, Contact, ContactId};
use crate::send_time::{Fallbacks, slot};
use crate::store::campaigns as store;
use crate::store::sends;
use crate::store::stats::{self, StatsKey};
use crate::{ApiError, App};

/// The hour of `campaign`'s window `now` is in (0 is its start's), within the window.
pub fn current_slot(campaign: &Campaign, window: BestTimeWindow, now: DateTime<Utc>) -> u16 {
    let start = campaign.sent_at.unwrap_or(now);
    let hours = (now - start).num_hours().max(0);
    u16::try_from(hours)
        .unwrap_or(u16::MAX)
        .min(window.window_hours - 1)
}

/// When the hour after `slot` starts, if the window has one.
fn next_due(campaign: &Campaign, window: BestTimeWindow, slot: u16) -> Option<DateTime<Utc>> {
    let start = campaign.sent_at?;
    (slot + 1 < window.window_hours).then(|| start + Duration::hours(i64::from(slot) + 1))
}

/// Each contact's hour of the window: one BatchGetItem per 100 contacts for their hours, and
/// (only when some lack history) one Query per team for the heatmaps.
pub async fn slots(
    app: &App,
    campaign: &Campaign,
    window: BestTimeWindow,
    contacts: &[&Contact],
) -> Result<HashMap<ContactId, u16>, ApiError> {
    let start = campaign.sent_at.unwrap_or_else(Utc::now);
    let keys: Vec<StatsKey> = contacts.iter().map(|c| StatsKey::Contact(c.id)).collect();
    let counters = stats::get_many(app, &keys).await?;
    let own = Fallbacks::default();
    let needs_fallbacks = counters
        .iter()
        .any(|c| own.best_for(c).source != crate::send_time::TimeSource::Contact);
    let fallbacks = match needs_fallbacks {
        true => Fallbacks::read(app, campaign.artist_id, campaign.contact_role, start).await?,
        false => own,
    };
    Ok(contacts
        .iter()
        .zip(&counters)
        .map(|(contact, counters)| {
            let best = fallbacks.best_for(counters);
            (contact.id, slot(best.hour, start, window.window_hours))
        })
        .collect())
}

/// After the first pass (or a pass resumed mid-way): every hour's rows exist, the start's are
/// queued; the scheduler takes it from the next hour.
pub async fn passed(
    app: &App,
    campaign: &Campaign,
    window: BestTimeWindow,
) -> Result<(), ApiError> {
    store::best_time_due(app, campaign, next_due(campaign, window, 0)).await
}

/// A resumed best-time campaign: every hour come so far is queued again (rows taken are
/// skipped by the sender), and the campaign is due at its next hour.
pub async fn resume(
    app: &App,
    campaign: &Campaign,
    window: BestTimeWindow,
) -> Result<(), ApiError> {
    let upto = current_slot(campaign, window, Utc::now()).max(campaign.slots_queued.unwrap_or(0));
    for slot in 0..=upto {
        enqueue_dispatch(app, &slot_message(campaign, slot)).await?;
    }
    if store::advance_slots(app, campaign, campaign.slots_queued, upto).await? {
        store::best_time_due(app, campaign, next_due(campaign, window, upto)).await?;
    }
    Ok(())
}

fn slot_message(campaign: &Campaign, slot: u16) -> DispatchMessage {
    DispatchMessage {
        artist_id: campaign.artist_id,
        campaign_id: campaign.id,
        after: None,
        rest_only: false,
        slot: Some(slot),
    }
}

/// `campaign-scheduler`: queues the hours come since the last one queued, for every best-time
/// campaign due by `now`; answers how many hours were queued.
pub async fn queue_due_slots(app: &App, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let mut queued = 0;
    for campaign in store::due(app, store::Due::NextHour, now, 100).await? {
        let Some(window) = campaign.send_at_best_time else {
            continue;
        };
        if campaign.status != CampaignStatus::Sending {
            continue;
        }
        let done = campaign.slots_queued.unwrap_or(0);
        let now_slot = current_slot(&campaign, window, now);
        // Queued before the write that says so: a crash between them queues an hour twice,
        // which the sender's claims make harmless; the other order could lose it.
        for slot in done + 1..=now_slot {
            enqueue_dispatch(app, &slot_message(&campaign, slot)).await?;
            queued += 1;
        }
        if store::advance_slots(app, &campaign, campaign.slots_queued, now_slot.max(done)).await? {
            store::best_time_due(
                app,
                &campaign,
                next_due(&campaign, window, now_slot.max(done)),
            )
            .await?;
        }
    }
    Ok(queued)
}

/// One page of one hour's rows, queued in batches of one variant each; answers the batches
/// and where the hour continues.
pub async fn queue_slot(
    app: &App,
    campaign: &Campaign,
    message: &DispatchMessage,
    slot: u16,
) -> Result<usize, ApiError> {
    let page = sends::of_slot(app, campaign.id, slot, message.after.clone()).await?;
    let batches = SendBatch::of_variants(
        campaign,
        page.items
            .into_iter()
            .map(|row| (row.variant, row.contact_id)),
    );
    enqueue_batches(app, &batches).await?;
    if let Some(after) = page.next {
        enqueue_dispatch(
            app,
            &DispatchMessage {
                after: Some(after),
                ..message.clone()
            },
        )
        .await?;
    }
    Ok(batches.len())
}
