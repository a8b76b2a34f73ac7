//! Signed tokens for the public endpoints: open pixel, click redirect, unsubscribe, web view and
//! the reply address. A token names a send (and a link by its id), never a URL or an address,
//! so there is nothing to redirect to but what the send's message held.
//!
//! Layout: kind (1 byte), send id (16), link id (2), then the first 16 bytes of
//! HMAC-SHA256(signing key, "artisthub-token" ‖ those 19 bytes), in lowercase base32 without
//! padding (56 characters): case-insensitive, so it survives mail servers that fold the local
//! part of the reply address.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::config::SigningKey;

const BODY: usize = 19;
const TAG: usize = 16;
pub const TOKEN_CHARS: usize = 56;
const DOMAIN: &[u8] = b"artisthub-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Open,
    Click,
    Unsubscribe,
    WebView,
    Reply,
}

impl TokenKind {
    fn byte(self) -> u8 {
        match self {
            Self::Open => 1,
            Self::Click => 2,
            Self::Unsubscribe => 3,
            Self::WebView => 4,
            Self::Reply => 5,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => Self::Open,
            2 => Self::Click,
            3 => Self::Unsubscribe,
            4 => Self::WebView,
            5 => Self::Reply,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    /// The send (one message to one person) the token belongs to.
    pub send: Uuid,
    /// The link of that message, for clicks; 0 otherwise.
    pub link: u16,
}

/// Signs and checks tokens. Keyed once (cold start); each token costs two SHA-256 blocks.
#[derive(Clone)]
pub struct TokenSigner {
    keyed: Hmac<Sha256>,
    /// The key before the last rotation, verifying only.
    previous: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner(…)")
    }
}

impl TokenSigner {
    pub fn new(key: &SigningKey) -> Self {
        Self {
            keyed: Self::keyed(key),
            previous: None,
        }
    }

    /// The same signer, accepting tokens `previous` signed too (after a rotation).
    pub fn also_verifying(self, previous: &SigningKey) -> Self {
        Self {
            previous: Some(Self::keyed(previous)),
            ..self
        }
    }

    fn keyed(key: &SigningKey) -> Hmac<Sha256> {
        let mut keyed =
            Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
        keyed.update(DOMAIN);
        keyed
    }

    pub fn sign(&self, token: Token) -> String {
        let mut bytes = [0u8; BODY + TAG];
        bytes[0] = token.kind.byte();
        bytes[1..17].copy_from_slice(token.send.as_bytes());
        bytes[17..19].copy_from_slice(&token.link.to_be_bytes());
        let mut mac = self.keyed.clone();
        mac.update(&bytes[..BODY]);
        bytes[BODY..].copy_from_slice(&mac.finalize().into_bytes()[..TAG]);
        let mut text = BASE32_NOPAD.encode(&bytes);
        text.make_ascii_lowercase();
        text
    }

    /// The token, if `text` is one this key signed; the tag is compared in constant time.
    pub fn verify(&self, text: &str) -> Option<Token> {
        if text.len() != TOKEN_CHARS {
            return None;
        }
        let upper = text.to_ascii_uppercase();
        let bytes = BASE32_NOPAD.decode(upper.as_bytes()).ok()?;
        let (body, tag) = bytes.split_at(BODY);
        let signed_by = |keyed: &Hmac<Sha256>| {
            let mut mac = keyed.clone();
            mac.update(body);
            mac.verify_truncated_left(tag).is_ok()
        };
        if !signed_by(&self.keyed) && !self.previous.as_ref().is_some_and(signed_by) {
            return None;
        }
        Some(Token {
            kind: TokenKind::from_byte(body[0])?,
            send: Uuid::from_slice(&body[1..17]).ok()?,
            link: u16::from_be_bytes([body[17], body[18]]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer(byte: u8) -> TokenSigner {
        TokenSigner::new(&SigningKey::new(vec![byte; 32]).unwrap())
    }

    #[test]
    fn a_token_verifies_under_its_key_only_and_survives_case_folding() {
        let token = Token {
            kind: TokenKind::Click,
            send: Uuid::now_v7(),
            link: 7,
        };
        let text = signer(1).sign(token);
        assert_eq!(text.len(), TOKEN_CHARS);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(signer(1).verify(&text), Some(token));
        assert_eq!(signer(1).verify(&text.to_ascii_uppercase()), Some(token));
        assert_eq!(signer(2).verify(&text), None);
    }

    #[test]
    fn after_a_rotation_the_previous_key_verifies_and_signs_nothing() {
        let token = Token {
            kind: TokenKind::Open,
            send: Uuid::now_v7(),
            link: 0,
        };
        let key = |byte: u8| SigningKey::new(vec![byte; 32]).unwrap();
        let before = signer(1).sign(token);
        let rotated = TokenSigner::new(&key(2)).also_verifying(&key(1));
        assert_eq!(rotated.verify(&before), Some(token));
        let after = rotated.sign(token);
        assert_eq!(after, signer(2).sign(token), "signed with the new key");
        assert_eq!(signer(1).verify(&after), None);
        let twice = TokenSigner::new(&key(3)).also_verifying(&key(2));
        assert_eq!(twice.verify(&after), Some(token));
        assert_eq!(twice.verify(&before), None, "two rotations later");
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let text = signer(1).sign(Token {
            kind: TokenKind::Open,
            send: Uuid::now_v7(),
            link: 0,
        });
        for bad in [
            String::new(),
            "x".repeat(TOKEN_CHARS),
            text[1..].to_owned(),
            format!("{text}a"),
            text.replace(|c: char| c.is_ascii_digit(), "1"),
            "€".repeat(TOKEN_CHARS / 3),
        ] {
            if bad != text {
                assert_eq!(signer(1).verify(&bad), None, "{bad:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn any_change_to_a_token_breaks_it(position in 0..TOKEN_CHARS, replacement in "[a-z2-7]") {
            let text = signer(3).sign(Token { kind: TokenKind::Unsubscribe, send: Uuid::now_v7(), link: 0 });
            let mut tampered = text.clone().into_bytes();
            tampered[position] = replacement.as_bytes()[0];
            let tampered = String::from_utf8(tampered).unwrap();
            if tampered != text {
                prop_assert_eq!(signer(3).verify(&tampered), None);
            }
        }
    }
}
