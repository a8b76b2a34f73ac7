//! Any message mailed to the reply domain: parsed, classified and stripped of its quotes and
//! signature without a panic.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mailing::config::SigningKey;
use mailing::render::TokenSigner;
use mailing::replies::{classify, clean, parse};

static SIGNER: LazyLock<TokenSigner> = LazyLock::new(|| {
    TokenSigner::new(&SigningKey::new(b"fuzzing-key-fuzzing-key-fuzzing!".to_vec()).unwrap())
});

fuzz_target!(|data: &[u8]| {
    let signer = &*SIGNER;
    let inbound = parse::parse(data);
    let _ = classify::classify(&inbound, signer, "reply.example");
    let _ = clean::visible(&inbound.text, inbound.html.as_deref(), inbound.has_text_part);
});
