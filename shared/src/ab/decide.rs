//! The decision rule of a test-then-winner test, and the smallest audience it is offered for.
//!
//! The winner is the variant with the smallest expected loss, if that loss is under
//! [`RELATIVE_THRESHOLD`] of the leading rate: choosing it costs, in expectation, less than a
//! twentieth of what the best variant achieves (an open rate of 40 % risks less than two
//! points). Otherwise the test is inconclusive and the declared fallback goes out. Expected
//! loss, unlike a significance test, stays meaningful on the small lists of a press or label
//! team: a clear difference is found with fifty people per variant, and two variants that
//! perform alike are called inconclusive instead of a coin toss being called a winner.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::bayes::{Arm, evaluate};
use crate::domain::{
    AbDecision, AbMetric, AbMode, AbOutcome, AbTest, VariantEvidence, VariantIndex,
};

/// The share of the leading variant's rate under which an expected loss is negligible.
pub const RELATIVE_THRESHOLD: f64 = 0.05;

/// Recipients each variant's test should expect: fewer, and a test can find only differences
/// so large nobody needed a test.
pub const MIN_TEST_PER_VARIANT: u64 = 25;

/// The smallest audience a test-then-winner `test` is run on (`None` for a split, which runs on
/// any list and forces nothing).
pub fn minimum_audience(test: &AbTest) -> Option<u64> {
    match test.mode {
        AbMode::Split => None,
        AbMode::TestThenWinner { test_percent, .. } => {
            let needed = MIN_TEST_PER_VARIANT * test.variants.len() as u64 * 100;
            Some(needed.div_ceil(u64::from(test_percent)))
        }
    }
}

/// What a test's counts say: the variant whose choice loses least, and whether that loss is
/// under the threshold. A split reports it; a test-then-winner test decides by it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Assessment {
    pub leader: VariantIndex,
    pub conclusive: bool,
    pub threshold: f64,
    pub evidence: Vec<VariantEvidence>,
    pub reason: String,
}

/// The assessment of `arms` (every variant's test counts); `None` without variants.
pub fn assess(metric: AbMetric, arms: &[(VariantIndex, Arm)]) -> Option<Assessment> {
    let counts: Vec<Arm> = arms.iter().map(|(_, arm)| *arm).collect();
    let evaluations = evaluate(&counts);
    let leading_rate = evaluations.iter().map(|e| e.mean).fold(0.0, f64::max);
    let threshold = RELATIVE_THRESHOLD * leading_rate;
    let (at, least) = evaluations
        .iter()
        .enumerate()
        .min_by(|(_, x), (_, y)| x.expected_loss.total_cmp(&y.expected_loss))?;
    let leader = arms[at].0;
    let points = |rate: f64| format!("{:.2} points", rate * 100.0);
    let conclusive = least.expected_loss <= threshold;
    let reason = if conclusive {
        format!(
            "{leader} is best with probability {:.1} %; choosing it loses {} of {} in expectation, under the threshold of {} ({} % of the leading rate)",
            least.probability_best * 100.0,
            points(least.expected_loss),
            metric.as_str(),
            points(threshold),
            RELATIVE_THRESHOLD * 100.0
        )
    } else {
        format!(
            "no variant is clearly best: the lowest expected loss ({leader}, {} of {}) is over the threshold of {} ({} % of the leading rate)",
            points(least.expected_loss),
            metric.as_str(),
            points(threshold),
            RELATIVE_THRESHOLD * 100.0
        )
    };
    Some(Assessment {
        leader,
        conclusive,
        threshold: round(threshold),
        evidence: arms
            .iter()
            .zip(&evaluations)
            .map(|((variant, arm), e)| VariantEvidence {
                variant: *variant,
                trials: arm.trials,
                successes: arm.successes.min(arm.trials),
                probability_best: round(e.probability_best),
                expected_loss: round(e.expected_loss),
            })
            .collect(),
        reason,
    })
}

/// The decision on `arms`: the leader when conclusive, else `fallback`.
pub fn decide(
    metric: AbMetric,
    arms: &[(VariantIndex, Arm)],
    fallback: VariantIndex,
    now: DateTime<Utc>,
) -> AbDecision {
    let Some(assessment) = assess(metric, arms) else {
        return AbDecision {
            outcome: AbOutcome::Inconclusive,
            chosen: fallback,
            metric,
            threshold: 0.0,
            evidence: Vec::new(),
            reason: format!(
                "the test has no variants to compare; the fallback {fallback} goes to the rest"
            ),
            decided_at: now,
        };
    };
    let (outcome, chosen, reason) = if assessment.conclusive {
        (AbOutcome::Winner, assessment.leader, assessment.reason)
    } else {
        (
            AbOutcome::Inconclusive,
            fallback,
            format!(
                "{}; the fallback {fallback} goes to the rest",
                assessment.reason
            ),
        )
    };
    AbDecision {
        outcome,
        chosen,
        metric,
        threshold: assessment.threshold,
        evidence: assessment.evidence,
        reason,
        decided_at: now,
    }
}

/// Six decimals: what the analytics show, and what makes a stored decision read back equal.
fn round(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Variant;

    fn v(letter: &str) -> VariantIndex {
        VariantIndex::parse(letter).unwrap()
    }

    fn arms(counts: &[(u64, u64)]) -> Vec<(VariantIndex, Arm)> {
        counts
            .iter()
            .enumerate()
            .map(|(i, (successes, trials))| {
                (
                    VariantIndex::new(i).unwrap(),
                    Arm {
                        successes: *successes,
                        trials: *trials,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn a_clear_difference_on_fifty_people_per_variant_has_a_winner() {
        let decision = decide(
            AbMetric::UniqueOpens,
            &arms(&[(6, 50), (27, 50), (11, 50)]),
            v("A"),
            Utc::now(),
        );
        assert_eq!(decision.outcome, AbOutcome::Winner);
        assert_eq!(decision.chosen, v("B"));
        assert!(decision.evidence[1].probability_best > 0.99, "{decision:?}");
        assert!(
            decision.reason.starts_with("B is best"),
            "{}",
            decision.reason
        );
    }

    #[test]
    fn alike_variants_are_inconclusive_and_the_fallback_goes_out() {
        for counts in [
            [(15, 50), (16, 50), (14, 50)],
            [(0, 50), (0, 50), (0, 50)],
            [(0, 0), (0, 0), (0, 0)],
        ] {
            let decision = decide(AbMetric::UniqueClicks, &arms(&counts), v("C"), Utc::now());
            assert_eq!(decision.outcome, AbOutcome::Inconclusive, "{counts:?}");
            assert_eq!(decision.chosen, v("C"));
            assert!(
                decision.reason.contains("fallback C"),
                "{}",
                decision.reason
            );
        }
    }

    #[test]
    fn a_large_test_decides_small_differences_a_small_one_does_not() {
        let small = decide(
            AbMetric::UniqueOpens,
            &arms(&[(30, 100), (31, 100)]),
            v("A"),
            Utc::now(),
        );
        assert_eq!(small.outcome, AbOutcome::Inconclusive, "{small:?}");
        let large = decide(
            AbMetric::UniqueOpens,
            &arms(&[(3000, 10_000), (3100, 10_000)]),
            v("A"),
            Utc::now(),
        );
        assert_eq!(large.outcome, AbOutcome::Winner);
        assert_eq!(large.chosen, v("B"));
    }

    #[test]
    fn the_minimum_audience_gives_each_variant_its_share_of_the_test() {
        let test = |variants: usize, test_percent| {
            AbTest::parse(
                AbMode::TestThenWinner {
                    test_percent,
                    test_hours: 2,
                    fallback: v("A"),
                },
                AbMetric::UniqueOpens,
                (0..variants)
                    .map(|i| Variant {
                        subject: Some(i.to_string()),
                        ..Variant::default()
                    })
                    .collect(),
            )
            .unwrap()
        };
        assert_eq!(minimum_audience(&test(3, 50)), Some(150));
        assert_eq!(minimum_audience(&test(2, 20)), Some(250));
        assert_eq!(minimum_audience(&test(5, 90)), Some(139));
        let split = AbTest {
            mode: AbMode::Split,
            ..test(2, 50)
        };
        assert_eq!(minimum_audience(&split), None);
    }
}
