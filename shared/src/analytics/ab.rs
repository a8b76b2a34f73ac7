//! An A/B campaign's evidence (`GET …/campaigns/{campaignId}/analytics`, `ab_test`): each
//! variant's counts and rates, its probability to be best and the expected loss of choosing
//! it on the counts as they are now; for a test-then-winner test, the decision as it was
//! taken (when, why, on which numbers) and the winner's send to the rest.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::volumes::{Rates, Volumes};
use crate::ab::decide::{Assessment, assess};
use crate::domain::{AbDecision, AbMetric, AbMode, Campaign, VariantIndex};
use crate::sending::arms;
use crate::store::stats::Counters;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AbState {
    /// A test-then-winner test before its decision.
    Testing,
    /// Its winner (or fallback) is going or went to the rest.
    Decided,
    /// A split: everyone was in the test; nothing is forced.
    Reported,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct VariantAnalytics {
    pub variant: VariantIndex,
    /// The variant's subject and sender name as frozen at the start (template syntax shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
    pub volumes: Volumes,
    pub rates: Rates,
    pub probability_best: f64,
    pub expected_loss: f64,
}

/// The chosen variant's send to the contacts held for it, counted apart from its test.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct WinnerSend {
    pub variant: VariantIndex,
    pub volumes: Volumes,
    pub rates: Rates,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AbAnalytics {
    /// The test's mode and metric; its variants are `variants` below, with their figures (the
    /// whole `AbTest` flattened here wrote `variants` twice in one object).
    #[serde(flatten)]
    pub mode: AbMode,
    pub metric: AbMetric,
    pub state: AbState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_ends_at: Option<DateTime<Utc>>,
    pub variants: Vec<VariantAnalytics>,
    /// What the counts say now (a split's result; a test's, before or after its decision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Assessment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<AbDecision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner_send: Option<WinnerSend>,
}

/// `campaign`'s A/B analytics from its cohort counters (`None` without a test).
pub fn of(
    campaign: &Campaign,
    cohorts: &[(Option<VariantIndex>, Counters)],
) -> Option<AbAnalytics> {
    let test = campaign.ab_test.as_ref()?;
    let assessment = assess(test.metric, &arms(test, cohorts));
    let counted = |cohort: Option<VariantIndex>| {
        cohorts
            .iter()
            .find(|(c, _)| *c == cohort)
            .map_or_else(Volumes::default, |(_, counters)| Volumes::of(counters))
    };
    let variants = test
        .indexes()
        .map(|variant| {
            let volumes = counted(Some(variant));
            let evidence = assessment
                .as_ref()
                .and_then(|a| a.evidence.iter().find(|e| e.variant == variant));
            let frozen = campaign
                .frozen
                .as_ref()
                .and_then(|frozen| frozen.variants.get(variant.index()));
            VariantAnalytics {
                variant,
                subject: frozen.map(|f| f.sources.subject.clone()),
                from_name: frozen.map(|f| f.from_name.clone()),
                rates: volumes.rates(),
                volumes,
                probability_best: evidence.map_or(0.0, |e| e.probability_best),
                expected_loss: evidence.map_or(0.0, |e| e.expected_loss),
            }
        })
        .collect();
    let winner_send = campaign.ab_decision.as_ref().map(|decision| {
        let volumes = counted(None);
        WinnerSend {
            variant: decision.chosen,
            rates: volumes.rates(),
            volumes,
        }
    });
    let state = match (&test.mode, &campaign.ab_decision) {
        (AbMode::Split, _) => AbState::Reported,
        (AbMode::TestThenWinner { .. }, None) => AbState::Testing,
        (AbMode::TestThenWinner { .. }, Some(_)) => AbState::Decided,
    };
    Some(AbAnalytics {
        mode: test.mode.clone(),
        metric: test.metric,
        state,
        test_ends_at: campaign.test_ends_at,
        variants,
        assessment,
        decision: campaign.ab_decision.clone(),
        winner_send,
    })
}
