//! `devstack bench-send [--recipients N]`: the CPU the sender (`email-send`) spends per
//! recipient, network excluded. A campaign of the benchmark newsletter to one batch of seeded
//! contacts is sent through the emulator once, recording every AWS answer (`replay`); then the
//! same batch is sent again and again with those answers replayed from memory while the
//! process's CPU time (user + system, every thread) is read before and after: reading the
//! campaign and contacts, claiming, rendering, MIME, the SDK's requests (serialized and
//! signed) and responses (parsed) — everything but sockets. The renderer alone on the same
//! newsletter, in the same process, is the baseline. Prints one JSON line.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mailing::App;
use mailing::aws::Clients;
use mailing::domain::ContactRole;
use mailing::sending::SendBatch;
use serde_json::json;

use crate::bench_stack::BenchStack;
use crate::replay::Recordings;

pub async fn run(args: &[String]) -> anyhow::Result<()> {
    let recipients: usize = match args {
        [] => 5_000,
        [flag, n] if flag == "--recipients" => n.parse().context("--recipients: a number")?,
        _ => bail!("usage: devstack bench-send [--recipients N]"),
    };
    let bench = BenchStack::start("bsend").await?;
    let (stack, artist, domain) = (&bench.stack, bench.artist, &bench.domain);
    crate::seed::contacts(
        stack.apps.all(),
        artist,
        ContactRole::Marketing,
        SendBatch::RECIPIENTS,
        &format!("fans.{domain}"),
    )
    .await?;
    let (dispatch, sender) = (
        bench.consumer("campaign-dispatch")?,
        bench.consumer("email-send")?,
    );
    bench.send_newsletter("marketing").await?;
    crate::consumers::drain(&stack.apps, dispatch).await?;
    let batch = queued_batch(stack.apps.all(), &sender.queue_url).await?;

    // Once through the emulator, recording its answers.
    let recordings = Recordings::default();
    let sdk = mailing::aws::load_config().await;
    let clients = crate::intercepted::clients(&sdk, recordings.clone());
    // The sender's configuration: the keys `email-send` is given.
    let config = stack
        .apps
        .of("email-send")
        .context("email-send")?
        .config
        .clone();
    let recording = App::new(config.clone(), clients);
    let cpu_before = cpu_time();
    let first = mailing::sending::send_batch(&recording, &batch).await?;
    let through_emulator = cpu_time() - cpu_before;
    if first.sent != batch.contacts.len() {
        bail!("the recorded batch did not send to everyone: {first:?}");
    }

    // Then again and again from memory.
    let replayed = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(recordings)
        .load()
        .await;
    let replaying = App::new(config, Clients::new(&replayed));
    let rounds = recipients.div_ceil(batch.contacts.len()).max(1);
    mailing::sending::send_batch(&replaying, &batch).await?;
    let cpu_before = cpu_time();
    let started = Instant::now();
    for _ in 0..rounds {
        let outcome = mailing::sending::send_batch(&replaying, &batch).await?;
        if outcome.sent != batch.contacts.len() {
            bail!("a replayed batch did not send to everyone: {outcome:?}");
        }
    }
    let cpu = cpu_time() - cpu_before;
    let wall = started.elapsed();
    let sends = (rounds * batch.contacts.len()) as f64;
    let per_recipient = cpu.as_secs_f64() * 1e6 / sends;
    let ses_call = ses_call_alone(&replaying, domain, rounds * batch.contacts.len()).await?;
    let baseline = crate::bench_render::measure(rounds * batch.contacts.len())?;
    let render = baseline["micros_per_message"].as_f64().unwrap_or(f64::NAN);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    println!(
        "{}",
        json!({
            "recipients": sends,
            "batch": batch.contacts.len(),
            "sender_cpu_micros_per_recipient": round(per_recipient),
            "sender_wall_micros_per_recipient": round(wall.as_secs_f64() * 1e6 / sends),
            "render_micros_per_message": render,
            "sender_over_render": (per_recipient / render * 100.0).round() / 100.0,
            "ses_call_alone_micros_per_message": round(ses_call),
            "with_loopback_http_cpu_micros_per_recipient":
                round(through_emulator.as_secs_f64() * 1e6 / batch.contacts.len() as f64),
        })
    );
    Ok(())
}

/// CPU per call of SES's SendEmail alone, through the same replaying client, for one of the
/// messages just sent (its raw MIME as SES received it, its tags): what the sender cannot do
/// without, one call per recipient, before rendering anything.
async fn ses_call_alone(app: &App, domain: &str, messages: usize) -> anyhow::Result<f64> {
    use aws_sdk_sesv2::primitives::Blob;
    use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
    let sent = crate::outbox::accepted(&crate::outbox::Filter {
        from_domain: Some(domain.to_owned()),
        limit: 1,
        ..Default::default()
    })
    .await?
    .into_iter()
    .next()
    .context("the recorded batch left nothing in the local outbox")?;
    let tags = sent
        .tags
        .iter()
        .map(|(name, value)| MessageTag::builder().name(name).value(value).build())
        .collect::<Result<Vec<_>, _>>()?;
    let cpu_before = cpu_time();
    for _ in 0..messages {
        app.aws
            .sesv2
            .send_email()
            .from_email_address(&sent.source)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(sent.destinations.clone()))
                    .build(),
            )
            .content(
                EmailContent::builder()
                    .raw(
                        RawMessage::builder()
                            .data(Blob::new(sent.raw.clone()))
                            .build()?,
                    )
                    .build(),
            )
            .configuration_set_name(&app.config.configuration_set)
            .set_email_tags(Some(tags.clone()))
            .send()
            .await?;
    }
    Ok((cpu_time() - cpu_before).as_secs_f64() * 1e6 / messages as f64)
}

/// The one send batch the dispatch queued, taken off the queue.
async fn queued_batch(app: &App, queue_url: &str) -> anyhow::Result<SendBatch> {
    let received = app
        .aws
        .sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(1)
        .wait_time_seconds(1)
        .send()
        .await?;
    let message = received
        .messages
        .unwrap_or_default()
        .into_iter()
        .next()
        .context("the dispatch queued no batch")?;
    app.aws
        .sqs
        .delete_message()
        .queue_url(queue_url)
        .set_receipt_handle(message.receipt_handle)
        .send()
        .await?;
    Ok(serde_json::from_str(
        message.body.as_deref().unwrap_or_default(),
    )?)
}

/// User plus system CPU time of the whole process so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage writes the struct it is given and nothing else.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}
