//! `infra/dev reply`: delivers a raw message to the running stack as SES's receipt rule would
//! (stored under `inbound/` in the inbound bucket, whose ObjectCreated event the stack's
//! `email-inbound` consumer receives), made into the reply of the newest message the local SES
//! accepted for an address.
//!
//! The rewrite replaces `To`, `In-Reply-To` and `References` with the original's `Reply-To`
//! (or, for a message written to a `u-…` address, the `mailto:` of its `List-Unsubscribe`) and
//! `Message-ID`, puts SES's verdict headers on top as SES does, and substitutes the original's
//! `Message-ID` for `original.message.id@original.invalid`, the placeholder the delivery
//! reports in `events/inbound/` use for the message they return.

use anyhow::Context;
use mail_parser::{HeaderValue, MessageParser};

use crate::outbox;

/// The id the `events/inbound/` fixtures give the message they answer.
pub const PLACEHOLDER_ID: &str = "original.message.id@original.invalid";

const REPLACED: [&str; 8] = [
    "to",
    "in-reply-to",
    "references",
    "x-ses-spam-verdict",
    "x-ses-virus-verdict",
    "received-spf",
    "authentication-results",
    "delivered-to",
];

/// Where a reply to `original` goes: its `Reply-To`, or its `List-Unsubscribe` mailto.
pub fn addresses_of(original: &[u8]) -> anyhow::Result<(String, String, String)> {
    let message = MessageParser::default()
        .parse(original)
        .context("the original message cannot be read")?;
    let reply_to = message
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .context("the original message has no Reply-To")?
        .to_owned();
    let message_id = message
        .message_id()
        .context("the original message has no Message-ID")?
        .to_owned();
    let unsubscribe = match message.list_unsubscribe() {
        HeaderValue::Address(address) => address
            .iter()
            .filter_map(|a| a.address())
            .find_map(|a| a.strip_prefix("mailto:").map(str::to_owned)),
        _ => None,
    }
    .or_else(|| {
        message
            .header_raw("List-Unsubscribe")?
            .split(['<', '>', ','])
            .find_map(|part| part.trim().strip_prefix("mailto:").map(str::to_owned))
    })
    .context("the original message has no mailto unsubscribe")?;
    Ok((reply_to, unsubscribe, message_id))
}

/// `raw` made into the answer to `original` (see the module docs).
pub fn as_reply_to(raw: &[u8], original: &[u8], virus: &str) -> anyhow::Result<Vec<u8>> {
    let (reply_to, unsubscribe, message_id) = addresses_of(original)?;
    let split = find(raw, b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| find(raw, b"\n\n").map(|at| (at, 2)))
        .context("the message has no header/body separator")?;
    let (head, body) = (&raw[..split.0], &raw[split.0 + split.1..]);
    let head = String::from_utf8_lossy(head);
    let to_unsubscribe = head.lines().any(|line| {
        line.to_ascii_lowercase().starts_with("to:")
            && line
                .split([':', '<', ' '])
                .any(|part| part.trim().starts_with("u-"))
    });
    let mut out = format!(
        "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: {virus}\r\n\
         Authentication-Results: amazonses.com; spf=pass; dkim=pass; dmarc=pass;\r\n\
         To: {}\r\nIn-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n",
        if to_unsubscribe {
            &unsubscribe
        } else {
            &reply_to
        }
    );
    let mut skipping = false;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if !skipping {
                out.push_str(line);
                out.push_str("\r\n");
            }
            continue;
        }
        let name = line
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        skipping = REPLACED.contains(&name.as_str());
        if !skipping {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    let body = String::from_utf8_lossy(body);
    if body.contains(PLACEHOLDER_ID) {
        bytes.extend_from_slice(body.replace(PLACEHOLDER_ID, &message_id).as_bytes());
    } else {
        bytes.extend_from_slice(&raw[split.0 + split.1..]);
    }
    Ok(bytes)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A plain-text message from `from` (what `--text` sends).
pub fn text_message(from: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nSubject: Re: your message\r\nDate: {}\r\nMessage-ID: <{}@local.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n",
        chrono::Utc::now().to_rfc2822(),
        uuid::Uuid::new_v4()
    )
    .into_bytes()
}

/// The raw newest message the local SES accepted for `address`.
pub async fn newest_to(address: &str) -> anyhow::Result<Vec<u8>> {
    Ok(outbox::newest_to(address).await?.raw)
}

/// Stores `raw` in the inbound bucket as SES's S3 action does; answers its key.
pub async fn store(s3: &aws_sdk_s3::Client, bucket: &str, raw: Vec<u8>) -> anyhow::Result<String> {
    let key = format!("inbound/{}", uuid::Uuid::new_v4().simple());
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .body(raw.into())
        .send()
        .await
        .with_context(|| format!("storing the message in {bucket}"))?;
    Ok(key)
}
