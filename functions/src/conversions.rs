//! Conversions: `POST /api/artists/{artistId}/email/conversions`.

use lambda_http::Request;
use mailing::App;
use mailing::conversions::{self, NewConversion, Via};
use mailing::domain::{ArtistId, ConversionId, ConversionKind, Currency, Money};
use serde::Deserialize;
use serde_json::Value;

use crate::http::{self, Fields, HttpResult};

/// `{ "id", "kind", "value", "currency", "at"?, "click_token" | "utm_campaign" (+ "utm_content") }`:
/// 201 with the conversion and what it is attributed to; 200 with it unchanged when the same
/// conversion is posted again.
pub async fn create(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let new = http::json_body::<ConversionBody>(&request, http::JSON_LIMIT)?.parse(artist)?;
    let recorded = conversions::record(app, &caller, new).await?;
    http::json(
        if recorded.created { 201 } else { 200 },
        &recorded.conversion,
    )
}

/// An amount (a number or a decimal string: `49.9`, `"49.90"`) in a currency, checked against
/// the currency's decimals.
pub(crate) fn money(
    f: &mut Fields,
    (amount_field, amount): (&str, &Value),
    (currency_field, currency): (&str, &str),
) -> Option<Money> {
    let currency = f.check(currency_field, Currency::parse(currency));
    let amount = match amount {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.trim().to_owned()),
        _ => {
            f.push(
                amount_field,
                "must be a number or a decimal string, like 49.90",
            );
            None
        }
    };
    let (currency, amount) = (currency?, amount?);
    f.check(amount_field, currency.minor_units(&amount))
        .map(|minor| Money { minor, currency })
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewConversion")
)]
#[serde(deny_unknown_fields)]
struct ConversionBody {
    id: String,
    kind: String,
    /// A number or a decimal string: `49.9`, `"49.90"`.
    value: Value,
    currency: String,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    click_token: Option<String>,
    #[serde(default)]
    utm_campaign: Option<String>,
    #[serde(default)]
    utm_content: Option<String>,
}

impl ConversionBody {
    fn parse(self, artist: ArtistId) -> Result<NewConversion, mailing::ApiError> {
        let mut f = Fields::default();
        let id = f.check("id", ConversionId::parse(&self.id));
        let kind = f.check("kind", ConversionKind::parse(&self.kind));
        let value = money(&mut f, ("value", &self.value), ("currency", &self.currency));
        let at = self.at.as_deref().map(|raw| {
            f.check(
                "at",
                chrono::DateTime::parse_from_rfc3339(raw)
                    .map_err(|_| "must be an RFC 3339 time with its offset"),
            )
            .map(|at| at.with_timezone(&chrono::Utc))
        });
        let via = match (self.click_token, self.utm_campaign) {
            (Some(token), None) if self.utm_content.is_none() => Some(Via::ClickToken(token)),
            (None, Some(campaign)) => {
                f.text("utm_campaign", Some(&campaign), 100)
                    .map(|campaign| Via::Utm {
                        campaign,
                        content: self.utm_content,
                    })
            }
            (None, None) => {
                f.push(
                    "click_token",
                    "give the click token of the link the person followed, or utm_campaign (and utm_content)",
                );
                None
            }
            _ => {
                f.push(
                    "click_token",
                    "give either click_token or utm_campaign, not both",
                );
                None
            }
        };
        f.finish(|| NewConversion {
            artist,
            id: id.expect("checked"),
            kind: kind.expect("checked"),
            value: value.expect("checked"),
            at: at.map(|at| at.expect("checked")),
            via: via.expect("checked"),
        })
    }
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("POST", "/api/artists/{artistId}/email/conversions")
        .summary("Record a conversion (a sale, a pre-save, a booking…) idempotently")
        .description("From the CRM's server, with a grant on the whole artist. `id` is the caller's own: posting it again changes nothing. Attributed through the click token of the link the person came through, or the UTM campaign and content our links carry, within the attribution window.")
        .body::<ConversionBody>()
        .answers::<mailing::domain::Conversion>(201, "Recorded, with what it is attributed to.")
        .answers::<mailing::domain::Conversion>(200, "Already recorded: the conversion unchanged.")
        .errors(&[409]);
}
