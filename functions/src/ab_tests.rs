//! The `ab_test` of a campaign body: its mode, metric and 2 to 5 variants, parsed into an
//! [`AbTest`] with every problem named by its field.

use mailing::domain::{AbMetric, AbMode, AbTest, Variant, VariantIndex};
use mailing::templates::{CONTENT_MAX, SUBJECT_MAX, TEXT_MAX};
use serde::Deserialize;

use crate::campaigns::{PREHEADER_MAX, optional_source};
use crate::http::Fields;

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "AbTestInput")
)]
#[serde(deny_unknown_fields)]
pub(crate) struct AbTestBody {
    mode: String,
    metric: String,
    #[serde(default)]
    test_percent: Option<u64>,
    #[serde(default)]
    test_hours: Option<u64>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default)]
    variants: Vec<VariantBody>,
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "VariantInput")
)]
#[serde(deny_unknown_fields)]
struct VariantBody {
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    preheader: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    text_content: Option<String>,
    #[serde(default)]
    from_name: Option<String>,
}

impl AbTestBody {
    pub(crate) fn parse(self, f: &mut Fields) -> Option<AbTest> {
        let metric = AbMetric::ALL
            .into_iter()
            .find(|metric| metric.as_str() == self.metric);
        if metric.is_none() {
            f.push(
                "ab_test.metric",
                "is not a metric; expected unique_opens, unique_clicks, replies or conversions",
            );
        }
        let mode = self.mode(f);
        let variants: Vec<Variant> = self
            .variants
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let field = |name: &str| format!("ab_test.variants[{i}].{name}");
                let variant = Variant {
                    subject: optional_source(f, &field("subject"), v.subject, SUBJECT_MAX, true),
                    preheader: optional_source(
                        f,
                        &field("preheader"),
                        v.preheader,
                        PREHEADER_MAX,
                        true,
                    ),
                    content: optional_source(f, &field("content"), v.content, CONTENT_MAX, false),
                    text_content: optional_source(
                        f,
                        &field("text_content"),
                        v.text_content,
                        TEXT_MAX,
                        false,
                    ),
                    from_name: f.text(&field("from_name"), v.from_name.as_deref(), 100),
                };
                if variant == Variant::default() {
                    f.push(
                        &format!("ab_test.variants[{i}]"),
                        "changes nothing: give a subject, preheader, content, text_content or from_name",
                    );
                }
                variant
            })
            .collect();
        f.check("ab_test", AbTest::parse(mode?, metric?, variants))
    }

    fn mode(&self, f: &mut Fields) -> Option<AbMode> {
        let winner_only = [
            ("ab_test.test_percent", self.test_percent.is_some()),
            ("ab_test.test_hours", self.test_hours.is_some()),
            ("ab_test.fallback", self.fallback.is_some()),
        ];
        match self.mode.as_str() {
            "split" => {
                for (field, given) in winner_only {
                    if given {
                        f.push(field, "is for mode test_then_winner only");
                    }
                }
                Some(AbMode::Split)
            }
            "test_then_winner" => {
                let mut required = |field: &str, value: Option<u64>| {
                    if value.is_none() {
                        f.push(field, "is required with mode test_then_winner");
                    }
                    value
                };
                let test_percent = required("ab_test.test_percent", self.test_percent);
                let test_hours = required("ab_test.test_hours", self.test_hours);
                let fallback = match &self.fallback {
                    Some(raw) => f.check("ab_test.fallback", VariantIndex::parse(raw)),
                    None => {
                        f.push(
                            "ab_test.fallback",
                            "is required with mode test_then_winner: the variant sent when the test is inconclusive",
                        );
                        None
                    }
                };
                Some(AbMode::TestThenWinner {
                    // Out of range is refused by `AbTest::parse`, with the range.
                    test_percent: u8::try_from(test_percent?).unwrap_or(u8::MAX),
                    test_hours: u16::try_from(test_hours?).unwrap_or(u16::MAX),
                    fallback: fallback?,
                })
            }
            _ => {
                f.push(
                    "ab_test.mode",
                    "is not a mode; expected split or test_then_winner",
                );
                None
            }
        }
    }
}
