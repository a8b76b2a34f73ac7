//! Send-time optimization: a contact's best hour from its own opens, its team's or the artist's
//! when it has too few, and a campaign sent at each recipient's hour within its window, each
//! hour queued once by the scheduler, with pause, resume and cancel.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use mailing::domain::{CampaignId, ContactId, ContactRole};
use mailing::send_time::HourOfWeek;
use mailing::sending::queue_due_slots;
use mailing::store::stats::{Changes, StatsKey};
use mailing::tracking::{EmailEvent, EventKind, SendRef, record};
use serde_json::{Value, json};

use crate::ab_tests::{id_of, team};
use crate::support::{TestStack, spent};

const PERSON: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

/// The next time, a day or more ahead, that is `weekday` (0 Monday) at `hour`:00 UTC.
fn next(weekday: u32, hour: u32) -> DateTime<Utc> {
    let mut at = (Utc::now() + Duration::days(1))
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    while at.weekday().num_days_from_monday() != weekday || at.hour() != hour {
        at += Duration::hours(1);
    }
    at
}

/// Records a person's opens of `campaign`'s message to `contact` at these times, through
/// `ses-events`' code path.
async fn opened_at(
    stack: &TestStack,
    campaign: CampaignId,
    contact: ContactId,
    times: &[DateTime<Utc>],
) {
    let events: Vec<EmailEvent> = times
        .iter()
        .map(|at| EmailEvent {
            send: SendRef {
                artist: stack.artist,
                role: ContactRole::Press,
                campaign,
                contact,
            },
            kind: EventKind::Open {
                user_agent: Some(PERSON.into()),
            },
            at: *at,
            address: None,
        })
        .collect();
    record(stack.app(), events).await.unwrap();
}

async fn best_send_time(stack: &TestStack, contact: ContactId) -> Value {
    let reply = stack
        .owner()
        .get(&format!("{}/{contact}", stack.contacts_url()))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body["best_send_time"].clone()
}

async fn send(stack: &TestStack, domain: &str, extra: Value) -> String {
    let mut body = json!({
        "contact_role": "press", "name": "Au bon moment", "subject": "Bonjour {{ contact.first_name }}",
        "content": "<p>Bonjour {{ contact.first_name }}</p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p>",
        "from_name": "Label Nova", "from_email": format!("news@{domain}"),
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let url = stack.campaign(body).await;
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    url
}

/// Messages the local SES accepted from `domain`, per recipient.
async fn received(domain: &str) -> BTreeMap<String, usize> {
    crate::ab_tests::received(domain)
        .await
        .into_iter()
        .map(|(to, (count, _, _))| (to, count))
        .collect()
}

#[tokio::test]
async fn a_contacts_best_hour_comes_from_its_opens_else_its_teams_else_the_campaigns_time() {
    let stack = TestStack::new().await;
    let team = team(&stack, "press", 2).await;
    let url = send(&stack, &team.domain, json!({})).await;
    stack.drain_queues().await;
    let (reader, newcomer) = (team.contacts[0].0, team.contacts[1].0);
    let nothing = best_send_time(&stack, newcomer).await;
    assert_eq!(nothing["source"], "campaign", "{nothing}");
    assert!(nothing.get("day").is_none());
    // Tuesday 8:00 UTC, three times (9:00 in Paris, the sender profile's default zone).
    let tuesday = next(1, 8);
    let opens = [
        tuesday,
        tuesday + Duration::minutes(10),
        tuesday + Duration::minutes(20),
    ];
    opened_at(&stack, id_of(&url), reader, &opens[..2]).await;
    assert_eq!(
        best_send_time(&stack, reader).await["source"],
        "campaign",
        "two opens are not enough"
    );
    opened_at(&stack, id_of(&url), reader, &opens[2..]).await;
    let best = best_send_time(&stack, reader).await;
    assert_eq!(best["source"], "contact", "{best}");
    assert_eq!(best["events"], 3);
    assert_eq!(best["utc_hour_of_week"], 32);
    assert_eq!(best["time_zone"], "Europe/Paris");
    // 9:00 in winter, 10:00 in summer.
    assert!([9, 10].contains(&best["hour"].as_u64().unwrap()), "{best}");
    assert_eq!(best["day"], "tuesday");
    // Twenty of the team's opens make a heatmap the newcomer borrows.
    let many: Vec<DateTime<Utc>> = (0..20)
        .map(|i| tuesday + Duration::seconds(30 * i))
        .collect();
    opened_at(&stack, id_of(&url), reader, &many).await;
    let borrowed = best_send_time(&stack, newcomer).await;
    assert_eq!(borrowed["source"], "team", "{borrowed}");
    assert_eq!(borrowed["utc_hour_of_week"], 32);
}

/// Waits out the last minute of an hour: the tests place contacts' hours from the start's.
async fn not_at_the_hours_end() {
    let now = Utc::now();
    if now.minute() == 59 {
        let wait = 61 - now.second();
        tokio::time::sleep(std::time::Duration::from_secs(u64::from(wait))).await;
    }
}

/// Gives each contact opens at its hour: `hour_of(i)` for the i-th.
async fn with_hours(
    stack: &TestStack,
    contacts: &[ContactId],
    hour_of: impl Fn(usize) -> DateTime<Utc>,
) {
    for chunk in contacts.chunks(100).enumerate().collect::<Vec<_>>() {
        let (page, ids) = chunk;
        let mut changes = Changes::default();
        for (i, id) in ids.iter().enumerate() {
            let hour = HourOfWeek::of(hour_of(page * 100 + i));
            changes.add_named(StatsKey::Contact(*id), hour.attribute(), 3);
        }
        let written = mailing::store::transact(stack.app(), changes.updates(stack.app()).unwrap())
            .await
            .unwrap();
        assert!(matches!(written, mailing::store::TransactOutcome::Written));
    }
}

#[tokio::test]
async fn a_best_time_campaign_reaches_each_contact_in_its_hour_once_and_obeys_pause_and_resume() {
    let stack = TestStack::new().await;
    let team = team(&stack, "press", 6).await;
    let ids: Vec<ContactId> = team.contacts.iter().map(|(id, _)| *id).collect();
    // Two read at the start's hour, two three hours later, two a day later.
    not_at_the_hours_end().await;
    let start = Utc::now();
    let offsets = [0, 0, 3, 3, 24, 24];
    with_hours(&stack, &ids, |i| start + Duration::hours(offsets[i])).await;
    let url = send(
        &stack,
        &team.domain,
        json!({ "send_at_best_time": { "window_hours": 48 } }),
    )
    .await;
    stack.drain_sending().await;
    let reached = |got: &BTreeMap<String, usize>, of: &[usize]| {
        let mut expected: Vec<&String> = of.iter().map(|i| &team.contacts[*i].1).collect();
        expected.sort();
        assert_eq!(got.keys().collect::<Vec<_>>(), expected);
        assert!(got.values().all(|n| *n == 1), "{got:?}");
    };
    reached(&received(&team.domain).await, &[0, 1]);
    let campaign = stack.owner().get(&url).await;
    assert_eq!(campaign.body["status"], "sending");
    assert_eq!(campaign.body["recipient_count"], 6, "every row exists");

    // Two hours on: nothing new. Three: the next two, once however often the scheduler ticks.
    assert_eq!(
        queue_due_slots(
            stack.app(),
            start + Duration::hours(2) + Duration::minutes(5)
        )
        .await
        .unwrap(),
        2
    );
    stack.drain_sending().await;
    reached(&received(&team.domain).await, &[0, 1]);
    for _ in 0..2 {
        queue_due_slots(
            stack.app(),
            start + Duration::hours(3) + Duration::minutes(5),
        )
        .await
        .unwrap();
    }
    stack.drain_sending().await;
    reached(&received(&team.domain).await, &[0, 1, 2, 3]);

    // Paused, the day's hour does not go; resumed, it goes when it comes.
    let paused = stack
        .owner()
        .post(&format!("{url}/pause"), &json!({}))
        .await;
    assert_eq!(paused.status, 200, "{:?}", paused.body);
    let day_later = start + Duration::hours(24) + Duration::minutes(5);
    assert_eq!(queue_due_slots(stack.app(), day_later).await.unwrap(), 0);
    stack.drain_sending().await;
    reached(&received(&team.domain).await, &[0, 1, 2, 3]);
    let resumed = stack
        .owner()
        .post(&format!("{url}/resume"), &json!({}))
        .await;
    assert_eq!(resumed.status, 202, "{:?}", resumed.body);
    stack.drain_sending().await;
    reached(&received(&team.domain).await, &[0, 1, 2, 3]);
    assert!(queue_due_slots(stack.app(), day_later).await.unwrap() > 0);
    stack.drain_queues().await;
    reached(&received(&team.domain).await, &[0, 1, 2, 3, 4, 5]);
    let sent = stack.owner().get(&url).await;
    assert_eq!(sent.body["status"], "sent", "{:?}", sent.body);

    // A cancelled one sends nothing more.
    let late = team.contacts.len();
    let cancelled = send(
        &stack,
        &team.domain,
        json!({ "name": "Annulée", "send_at_best_time": { "window_hours": 48 } }),
    )
    .await;
    stack.drain_sending().await;
    let before: usize = received(&team.domain).await.values().sum();
    assert_eq!(before, late + 2);
    let reply = stack
        .owner()
        .post(&format!("{cancelled}/cancel"), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    queue_due_slots(stack.app(), day_later).await.unwrap();
    stack.drain_queues().await;
    let after: usize = received(&team.domain).await.values().sum();
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_best_time_window_is_one_hour_to_a_week_and_not_for_a_test_then_winner() {
    let stack = TestStack::new().await;
    let team = team(&stack, "press", 1).await;
    let campaigns = format!("/api/artists/{}/campaigns", stack.artist);
    let base = json!({
        "contact_role": "press", "name": "Fenêtre", "subject": "Sujet", "content": "<p>Bonjour</p>",
        "from_name": "Label", "from_email": format!("news@{}", team.domain),
    });
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (extra, field) in [
        (
            json!({ "send_at_best_time": { "window_hours": 0 } }),
            "send_at_best_time.window_hours",
        ),
        (
            json!({ "send_at_best_time": { "window_hours": 169 } }),
            "send_at_best_time.window_hours",
        ),
        (
            json!({ "send_at_best_time": { "window_hours": 24 }, "ab_test": {
                "mode": "test_then_winner", "test_percent": 50, "test_hours": 4, "fallback": "A",
                "metric": "unique_opens", "variants": [{ "subject": "Un" }, { "subject": "Deux" }] } }),
            "send_at_best_time",
        ),
    ] {
        let refused = stack.owner().post(&campaigns, &with(extra.clone())).await;
        assert_eq!(refused.status, 422, "{extra}: {:?}", refused.body);
        let fields = refused.invalid_fields();
        assert!(fields.contains(&field), "{extra}: {fields:?}");
    }
    let week = stack
        .owner()
        .post(
            &campaigns,
            &with(json!({ "send_at_best_time": { "window_hours": 168 } })),
        )
        .await;
    assert_eq!(week.status, 201, "{:?}", week.body);
    assert_eq!(week.body["send_at_best_time"]["window_hours"], 168);
}

#[tokio::test]
async fn a_best_time_dispatch_of_10000_recipients_over_a_day_costs_a_few_requests_per_hundred() {
    let stack = TestStack::new().await;
    let domain = format!(
        "bt-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    stack.sending_domain(&domain).await;
    let ids = devstack::seed::contacts(
        stack.app(),
        stack.artist,
        ContactRole::Press,
        10_000,
        &format!("media-{domain}"),
    )
    .await
    .unwrap();
    not_at_the_hours_end().await;
    let start = Utc::now();
    with_hours(&stack, &ids, |i| start + Duration::hours((i % 24) as i64)).await;
    let before = stack.requests.by_operation();
    let url = send(
        &stack,
        &domain,
        json!({ "send_at_best_time": { "window_hours": 24 } }),
    )
    .await;
    stack.drain("campaign-dispatch").await;
    for hour in 1..=24 {
        queue_due_slots(
            stack.app(),
            start + Duration::hours(hour) + Duration::minutes(1),
        )
        .await
        .unwrap();
        stack.drain("campaign-dispatch").await;
    }
    let requests: u64 = spent(&before, &stack.requests.by_operation())
        .values()
        .sum();
    let campaign = stack.owner().get(&url).await;
    assert_eq!(campaign.body["recipient_count"], 10_000);
    assert_eq!(campaign.body["slots_queued"], 23);
    println!("10,000 recipients over 24 hours: {requests} requests to dispatch them");
    assert!(
        requests <= 1_000,
        "{requests} requests: more than one per ten recipients"
    );
}
