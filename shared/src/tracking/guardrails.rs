//! Deliverability guardrails: a campaign bouncing or drawing complaints past what mailbox
//! providers and SES tolerate is paused before it hurts the sending reputation of every
//! artist on the account.
//!
//! - bounce rate = hard-bounced messages ÷ messages SES accepted, over [`MAX_BOUNCE_RATE`];
//! - complaint rate = complaints ÷ messages SES accepted, over [`MAX_COMPLAINT_RATE`], with at
//!   least [`MIN_COMPLAINTS`] (one complaint is a person, not a trend);
//!
//! both once [`MIN_SAMPLE`] messages were accepted: on fewer, one bad address is a rate of
//! several percent. A paused campaign says why in `status_reason`; resuming it is the team's
//! decision.

use crate::domain::{ArtistId, CampaignId, CampaignStatus, Counter};
use crate::sending::pause_with_reason;
use crate::store::stats::{self, StatsKey};
use crate::{ApiError, App, store};

pub const MAX_BOUNCE_RATE: f64 = 0.04;
pub const MAX_COMPLAINT_RATE: f64 = 0.0008;
pub const MIN_COMPLAINTS: u64 = 2;
pub const MIN_SAMPLE: u64 = 100;

/// Why the campaign must stop, if it must.
pub fn breach(accepted: u64, bounces: u64, complaints: u64) -> Option<String> {
    if accepted < MIN_SAMPLE {
        return None;
    }
    let rate = |n: u64| n as f64 / accepted as f64;
    if rate(bounces) > MAX_BOUNCE_RATE {
        return Some(format!(
            "bounce rate {:.1}% ({bounces} of {accepted}) is over the {:.0}% limit: clean the list before resuming",
            rate(bounces) * 100.0,
            MAX_BOUNCE_RATE * 100.0
        ));
    }
    if complaints >= MIN_COMPLAINTS && rate(complaints) > MAX_COMPLAINT_RATE {
        return Some(format!(
            "complaint rate {:.2}% ({complaints} of {accepted}) is over the {:.2}% limit",
            rate(complaints) * 100.0,
            MAX_COMPLAINT_RATE * 100.0
        ));
    }
    None
}

pub async fn check(app: &App, artist: ArtistId, campaign: CampaignId) -> Result<(), ApiError> {
    let Some(found) = store::campaigns::get(app, artist, campaign).await? else {
        return Ok(());
    };
    if found.status != CampaignStatus::Sending {
        return Ok(());
    }
    let counters = stats::get_many(app, &[StatsKey::Campaign(campaign)])
        .await?
        .remove(0);
    let reason = breach(
        found.counters.success_count,
        counters.get(Counter::Bounces),
        counters.get(Counter::Complaints),
    );
    if let Some(reason) = reason {
        tracing::warn!(%artist, %campaign, reason, "guardrail: campaign paused");
        pause_with_reason(app, &found, &reason).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_stops_past_either_rate_and_only_on_a_sample_large_enough() {
        for (accepted, bounces, complaints, stops) in [
            (99, 50, 0, false),
            (100, 4, 0, false),
            (100, 5, 0, true),
            (1_000, 40, 0, false),
            (1_000, 41, 0, true),
            (1_000, 0, 1, false),
            (1_000, 0, 2, true),
            (10_000, 0, 8, false),
            (10_000, 0, 9, true),
        ] {
            assert_eq!(
                breach(accepted, bounces, complaints).is_some(),
                stops,
                "{accepted} accepted, {bounces} bounces, {complaints} complaints"
            );
        }
        assert!(breach(100, 5, 0).unwrap().contains("bounce rate 5.0%"));
    }
}
