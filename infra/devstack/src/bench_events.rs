//! `devstack bench-events [--events N]`: `ses-events` on a replayed stream of SES events
//! (deliveries, a person's opens and clicks, machine opens, and exact duplicates as SNS and
//! SQS deliver them), in batches of 100 as its event source hands them over, through the
//! emulator. It reports the CPU this process spends per event (our code, the SDK's
//! serialization and signing, the loopback HTTP client; the emulator runs in another process),
//! hence the events one core records per second, beside the baseline of parsing the same
//! messages alone in the same run; the wall time through the emulator; and the DynamoDB
//! requests and write units per 1,000 events (write units: 1 per PutItem or UpdateItem of an
//! item under 1 KB, 2 per item of a transaction, as DynamoDB on-demand bills them). Prints one
//! JSON line.

use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Duration, SecondsFormat, Utc};
use mailing::domain::{ArtistId, CampaignId, ContactId, ContactRole};
use mailing::render::{MessageIds, message_tags};
use mailing::store::sends::{self, Send};
use mailing::store::suppression::OptOutKeys;
use serde_json::{Value, json};

use crate::bench_send::cpu_time;
use crate::counting::TRANSACTED_ITEMS;
use crate::stack::LocalStack;

const RECIPIENTS: usize = 1_000;
const BATCH: usize = 100;
const PERSON: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let events: usize = match args {
        [] => 100_000,
        [flag, n] if flag == "--events" => n.parse().context("--events: a number")?,
        _ => bail!("usage: devstack bench-events [--events N]"),
    };
    let stack = LocalStack::for_bench("bev").await?;
    let app = stack
        .apps
        .of("ses-events")
        .context("template.yaml declares ses-events")?;
    let artist = ArtistId::new();
    let campaign = CampaignId::new();
    let started = Utc::now() - Duration::days(1);
    let rows: Vec<Send> = (0..RECIPIENTS)
        .map(|_| {
            let keys = OptOutKeys {
                team: String::new(),
                artist: String::new(),
                address: String::new(),
            };
            Send::pending(
                (artist, ContactRole::Marketing),
                campaign,
                ContactId::new(),
                keys,
                started,
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        sends::create_many(app, chunk).await?;
    }
    let bodies = stream(&rows, artist, campaign, started, events);

    // The baseline, in this run: reading the same messages, nothing written.
    let cpu_before = cpu_time();
    for body in &bodies {
        mailing::tracking::parse_message(body).map_err(|e| anyhow::anyhow!(e))?;
    }
    let parse_cpu = cpu_time() - cpu_before;

    let before = stack.requests.by_operation();
    let cpu_before = cpu_time();
    let wall = Instant::now();
    let mut failed = 0;
    for (n, batch) in bodies.chunks(BATCH).enumerate() {
        let messages: Vec<(String, String)> = batch
            .iter()
            .enumerate()
            .map(|(i, body)| (format!("{n}-{i}"), body.clone()))
            .collect();
        failed += mailing::tracking::consume(app, &messages).await.len();
    }
    let cpu = cpu_time() - cpu_before;
    let wall = wall.elapsed();
    if failed > 0 {
        bail!("{failed} messages failed");
    }
    let after = stack.requests.by_operation();
    let spent = |operation: &str| {
        let key = ("dynamodb".to_owned(), operation.to_owned());
        after.get(&key).copied().unwrap_or(0) - before.get(&key).copied().unwrap_or(0)
    };
    let requests: u64 = after
        .iter()
        .filter(|((service, operation), _)| service == "dynamodb" && operation != TRANSACTED_ITEMS)
        .map(|(key, n)| n - before.get(key).copied().unwrap_or(0))
        .sum();
    let write_units =
        spent("UpdateItem") + spent("PutItem") + spent("DeleteItem") + 2 * spent(TRANSACTED_ITEMS);
    let per_thousand = |n: u64| (n as f64 * 1000.0 / events as f64 * 10.0).round() / 10.0;
    let micros = cpu.as_secs_f64() * 1e6 / events as f64;
    let parse_micros = parse_cpu.as_secs_f64() * 1e6 / events as f64;
    let round = |x: f64| (x * 100.0).round() / 100.0;
    println!(
        "{}",
        json!({
            "events": events,
            "recipients": RECIPIENTS,
            "cpu_micros_per_event": round(micros),
            "events_per_core_second": (1e6 / micros).round(),
            "parse_only_cpu_micros_per_event": round(parse_micros),
            "over_parse_only": round(micros / parse_micros),
            "wall_events_per_second_through_emulator": (events as f64 / wall.as_secs_f64()).round(),
            "dynamodb_requests_per_1000_events": per_thousand(requests),
            "write_units_per_1000_events": per_thousand(write_units),
            "transactions_per_1000_events": per_thousand(spent("TransactWriteItems")),
        })
    );
    Ok(())
}

/// `events` queue messages about `rows`: each message delivered, then, in time order, a
/// person's opens (60 %), clicks (20 %) and a proxy's opens (10 %), and 10 % exact repeats of
/// an earlier message.
fn stream(
    rows: &[Send],
    artist: ArtistId,
    campaign: CampaignId,
    started: chrono::DateTime<Utc>,
    events: usize,
) -> Vec<String> {
    let mut bodies: Vec<String> = Vec::with_capacity(events);
    let mut n = 0usize;
    while bodies.len() < events {
        let row = &rows[n % rows.len()];
        let round = n / rows.len();
        let at = started + Duration::seconds(60 + (n as i64) * 3);
        let (event_type, detail) = match (round, n % 10) {
            (0, _) => ("Delivery", json!({ "timestamp": stamp(at) })),
            (_, 0..=5) => (
                "Open",
                json!({ "timestamp": stamp(at), "userAgent": PERSON, "ipAddress": "192.0.2.1" }),
            ),
            (_, 6 | 7) => (
                "Click",
                json!({ "timestamp": stamp(at), "userAgent": PERSON, "ipAddress": "192.0.2.1",
                        "link": "https://label.example/album" }),
            ),
            (_, 8) => (
                "Open",
                json!({ "timestamp": stamp(at), "userAgent": "Mozilla/5.0", "ipAddress": "17.58.0.1" }),
            ),
            _ => {
                let repeat = bodies[bodies.len() / 2].clone();
                bodies.push(repeat);
                n += 1;
                continue;
            }
        };
        bodies.push(body(row, artist, campaign, event_type, detail));
        n += 1;
    }
    bodies
}

fn stamp(at: chrono::DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One SES event as the events queue holds it: SES's JSON inside SNS's envelope.
fn body(
    row: &Send,
    artist: ArtistId,
    campaign: CampaignId,
    event_type: &str,
    detail: Value,
) -> String {
    let tags: serde_json::Map<String, Value> = message_tags(&MessageIds {
        artist,
        role: row.contact_role,
        campaign: Some(campaign.as_uuid()),
        contact: Some(row.contact_id),
        send: row.send_id,
    })
    .into_iter()
    .map(|tag| (tag.name.to_owned(), json!([tag.value])))
    .collect();
    let mut message = json!({
        "eventType": event_type,
        "mail": {
            "timestamp": detail["timestamp"],
            "source": "news@label.example",
            "messageId": format!("bench-{}", row.send_id),
            "destination": ["fan@example.com"],
            "tags": tags,
        },
    });
    message[event_type.to_ascii_lowercase()] = detail;
    json!({
        "Type": "Notification",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:events",
        "Message": message.to_string(),
        "Timestamp": stamp(Utc::now()),
    })
    .to_string()
}
