//! Which opens and clicks are a machine's, not the person's.
//!
//! Privacy proxies fetch every image of a message as it arrives (Apple Mail Privacy
//! Protection), and security gateways follow every link before the person sees the message
//! (Microsoft Defender Safe Links, Mimecast, Proofpoint, Barracuda). Counting them would make
//! open rates meaningless and A/B tests pick winners at random. The rules, in order:
//!
//! 1. **Known agent**: the user agent is one of a proxy or scanner (the list below), or a bare
//!    HTTP library. Gmail's and Yahoo's image proxies are *not* on it: they fetch when the
//!    person opens the message, so those opens are the person's.
//! 2. **Too soon after delivery**: an open or click within [`TOO_SOON`] of the message being
//!    delivered (or sent, when the delivery is not known yet). No person reads that fast;
//!    prefetchers and gateways do.
//! 3. **Click burst**: a click on another link of the same message within [`BURST`] of the
//!    previous click: a scanner walking every link. The first click of the burst was counted
//!    before the second arrived and stays counted.
//!
//! Machine events are kept (the timeline shows them, marked) and counted apart
//! (`machine_opens`, `machine_clicks`); they never count as unique opens or clicks, nor in
//! engagement.

use chrono::{DateTime, TimeDelta, Utc};

use crate::domain::MachineReason;

pub const TOO_SOON: TimeDelta = TimeDelta::seconds(10);
pub const BURST: TimeDelta = TimeDelta::seconds(2);

/// Lowercase fragments of user agents that are never a person reading.
const MACHINE_AGENTS: &[&str] = &[
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "messagelabs",
    "trendmicro",
    "forcepoint",
    "fortiguard",
    "sophos",
    "safelinks",
    "bingpreview",
    "microsoft office protocol discovery",
    "headlesschrome",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "curl/",
    "wget/",
    "libwww-perl",
    "apache-httpclient",
    "bot",
    "crawler",
    "spider",
    "scanner",
    "preview",
];

/// Apple Mail Privacy Protection fetches with exactly this agent.
const APPLE_PRIVACY_PROXY: &str = "Mozilla/5.0";

pub fn known_agent(user_agent: Option<&str>) -> bool {
    let Some(agent) = user_agent.map(str::trim) else {
        // Every mail client sends one; its absence is a script's.
        return true;
    };
    if agent.is_empty() || agent == APPLE_PRIVACY_PROXY {
        return true;
    }
    let lower = agent.to_ascii_lowercase();
    MACHINE_AGENTS
        .iter()
        .any(|fragment| lower.contains(fragment))
}

/// What the message's row said before this event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    /// Delivered, or failing that sent.
    pub arrived_at: Option<DateTime<Utc>>,
    pub last_click: Option<(DateTime<Utc>, u16)>,
}

pub fn open(at: DateTime<Utc>, user_agent: Option<&str>, seen: &Seen) -> Option<MachineReason> {
    if known_agent(user_agent) {
        return Some(MachineReason::KnownAgent);
    }
    too_soon(at, seen)
}

pub fn click(
    at: DateTime<Utc>,
    link: Option<u16>,
    user_agent: Option<&str>,
    seen: &Seen,
) -> Option<MachineReason> {
    if known_agent(user_agent) {
        return Some(MachineReason::KnownAgent);
    }
    if let Some(reason) = too_soon(at, seen) {
        return Some(reason);
    }
    let (previous_at, previous_link) = seen.last_click?;
    let other_link = link.is_some_and(|link| link != previous_link);
    let gap = at - previous_at;
    (other_link && gap >= TimeDelta::zero() && gap <= BURST).then_some(MachineReason::ClickBurst)
}

fn too_soon(at: DateTime<Utc>, seen: &Seen) -> Option<MachineReason> {
    let arrived = seen.arrived_at?;
    (at - arrived < TOO_SOON).then_some(MachineReason::TooSoonAfterDelivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUMAN: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn agents_of_proxies_scanners_and_scripts_are_machines_and_mail_clients_are_not() {
        for (agent, machine) in [
            (Some(HUMAN), false),
            (
                Some(
                    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
                ),
                false,
            ),
            (Some("Microsoft Outlook 16.0.17928; Pro"), false),
            (Some("Mozilla/5.0"), true),
            (Some(""), true),
            (None, true),
            (Some("python-requests/2.32.3"), true),
            (Some("Mozilla/5.0 (compatible; BingPreview/1.0b)"), true),
            (Some("Barracuda Sentinel (EE)"), true),
            (Some("Mozilla/5.0 HeadlessChrome/120.0"), true),
        ] {
            assert_eq!(known_agent(agent), machine, "{agent:?}");
        }
    }

    #[test]
    fn an_open_seconds_after_delivery_is_a_machine_and_one_minutes_later_is_the_person() {
        let seen = Seen {
            arrived_at: Some(at(0)),
            last_click: None,
        };
        assert_eq!(
            open(at(3), Some(HUMAN), &seen),
            Some(MachineReason::TooSoonAfterDelivery)
        );
        assert_eq!(open(at(600), Some(HUMAN), &seen), None);
        assert_eq!(
            open(at(600), Some("Mozilla/5.0"), &seen),
            Some(MachineReason::KnownAgent)
        );
        assert_eq!(open(at(600), Some(HUMAN), &Seen::default()), None);
    }

    #[test]
    fn a_click_on_another_link_right_after_a_click_is_a_burst_and_the_same_link_again_is_not() {
        let seen = Seen {
            arrived_at: Some(at(0)),
            last_click: Some((at(100), 1)),
        };
        assert_eq!(
            click(at(101), Some(2), Some(HUMAN), &seen),
            Some(MachineReason::ClickBurst)
        );
        assert_eq!(click(at(101), Some(1), Some(HUMAN), &seen), None);
        assert_eq!(click(at(130), Some(2), Some(HUMAN), &seen), None);
        assert_eq!(
            click(at(5), Some(2), Some(HUMAN), &seen),
            Some(MachineReason::TooSoonAfterDelivery)
        );
    }
}
