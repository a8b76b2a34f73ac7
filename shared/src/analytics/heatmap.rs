//! When people read: a person's opens and clicks by hour of the week, in the artist's time zone
//! (its sender profile's, Europe/Paris by default), for one team or all the caller may see
//! (`GET /api/artists/{artistId}/email/analytics/heatmap?role=&from=&to=`).
//!
//! Read from the teams' hour items (UTC), each placed in the local hour it fell in, daylight
//! saving included: one Query per team over at most [`MAX_DAYS`] days, and the profile.

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use super::team::teams_of;
use super::volumes::Rate;
use crate::auth::Caller;
use crate::domain::{ArtistId, ContactRole, Counter, DEFAULT_TIME_ZONE};
use crate::store::stats::{self, Counters, HOUR_FORMAT};
use crate::{ApiError, App, store};

pub const MAX_DAYS: i64 = 92;
pub const DEFAULT_DAYS: i64 = 90;

/// One hour of the week.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Cell {
    /// The person's opens and clicks in that hour.
    pub opens: u64,
    pub clicks: u64,
    /// Messages delivered in that hour.
    pub delivered: u64,
    /// This hour's share of all the opens and clicks of the map.
    pub share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Heatmap {
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub contact_role: Option<ContactRole>,
    /// `days[0]` is Monday; `days[d][h]` the hour from `h`:00 local time.
    pub days: Vec<Vec<Cell>>,
    pub opens: u64,
    pub clicks: u64,
    /// The busiest hour: (day, hour, its share).
    pub peak: Option<(u8, u8, Rate)>,
}

/// The range asked for: the last [`DEFAULT_DAYS`] days by default, at most [`MAX_DAYS`].
pub fn range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<(NaiveDate, NaiveDate), String> {
    let to = to.unwrap_or_else(|| Utc::now().date_naive());
    let from = from.unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
    if from > to {
        return Err("from must not be after to".into());
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(format!("the heatmap covers at most {MAX_DAYS} days"));
    }
    Ok((from, to))
}

pub async fn of(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    role: Option<ContactRole>,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Heatmap, ApiError> {
    let roles = teams_of(caller, artist, role)?;
    let bounds = (format!("HOUR#{from}T00"), format!("HOUR#{to}T23"));
    let hours = futures::future::try_join_all(roles.iter().map(|role| {
        let pk = stats::team_pk(artist, *role);
        let bounds = bounds.clone();
        async move { stats::range(app, &pk, (&bounds.0, &bounds.1)).await }
    }));
    let (hours, profile) = tokio::try_join!(hours, store::sender_profiles::get(app, artist))?;
    let time_zone = profile.map_or_else(|| DEFAULT_TIME_ZONE.to_owned(), |p| p.time_zone);
    let mut map = fill(&time_zone, hours.iter().flatten());
    map.from = from;
    map.to = to;
    map.contact_role = role;
    Ok(map)
}

/// The map of hour items `(sk, counters)` in `time_zone`.
pub fn fill<'a>(time_zone: &str, hours: impl Iterator<Item = &'a (String, Counters)>) -> Heatmap {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut days = vec![vec![Cell::default(); 24]; 7];
    for (sk, counters) in hours {
        let Some(utc) = sk.strip_prefix("HOUR#").and_then(|hour| {
            NaiveDateTime::parse_from_str(&format!("{hour}:00"), &format!("{HOUR_FORMAT}:%M")).ok()
        }) else {
            continue;
        };
        let Ok(instant) = jiff::Timestamp::from_second(utc.and_utc().timestamp()) else {
            continue;
        };
        let local = instant.to_zoned(zone.clone());
        let day = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
        let hour = usize::from(local.hour().unsigned_abs());
        let cell = &mut days[day % 7][hour % 24];
        cell.opens += counters.get(Counter::Opens);
        cell.clicks += counters.get(Counter::Clicks);
        cell.delivered += counters.get(Counter::Delivered);
    }
    let opens: u64 = days.iter().flatten().map(|c| c.opens).sum();
    let clicks: u64 = days.iter().flatten().map(|c| c.clicks).sum();
    let total = opens + clicks;
    let mut peak: Option<(u8, u8, Rate)> = None;
    for (d, row) in days.iter_mut().enumerate() {
        for (h, cell) in row.iter_mut().enumerate() {
            let share = Rate::of(cell.opens + cell.clicks, total, "opens_and_clicks");
            cell.share = share.value;
            if share.numerator > 0
                && peak
                    .as_ref()
                    .is_none_or(|(_, _, best)| share.numerator > best.numerator)
            {
                peak = Some((d as u8, h as u8, share));
            }
        }
    }
    Heatmap {
        time_zone: zone.iana_name().unwrap_or(time_zone).to_owned(),
        from: NaiveDate::MIN,
        to: NaiveDate::MIN,
        contact_role: None,
        days,
        opens,
        clicks,
        peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::stats::Counters;

    fn hour(sk: &str, opens: u64) -> (String, Counters) {
        (sk.to_owned(), Counters::of(&[(Counter::Opens, opens)]))
    }

    #[test]
    fn hours_land_in_the_artists_local_hour_of_the_week_daylight_saving_included() {
        // 2026-12-01 is a Tuesday: 17:00 UTC is 18:00 in Paris (winter, UTC+1).
        // 2026-07-07 is a Tuesday: 17:00 UTC is 19:00 in Paris (summer, UTC+2).
        let hours = [
            hour("HOUR#2026-12-01T17", 3),
            hour("HOUR#2026-07-07T17", 1),
            hour("HOUR#2026-12-06T23", 2),
        ];
        let paris = fill("Europe/Paris", hours.iter());
        assert_eq!(paris.days[1][18].opens, 3);
        assert_eq!(paris.days[1][19].opens, 1);
        // Sunday 23:00 UTC is Monday 00:00 in Paris.
        assert_eq!(paris.days[0][0].opens, 2);
        assert_eq!(paris.opens, 6);
        assert_eq!(paris.peak.as_ref().map(|(d, h, _)| (*d, *h)), Some((1, 18)));
        assert_eq!(paris.days[1][18].share, Some(0.5));
        let montreal = fill("America/Montreal", hours.iter());
        assert_eq!(montreal.days[1][12].opens, 3, "UTC-5 in winter");
    }
}
