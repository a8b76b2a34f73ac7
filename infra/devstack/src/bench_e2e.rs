//! `devstack bench-e2e [--contacts N] [--recipients M] [--replies R]`: the product's heavy flows
//! end to end on the local stack, through the same code Lambda runs: a file of N generated
//! contacts imported (API, presigned upload, S3's event, `import-upload` until the job
//! completes); a campaign of the benchmark newsletter to about M press contacts imported the
//! same way (API, `campaign-dispatch`, `email-send` until every recipient is sent); then R of
//! them answering it (a Gmail reply stored as SES's receipt rule stores it, `email-inbound` and
//! `ses-events`). What the local SES publishes for the messages sent, `ses-events` consumes as
//! the campaign runs, as its event source would; its work is a stage of its own, set apart from
//! the campaign's. Each stage's AWS requests
//! are counted by service and operation (DynamoDB, SQS, SES, S3; transactions' items beside
//! them, as write units are paid on them) with its wall time against the emulator. Prints one
//! JSON line per stage.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::Full;
use serde_json::{Value, json};

use crate::bench_send::cpu_time;
use crate::bench_stack::BenchStack;
use crate::counting::{TRANSACTED_ITEMS, counted_between};

/// Of the generated rows, the share that are valid and not repeated (1 % invalid, 2 % repeats).
const UNIQUE_VALID: f64 = 0.97;

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let (mut contacts, mut recipients, mut replying) = (100_000u64, 10_000u64, 1_000usize);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().context("a number after the flag")?;
        match flag.as_str() {
            "--contacts" => contacts = value.parse().context("--contacts: a number")?,
            "--recipients" => recipients = value.parse().context("--recipients: a number")?,
            "--replies" => replying = value.parse().context("--replies: a number")?,
            _ => bail!("usage: devstack bench-e2e [--contacts N] [--recipients M] [--replies R]"),
        }
    }
    let bench = BenchStack::start("be2e").await?;
    let dir = std::env::temp_dir().join(format!("bench-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;

    let file = dir.join("contacts.csv");
    crate::generate::contacts(contacts, &file)?;
    let mut spent = Spent::default();
    let job = spent
        .add(&bench, import(&bench, "marketing", &file))
        .await?;
    let report = &job["report"];
    let counts = ["rows", "valid", "invalid", "duplicates", "created"];
    let counts: Value = counts
        .iter()
        .map(|k| (k.to_string(), report[k].clone()))
        .collect();
    print_stage("import", contacts, &counts, spent);

    // The press file is sized so that about M of its rows are valid and unique.
    let file = dir.join("press.csv");
    crate::generate::contacts((recipients as f64 / UNIQUE_VALID).ceil() as u64, &file)?;
    let job = import(&bench, "press", &file).await?;
    // What SES publishes for each message sent (the local SES: its Send and Delivery events),
    // consumed as the campaign runs and set apart from it.
    let mut events = Delivery::default();
    let mut spent = Spent::default();
    let campaign = spent
        .add(&bench, campaign(&bench, &job, &mut events))
        .await?;
    let sent = campaign["success_count"].as_u64().unwrap_or(0);
    print_stage("campaign", sent, &campaign, spent.less(&events.spent));
    events.consume(&bench).await?;
    let handled = json!({ "ses-events": events.handled });
    print_stage("delivery events", events.handled, &handled, events.spent);

    let mut spent = Spent::default();
    let handled = spent.add(&bench, replies(&bench, replying)).await?;
    print_stage("replies", replying as u64, &handled, spent);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// What a stage spent: wall time, this process's CPU (our code, the SDK, the loopback HTTP client;
/// not the emulator's) and requests by (service, operation), with the items of DynamoDB
/// transactions as `dynamodb:TransactWriteItems.items`.
#[derive(Default)]
struct Spent {
    wall: Duration,
    cpu: Duration,
    requests: BTreeMap<(String, String), u64>,
}

impl Spent {
    /// Runs `work`, adding what it spent.
    async fn add<T>(
        &mut self,
        bench: &BenchStack,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<T> {
        let before = bench.stack.requests.by_operation();
        let (started, cpu_before) = (Instant::now(), cpu_time());
        let outcome = work.await?;
        self.wall += started.elapsed();
        self.cpu += cpu_time() - cpu_before;
        for (key, count) in counted_between(&before, &bench.stack.requests.by_operation()) {
            *self.requests.entry(key).or_default() += count;
        }
        Ok(outcome)
    }

    /// What is left of this stage once a part measured inside it is set apart.
    fn less(mut self, part: &Spent) -> Spent {
        self.wall = self.wall.saturating_sub(part.wall);
        self.cpu = self.cpu.saturating_sub(part.cpu);
        for (key, count) in &part.requests {
            if let Some(mine) = self.requests.get_mut(key) {
                *mine -= count;
            }
        }
        self
    }
}

fn print_stage(stage: &str, units: u64, outcome: &Value, spent: Spent) {
    let mut requests: serde_json::Map<String, Value> = spent
        .requests
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|((service, operation), count)| (format!("{service}:{operation}"), json!(count)))
        .collect();
    requests
        .entry(format!("dynamodb:{TRANSACTED_ITEMS}"))
        .or_insert(json!(0));
    println!(
        "{}",
        json!({
            "stage": stage,
            "units": units,
            "wall_seconds": (spent.wall.as_secs_f64() * 10.0).round() / 10.0,
            "cpu_seconds": (spent.cpu.as_secs_f64() * 100.0).round() / 100.0,
            "requests": requests,
            "outcome": outcome,
        })
    );
}

/// An import as a person makes it: the job created through the API, the file put to its
/// presigned URL over HTTP, then the imports queue run until the job is over.
async fn import(bench: &BenchStack, role: &str, file: &Path) -> anyhow::Result<Value> {
    let contacts = format!("/api/artists/{}/contacts", bench.artist);
    let created = bench
        .call(
            "POST",
            format!("{contacts}/import"),
            json!({
                "contact_role": role,
                "file_name": file.file_name().map(|n| n.to_string_lossy()),
                "consent": { "basis": "consent", "source": "formulaire du site" }
            }),
        )
        .await?;
    let url = created["upload"]["url"].as_str().context("an upload URL")?;
    let put = http::Request::put(url).body(Full::from(std::fs::read(file)?))?;
    let answer = mailing::https::Lazy::default()
        .call(put, Duration::from_secs(300), 64 * 1024)
        .await?;
    if !answer.status.is_success() {
        bail!("the presigned upload was refused: {}", answer.status);
    }
    let id = created["id"].as_str().context("an import id")?;
    let consumer = bench.consumer("import-upload")?;
    loop {
        crate::consumers::drain(&bench.stack.apps, consumer).await?;
        let job = bench
            .call("GET", format!("{contacts}/imports/{id}"), json!({}))
            .await?;
        match job["status"].as_str() {
            Some("completed") => return Ok(job),
            Some("processing" | "awaiting_upload") => {
                // A continuation queued with a delay: the event source would wait for it too.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => bail!("the import did not complete: {job}"),
        }
    }
}

/// `ses-events` run over what SES published so far, between the sender's passes, where its event
/// source on AWS runs it while the campaign sends. A pass drains the whole send queue first, so
/// the events queue still holds a pass's events, and moto's receives and deletes walk it.
#[derive(Default)]
struct Delivery {
    handled: u64,
    spent: Spent,
}

impl Delivery {
    async fn consume(&mut self, bench: &BenchStack) -> anyhow::Result<()> {
        let consumer = bench.consumer("ses-events")?;
        let work = crate::consumers::drain(&bench.stack.apps, consumer);
        self.handled += self.spent.add(bench, work).await? as u64;
        Ok(())
    }
}

/// The newsletter to every press contact, from the API call to the last recipient sent.
async fn campaign(
    bench: &BenchStack,
    press: &Value,
    events: &mut Delivery,
) -> anyhow::Result<Value> {
    let created = press["report"]["created"].as_u64().unwrap_or(0);
    let id = bench.send_newsletter("press").await?;
    let (dispatch, sender) = (
        bench.consumer("campaign-dispatch")?,
        bench.consumer("email-send")?,
    );
    let url = format!("/api/artists/{}/campaigns/{id}", bench.artist);
    loop {
        crate::consumers::drain(&bench.stack.apps, dispatch).await?;
        crate::consumers::drain(&bench.stack.apps, sender).await?;
        events.consume(bench).await?;
        let campaign = bench.call("GET", url.clone(), json!({})).await?;
        let done = campaign["success_count"].as_u64().unwrap_or(0)
            + campaign["failed_count"].as_u64().unwrap_or(0);
        if done >= created {
            let keep = ["status", "recipient_count", "success_count", "failed_count"];
            return Ok(keep
                .iter()
                .map(|k| (k.to_string(), campaign[k].clone()))
                .collect());
        }
        if campaign["status"] == "paused" {
            bail!("the campaign paused: {campaign}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `count` recipients of the campaign reply with the Gmail fixture, each to the message it got.
async fn replies(bench: &BenchStack, count: usize) -> anyhow::Result<Value> {
    let originals = crate::outbox::accepted(&crate::outbox::Filter {
        from_domain: Some(bench.domain.clone()),
        limit: count,
        ..Default::default()
    })
    .await?;
    if originals.len() < count {
        bail!("only {} messages were sent to answer", originals.len());
    }
    let written = std::fs::read(crate::repo_root().join("events/inbound/gmail-fr.eml"))?;
    let app = bench.stack.apps.all();
    let bucket = &bench.stack.provisioned.refs["InboundBucket"];
    for original in &originals {
        let reply = crate::inbound::as_reply_to(&written, &original.raw, "PASS")?;
        crate::inbound::store(&app.aws.s3, bucket, reply).await?;
    }
    drain(bench, &["email-inbound", "ses-events"]).await
}

/// Runs each function's queue until it stays empty: the messages each handled.
async fn drain(bench: &BenchStack, functions: &[&str]) -> anyhow::Result<Value> {
    let mut handled = json!({});
    for function in functions {
        let consumer = bench.consumer(function)?;
        handled[function] = json!(crate::consumers::drain(&bench.stack.apps, consumer).await?);
    }
    Ok(handled)
}
