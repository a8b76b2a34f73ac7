//! Analytics: `GET /api/artists/{artistId}/campaigns/{campaignId}/analytics`,
//! `GET /api/artists/{artistId}/email/analytics[/{role}]` and `…/email/analytics/heatmap`.
//! The campaign and team reports answer CSV for `?format=csv` or `Accept: text/csv`
//! (`&locale=fr` for a French Excel).

use chrono::NaiveDate;
use lambda_http::Request;
use mailing::analytics::campaign::Granularity;
use mailing::analytics::report::{self, Locale, Table};
use mailing::analytics::team::{self, Range};
use mailing::analytics::{Volumes, campaign, heatmap};
use mailing::domain::{ArtistId, CampaignId, ContactRole};
use mailing::{ApiError, App};

use crate::http::{self, HttpResult};

/// The CSV locale asked for, if CSV is. The locale is checked either way: a parameter the
/// answer ignores is still the caller's mistake to hear about.
fn csv_wanted(request: &Request) -> Result<Option<Locale>, ApiError> {
    let format = http::query_param(request, "format", |raw| match raw {
        "csv" | "json" => Ok(raw.to_owned()),
        _ => Err("must be csv or json".into()),
    })?;
    let locale = http::csv_locale(request)?;
    let accept_csv = http::header(request, "accept").is_some_and(|a| a.contains("text/csv"));
    let wanted = match format.as_deref() {
        Some("csv") => true,
        Some(_) => false,
        None => accept_csv,
    };
    Ok(wanted.then_some(locale))
}

/// `GET /api/artists/{artistId}/campaigns/{campaignId}/analytics[?format=csv&locale=fr]`
pub async fn campaign(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let locale = csv_wanted(&request)?;
    let analytics = campaign::of(app, &caller, artist, id).await?;
    let Some(locale) = locale else {
        return http::json(200, &analytics);
    };
    let mut rows: Vec<(Vec<String>, Volumes)> = vec![(
        vec!["total".to_owned(), String::new()],
        analytics.volumes.clone(),
    )];
    rows.extend(analytics.series.iter().map(|point| {
        (
            vec![
                format!("{:?}", point.granularity).to_lowercase(),
                point.start.to_rfc3339(),
            ],
            point.volumes.clone(),
        )
    }));
    let table = Table {
        labels: &["period", "start"],
        rows,
    };
    http::csv(
        report::csv(&table, locale),
        &format!("campaign-{id}-analytics.csv"),
    )
}

fn date(raw: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| "must be a date such as 2026-12-01".into())
}

fn dates(request: &Request) -> Result<(Option<NaiveDate>, Option<NaiveDate>), ApiError> {
    Ok((
        http::query_param(request, "from", date)?,
        http::query_param(request, "to", date)?,
    ))
}

fn invalid_range(message: String) -> ApiError {
    ApiError::BadRequest {
        code: "invalid_query",
        message,
        details: serde_json::json!({ "parameter": "from" }),
    }
}

/// `GET /api/artists/{artistId}/email/analytics?from=&to=&granularity=day|week|month`
pub async fn artist(app: &App, request: Request) -> HttpResult {
    teams(app, request, None).await
}

/// `GET /api/artists/{artistId}/email/analytics/{role}?from=&to=&granularity=`
pub async fn team(app: &App, request: Request) -> HttpResult {
    let role = http::path_text(&request, "role")
        .parse::<ContactRole>()
        .map_err(|e| ApiError::bad_request("invalid_path", format!("role: {e}")))?;
    teams(app, request, Some(role)).await
}

async fn teams(app: &App, request: Request, role: Option<ContactRole>) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let (from, to) = dates(&request)?;
    let granularity = http::query_param(&request, "granularity", |raw| match raw {
        "day" => Ok(Granularity::Day),
        "week" => Ok(Granularity::Week),
        "month" => Ok(Granularity::Month),
        _ => Err("must be day, week or month".into()),
    })?;
    let range = Range::new(from, to, granularity).map_err(invalid_range)?;
    let locale = csv_wanted(&request)?;
    let analytics = team::of(app, &caller, artist, role, range).await?;
    let Some(locale) = locale else {
        return http::json(200, &analytics);
    };
    let rows = analytics
        .teams
        .iter()
        .flat_map(|team| {
            team.periods.iter().map(|period| {
                (
                    vec![team.contact_role.to_string(), period.start.to_string()],
                    period.volumes.clone(),
                )
            })
        })
        .collect();
    let table = Table {
        labels: &["contact_role", "period_start"],
        rows,
    };
    http::csv(
        report::csv(&table, locale),
        &format!("analytics-{}-{}.csv", range.from, range.to),
    )
}

/// `GET /api/artists/{artistId}/email/analytics/heatmap?role=&from=&to=`
pub async fn heatmap(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let role = http::query_param(&request, "role", |raw| {
        raw.parse::<ContactRole>().map_err(|e| e.to_string())
    })?;
    let (from, to) = dates(&request)?;
    let range = heatmap::range(from, to).map_err(invalid_range)?;
    http::json(200, &heatmap::of(app, &caller, artist, role, range).await?)
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use crate::contract::{CSV, schema};
    let csv = "`?format=csv` or `Accept: text/csv`: the same figures as a CSV download.";
    let format = || schema::one_of(&["json", "csv"]);
    let locale = || schema::one_of(&["en", "fr"]);
    api.operation(
        "GET",
        "/api/artists/{artistId}/campaigns/{campaignId}/analytics",
    )
    .summary("A campaign's analytics")
    .description("Volumes and rates (people only: machine opens and clicks are counted apart), a time series, links, A/B variants with their decision, conversions and return on cost.")
    .query_schema("format", "json (default) or csv.", format())
    .query_schema("locale", "CSV for an English (`en`, default) or French (`fr`) spreadsheet.", locale())
    .answers::<campaign::CampaignAnalytics>(200, "The analytics.")
    .media(200, CSV, csv);
    for (path, summary) in [
        (
            "/api/artists/{artistId}/email/analytics",
            "Every team's analytics over a period",
        ),
        (
            "/api/artists/{artistId}/email/analytics/{role}",
            "One team's analytics over a period",
        ),
    ] {
        api.operation("GET", path)
            .summary(summary)
            .query_schema("from", "First day (YYYY-MM-DD).", schema::date())
            .query_schema("to", "Last day (YYYY-MM-DD).", schema::date())
            .query_schema(
                "granularity",
                "Period of each point.",
                schema::one_of(&["day", "week", "month"]),
            )
            .query_schema("format", "json (default) or csv.", format())
            .query_schema(
                "locale",
                "CSV for an English (`en`, default) or French (`fr`) spreadsheet.",
                locale(),
            )
            .answers::<team::ArtistAnalytics>(200, "The analytics per team and period.")
            .media(200, CSV, csv);
    }
    api.operation("GET", "/api/artists/{artistId}/email/analytics/heatmap")
        .summary("When people open and click, by hour of week")
        .query::<ContactRole>(
            "role",
            "One team; every team of the caller's grant when absent.",
        )
        .query_schema("from", "First day (YYYY-MM-DD).", schema::date())
        .query_schema("to", "Last day (YYYY-MM-DD).", schema::date())
        .answers::<heatmap::Heatmap>(
            200,
            "Human opens and clicks per hour of week in the artist's time zone.",
        );
}
