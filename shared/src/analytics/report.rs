//! Analytics as CSV a spreadsheet opens right: UTF-8 with a byte-order mark (Excel reads the
//! accents), `,` between cells or `;` for a French Excel (whose decimal separator is the comma),
//! decimals written accordingly, and every text cell made safe (`import::csv_safe`).

use super::volumes::{Rate, Volumes};
use crate::import::csv_safe;

/// How the spreadsheet that opens it reads numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    English,
    French,
}

impl Locale {
    pub(crate) fn separator(self) -> u8 {
        match self {
            Self::English => b',',
            Self::French => b';',
        }
    }
}

/// The volume columns, in order.
const VOLUMES: [&str; 16] = [
    "sent",
    "delivered",
    "bounces",
    "soft_bounces",
    "complaints",
    "rejects",
    "opens",
    "unique_opens",
    "machine_opens",
    "clicks",
    "unique_clicks",
    "machine_clicks",
    "replied",
    "replies",
    "auto_replies",
    "unsubscribes",
];

const RATES: [&str; 4] = [
    "open_rate",
    "click_rate",
    "reply_rate",
    "click_to_open_rate",
];

fn numbers(volumes: &Volumes) -> [u64; 16] {
    [
        volumes.sent,
        volumes.delivered,
        volumes.bounces,
        volumes.soft_bounces,
        volumes.complaints,
        volumes.rejects,
        volumes.opens,
        volumes.unique_opens,
        volumes.machine_opens,
        volumes.clicks,
        volumes.unique_clicks,
        volumes.machine_clicks,
        volumes.replied,
        volumes.replies,
        volumes.auto_replies,
        volumes.unsubscribes,
    ]
}

/// A table: one row per labelled line (`labels` name the first columns), then the volumes and
/// the rates of each.
pub struct Table<'a> {
    pub labels: &'a [&'a str],
    pub rows: Vec<(Vec<String>, Volumes)>,
}

pub fn csv(table: &Table<'_>, locale: Locale) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .delimiter(locale.separator())
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    let header: Vec<&str> = table
        .labels
        .iter()
        .copied()
        .chain(VOLUMES)
        .chain(RATES)
        .collect();
    // A header row cannot fail to write into memory.
    let _ = writer.write_record(&header);
    for (labels, volumes) in &table.rows {
        let rates = volumes.rates();
        let rate = |rate: &Rate| {
            rate.value
                .map(|v| {
                    let text = format!("{v:.4}");
                    match locale {
                        Locale::English => text,
                        Locale::French => text.replace('.', ","),
                    }
                })
                .unwrap_or_default()
        };
        let record: Vec<String> = labels
            .iter()
            .map(|label| csv_safe(label).into_owned())
            .chain(numbers(volumes).iter().map(u64::to_string))
            .chain([
                rate(&rates.open_rate),
                rate(&rates.click_rate),
                rate(&rates.reply_rate),
                rate(&rates.click_to_open_rate),
            ])
            .collect();
        let _ = writer.write_record(&record);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_french_report_has_a_bom_semicolons_decimal_commas_and_no_formula() {
        let table = Table {
            labels: &["campaign"],
            rows: vec![(
                vec!["=cmd|' /C calc'!A0".to_owned()],
                Volumes {
                    delivered: 3,
                    unique_opens: 1,
                    ..Volumes::default()
                },
            )],
        };
        let french = String::from_utf8(csv(&table, Locale::French)).unwrap();
        assert!(french.starts_with('\u{feff}'));
        let lines: Vec<&str> = french.trim_start_matches('\u{feff}').lines().collect();
        assert!(lines[0].starts_with("campaign;sent;delivered;"));
        assert!(lines[1].starts_with("'=cmd"), "{}", lines[1]);
        assert!(lines[1].contains(";0,3333;"), "{}", lines[1]);
        let english = String::from_utf8(csv(&table, Locale::English)).unwrap();
        assert!(english.contains(",0.3333,"), "{english}");
    }
}
