//! One stored inbound message, start to end (the steps are in the module docs above).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::classify::{What, classify};
use super::matching::{self, Matched};
use super::parse::{self, DeliveryReport, Inbound};
use super::{MAX_INBOUND_BYTES, clean, forward};
use crate::domain::{Classification, MatchedBy, Reply, ReplyId, ReplyKind, ReplyMetadata, Verdict};
use crate::store::{self, replies::Owner, sends};
use crate::tracking::event::BounceType;
use crate::tracking::{EmailEvent, EventKind, SendRef, UnsubscribeScope, enqueue, public};
use crate::{ApiError, App};

/// Where SES stored one message, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundObject {
    pub bucket: String,
    pub key: String,
    pub received_at: DateTime<Utc>,
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A mailto unsubscribe, applied.
    Unsubscribed,
    /// A delivery report, told as the bounce (or delay) of the send it names.
    Bounce,
    /// Stored (`new` false when it was stored before).
    Reply {
        id: ReplyId,
        kind: ReplyKind,
        assigned: bool,
        new: bool,
    },
    /// SES found a virus: stored without its body, the raw copy deleted.
    Quarantined(ReplyId),
    /// Nothing to do, and why.
    Ignored(&'static str),
}

/// The reply's id, from where the message was stored: a replay names the same reply.
fn reply_id(object: &InboundObject) -> ReplyId {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6172_7469_7374_6875_625f_7265_706c_7921);
    ReplyId::from(Uuid::new_v5(
        &NAMESPACE,
        format!("{}/{}", object.bucket, object.key).as_bytes(),
    ))
}

pub async fn receive(app: &App, object: &InboundObject) -> Result<Received, ApiError> {
    let Some((raw, size)) = read(app, object).await? else {
        return Ok(Received::Ignored("the stored message is gone"));
    };
    let too_large = size > MAX_INBOUND_BYTES;
    let inbound = parse::parse(&raw);
    let what = classify(&inbound, app.signer()?, &app.config.reply_domain);
    let at = object.received_at;
    if inbound.verdicts.virus == Verdict::Fail {
        let matched = matching::find(app, &inbound, &[]).await?;
        let mut reply = reply_of(object, &inbound, &what, matched.as_ref(), size, too_large);
        reply.quarantined = true;
        reply.content.clear();
        reply.full_text.clear();
        reply.html = None;
        reply.metadata.attachments.clear();
        store::replies::create(app, &reply).await?;
        delete(app, object).await?;
        return Ok(Received::Quarantined(reply.id));
    }
    let matched = match &what {
        What::Unsubscribe(token) => {
            return match sends::by_id(app, token.send).await? {
                Some(send) => {
                    public::leave(app, &send, UnsubscribeScope::Team, at).await?;
                    // Applied, and no reply row points at it: nothing would ever erase it.
                    delete(app, object).await?;
                    Ok(Received::Unsubscribed)
                }
                None => Ok(Received::Ignored(
                    "an unsubscribe for a message we no longer hold",
                )),
            };
        }
        What::Bounce(report) => {
            let original: Vec<&str> = report.original_message_id.as_deref().into_iter().collect();
            let matched = matching::find(app, &inbound, &original)
                .await?
                .filter(|m| m.by != MatchedBy::Sender);
            if let (Some(matched), Some(kind)) = (&matched, delivery_event(report)) {
                let send = send_ref(&matched.send);
                let event = EmailEvent {
                    send,
                    kind,
                    at,
                    address: None,
                };
                enqueue(app, event).await?;
                delete(app, object).await?;
                return Ok(Received::Bounce);
            }
            // A report for no message of ours, or of a success: kept, like anything unmatched.
            matched
        }
        What::Auto(_) | What::Human => matching::find(app, &inbound, &[]).await?,
    };
    store_reply(
        app,
        object,
        &inbound,
        &what,
        matched,
        (size, too_large),
        &raw,
    )
    .await
}

/// The first [`MAX_INBOUND_BYTES`] of the message, and its whole size; `None` once deleted.
async fn read(app: &App, object: &InboundObject) -> Result<Option<(Vec<u8>, u64)>, ApiError> {
    let result = app
        .aws
        .s3
        .get_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .range(format!("bytes=0-{}", MAX_INBOUND_BYTES - 1))
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    let total = output
        .content_range()
        .and_then(|range| range.rsplit('/').next()?.parse::<u64>().ok());
    let bytes = output
        .body
        .collect()
        .await
        .map_err(ApiError::internal)?
        .into_bytes()
        .to_vec();
    let size = total.unwrap_or(bytes.len() as u64);
    Ok(Some((bytes, size)))
}

async fn delete(app: &App, object: &InboundObject) -> Result<(), ApiError> {
    app.aws
        .s3
        .delete_object()
        .bucket(&object.bucket)
        .key(&object.key)
        .send()
        .await?;
    Ok(())
}

fn send_ref(send: &sends::Send) -> SendRef {
    SendRef {
        artist: send.artist_id,
        role: send.contact_role,
        campaign: send.campaign_id,
        contact: send.contact_id,
    }
}

/// The event a delivery report tells (RFC 3464 `Action`, and `Status` class 5 permanent,
/// 4 transient); `None` for a report of success (`delivered`, `relayed`, `expanded`).
pub fn delivery_event(report: &DeliveryReport) -> Option<EventKind> {
    match report.action.as_str() {
        "failed" => {
            let bounce_type = match report.status.chars().next() {
                Some('5') => BounceType::Permanent,
                Some('4') => BounceType::Transient,
                _ => BounceType::Undetermined,
            };
            Some(EventKind::Bounce {
                bounce_type,
                sub_type: "DeliveryStatusNotification".to_owned(),
                status: Some(report.status.clone()).filter(|s| !s.is_empty()),
            })
        }
        "delayed" => Some(EventKind::DeliveryDelay {
            delay_type: "DeliveryStatusNotification".to_owned(),
        }),
        _ => None,
    }
}

/// The row a message becomes.
fn reply_of(
    object: &InboundObject,
    inbound: &Inbound,
    what: &What,
    matched: Option<&Matched>,
    size: u64,
    too_large: bool,
) -> Reply {
    let classification = match what {
        What::Human => Classification {
            kind: ReplyKind::Human,
            sign: None,
        },
        What::Auto(sign) => Classification {
            kind: ReplyKind::Auto,
            sign: Some(sign.clone()),
        },
        What::Bounce(report) => Classification {
            kind: ReplyKind::Auto,
            sign: Some(format!(
                "delivery status notification: {} {}",
                report.action, report.status
            )),
        },
        What::Unsubscribe(_) => Classification {
            kind: ReplyKind::Auto,
            sign: Some("mailto unsubscribe".to_owned()),
        },
    };
    let send = matched.map(|m| &m.send);
    let (content, full_text, html) = if too_large {
        (String::new(), String::new(), None)
    } else {
        (
            clean::visible(
                &inbound.text,
                inbound.html.as_deref(),
                inbound.has_text_part,
            ),
            inbound.text.clone(),
            inbound.html.clone(),
        )
    };
    Reply {
        id: reply_id(object),
        artist_id: send.map(|s| s.artist_id),
        contact_role: send.map(|s| s.contact_role),
        campaign_id: send.map(|s| s.campaign_id),
        contact_id: send.map(|s| s.contact_id),
        send_id: send.map(|s| s.send_id),
        kind: classification.kind,
        matched_by: matched.map(|m| m.by),
        from_other_address: matched.is_some_and(|m| m.from_other_address),
        quarantined: false,
        from_address: inbound.from_address.clone(),
        from_name: inbound.from_name.clone(),
        subject: inbound.subject.clone(),
        content,
        full_text,
        html,
        received_at: object.received_at,
        processed: false,
        assigned_to: None,
        note: None,
        metadata: ReplyMetadata {
            verdicts: inbound.verdicts,
            classification,
            object: format!("s3://{}/{}", object.bucket, object.key),
            size,
            too_large,
            attachments: if too_large {
                Vec::new()
            } else {
                inbound.attachments.clone()
            },
            message_id: inbound.message_id.clone(),
            forwarded_to: None,
        },
        updated_at: None,
        version: 1,
    }
}

async fn store_reply(
    app: &App,
    object: &InboundObject,
    inbound: &Inbound,
    what: &What,
    matched: Option<Matched>,
    (size, too_large): (u64, bool),
    raw: &[u8],
) -> Result<Received, ApiError> {
    let mut reply = reply_of(object, inbound, what, matched.as_ref(), size, too_large);
    let new = store::replies::create(app, &reply).await?;
    if !new {
        // A replay: what was stored (and perhaps forwarded) is what counts.
        if let Some(stored) = store::replies::get(app, Owner::of(&reply), reply.id).await? {
            reply = stored;
        }
    }
    let received = Received::Reply {
        id: reply.id,
        kind: reply.kind,
        assigned: matched.is_some(),
        new,
    };
    let Some(matched) = matched.filter(|_| !reply.quarantined) else {
        return Ok(received);
    };
    let kind = match reply.kind {
        ReplyKind::Human => EventKind::Reply {
            reply: reply.id,
            matched_by: matched.by,
            from_other_address: matched.from_other_address,
        },
        // On the timeline and counted apart; never forwarded.
        ReplyKind::Auto => EventKind::AutoReply { reply: reply.id },
    };
    let event = EmailEvent {
        send: send_ref(&matched.send),
        kind,
        at: reply.received_at,
        address: None,
    };
    enqueue(app, event).await?;
    if reply.kind == ReplyKind::Auto {
        return Ok(received);
    }
    if reply.metadata.forwarded_to.is_none() {
        forward_once(app, &reply, &matched, raw).await?;
    }
    Ok(received)
}

/// Forwards the reply when its campaign or the sender profile asks, and notes where.
async fn forward_once(
    app: &App,
    reply: &Reply,
    matched: &Matched,
    raw: &[u8],
) -> Result<(), ApiError> {
    let send = &matched.send;
    let Some(campaign) = store::campaigns::get(app, send.artist_id, send.campaign_id).await? else {
        return Ok(());
    };
    let Some(to) = forward::target(app, &campaign).await? else {
        return Ok(());
    };
    if reply.from_address.as_deref() == Some(to.normalized()) {
        return Ok(());
    }
    forward::send(app, &campaign, reply, &to, raw).await?;
    store::replies::note_forwarded(app, Owner::of(reply), reply.id, &to).await
}
