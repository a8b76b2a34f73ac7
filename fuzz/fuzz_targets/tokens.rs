//! Any text in a tracking, unsubscribe or reply address: refused unless this key signed it, and
//! every token the key signs verifies to itself.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mailing::config::SigningKey;
use mailing::render::{Token, TokenKind, TokenSigner};

static SIGNER: LazyLock<TokenSigner> = LazyLock::new(|| {
    TokenSigner::new(&SigningKey::new(b"fuzzing-key-fuzzing-key-fuzzing!".to_vec()).unwrap())
});

fuzz_target!(|data: &[u8]| {
    let signer = &*SIGNER;
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(token) = signer.verify(text) {
            assert_eq!(signer.sign(token), text.to_ascii_lowercase());
        }
    }
    if data.len() >= 19 {
        let kinds = [
            TokenKind::Open,
            TokenKind::Click,
            TokenKind::Unsubscribe,
            TokenKind::WebView,
            TokenKind::Reply,
        ];
        let kind = kinds[usize::from(data[0]) % kinds.len()];
        let send = uuid::Uuid::from_slice(&data[1..17]).unwrap();
        let link = u16::from_be_bytes([data[17], data[18]]);
        let token = Token { kind, send, link };
        assert_eq!(signer.verify(&signer.sign(token)), Some(token));
    }
});
