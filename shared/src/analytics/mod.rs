//! Analytics: numbers a team can act on, read from pre-aggregated counters only (`store::stats`,
//! written once per event by `tracking::record`), so a call costs the same few requests for a
//! hundred recipients or a million, and never a Scan.

pub mod ab;
pub mod campaign;
pub mod heatmap;
pub mod report;
pub mod team;
pub mod volumes;

pub use volumes::{Rate, Rates, Volumes};

/// Every counter the analytics read (the counting test holds them to what is written).
#[cfg(test)]
pub(crate) fn read_every_counter(counters: &crate::store::stats::Counters) {
    Volumes::of(counters);
    heatmap::fill(
        "UTC",
        [("HOUR#2026-12-01T00".to_owned(), counters.clone())].iter(),
    );
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    if let Ok(range) = team::Range::new(Some(day), Some(day), None) {
        team::team(
            crate::domain::ContactRole::Press,
            &[(format!("DAY#{day}"), counters.clone())],
            &range,
        );
    }
}
