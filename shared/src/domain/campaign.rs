//! A campaign (the seed's `email_campaigns`): what is sent, to whom, from whom, and where it
//! stands.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    AbDecision, AbMode, AbTest, ArtistId, CampaignId, ConsentPolicy, Contact, ContactRole,
    EmailAddress, Language, Money, TemplateId, UserId, VariantIndex,
};

/// The seed's `campaign_status_enum`. Moves only along [`CampaignStatus::can_move_to`], with a
/// conditional write on the status read, so two callers can never both make the same move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    #[default]
    Draft,
    Scheduled,
    Sending,
    /// Every recipient has been handed to SES.
    Sent,
    /// Sent, and the delivery window is over (set by the events of #6).
    Completed,
    Paused,
    Cancelled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Completed => "completed",
            Self::Paused => "paused",
            Self::Cancelled => "cancelled",
        }
    }

    /// The moves a campaign can make. Scheduling again moves a scheduled campaign to its new
    /// time; cancelling works until the last recipient is handed over.
    pub fn can_move_to(self, to: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, to),
            (Draft, Scheduled | Sending | Cancelled)
                | (Scheduled, Scheduled | Sending | Draft | Cancelled)
                | (Sending, Paused | Sent | Cancelled)
                | (Paused, Sending | Cancelled)
                | (Sent, Completed)
        )
    }

    /// Whether the content, recipients and sender may still be edited.
    pub fn is_editable(self) -> bool {
        matches!(self, Self::Draft | Self::Scheduled)
    }

    /// Whether the campaign may be deleted: never while it has sends in flight or on record.
    pub fn is_deletable(self) -> bool {
        matches!(self, Self::Draft | Self::Scheduled | Self::Cancelled)
    }
}

/// A comparison on one contact field, for choosing recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConditionOp {
    /// Equal, ignoring case and surrounding blanks.
    Eq,
    Ne,
    /// Contains, ignoring case.
    Contains,
    /// Equal to one of a list.
    In,
    /// Has a non-empty value.
    Exists,
    /// Has no value.
    Missing,
}

/// `field` is `company`, `position`, `first_name`, `last_name`, `phone` or `metadata.<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Condition {
    pub field: String,
    pub op: ConditionOp,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

pub const CONDITION_FIELDS: &[&str] = &["company", "position", "first_name", "last_name", "phone"];

impl Condition {
    /// The condition, if `field` names a contact field and `value` suits `op`.
    pub fn parse(field: &str, op: ConditionOp, value: Value) -> Result<Self, String> {
        let known = CONDITION_FIELDS.contains(&field)
            || field
                .strip_prefix("metadata.")
                .is_some_and(|key| !key.is_empty() && key.chars().count() <= 100);
        if !known {
            return Err(format!(
                "{field} is not a contact field; expected one of {} or metadata.<key>",
                CONDITION_FIELDS.join(", ")
            ));
        }
        let fits = match op {
            ConditionOp::Exists | ConditionOp::Missing => value.is_null(),
            ConditionOp::In => value.as_array().is_some_and(|values| {
                !values.is_empty() && values.len() <= 100 && values.iter().all(is_scalar)
            }),
            _ => is_scalar(&value),
        };
        if !fits {
            return Err(match op {
                ConditionOp::Exists | ConditionOp::Missing => "takes no value".into(),
                ConditionOp::In => "value must be a list of 1 to 100 strings or numbers".into(),
                _ => "value must be a string or a number".into(),
            });
        }
        Ok(Self {
            field: field.to_owned(),
            op,
            value,
        })
    }

    pub fn matches(&self, contact: &Contact) -> bool {
        let fields = &contact.fields;
        let text: Option<String> = match self.field.as_str() {
            "company" => fields.company.clone(),
            "position" => fields.position.clone(),
            "first_name" => fields.first_name.clone(),
            "last_name" => fields.last_name.clone(),
            "phone" => fields.phone.clone(),
            other => other
                .strip_prefix("metadata.")
                .and_then(|key| fields.metadata.get(key))
                .and_then(scalar_text),
        };
        let text = text
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        let wanted = |value: &Value| scalar_text(value).map(|w| w.trim().to_lowercase());
        match self.op {
            ConditionOp::Exists => text.is_some(),
            ConditionOp::Missing => text.is_none(),
            ConditionOp::Eq => text.is_some() && text == wanted(&self.value),
            ConditionOp::Ne => text != wanted(&self.value),
            ConditionOp::Contains => match (text, wanted(&self.value)) {
                (Some(text), Some(wanted)) => text.contains(&wanted),
                _ => false,
            },
            ConditionOp::In => self
                .value
                .as_array()
                .is_some_and(|values| values.iter().any(|v| text.is_some() && text == wanted(v))),
        }
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(s) if s.chars().count() <= 200) || value.is_number()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Who receives a campaign: the active, unsuppressed contacts of its team that carry any of
/// `tags_any` (when given), all of `tags_all`, meet every condition, and (when given) have an
/// engagement score of at least `min_score` when the dispatch reaches them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Recipients {
    #[serde(default)]
    pub tags_any: Vec<String>,
    #[serde(default)]
    pub tags_all: Vec<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<u8>,
}

impl Recipients {
    pub const MAX_CONDITIONS: usize = 20;

    /// Whether `contact` is chosen (its status, suppression and score are the dispatcher's to
    /// check).
    pub fn matches(&self, contact: &Contact) -> bool {
        let tags = contact.fields.tags.as_slice();
        (self.tags_any.is_empty() || self.tags_any.iter().any(|t| tags.contains(t)))
            && self.tags_all.iter().all(|t| tags.contains(t))
            && self.conditions.iter().all(|c| c.matches(contact))
    }
}

/// Who a campaign is from. The address must be on a verified sending domain when it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Sender {
    pub from_name: String,
    pub from_email: EmailAddress,
    /// Replies are stored in the CRM; when set, each is also forwarded to this person.
    #[serde(default)]
    pub forward_replies_to: Option<EmailAddress>,
}

/// What a campaign says: a template, or its own subject and content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CampaignContent {
    #[serde(default)]
    pub template_id: Option<TemplateId>,
    /// Overrides the template's subject when both are given.
    #[serde(default)]
    pub subject: Option<String>,
    /// HTML; required when there is no template.
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub text_content: Option<String>,
    /// The line inbox lists show after the subject (hidden in the message itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preheader: Option<String>,
}

/// The sources one message is rendered from: subject, HTML and text templates, and the
/// signature appended to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct MessageSources {
    pub subject: String,
    pub html: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// Who the artist is as a sender, as the footer of a message says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ArtistIdentity {
    pub name: String,
    #[serde(default)]
    pub postal_address: Option<String>,
}

/// What a campaign sends, resolved and fixed when it starts (`sending::gate`): every batch, web
/// view and test of a started campaign renders from it, so editing or deleting its template,
/// signature or the artist's profile afterwards changes nothing that goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct FrozenContent {
    #[serde(flatten)]
    pub sources: MessageSources,
    pub sender: Sender,
    pub artist: ArtistIdentity,
    /// The message's language: its template's, else the artist's default (`None` when the
    /// artist has none); the unsubscribe page speaks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// An A/B test's variants, each resolved over the campaign's own content, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<FrozenVariant>,
    /// Which recipients a bulk campaign may reach, by the basis recorded for them: the team's
    /// policy when it started (`None`: an individual email, which it does not apply to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_policy: Option<ConsentPolicy>,
    pub frozen_at: DateTime<Utc>,
}

/// One variant of an A/B test as it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct FrozenVariant {
    #[serde(flatten)]
    pub sources: MessageSources,
    pub from_name: String,
}

impl FrozenContent {
    /// What `variant` sends (the campaign's own content when `None` or not a variant).
    pub fn version(&self, variant: Option<VariantIndex>) -> (&MessageSources, &str) {
        match variant.and_then(|v| self.variants.get(v.index())) {
            Some(variant) => (&variant.sources, &variant.from_name),
            None => (&self.sources, &self.sender.from_name),
        }
    }
}

/// The seed's counters, and the ones sending adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CampaignCounters {
    pub recipient_count: u64,
    pub success_count: u64,
    pub failed_count: u64,
    pub bounce_count: u64,
    pub complaint_count: u64,
    pub open_count: u64,
    pub click_count: u64,
    pub reply_count: u64,
    pub unsubscribe_count: u64,
    /// Recipients the team's consent policy left out (`frozen.consent_policy` says which).
    #[serde(default)]
    pub skipped_no_basis: u64,
}

/// A campaign proper, or one email to one contact (`POST …/contacts/{id}/emails`), which
/// travels the same pipeline as a campaign of one and stays out of campaign lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    #[default]
    Bulk,
    Individual,
}

impl CampaignKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignKind::Bulk => "bulk",
            CampaignKind::Individual => "individual",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Campaign {
    pub id: CampaignId,
    pub artist_id: ArtistId,
    pub contact_role: ContactRole,
    #[serde(default)]
    pub kind: CampaignKind,
    pub name: String,
    #[serde(flatten)]
    pub content: CampaignContent,
    pub recipients: Recipients,
    #[serde(flatten)]
    pub sender: Sender,
    pub track_opens: bool,
    pub track_clicks: bool,
    /// `utm_campaign` added to tracked links (source `artisthub`, medium `email`), if any.
    #[serde(default)]
    pub utm_campaign: Option<String>,
    pub status: CampaignStatus,
    /// Why it was paused, when the service paused it (SES refused, bounce rate…).
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// Every recipient has a send row and is queued: the campaign is sent when they are done.
    #[serde(default)]
    pub dispatched: bool,
    #[serde(flatten)]
    pub counters: CampaignCounters,
    /// An A/B test of its content, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab_test: Option<AbTest>,
    /// Each recipient gets the message at their best hour within this window after the start
    /// (`send_time`), rather than all at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at_best_time: Option<BestTimeWindow>,
    /// The last hour of that window whose recipients are queued (0 is the start's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots_queued: Option<u16>,
    /// What the campaign cost (design, ads, a paid list): its return on the conversions'
    /// revenue in that currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Money>,
    /// When a test-then-winner test ends: set at the start, decided then by the scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab_decision: Option<AbDecision>,
    /// Set when the campaign starts; what every message of it is rendered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen: Option<FrozenContent>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// How long after its start a best-time campaign may take: up to a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct BestTimeWindow {
    pub window_hours: u16,
}

impl BestTimeWindow {
    pub const MAX_HOURS: u16 = 168;

    pub fn parse(window_hours: u64) -> Result<Self, String> {
        u16::try_from(window_hours)
            .ok()
            .filter(|hours| (1..=Self::MAX_HOURS).contains(hours))
            .map(|window_hours| Self { window_hours })
            .ok_or_else(|| format!("window_hours must be from 1 to {}", Self::MAX_HOURS))
    }
}

impl Campaign {
    /// A test-then-winner test not decided yet: some recipients wait for its winner.
    pub fn awaits_winner(&self) -> bool {
        self.ab_decision.is_none()
            && self
                .ab_test
                .as_ref()
                .is_some_and(|test| matches!(test.mode, AbMode::TestThenWinner { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ContactFields, Tags};
    use CampaignStatus::*;
    use serde_json::json;

    const ALL: [CampaignStatus; 7] = [
        Draft, Scheduled, Sending, Sent, Completed, Paused, Cancelled,
    ];

    #[test]
    fn a_campaign_moves_only_along_the_seed_states() {
        let allowed = [
            (Draft, Scheduled),
            (Draft, Sending),
            (Draft, Cancelled),
            (Scheduled, Scheduled),
            (Scheduled, Sending),
            (Scheduled, Draft),
            (Scheduled, Cancelled),
            (Sending, Paused),
            (Sending, Sent),
            (Sending, Cancelled),
            (Paused, Sending),
            (Paused, Cancelled),
            (Sent, Completed),
        ];
        for from in ALL {
            for to in ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
        assert!(
            ALL.iter()
                .filter(|s| s.is_editable())
                .eq([Draft, Scheduled].iter())
        );
        for status in ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }

    fn contact(tags: &[&str], company: Option<&str>, metadata: serde_json::Value) -> Contact {
        Contact {
            email: EmailAddress::parse("a@b.example").unwrap(),
            fields: ContactFields {
                company: company.map(str::to_owned),
                tags: Tags::parse(tags).unwrap(),
                metadata: metadata.as_object().cloned().unwrap_or_default(),
                ..ContactFields::default()
            },
            ..Contact::example()
        }
    }

    #[test]
    fn recipients_are_chosen_by_tags_and_conditions() {
        let c = |field: &str, op, value| Condition::parse(field, op, value).unwrap();
        let radio_paris = contact(
            &["radio", "national"],
            Some("Radio Nova"),
            json!({ "city": "Paris", "audience": 120000 }),
        );
        let tv_lyon = contact(&["tv"], None, json!({ "city": " lyon " }));
        for (recipients, expected) in [
            (Recipients::default(), [true, true]),
            (
                Recipients {
                    tags_any: vec!["radio".into(), "tv".into()],
                    ..Default::default()
                },
                [true, true],
            ),
            (
                Recipients {
                    tags_all: vec!["radio".into(), "national".into()],
                    ..Default::default()
                },
                [true, false],
            ),
            (
                Recipients {
                    conditions: vec![c("metadata.city", ConditionOp::Eq, json!("LYON"))],
                    ..Default::default()
                },
                [false, true],
            ),
            (
                Recipients {
                    conditions: vec![c(
                        "metadata.city",
                        ConditionOp::In,
                        json!(["paris", "Marseille"]),
                    )],
                    ..Default::default()
                },
                [true, false],
            ),
            (
                Recipients {
                    conditions: vec![c("company", ConditionOp::Contains, json!("nova"))],
                    ..Default::default()
                },
                [true, false],
            ),
            (
                Recipients {
                    conditions: vec![c("company", ConditionOp::Missing, json!(null))],
                    ..Default::default()
                },
                [false, true],
            ),
            (
                Recipients {
                    conditions: vec![c("company", ConditionOp::Ne, json!("Radio Nova"))],
                    ..Default::default()
                },
                [false, true],
            ),
            (
                Recipients {
                    conditions: vec![c("metadata.audience", ConditionOp::Eq, json!(120000))],
                    ..Default::default()
                },
                [true, false],
            ),
            (
                Recipients {
                    conditions: vec![c("metadata.country", ConditionOp::Exists, json!(null))],
                    ..Default::default()
                },
                [false, false],
            ),
        ] {
            let got = [
                recipients.matches(&radio_paris),
                recipients.matches(&tv_lyon),
            ];
            assert_eq!(got, expected, "{recipients:?}");
        }
    }

    #[test]
    fn conditions_refuse_unknown_fields_and_values_that_do_not_suit_the_operator() {
        for (field, op, value) in [
            ("email", ConditionOp::Eq, json!("x")),
            ("metadata.", ConditionOp::Eq, json!("x")),
            ("company", ConditionOp::Eq, json!(["x"])),
            ("company", ConditionOp::In, json!([])),
            ("company", ConditionOp::In, json!("x")),
            ("company", ConditionOp::Exists, json!("x")),
            ("company", ConditionOp::Eq, json!({ "a": 1 })),
        ] {
            assert!(
                Condition::parse(field, op, value.clone()).is_err(),
                "{field} {op:?} {value}"
            );
        }
    }
}
