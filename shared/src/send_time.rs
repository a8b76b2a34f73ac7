//! Send-time optimization: the hour of the week a contact reads their mail, and where in a
//! campaign's window each recipient's message goes.
//!
//! A person's opens and clicks are counted by UTC hour of the week on the contact's stats item
//! (`how_{0–167}`, Monday 00:00 UTC first; `tracking::record` adds them with the event's other
//! counters, machines never). The best hour, with its fallback chain:
//!
//! 1. the contact's own, once it has [`CONTACT_MIN_EVENTS`] opens and clicks;
//! 2. else its team's heatmap (the team's hour items, #9) over the last [`FALLBACK_DAYS`] days,
//!    once it holds [`GROUP_MIN_EVENTS`];
//! 3. else the artist's (every team's), with the same threshold;
//! 4. else none: the campaign's own time.
//!
//! The best hour of a histogram is its busiest, each hour counted twice and its neighbours
//! once (hours are noisy on a few events; people who read at 9:00 often read at 8:00 or
//! 10:00), the earliest in the week on a tie. Hours are UTC, so daylight saving moves nothing;
//! they are shown in the artist's time zone.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde::Serialize;

use crate::domain::{ArtistId, Contact, ContactRole, Counter, DEFAULT_TIME_ZONE};
use crate::store::stats::{self, Counters};
use crate::{ApiError, App};

/// A person's opens and clicks a contact needs before its own hours are trusted.
pub const CONTACT_MIN_EVENTS: u64 = 3;
/// A team's (or the artist's) before its heatmap is.
pub const GROUP_MIN_EVENTS: u64 = 20;
/// How far back a team's heatmap is read: recent habits, and one Query of its hour items.
pub const FALLBACK_DAYS: i64 = 28;

const HOURS: usize = 168;
const PREFIX: &str = "how_";

/// An hour of the week, UTC: 0 is Monday 00:00–01:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourOfWeek(u8);

impl HourOfWeek {
    pub fn of(at: DateTime<Utc>) -> Self {
        let day = at.weekday().num_days_from_monday();
        Self((day * 24 + at.hour()) as u8)
    }

    /// The attribute of a contact's stats item that counts this hour.
    pub fn attribute(self) -> String {
        format!("{PREFIX}{}", self.0)
    }

    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The first time at or after `from` (floored to its hour) that falls in this hour.
    pub fn next_from(self, from: DateTime<Utc>) -> DateTime<Utc> {
        let start = from
            .with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(from);
        let ahead = (self.index() + HOURS - HourOfWeek::of(start).index()) % HOURS;
        start + Duration::hours(ahead as i64)
    }
}

/// Opens and clicks per hour of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram([u64; HOURS]);

impl Default for Histogram {
    fn default() -> Self {
        Self([0; HOURS])
    }
}

impl Histogram {
    /// A contact's, from its stats item.
    pub fn of_contact(counters: &Counters) -> Self {
        let mut histogram = Self::default();
        for (i, slot) in histogram.0.iter_mut().enumerate() {
            *slot = counters.named(&format!("{PREFIX}{i}"));
        }
        histogram
    }

    pub fn add(&mut self, hour: HourOfWeek, count: u64) {
        self.0[hour.index()] += count;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine += theirs;
        }
    }

    pub fn events(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The busiest hour, its neighbours counting half (see the module docs).
    pub fn best(&self) -> Option<HourOfWeek> {
        if self.events() == 0 {
            return None;
        }
        let score =
            |h: usize| 2 * self.0[h] + self.0[(h + HOURS - 1) % HOURS] + self.0[(h + 1) % HOURS];
        (0..HOURS)
            .max_by_key(|h| (score(*h), std::cmp::Reverse(*h)))
            .map(|h| HourOfWeek(h as u8))
    }
}

/// Where a best hour comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    Contact,
    Team,
    Artist,
    /// Nothing to go by: the campaign's own time.
    Campaign,
}

/// A contact's best hour, as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Best {
    /// `None` with [`TimeSource::Campaign`].
    pub hour: Option<HourOfWeek>,
    pub source: TimeSource,
    /// The opens and clicks it rests on.
    pub events: u64,
}

/// The team's and the artist's best hours, read once for every contact of a page.
#[derive(Debug, Clone, Default)]
pub struct Fallbacks {
    team: Option<(HourOfWeek, u64)>,
    artist: Option<(HourOfWeek, u64)>,
}

impl Fallbacks {
    /// From each team's hour items of the last [`FALLBACK_DAYS`]: one Query per team.
    pub async fn read(
        app: &App,
        artist: ArtistId,
        role: ContactRole,
        now: DateTime<Utc>,
    ) -> Result<Self, ApiError> {
        let from = format!(
            "HOUR#{}",
            (now - Duration::days(FALLBACK_DAYS)).format(stats::HOUR_FORMAT)
        );
        let to = "HOUR#~".to_owned();
        let teams = futures::future::try_join_all(ContactRole::ALL.iter().map(|team| {
            let pk = stats::team_pk(artist, *team);
            let (from, to) = (from.clone(), to.clone());
            async move {
                let hours = stats::range(app, &pk, (&from, &to)).await?;
                Ok::<_, ApiError>((*team, group_histogram(&hours)))
            }
        }))
        .await?;
        let mut all = Histogram::default();
        let mut team = None;
        for (of, histogram) in &teams {
            all.merge(histogram);
            if *of == role {
                team = trusted(histogram, GROUP_MIN_EVENTS);
            }
        }
        Ok(Self {
            team,
            artist: trusted(&all, GROUP_MIN_EVENTS),
        })
    }

    /// The best hour of a contact with this stats item, down the fallback chain.
    pub fn best_for(&self, contact: &Counters) -> Best {
        let own = Histogram::of_contact(contact);
        let found = trusted(&own, CONTACT_MIN_EVENTS)
            .map(|found| (found, TimeSource::Contact))
            .or(self.team.map(|found| (found, TimeSource::Team)))
            .or(self.artist.map(|found| (found, TimeSource::Artist)));
        match found {
            Some(((hour, events), source)) => Best {
                hour: Some(hour),
                source,
                events,
            },
            None => Best {
                hour: None,
                source: TimeSource::Campaign,
                events: 0,
            },
        }
    }
}

fn trusted(histogram: &Histogram, minimum: u64) -> Option<(HourOfWeek, u64)> {
    let events = histogram.events();
    (events >= minimum)
        .then(|| histogram.best())
        .flatten()
        .map(|hour| (hour, events))
}

/// A team's opens and clicks by hour of the week, from its UTC hour items.
fn group_histogram(hours: &[(String, Counters)]) -> Histogram {
    let mut histogram = Histogram::default();
    for (sk, counters) in hours {
        let Some(at) = sk.strip_prefix("HOUR#").and_then(|hour| {
            chrono::NaiveDateTime::parse_from_str(&format!("{hour}:00"), "%Y-%m-%dT%H:%M").ok()
        }) else {
            continue;
        };
        histogram.add(
            HourOfWeek::of(at.and_utc()),
            counters.get(Counter::Opens) + counters.get(Counter::Clicks),
        );
    }
    histogram
}

/// The hour of a campaign's window (0 is its start's) a recipient's message goes in: the
/// first time its best hour comes in the window; else that hour of the day, the first time it
/// comes; else the start.
pub fn slot(best: Option<HourOfWeek>, start: DateTime<Utc>, window_hours: u16) -> u16 {
    let Some(best) = best else {
        return 0;
    };
    let window = i64::from(window_hours);
    let first_hour = HourOfWeek::of(start).next_from(start);
    let ahead = (best.next_from(start) - first_hour).num_hours();
    if ahead < window {
        return ahead as u16;
    }
    let same_hour = (i64::from(best.0 % 24) - i64::from(start.hour())).rem_euclid(24);
    if same_hour < window {
        same_hour as u16
    } else {
        0
    }
}

/// A best hour as a person reads it: its day and hour in the artist's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct BestSendTime {
    pub source: TimeSource,
    /// The opens and clicks it rests on (the contact's, its team's or the artist's).
    pub events: u64,
    /// Monday 00:00 UTC is 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc_hour_of_week: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hour: Option<u8>,
    pub time_zone: String,
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

impl BestSendTime {
    pub fn show(best: Best, time_zone: &str, now: DateTime<Utc>) -> Self {
        let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let local = best.hour.and_then(|hour| {
            let at = hour.next_from(now);
            let local = jiff::Timestamp::from_second(at.timestamp())
                .ok()?
                .to_zoned(zone.clone());
            let day = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
            Some((DAYS[day % 7], local.hour().unsigned_abs()))
        });
        Self {
            source: best.source,
            events: best.events,
            utc_hour_of_week: best.hour.map(|hour| hour.0),
            day: local.map(|(day, _)| day),
            hour: local.map(|(_, hour)| hour),
            time_zone: zone.iana_name().unwrap_or(time_zone).to_owned(),
        }
    }
}

/// `contact`'s best send time (its stats item is `counters`), in the artist's time zone: the
/// team's and artist's heatmaps are read only when the contact's own hours are too few.
pub async fn of_contact(
    app: &App,
    contact: &Contact,
    counters: &Counters,
    now: DateTime<Utc>,
) -> Result<BestSendTime, ApiError> {
    let own = Fallbacks::default().best_for(counters);
    let (best, profile) = if own.source == TimeSource::Contact {
        (
            own,
            crate::store::sender_profiles::get(app, contact.artist_id).await?,
        )
    } else {
        let (fallbacks, profile) = tokio::try_join!(
            Fallbacks::read(app, contact.artist_id, contact.contact_role, now),
            crate::store::sender_profiles::get(app, contact.artist_id),
        )?;
        (fallbacks.best_for(counters), profile)
    };
    let time_zone =
        profile.map_or_else(|| DEFAULT_TIME_ZONE.to_owned(), |profile| profile.time_zone);
    Ok(BestSendTime::show(best, &time_zone, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        // 2026-11-30 is a Monday.
        Utc.with_ymd_and_hms(2026, 11, 30, hour, 0, 0).unwrap() + Duration::days(i64::from(day))
    }

    fn histogram(events: &[(u32, u32, u64)]) -> Histogram {
        let mut histogram = Histogram::default();
        for (day, hour, count) in events {
            histogram.add(HourOfWeek::of(at(*day, *hour)), *count);
        }
        histogram
    }

    #[test]
    fn hours_of_the_week_start_monday_at_midnight_utc() {
        assert_eq!(HourOfWeek::of(at(0, 0)).index(), 0);
        assert_eq!(HourOfWeek::of(at(1, 9)).index(), 33);
        assert_eq!(HourOfWeek::of(at(6, 23)).index(), 167);
        let tuesday_nine = HourOfWeek::of(at(1, 9));
        assert_eq!(tuesday_nine.next_from(at(0, 10)), at(1, 9));
        assert_eq!(
            tuesday_nine.next_from(at(1, 9) + Duration::minutes(20)),
            at(1, 9)
        );
        assert_eq!(
            tuesday_nine.next_from(at(1, 10)),
            at(1, 9) + Duration::days(7)
        );
    }

    #[test]
    fn the_best_hour_is_the_busiest_with_its_neighbours_and_the_earliest_on_a_tie() {
        assert_eq!(histogram(&[]).best(), None);
        // A single 18:00 open against a steady 8:00–10:00 reader.
        let steady = histogram(&[(1, 8, 2), (1, 9, 2), (1, 10, 2), (3, 18, 3)]);
        assert_eq!(steady.best(), Some(HourOfWeek::of(at(1, 9))));
        let tie = histogram(&[(2, 7, 1), (4, 7, 1)]);
        assert_eq!(tie.best(), Some(HourOfWeek::of(at(2, 7))));
    }

    #[test]
    fn each_recipient_goes_in_the_first_hour_of_the_window_that_suits_them() {
        let start = at(0, 10) + Duration::minutes(25);
        let tuesday_nine = Some(HourOfWeek::of(at(1, 9)));
        assert_eq!(slot(tuesday_nine, start, 48), 23);
        // Not in a 12-hour window: 9:00 is not either, so the start.
        assert_eq!(slot(tuesday_nine, start, 12), 0);
        // Thursday 9:00 is beyond a 30-hour window, but 9:00 comes the next day.
        let thursday_nine = Some(HourOfWeek::of(at(3, 9)));
        assert_eq!(slot(thursday_nine, start, 30), 23);
        assert_eq!(slot(thursday_nine, start, 168), 71);
        assert_eq!(slot(None, start, 24), 0);
        // The start's own hour: now.
        assert_eq!(slot(Some(HourOfWeek::of(start)), start, 24), 0);
    }

    #[test]
    fn a_contact_without_history_takes_its_teams_hour_then_the_artists_then_the_campaigns() {
        let contact = |events: &[(u32, u32, u64)]| {
            let histogram = histogram(events);
            Counters::of_named(
                &(0..HOURS)
                    .filter(|h| histogram.0[*h] > 0)
                    .map(|h| (format!("{PREFIX}{h}"), histogram.0[h]))
                    .collect::<Vec<_>>(),
            )
        };
        let team = HourOfWeek::of(at(2, 18));
        let artist = HourOfWeek::of(at(5, 11));
        let both = Fallbacks {
            team: Some((team, 40)),
            artist: Some((artist, 90)),
        };
        let reader = contact(&[(1, 9, 2), (1, 9, 1)]);
        let best = both.best_for(&reader);
        assert_eq!(
            (best.hour, best.source, best.events),
            (Some(HourOfWeek::of(at(1, 9))), TimeSource::Contact, 3)
        );
        let newcomer = contact(&[(1, 9, 2)]);
        assert_eq!(both.best_for(&newcomer).source, TimeSource::Team);
        let no_team = Fallbacks {
            team: None,
            ..both.clone()
        };
        assert_eq!(no_team.best_for(&newcomer).hour, Some(artist));
        let nothing = Fallbacks::default().best_for(&newcomer);
        assert_eq!((nothing.hour, nothing.source), (None, TimeSource::Campaign));
    }

    #[test]
    fn a_best_hour_is_shown_in_the_artists_time_zone() {
        let shown = BestSendTime::show(
            Best {
                hour: Some(HourOfWeek::of(at(1, 8))),
                source: TimeSource::Contact,
                events: 5,
            },
            "Europe/Paris",
            at(0, 0),
        );
        // Tuesday 8:00 UTC in December is 9:00 in Paris.
        assert_eq!((shown.day, shown.hour), (Some("tuesday"), Some(9)));
        assert_eq!(shown.utc_hour_of_week, Some(32));
    }
}
