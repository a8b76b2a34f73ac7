//! Benchmark inputs.

use std::io::Write;
use std::path::Path;

/// Writes a realistic contacts CSV for benchmarks: mixed domains (some IDN), about 1% invalid
/// addresses and 2% repeats of an earlier address in another case. Deterministic.
pub fn contacts(rows: u64, path: &Path) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    const FIRST: &[&str] = &[
        "Camille", "Léa", "Hugo", "Zoé", "Lucas", "Inès", "Jonas", "Nadia", "Élodie", "Tom",
    ];
    const LAST: &[&str] = &[
        "Martin", "Bernard", "Dubois", "Durand", "Lefèvre", "Moreau", "Weber", "Benali", "Roux",
        "Petit",
    ];
    const DOMAINS: &[&str] = &[
        "gmail.com",
        "orange.fr",
        "free.fr",
        "yahoo.fr",
        "hotmail.com",
        "outlook.fr",
        "laposte.net",
        "radio-example.fr",
        "zeitung.example",
        "festival-ete.example",
        "label-musique.fr",
        "bücher.example",
        "sfr.fr",
        "wanadoo.fr",
        "icloud.com",
        "proton.me",
    ];
    writeln!(out, "First Name,Last Name,Email Address,Company,Phone,Tags")?;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..rows {
        let r = next();
        let (first, last) = (FIRST[(r % 10) as usize], LAST[((r >> 8) % 10) as usize]);
        let domain = DOMAINS[(i % DOMAINS.len() as u64) as usize];
        let email = match (r >> 32) % 100 {
            0 => format!("{first} at {domain}"),
            1 | 2 if i > 10 => {
                let earlier = (r >> 40) % i;
                format!(
                    "contact.{earlier}@{}",
                    DOMAINS[(earlier % DOMAINS.len() as u64) as usize]
                )
                .to_uppercase()
            }
            _ => format!("contact.{i}@{domain}"),
        };
        writeln!(
            out,
            "{first},{last},{email},\"{last} & Co, SARL\",+33 6 {:02} {:02} {:02} {:02},\"presse,radio\"",
            r % 100,
            (r >> 8) % 100,
            (r >> 16) % 100,
            (r >> 24) % 100
        )?;
    }
    out.flush()?;
    Ok(())
}
