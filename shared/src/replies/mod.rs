//! Replies: what people send to the reply domain lands in the CRM.
//!
//! SES's receipt rule stores each message in the inbound bucket; the bucket's ObjectCreated
//! event reaches `email-inbound` through `InboundQueue`. For each stored message:
//!
//! 1. one S3 read (the first [`MAX_INBOUND_BYTES`]; a larger message is read for its headers
//!    and stored flagged `too_large`);
//! 2. `parse`: MIME, charsets, attachments (described, never opened), SES's verdicts;
//! 3. `classify`: mailto unsubscribe, delivery report, automatic reply, or a person's reply;
//! 4. `matching`: the message it answers (one Query);
//! 5. effects: a mailto unsubscribe is applied as the one-click one is; a delivery report
//!    becomes the bounce of the send it names; a reply is stored (one conditional PutItem, so a
//!    replayed notification stores nothing twice) and, for a person's reply to a send, told to
//!    `ses-events` as a `reply` event, which sets the send's `replied_at` and counts it on the
//!    campaign, team and contact once, in the same transaction as the contact's timeline
//!    entry; then, when asked, forwarded (`forward`).
//!
//! A message that matches nothing is stored unassigned, for administrators: never dropped. One
//! with a virus (SES's verdict `FAIL`) is stored quarantined, without its body, and its raw
//! copy is deleted.

pub mod api;
pub mod classify;
pub mod clean;
pub mod forward;
pub mod matching;
pub mod parse;
mod receive;

pub use receive::{InboundObject, Received, receive};

use serde_json::Value;

/// What is read of a stored message: SES accepts up to 40 MB; past this, the headers are
/// enough to match and flag it, and the raw copy stays for the person who needs it.
pub const MAX_INBOUND_BYTES: u64 = 10 * 1024 * 1024;

/// The stored messages an inbound queue message announces: S3's ObjectCreated records (URL-
/// encoded keys decoded). `None` for a message that is not an S3 notification (poison); an
/// empty list for S3's test event.
pub fn objects_of(body: &str) -> Option<Vec<InboundObject>> {
    let value: Value = serde_json::from_str(body).ok()?;
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Some(Vec::new());
    }
    let records = value.get("Records")?.as_array()?;
    records
        .iter()
        .map(|record| {
            let bucket = record["s3"]["bucket"]["name"].as_str()?;
            let key = record["s3"]["object"]["key"].as_str()?;
            let key: String = form_urlencoded::parse(format!("k={key}").as_bytes())
                .next()
                .map(|(_, key)| key.into_owned())?;
            let at = record["eventTime"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&chrono::Utc))?;
            Some(InboundObject {
                bucket: bucket.to_owned(),
                key,
                received_at: at,
            })
        })
        .collect()
}

/// Handles a batch of inbound queue messages `(id, body)`; answers the ids to retry.
pub async fn consume(app: &crate::App, messages: &[(String, String)]) -> Vec<String> {
    let mut failed = Vec::new();
    for (id, body) in messages {
        let Some(objects) = objects_of(body) else {
            tracing::error!(message = %id, "unreadable inbound message notification");
            failed.push(id.clone());
            continue;
        };
        for object in objects {
            match receive(app, &object).await {
                Ok(received) => tracing::info!(message = %id, ?received, "inbound message handled"),
                Err(error) => {
                    tracing::error!(message = %id, error = ?error, "inbound message failed: it comes back");
                    failed.push(id.clone());
                    break;
                }
            }
        }
    }
    failed
}
