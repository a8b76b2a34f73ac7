//! Opaque pagination cursors. A cursor is the position of the last item returned, sealed with an
//! HMAC over the listing it belongs to (artist, role, filters): replayed against another artist,
//! role or filter it is refused, and its content cannot be forged.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::ApiError;
use crate::config::SigningKey;

type HmacSha256 = Hmac<Sha256>;

/// A position in a DynamoDB query: the string key attributes of the last item.
pub type Position = BTreeMap<String, String>;

const TAG_BYTES: usize = 16;

fn mac(key: &SigningKey, listing: &str, payload: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC accepts any key length");
    mac.update(b"cursor\0");
    mac.update(listing.as_bytes());
    mac.update(b"\0");
    mac.update(payload);
    mac
}

fn seal(key: &SigningKey, listing: &str, position: &Position) -> String {
    let payload = serde_json::to_vec(position).expect("a map of strings serializes");
    let tag = mac(key, listing, &payload).finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
    )
}

fn open(key: &SigningKey, listing: &str, cursor: &str) -> Result<Position, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_cursor",
            "cursor is not valid for this listing; start again without it",
        )
    };
    let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
    if tag.len() != TAG_BYTES {
        return Err(invalid());
    }
    // Constant-time comparison: a cursor cannot be forged byte by byte through timing.
    mac(key, listing, &payload)
        .verify_truncated_left(&tag)
        .map_err(|_| invalid())?;
    serde_json::from_slice(&payload).map_err(|_| invalid())
}

/// A page as the API answers it: `{ "items": [...], "next_cursor": "…" | null }`.
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "PageOf{T}")
)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The cursors of one listing: sealed over its name (what it lists, for whom, with which
/// filters), so a cursor resumes that listing only.
pub struct Listing<'a> {
    key: &'a SigningKey,
    name: String,
}

impl<'a> Listing<'a> {
    pub fn new(key: &'a SigningKey, name: String) -> Self {
        Self { key, name }
    }

    /// Where the page asked for starts: after the position `cursor` names, or at the beginning.
    pub fn resume(&self, cursor: Option<&str>) -> Result<Option<Position>, ApiError> {
        cursor
            .map(|token| open(self.key, &self.name, token))
            .transpose()
    }

    /// The page of `items`, with a cursor for what follows `next`.
    pub fn page<T>(&self, items: Vec<T>, next: Option<Position>) -> Page<T> {
        Page {
            items,
            next_cursor: next.map(|position| seal(self.key, &self.name, &position)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(vec![7; 32]).unwrap()
    }

    fn position() -> Position {
        Position::from([
            ("pk".into(), "ARTIST#a".into()),
            ("sk".into(), "CONTACT#1".into()),
        ])
    }

    #[test]
    fn a_cursor_opens_for_the_listing_it_was_sealed_for() {
        let cursor = seal(&key(), "contacts|a|press", &position());
        assert_eq!(
            open(&key(), "contacts|a|press", &cursor).unwrap(),
            position()
        );
    }

    #[test]
    fn a_cursor_is_refused_elsewhere_or_when_tampered_with() {
        let cursor = seal(&key(), "contacts|a|press", &position());
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"pk":"ARTIST#b","sk":"CONTACT#1"}"#);
        let other_key = SigningKey::new(vec![8; 32]).unwrap();
        let cases = [
            ("another role", open(&key(), "contacts|a|finance", &cursor)),
            ("another artist", open(&key(), "contacts|b|press", &cursor)),
            ("another key", open(&other_key, "contacts|a|press", &cursor)),
            (
                "forged payload",
                open(
                    &key(),
                    "contacts|a|press",
                    &format!("{forged_payload}.{tag}"),
                ),
            ),
            (
                "short tag",
                open(
                    &key(),
                    "contacts|a|press",
                    &format!("{payload}.{}", &tag[..4]),
                ),
            ),
            ("garbage", open(&key(), "contacts|a|press", "not a cursor")),
            ("empty", open(&key(), "contacts|a|press", "")),
        ];
        for (case, result) in cases {
            let error = result.expect_err(case);
            assert_eq!(error.code(), "invalid_cursor", "{case}");
        }
    }
}
