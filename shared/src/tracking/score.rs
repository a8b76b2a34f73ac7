//! The engagement score of a contact, 0–100: one formula, here.
//!
//! Each first open of a message by the person counts [`OPEN`] point, each first click
//! [`CLICK`], each first reply [`REPLY`] (machines' opens and clicks count nothing, nor do
//! automatic replies). A point loses half its weight every [`HALF_LIFE_DAYS`]. The score is
//! `100 × (1 − e^(−points / SCALE))`: a recent reply alone is 71, a recent open 22, a click
//! and two opens this month about 70, nothing for a year near 0. A hard bounce or a complaint
//! makes it 0 for good.
//!
//! No read-modify-write: each point is stored already grown by `2^((t − EPOCH) / half-life)`,
//! so adding one is a plain `ADD` in the counters' transaction, commutative whatever order
//! events arrive in, and the score at `now` is the sum shrunk by `2^((now − EPOCH) / half-life)`.
//! The stored sum grows ×2 per half-life: DynamoDB numbers hold it until about 2060, when the
//! epoch must move forward (one pass dividing every sum by the same power of two).
//!
//! A contact sent [`UNENGAGED_AFTER`] messages in a row without opening, clicking or replying
//! (machines excluded) is `unengaged`: HubSpot flags contacts after 11 unengaged sends and
//! suppresses them after 16; we flag at 11 and leave the choice to stop to the team.

use chrono::{DateTime, Utc};

pub const HALF_LIFE_DAYS: f64 = 30.0;
pub const OPEN: f64 = 1.0;
pub const CLICK: f64 = 3.0;
pub const REPLY: f64 = 5.0;
pub const SCALE: f64 = 4.0;
pub const UNENGAGED_AFTER: u64 = 11;

/// 2026-01-01T00:00:00Z, in Unix milliseconds.
const EPOCH_MS: f64 = 1_767_225_600_000.0;
const HALF_LIFE_MS: f64 = HALF_LIFE_DAYS * 86_400_000.0;

fn growth(at: DateTime<Utc>) -> f64 {
    ((at.timestamp_millis() as f64 - EPOCH_MS) / HALF_LIFE_MS).exp2()
}

/// What one engagement of `weight` at `at` adds to the stored sum.
pub fn points(weight: f64, at: DateTime<Utc>) -> f64 {
    weight * growth(at)
}

/// The score at `now` of a stored sum; `lost` for a contact that hard-bounced or complained.
pub fn score(stored: f64, now: DateTime<Utc>, lost: bool) -> u8 {
    if lost || !stored.is_finite() || stored <= 0.0 {
        return 0;
    }
    let current = stored / growth(now);
    (100.0 * (1.0 - (-current / SCALE).exp()))
        .round()
        .clamp(0.0, 100.0) as u8
}

/// A contact's place in its team's score distribution: its stored sum's power of two, in
/// quarters (one quarter is a factor of 1.19, a few points of score), so the bucket moves only
/// when the sum does, never with time; [`LOST`] after a hard bounce or a complaint.
pub fn bucket(stored: f64, lost: bool) -> Option<i64> {
    if lost {
        return Some(LOST);
    }
    (stored.is_finite() && stored > 0.0).then(|| (stored.log2() * 4.0).floor() as i64)
}

/// The bucket of contacts that hard-bounced or complained: score 0 for good.
pub const LOST: i64 = -1_000_000;

/// The score at `now` of the contacts in `bucket` (its middle).
pub fn bucket_score(bucket: i64, now: DateTime<Utc>) -> u8 {
    if bucket == LOST {
        return 0;
    }
    score(((bucket as f64 + 0.5) / 4.0).exp2(), now, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn recent_clicks_and_replies_weigh_more_than_opens_and_everything_fades_by_half_lives() {
        let now = Utc::now();
        let at = |days| now - Duration::days(days);
        assert_eq!(score(0.0, now, false), 0);
        assert_eq!(score(points(REPLY, now), now, false), 71);
        assert_eq!(score(points(OPEN, now), now, false), 22);
        let mix = points(CLICK, at(3)) + points(OPEN, at(3)) + points(OPEN, at(10));
        assert!(
            (66..=72).contains(&score(mix, now, false)),
            "{}",
            score(mix, now, false)
        );
        // One half-life later, the same reply counts half.
        let month_old = score(points(REPLY, at(30)), now, false);
        assert_eq!(month_old, score(points(REPLY / 2.0, now), now, false));
        assert!(score(points(REPLY, at(365)), now, false) <= 1);
        assert_eq!(
            score(points(REPLY, now), now, true),
            0,
            "bounced or complained"
        );
    }

    #[test]
    fn a_bucket_scores_within_a_few_points_of_its_contacts_now_and_later() {
        let now = Utc::now();
        for (weight, days) in [(1.0, 0), (3.0, 10), (9.0, 40), (5.0, 200)] {
            let stored = points(weight, now - Duration::days(days));
            let bucket = bucket(stored, false).unwrap();
            for later in [0, 30, 90] {
                let then = now + Duration::days(later);
                let exact = i32::from(score(stored, then, false));
                let approx = i32::from(bucket_score(bucket, then));
                assert!(
                    (exact - approx).abs() <= 6,
                    "{weight} {days} {later}: {exact} vs {approx}"
                );
            }
        }
        assert_eq!(bucket(0.0, false), None);
        assert_eq!(bucket(10.0, true), Some(LOST));
        assert_eq!(bucket_score(LOST, now), 0);
    }

    #[test]
    fn the_order_points_are_added_in_changes_nothing() {
        let now = Utc::now();
        let a = points(OPEN, now - Duration::days(40));
        let b = points(CLICK, now - Duration::days(2));
        assert_eq!(score(a + b, now, false), score(b + a, now, false));
    }
}
