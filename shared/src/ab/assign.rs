//! Who gets which variant: a hash of (campaign, contact), so a replayed dispatch, a resume or
//! a late page always lands each contact in the same place, with nothing stored to look up.

use sha2::{Digest, Sha256};

use crate::domain::{AbMode, AbTest, CampaignId, ContactId, VariantIndex};

/// Where a contact stands in a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cohort {
    /// The campaign has no test: it sends its own content.
    Everyone,
    /// In the test (a split is all test), with this variant.
    Test(VariantIndex),
    /// Held for the winner of a test-then-winner test.
    Rest,
}

/// Hundredths of a percent: the resolution of the test fraction.
const BUCKETS: u64 = 10_000;

pub fn cohort(campaign: CampaignId, contact: ContactId, test: Option<&AbTest>) -> Cohort {
    let Some(test) = test else {
        return Cohort::Everyone;
    };
    let digest = Sha256::new()
        .chain_update(b"artisthub-ab")
        .chain_update(campaign.as_uuid().as_bytes())
        .chain_update(contact.as_uuid().as_bytes())
        .finalize();
    let word = |at: usize| {
        u64::from_be_bytes(
            digest[at..at + 8]
                .try_into()
                .expect("eight bytes of a digest"),
        )
    };
    // Two independent draws: whether the contact is in the test, and which variant.
    let in_test = match test.mode {
        AbMode::Split => true,
        AbMode::TestThenWinner { test_percent, .. } => {
            word(0) % BUCKETS < u64::from(test_percent) * (BUCKETS / 100)
        }
    };
    if !in_test {
        return Cohort::Rest;
    }
    let variant = (word(8) % test.variants.len() as u64) as usize;
    Cohort::Test(VariantIndex::new(variant).expect("fewer variants than the maximum"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::domain::{AbMetric, Variant};

    fn test(mode: AbMode, variants: usize) -> AbTest {
        let variants = (0..variants)
            .map(|i| Variant {
                subject: Some(format!("Sujet {i}")),
                ..Variant::default()
            })
            .collect();
        AbTest::parse(mode, AbMetric::UniqueOpens, variants).unwrap()
    }

    #[test]
    fn a_contact_always_lands_in_the_same_cohort_and_cohorts_have_their_share() {
        let campaign = CampaignId::new();
        let winner = test(
            AbMode::TestThenWinner {
                test_percent: 30,
                test_hours: 4,
                fallback: VariantIndex::new(0).unwrap(),
            },
            3,
        );
        let contacts: Vec<ContactId> = (0..30_000).map(|_| ContactId::new()).collect();
        let mut counts: HashMap<Cohort, usize> = HashMap::new();
        for contact in &contacts {
            let first = cohort(campaign, *contact, Some(&winner));
            assert_eq!(first, cohort(campaign, *contact, Some(&winner)));
            *counts.entry(first).or_default() += 1;
        }
        let share = |c: Cohort| counts.get(&c).copied().unwrap_or(0) as f64 / 30_000.0;
        assert!((share(Cohort::Rest) - 0.70).abs() < 0.015, "{counts:?}");
        for v in 0..3 {
            let s = share(Cohort::Test(VariantIndex::new(v).unwrap()));
            assert!((s - 0.10).abs() < 0.01, "{counts:?}");
        }
        let split = test(AbMode::Split, 2);
        assert!(
            contacts[..100]
                .iter()
                .all(|c| matches!(cohort(campaign, *c, Some(&split)), Cohort::Test(_)))
        );
        assert_eq!(cohort(campaign, contacts[0], None), Cohort::Everyone);
    }

    #[test]
    fn another_campaign_draws_its_cohorts_afresh() {
        let split = test(AbMode::Split, 2);
        let contacts: Vec<ContactId> = (0..1_000).map(|_| ContactId::new()).collect();
        let (one, two) = (CampaignId::new(), CampaignId::new());
        let same = contacts
            .iter()
            .filter(|c| cohort(one, **c, Some(&split)) == cohort(two, **c, Some(&split)))
            .count();
        assert!(
            (400..600).contains(&same),
            "{same} of 1000 kept their variant"
        );
    }
}
