//! SES configuration-set event publishing, as it reaches the events queue: an SNS notification
//! whose `Message` is the event record (`eventType`, `mail` with the message's tags, and one
//! object named after the type). Shapes: "Contents of event data that Amazon SES publishes to
//! Amazon SNS" in the SES developer guide; samples of each type are in `events/`.
//!
//! SES may add fields at any time, so only what is read is declared.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::event::{BounceType, EmailEvent, EventKind, SendRef, UnsubscribeScope, clip_user_agent};
use crate::domain::{ArtistId, CampaignId, ContactId, ContactRole};
use crate::store::suppression::SuppressionReason;

/// What one queue message holds.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Event(EmailEvent),
    /// A test message's address bounced for good or complained: it is suppressed like any
    /// other (a test has no contact or campaign counters to move).
    TestFeedback {
        address: String,
        reason: SuppressionReason,
    },
    /// Well-formed, but nothing to record (a test's delivery or open, a message we did not
    /// tag, a subscription change that unsubscribes from nothing); the reason is logged.
    Ignored(&'static str),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsNotification {
    #[serde(rename = "Type")]
    kind: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SesRecord {
    event_type: String,
    mail: Mail,
    bounce: Option<Bounce>,
    complaint: Option<Complaint>,
    delivery: Option<Timed>,
    reject: Option<Reject>,
    delivery_delay: Option<DeliveryDelay>,
    open: Option<Engagement>,
    click: Option<Engagement>,
    failure: Option<RenderingFailure>,
    subscription: Option<Subscription>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    timestamp: DateTime<Utc>,
    #[serde(default)]
    destination: Vec<String>,
    #[serde(default)]
    tags: HashMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct Timed {
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: String,
    #[serde(default)]
    bounced_recipients: Vec<Recipient>,
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
struct Recipient {
    email_address: String,
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<Recipient>,
    complaint_feedback_type: Option<String>,
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Reject {
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryDelay {
    #[serde(default)]
    delay_type: String,
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Engagement {
    timestamp: Option<DateTime<Utc>>,
    user_agent: Option<String>,
    link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenderingFailure {
    #[serde(default)]
    error_message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    timestamp: Option<DateTime<Utc>>,
    new_topic_preferences: Option<TopicPreferences>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicPreferences {
    #[serde(default)]
    unsubscribe_all: bool,
}

/// Reads an SNS-wrapped SES event. An error means the message is not one (a poison message:
/// it is reported failed and ends in the dead-letter queue, where someone can look at it).
pub fn parse(body: &str) -> Result<Parsed, String> {
    let notification: SnsNotification =
        serde_json::from_str(body).map_err(|e| format!("not an SNS notification: {e}"))?;
    if notification.kind != "Notification" {
        return Ok(Parsed::Ignored("an SNS message that is not a notification"));
    }
    let record: SesRecord = serde_json::from_str(&notification.message)
        .map_err(|e| format!("not an SES event record: {e}"))?;
    let tag = |name: &str| {
        record
            .mail
            .tags
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    };
    if tag("test") == Some("true") {
        return Ok(test_feedback(record));
    }
    let Some(send) = send_ref(tag) else {
        return Ok(Parsed::Ignored("a message without our ids in its tags"));
    };
    let first_destination = record.mail.destination.first().cloned();
    let sent_at = record.mail.timestamp;
    let missing = |what: &str| format!("a {} event without its `{what}` object", record.event_type);
    let (kind, at, address) = match record.event_type.as_str() {
        "Send" => (EventKind::Send, None, None),
        "Delivery" => (
            EventKind::Delivery,
            record.delivery.and_then(|d| d.timestamp),
            None,
        ),
        "Bounce" => {
            let bounce = record.bounce.ok_or_else(|| missing("bounce"))?;
            let recipient = bounce.bounced_recipients.into_iter().next();
            let bounce_type = match bounce.bounce_type.as_str() {
                "Permanent" => BounceType::Permanent,
                "Transient" => BounceType::Transient,
                _ => BounceType::Undetermined,
            };
            let address = recipient
                .as_ref()
                .map(|r| r.email_address.clone())
                .or(first_destination);
            (
                EventKind::Bounce {
                    bounce_type,
                    sub_type: bounce.bounce_sub_type,
                    status: recipient.and_then(|r| r.status),
                },
                bounce.timestamp,
                address,
            )
        }
        "Complaint" => {
            let complaint = record.complaint.ok_or_else(|| missing("complaint"))?;
            let address = complaint
                .complained_recipients
                .into_iter()
                .next()
                .map(|r| r.email_address)
                .or(first_destination);
            (
                EventKind::Complaint {
                    feedback_type: complaint.complaint_feedback_type,
                },
                complaint.timestamp,
                address,
            )
        }
        "Reject" => (
            EventKind::Reject {
                reason: record.reject.map(|r| r.reason).unwrap_or_default(),
            },
            None,
            None,
        ),
        "DeliveryDelay" => {
            let delay = record
                .delivery_delay
                .ok_or_else(|| missing("deliveryDelay"))?;
            (
                EventKind::DeliveryDelay {
                    delay_type: delay.delay_type,
                },
                delay.timestamp,
                None,
            )
        }
        "Open" => {
            let open = record.open.ok_or_else(|| missing("open"))?;
            (
                EventKind::Open {
                    user_agent: open.user_agent.as_deref().map(clip_user_agent),
                },
                open.timestamp,
                None,
            )
        }
        "Click" => {
            let click = record.click.ok_or_else(|| missing("click"))?;
            (
                EventKind::Click {
                    link: None,
                    url: click.link,
                    user_agent: click.user_agent.as_deref().map(clip_user_agent),
                },
                click.timestamp,
                None,
            )
        }
        "Rendering Failure" | "RenderingFailure" => (
            EventKind::RenderingFailure {
                error: record.failure.map(|f| f.error_message).unwrap_or_default(),
            },
            None,
            None,
        ),
        "Subscription" => {
            let subscription = record.subscription.ok_or_else(|| missing("subscription"))?;
            let all = subscription
                .new_topic_preferences
                .is_some_and(|p| p.unsubscribe_all);
            if !all {
                return Ok(Parsed::Ignored("a subscription change that keeps the list"));
            }
            (
                EventKind::Unsubscribe {
                    scope: UnsubscribeScope::Team,
                },
                subscription.timestamp,
                None,
            )
        }
        other => return Err(format!("an SES event of unknown type {other:?}")),
    };
    Ok(Parsed::Event(EmailEvent {
        send,
        kind,
        at: at.unwrap_or(sent_at),
        address,
    }))
}

/// What a test message's event asks of us: a hard bounce or a complaint suppresses the address.
fn test_feedback(record: SesRecord) -> Parsed {
    let first = record.mail.destination.first().cloned();
    let (address, reason) = match record.event_type.as_str() {
        "Bounce" => match record.bounce {
            Some(bounce) if bounce.bounce_type == "Permanent" => (
                bounce
                    .bounced_recipients
                    .into_iter()
                    .next()
                    .map(|r| r.email_address)
                    .or(first),
                SuppressionReason::HardBounce,
            ),
            _ => return Parsed::Ignored("a test message's soft bounce"),
        },
        "Complaint" => (
            record
                .complaint
                .and_then(|c| c.complained_recipients.into_iter().next())
                .map(|r| r.email_address)
                .or(first),
            SuppressionReason::Complaint,
        ),
        _ => return Parsed::Ignored("a test message's event"),
    };
    match address {
        Some(address) => Parsed::TestFeedback { address, reason },
        None => Parsed::Ignored("a test message's bounce without an address"),
    }
}

/// The ids our sender puts in every message's tags (`render::tags`).
pub(crate) fn send_ref<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Option<SendRef> {
    let uuid = |name: &str| tag(name).and_then(|value| Uuid::try_parse(value).ok());
    let send = SendRef {
        artist: ArtistId::from(uuid("artist")?),
        role: ContactRole::from_str(tag("role")?).ok()?,
        campaign: CampaignId::from(uuid("campaign")?),
        contact: ContactId::from(uuid("contact")?),
    };
    // The send tag is derived from the others; a message whose tags disagree is not ours.
    (uuid("send")? == send.send_id()).then_some(send)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SNS notification inside a fixture of `events/` (an SQS event of one record).
    fn body_of(fixture: &str) -> String {
        let event: serde_json::Value = serde_json::from_str(fixture).unwrap();
        event["Records"][0]["body"].as_str().unwrap().to_owned()
    }

    fn parsed(fixture: &str) -> EmailEvent {
        match parse(&body_of(fixture)).unwrap() {
            Parsed::Event(event) => event,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_event_type_of_the_fixtures_is_read_with_its_ids_and_time() {
        let fixtures = [
            (
                include_str!("../../../events/sqs-ses-events-send.json"),
                "send",
                "2026-11-20T09:00:00.120Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-delivery.json"),
                "delivery",
                "2026-11-20T09:00:01.870Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-bounce-permanent.json"),
                "bounce",
                "2026-11-20T09:00:02.669Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-bounce-transient.json"),
                "bounce",
                "2026-11-20T09:00:03.100Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-bounce-undetermined.json"),
                "bounce",
                "2026-11-20T09:00:03.400Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-complaint.json"),
                "complaint",
                "2026-11-20T10:12:00Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-reject.json"),
                "reject",
                "2026-11-20T09:00:00.120Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-delivery-delay.json"),
                "delivery_delay",
                "2026-11-20T09:05:00Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-open.json"),
                "open",
                "2026-11-20T09:47:12Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-click.json"),
                "click",
                "2026-11-20T09:48:02Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-rendering-failure.json"),
                "rendering_failure",
                "2026-11-20T09:00:00.120Z",
            ),
            (
                include_str!("../../../events/sqs-ses-events-subscription.json"),
                "unsubscribe",
                "2026-11-20T11:00:00Z",
            ),
        ];
        for (fixture, kind, at) in fixtures {
            let event = parsed(fixture);
            assert_eq!(event.kind.name(), kind);
            assert_eq!(event.at, at.parse::<DateTime<Utc>>().unwrap(), "{kind}");
            assert_eq!(event.send.role, ContactRole::Press);
            assert_eq!(
                event.send.send_id().to_string(),
                "a4975eae-68e6-54e0-8e8c-dac7d3cfcb48"
            );
        }
    }

    #[test]
    fn bounces_and_complaints_carry_their_type_and_the_address_to_suppress() {
        let hard = parsed(include_str!(
            "../../../events/sqs-ses-events-bounce-permanent.json"
        ));
        assert_eq!(
            hard.kind,
            EventKind::Bounce {
                bounce_type: BounceType::Permanent,
                sub_type: "General".into(),
                status: Some("5.1.1".into()),
            }
        );
        assert_eq!(hard.address.as_deref(), Some("lea.martin@example.org"));
        let soft = parsed(include_str!(
            "../../../events/sqs-ses-events-bounce-transient.json"
        ));
        assert!(matches!(
            soft.kind,
            EventKind::Bounce {
                bounce_type: BounceType::Transient,
                ..
            }
        ));
        let complaint = parsed(include_str!(
            "../../../events/sqs-ses-events-complaint.json"
        ));
        assert_eq!(
            complaint.kind,
            EventKind::Complaint {
                feedback_type: Some("abuse".into())
            }
        );
        assert_eq!(complaint.address.as_deref(), Some("lea.martin@example.org"));
        let click = parsed(include_str!("../../../events/sqs-ses-events-click.json"));
        assert!(matches!(
            click.kind,
            EventKind::Click { link: None, url: Some(ref url), user_agent: Some(_) }
                if url.starts_with("https://label.example/album")
        ));
    }

    #[test]
    fn messages_that_are_not_ours_to_record_are_ignored_and_unreadable_ones_refused() {
        let delivery = body_of(include_str!("../../../events/sqs-ses-events-delivery.json"));
        let with_tags = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut sns: serde_json::Value = serde_json::from_str(&delivery).unwrap();
            let mut record: serde_json::Value =
                serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
            edit(&mut record);
            sns["Message"] = record.to_string().into();
            sns.to_string()
        };
        let test_send = with_tags(&|r| r["mail"]["tags"]["test"] = serde_json::json!(["true"]));
        assert_eq!(
            parse(&test_send),
            Ok(Parsed::Ignored("a test message's event"))
        );
        let untagged = with_tags(&|r| r["mail"]["tags"] = serde_json::json!({}));
        assert!(matches!(parse(&untagged), Ok(Parsed::Ignored(_))));
        let forged = with_tags(&|r| {
            r["mail"]["tags"]["send"] = serde_json::json!(["a4975eae-68e6-54e0-8e8c-000000000000"])
        });
        assert!(matches!(parse(&forged), Ok(Parsed::Ignored(_))));
        let unknown = with_tags(&|r| r["eventType"] = serde_json::json!("Teleport"));
        assert!(parse(&unknown).is_err());
        for poison in [
            "",
            "{}",
            "not json",
            r#"{"Type":"Notification","Message":"{}"}"#,
        ] {
            assert!(parse(poison).is_err(), "{poison:?}");
        }
    }

    #[test]
    fn a_test_messages_hard_bounce_and_complaint_suppress_its_address_and_nothing_else_counts() {
        let as_test = |fixture: &str| {
            let mut sns: serde_json::Value = serde_json::from_str(&body_of(fixture)).unwrap();
            let mut record: serde_json::Value =
                serde_json::from_str(sns["Message"].as_str().unwrap()).unwrap();
            record["mail"]["tags"] = serde_json::json!({ "test": ["true"] });
            sns["Message"] = record.to_string().into();
            parse(&sns.to_string())
        };
        assert_eq!(
            as_test(include_str!(
                "../../../events/sqs-ses-events-bounce-permanent.json"
            )),
            Ok(Parsed::TestFeedback {
                address: "lea.martin@example.org".into(),
                reason: SuppressionReason::HardBounce,
            })
        );
        assert_eq!(
            as_test(include_str!(
                "../../../events/sqs-ses-events-complaint.json"
            )),
            Ok(Parsed::TestFeedback {
                address: "lea.martin@example.org".into(),
                reason: SuppressionReason::Complaint,
            })
        );
        for ignored in [
            include_str!("../../../events/sqs-ses-events-bounce-transient.json"),
            include_str!("../../../events/sqs-ses-events-open.json"),
        ] {
            assert!(matches!(as_test(ignored), Ok(Parsed::Ignored(_))));
        }
    }
}
