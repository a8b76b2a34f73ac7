//! The end of a test-then-winner test: the scheduler reads each variant's test counts, takes
//! the decision (`ab::decide`) and records it once with its audit record; the pass that sends
//! the chosen variant to the contacts held for it is then queued. A campaign paused when its
//! test ends is decided when it is resumed (a pause takes it out of the `due` index; resuming
//! puts it back with the same end).

use chrono::{DateTime, Utc};

use super::lifecycle::{audit, pause_with_reason, service};
use super::messages::{DispatchMessage, enqueue_dispatch};
use crate::ab::bayes::Arm;
use crate::ab::decide::decide;
use crate::domain::{
    AbDecision, AbMetric, AbMode, AbTest, AuditAction, Campaign, Counter, VariantIndex,
};
use crate::store::campaigns as store;
use crate::store::stats::{self, Counters};
use crate::{ApiError, App};

/// One variant's test as the statistics take it: the people who did what `metric` counts
/// (never machines: their opens and clicks are counted apart), among delivered messages.
pub fn arm(metric: AbMetric, counters: Option<&Counters>) -> Arm {
    let Some(counters) = counters else {
        return Arm {
            successes: 0,
            trials: 0,
        };
    };
    Arm {
        successes: counters.get(match metric {
            AbMetric::UniqueOpens => Counter::UniqueOpens,
            AbMetric::UniqueClicks => Counter::UniqueClicks,
            AbMetric::Replies => Counter::Replied,
            AbMetric::Conversions => Counter::Converted,
        }),
        trials: counters.get(Counter::Delivered),
    }
}

/// Each variant's test of `test`, from the campaign's cohort counters.
pub fn arms(
    test: &AbTest,
    cohorts: &[(Option<VariantIndex>, Counters)],
) -> Vec<(VariantIndex, Arm)> {
    test.indexes()
        .map(|variant| {
            let counters = cohorts
                .iter()
                .find(|(cohort, _)| *cohort == Some(variant))
                .map(|(_, counters)| counters);
            (variant, arm(test.metric, counters))
        })
        .collect()
}

/// `campaign-scheduler`: decides every test that has ended by `now`; answers how many.
pub async fn decide_due(app: &App, now: DateTime<Utc>) -> Result<usize, ApiError> {
    let mut decided = 0;
    for campaign in store::due(app, store::Due::TestEnd, now, 100).await? {
        match decide_test(app, &campaign, now).await {
            Ok(taken) => decided += usize::from(taken.is_some()),
            Err(error) => {
                tracing::error!(campaign = %campaign.id, error = format!("{error:#}"), "A/B test not decided; next tick retries");
            }
        }
    }
    Ok(decided)
}

/// Decides `campaign`'s test and queues the winner's send; `None` when there was nothing to
/// decide (no test, decided already, or no longer sending).
pub async fn decide_test(
    app: &App,
    campaign: &Campaign,
    now: DateTime<Utc>,
) -> Result<Option<AbDecision>, ApiError> {
    let Some(test) = campaign
        .ab_test
        .as_ref()
        .filter(|_| campaign.awaits_winner())
    else {
        return Ok(None);
    };
    let AbMode::TestThenWinner { fallback, .. } = test.mode else {
        return Ok(None);
    };
    let cohorts = stats::cohorts(app, campaign.id).await?;
    let decision = decide(test.metric, &arms(test, &cohorts), fallback, now);
    let mut record = audit(campaign, &service(), AuditAction::CampaignAbDecided);
    record.changed = vec!["ab_decision".into()];
    let Some(decided) = store::record_decision(app, campaign, &decision, record).await? else {
        return Ok(None);
    };
    tracing::info!(campaign = %campaign.id, outcome = ?decision.outcome, chosen = %decision.chosen, "A/B test decided");
    let rest = DispatchMessage {
        artist_id: campaign.artist_id,
        campaign_id: campaign.id,
        after: None,
        rest_only: true,
        slot: None,
    };
    if let Err(error) = enqueue_dispatch(app, &rest).await {
        tracing::error!(campaign = %campaign.id, error = format!("{error:#}"), "winner's send not queued");
        pause_with_reason(
            app,
            &decided,
            "the winner's send could not be queued: resume the campaign to send it",
        )
        .await?;
    }
    Ok(Some(decision))
}
