//! Analytics: `GET /api/artists/{artistId}/campaigns/{campaignId}/analytics`,
//! `GET /api/artists/{artistId}/email/analytics[/{role}]` and `…/email/analytics/heatmap`.
//! The campaign and team reports answer CSV for `?format=csv` or `Accept: text/csv`
//! (`&locale=fr` for a French Excel).

use lambda_http::Request;
use mailing::analytics::report::{self, Locale, Table};
use mailing::analytics::{Volumes, campaign};
use mailing::domain::{ArtistId, CampaignId};
use mailing::{ApiError, App};

use crate::http::{self, HttpResult};

/// The CSV locale asked for, if CSV is.
fn csv_wanted(request: &Request) -> Result<Option<Locale>, ApiError> {
    let format = http::query_param(request, "format", |raw| match raw {
        "csv" | "json" => Ok(raw.to_owned()),
        _ => Err("must be csv or json".into()),
    })?;
    let accept_csv = http::header(request, "accept").is_some_and(|a| a.contains("text/csv"));
    let wanted = match format.as_deref() {
        Some("csv") => true,
        Some(_) => false,
        None => accept_csv,
    };
    if !wanted {
        return Ok(None);
    }
    let locale = http::query_param(request, "locale", |raw| match raw {
        "fr" => Ok(Locale::French),
        "en" => Ok(Locale::English),
        _ => Err("must be fr or en".into()),
    })?;
    Ok(Some(locale.unwrap_or(Locale::English)))
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
