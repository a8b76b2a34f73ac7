//! A conversion the CRM reports (a ticket sold, a pre-save, a stream, a purchase, a booking),
//! attributed to the email that led to it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ArtistId, CampaignId, ContactId, ContactRole, VariantIndex};

/// The CRM's own id for the conversion: what makes posting it twice harmless.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct ConversionId(String);

impl ConversionId {
    pub const MAX: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let fits = !raw.is_empty()
            && raw.len() <= Self::MAX
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        match fits {
            true => Ok(Self(raw.to_owned())),
            false => Err(format!(
                "must be 1 to {} characters: letters, digits, -, _, . or :",
                Self::MAX
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What was converted: `ticket_sale`, `pre_save`, `stream`, `purchase`, `booking`, or any
/// other name of the CRM's, in lowercase words joined by `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct ConversionKind(String);

impl ConversionKind {
    pub const KNOWN: [&str; 5] = ["ticket_sale", "pre_save", "stream", "purchase", "booking"];

    pub fn parse(raw: &str) -> Result<Self, String> {
        let fits = (1..=40).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        match fits {
            true => Ok(Self(raw.to_owned())),
            false => Err(format!(
                "must be one of {} or a name of up to 40 lowercase letters, digits and _",
                Self::KNOWN.join(", ")
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency code, with the number of decimals its amounts have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// ISO 4217 currencies without minor units, and with three decimals; the others have two.
const NO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|l| l.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err("must be an ISO 4217 code of three capital letters, like EUR".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ASCII letters")
    }

    /// Decimals of its amounts: 2, or 0 (JPY) or 3 (KWD).
    pub fn decimals(self) -> u32 {
        match self.as_str() {
            code if NO_DECIMALS.contains(&code) => 0,
            code if THREE_DECIMALS.contains(&code) => 3,
            _ => 2,
        }
    }

    /// `amount` (a decimal number as written, like `49.9`) in minor units (4990 cents).
    pub fn minor_units(self, amount: &str) -> Result<u64, String> {
        let decimals = self.decimals();
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
            return Err("must be a positive decimal amount, like 49.90".into());
        }
        if fraction.len() > decimals as usize {
            return Err(format!(
                "{} has {decimals} decimals: {amount} has more",
                self.as_str()
            ));
        }
        let padded = format!("{whole}{fraction:0<width$}", width = decimals as usize);
        padded
            .parse::<u64>()
            .ok()
            .filter(|minor| *minor <= 1_000_000_000 * 10u64.pow(decimals))
            .ok_or_else(|| "must be at most 1,000,000,000".into())
    }

    /// `minor` units as a decimal amount.
    pub fn amount(self, minor: u64) -> f64 {
        minor as f64 / 10f64.powi(self.decimals() as i32)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> Self {
        currency.as_str().to_owned()
    }
}

/// An amount in one currency, in minor units. Shown with its decimal `amount` too (which
/// reading ignores: `minor` is the amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Money {
    pub minor: u64,
    pub currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut money = serializer.serialize_struct("Money", 3)?;
        money.serialize_field("currency", &self.currency)?;
        money.serialize_field("amount", &self.currency.amount(self.minor))?;
        money.serialize_field("minor", &self.minor)?;
        money.end()
    }
}

/// How a conversion found its email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttributedBy {
    /// The click token of the link the person followed: the send, so the contact too.
    ClickToken,
    /// The `utm_campaign` and `utm_content` our links carry: the campaign and variant only.
    Utm,
}

/// What a conversion is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Attribution {
    pub by: AttributedBy,
    pub campaign_id: CampaignId,
    pub contact_role: ContactRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantIndex>,
    /// The send was a test's winner going to the rest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub winner_send: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Conversion {
    pub id: ConversionId,
    pub artist_id: ArtistId,
    pub kind: ConversionKind,
    pub value: Money,
    pub at: DateTime<Utc>,
    pub attribution: Attribution,
    pub recorded_at: DateTime<Utc>,
}

impl Conversion {
    /// Whether `other` reports the same conversion (a replay), whenever it was recorded; its
    /// time counts only when the CRM gave one (`at_given`), else it was the time of posting.
    pub fn same_as(&self, other: &Conversion, at_given: bool) -> bool {
        Conversion {
            recorded_at: other.recorded_at,
            at: if at_given { self.at } else { other.at },
            ..self.clone()
        } == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_minor_units_in_their_currencys_decimals() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        for (currency, amount, minor) in [
            (eur, "49.9", 4990),
            (eur, "49.90", 4990),
            (eur, "12", 1200),
            (eur, "0.05", 5),
            (jpy, "1500", 1500),
            (kwd, "3.125", 3125),
        ] {
            assert_eq!(
                currency.minor_units(amount),
                Ok(minor),
                "{amount} {currency}"
            );
        }
        for (currency, amount) in [
            (eur, "49.999"),
            (jpy, "1500.5"),
            (eur, "-3"),
            (eur, "1e3"),
            (eur, ""),
            (eur, "."),
            (eur, "2000000000"),
        ] {
            assert!(currency.minor_units(amount).is_err(), "{amount} {currency}");
        }
        assert_eq!(eur.amount(4990), 49.9);
        for bad in ["eur", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_and_kinds_are_short_plain_names() {
        assert!(ConversionId::parse("order-2026-12-01:4411").is_ok());
        for bad in ["", "a b", "é", &"x".repeat(129)] {
            assert!(ConversionId::parse(bad).is_err(), "{bad}");
        }
        for kind in ConversionKind::KNOWN
            .into_iter()
            .chain(["merch_bundle", "vip2"])
        {
            assert!(ConversionKind::parse(kind).is_ok(), "{kind}");
        }
        for bad in ["Ticket", "2tickets", "pre-save", "", &"a".repeat(41)] {
            assert!(ConversionKind::parse(bad).is_err(), "{bad}");
        }
    }
}
