//! An A/B test of a campaign: 2 to 5 variants, each overriding what it tests, sent either as a
//! split (everyone in the test, the result reported) or as a test on a fraction followed by the
//! winner to the rest. The statistics live in `crate::ab`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A variant's place in the campaign's list, shown as a letter (`A` to `E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariantIndex(u8);

impl VariantIndex {
    pub const MAX_VARIANTS: usize = 5;

    pub fn new(index: usize) -> Option<Self> {
        (index < Self::MAX_VARIANTS).then_some(Self(index as u8))
    }

    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    pub fn letter(self) -> char {
        char::from(b'A' + self.0)
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim().as_bytes() {
            [letter @ b'A'..=b'E'] | [letter @ b'a'..=b'e'] => {
                Ok(Self(letter.to_ascii_uppercase() - b'A'))
            }
            _ => Err(format!(
                "{raw:?} is not a variant; expected a letter from A to E"
            )),
        }
    }
}

impl fmt::Display for VariantIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl Serialize for VariantIndex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Variants are lettered A to E.
#[cfg(feature = "openapi")]
impl schemars::JsonSchema for VariantIndex {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VariantIndex".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "enum": ["A", "B", "C", "D", "E"] })
    }
}

impl<'de> Deserialize<'de> for VariantIndex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// What one variant changes from the campaign: any of its subject, preheader, content (HTML and
/// text) and sender name. A field left out is the campaign's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Variant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preheader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_name: Option<String>,
}

/// What decides which variant is best: a share of the delivered messages, counting people only
/// (machine opens and clicks never count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AbMetric {
    UniqueOpens,
    UniqueClicks,
    Replies,
    /// Messages that led to a conversion the CRM reported by the click token (which names the
    /// message, so its variant).
    Conversions,
}

impl AbMetric {
    pub const ALL: [AbMetric; 4] = [
        Self::UniqueOpens,
        Self::UniqueClicks,
        Self::Replies,
        Self::Conversions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UniqueOpens => "unique_opens",
            Self::UniqueClicks => "unique_clicks",
            Self::Replies => "replies",
            Self::Conversions => "conversions",
        }
    }
}

/// How the variants are sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum AbMode {
    /// Every recipient gets one variant; the result is reported, nothing is forced.
    Split,
    /// `test_percent` of the recipients get one variant each; after `test_hours`, the winner
    /// (or `fallback` when the test is inconclusive) goes to the rest.
    TestThenWinner {
        test_percent: u8,
        test_hours: u16,
        fallback: VariantIndex,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AbTest {
    #[serde(flatten)]
    pub mode: AbMode,
    pub metric: AbMetric,
    pub variants: Vec<Variant>,
}

impl AbTest {
    pub const MIN_VARIANTS: usize = 2;
    pub const TEST_PERCENT: std::ops::RangeInclusive<u8> = 5..=90;
    /// A week: opens and clicks come within two days; replies take longer.
    pub const TEST_HOURS: std::ops::RangeInclusive<u16> = 1..=168;

    /// The test, if it has 2 to 5 distinct variants and its mode's numbers are in range.
    pub fn parse(mode: AbMode, metric: AbMetric, variants: Vec<Variant>) -> Result<Self, String> {
        if !(Self::MIN_VARIANTS..=VariantIndex::MAX_VARIANTS).contains(&variants.len()) {
            return Err(format!(
                "an A/B test has {} to {} variants",
                Self::MIN_VARIANTS,
                VariantIndex::MAX_VARIANTS
            ));
        }
        for (i, variant) in variants.iter().enumerate() {
            if let Some(j) = variants[..i].iter().position(|other| other == variant) {
                return Err(format!(
                    "variants {} and {} are the same: a variant must change something",
                    VariantIndex(j as u8),
                    VariantIndex(i as u8)
                ));
            }
        }
        if let AbMode::TestThenWinner {
            test_percent,
            test_hours,
            fallback,
        } = &mode
        {
            if !Self::TEST_PERCENT.contains(test_percent) {
                return Err(format!(
                    "test_percent must be from {} to {}",
                    Self::TEST_PERCENT.start(),
                    Self::TEST_PERCENT.end()
                ));
            }
            if !Self::TEST_HOURS.contains(test_hours) {
                return Err(format!(
                    "test_hours must be from {} to {}",
                    Self::TEST_HOURS.start(),
                    Self::TEST_HOURS.end()
                ));
            }
            if fallback.index() >= variants.len() {
                return Err(format!("fallback {fallback} is not one of the variants"));
            }
        }
        Ok(Self {
            mode,
            metric,
            variants,
        })
    }

    pub fn indexes(&self) -> impl Iterator<Item = VariantIndex> + '_ {
        (0..self.variants.len()).map(|i| VariantIndex(i as u8))
    }
}

/// How a test-then-winner test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AbOutcome {
    /// One variant's expected loss was under the threshold.
    Winner,
    /// None was: the declared fallback went to the rest.
    Inconclusive,
}

/// One variant's evidence when the decision was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct VariantEvidence {
    pub variant: VariantIndex,
    /// Delivered messages of the test.
    pub trials: u64,
    /// People who did what the metric counts.
    pub successes: u64,
    pub probability_best: f64,
    pub expected_loss: f64,
}

/// The decision of a test-then-winner test, taken once by the scheduler when the test ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct AbDecision {
    pub outcome: AbOutcome,
    /// What goes to the rest: the winner, or the fallback.
    pub chosen: VariantIndex,
    pub metric: AbMetric,
    /// The expected loss under which a variant wins.
    pub threshold: f64,
    pub evidence: Vec<VariantEvidence>,
    pub reason: String,
    pub decided_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject(s: &str) -> Variant {
        Variant {
            subject: Some(s.into()),
            ..Variant::default()
        }
    }

    #[test]
    fn a_test_reads_and_writes_as_one_flat_object() {
        let test = AbTest::parse(
            AbMode::TestThenWinner {
                test_percent: 40,
                test_hours: 4,
                fallback: VariantIndex::parse("b").unwrap(),
            },
            AbMetric::UniqueClicks,
            vec![subject("Un"), subject("Deux")],
        )
        .unwrap();
        let value = serde_json::to_value(&test).unwrap();
        assert_eq!(
            value,
            json!({
                "mode": "test_then_winner", "test_percent": 40, "test_hours": 4, "fallback": "B",
                "metric": "unique_clicks",
                "variants": [{ "subject": "Un" }, { "subject": "Deux" }],
            })
        );
        let back: AbTest = serde_json::from_value(value).unwrap();
        assert_eq!(back, test);
        let item = serde_dynamo::to_item::<_, serde_dynamo::Item>(&test).unwrap();
        assert_eq!(serde_dynamo::from_item::<_, AbTest>(item).unwrap(), test);
    }

    #[test]
    fn tests_out_of_range_are_refused_with_the_reason() {
        let winner = |test_percent, test_hours, fallback: usize| AbMode::TestThenWinner {
            test_percent,
            test_hours,
            fallback: VariantIndex::new(fallback).unwrap(),
        };
        let two = || vec![subject("Un"), subject("Deux")];
        for (mode, variants, expected) in [
            (AbMode::Split, vec![subject("Un")], "2 to 5 variants"),
            (AbMode::Split, vec![subject("x"); 6], "2 to 5 variants"),
            (AbMode::Split, vec![subject("x"), subject("x")], "the same"),
            (winner(4, 4, 0), two(), "test_percent"),
            (winner(91, 4, 0), two(), "test_percent"),
            (winner(50, 0, 0), two(), "test_hours"),
            (winner(50, 169, 0), two(), "test_hours"),
            (winner(50, 4, 2), two(), "fallback C"),
        ] {
            let refused = AbTest::parse(mode, AbMetric::UniqueOpens, variants).unwrap_err();
            assert!(refused.contains(expected), "{refused}");
        }
        for bad in ["", "F", "AB", "1"] {
            assert!(VariantIndex::parse(bad).is_err(), "{bad}");
        }
    }
}
