//! Any subject or body a team writes: its template checked (syntax, variables, filters) with a
//! line and column for each problem, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailing::render::language;

fuzz_target!(|data: &[u8]| {
    if let Ok(source) = std::str::from_utf8(data) {
        let _ = language::check("content", source);
    }
});
