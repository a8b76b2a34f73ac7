//! Any bytes uploaded as an import (CSV in any encoding and separator, XLSX, XLS, ODS): a report
//! or a refusal, never a panic, a hang or an allocation past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailing::import::{ImportOptions, dry_run};

fuzz_target!(|data: &[u8]| {
    let input = Box::new(std::io::Cursor::new(data.to_vec()));
    let _ = dry_run(input, &ImportOptions::default());
});
