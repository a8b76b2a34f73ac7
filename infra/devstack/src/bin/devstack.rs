//! `devstack up [--port N]` serves every route on loopback; `devstack token --scope S...` prints
//! a token the running stack accepts. Run through `infra/dev`, which starts the emulator.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use devstack::auth::LocalIssuer;
use devstack::gateway::{self, Gateway};
use devstack::repo_root;
use devstack::stack::LocalStack;
use mailing::contacts_import::{self, ImportTarget, RunError};
use mailing::domain::{ArtistId, Consent, ConsentBasis, ContactRole, ImportId, UserId};

/// The artist the printed dev token is scoped to.
const DEMO_ARTIST: &str = "018f3a2c-7b4e-7c1d-9a2b-3c4d5e6f7a8b";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("up") => up(&args[1..]).await,
        Some("token") => token(&args[1..]),
        Some("env") => env(&args[1..]).await,
        Some("import") => import(&args[1..]).await,
        Some("generate-contacts") => generate_contacts(&args[1..]),
        Some("bench-render") => devstack::bench_render::run(&args[1..]),
        Some("bench-send") => devstack::bench_send::run(&args[1..]).await,
        Some("bench-events") => devstack::bench_events::run(&args[1..]).await,
        Some("bench-e2e") => devstack::bench_e2e::run(&args[1..]).await,
        Some("event") => event(&args[1..]).await,
        Some("reply") => reply(&args[1..]).await,
        Some("end-test") => end_test(&args[1..]).await,
        Some("openapi") => {
            let document = functions::contract::document();
            println!("{}", serde_json::to_string_pretty(&document)?);
            Ok(())
        }
        _ => bail!(
            "usage: devstack up [--port N] | devstack token --scope SCOPE... [--sub USER] [--hours H] | devstack env --prefix P [--per-function] | devstack import --dry-run --artist ID --role ROLE [--sheet NAME] FILE | devstack bench-render [--messages N] | devstack bench-send [--recipients N] | devstack bench-events [--events N] | devstack bench-e2e [--contacts N] [--recipients M] [--replies R] | devstack event KIND --to ADDRESS... [--link URL] [--machine] [--minutes-after N] | devstack end-test --artist ID --campaign ID | devstack reply --to-newest ADDRESS (FILE.eml | --text TEXT) | devstack openapi"
        ),
    }
}

/// Publishes a delivery event for the newest message the local SES accepted for each address.
async fn event(args: &[String]) -> anyhow::Result<()> {
    let usage = format!(
        "usage: infra/dev event {{{}}} --to ADDRESS... [--link URL] [--machine] [--minutes-after N]",
        devstack::inject::KINDS.join("|")
    );
    let (mut kind, mut to, mut link) = (None, Vec::new(), None);
    let mut actor = devstack::inject::Actor::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--to" => to.push(args.next().context(usage.clone())?.clone()),
            "--link" => link = Some(args.next().context(usage.clone())?.clone()),
            "--machine" => actor.machine = true,
            "--minutes-after" => {
                actor.minutes_after = args
                    .next()
                    .context(usage.clone())?
                    .parse()
                    .context("--minutes-after: a number of minutes")?
            }
            other if kind.is_none() && !other.starts_with('-') => kind = Some(other.to_owned()),
            other => bail!("unknown argument {other}\n{usage}"),
        }
    }
    let Some(kind) = kind.filter(|_| !to.is_empty()) else {
        bail!("{usage}");
    };
    for address in &to {
        let message = devstack::inject::inject(&kind, address, link.as_deref(), actor).await?;
        println!("published {kind} for message {message} to {address}");
    }
    println!("the stack's ses-events consumer records them within a second");
    Ok(())
}

/// Ends a campaign's A/B test now: decides it as the scheduler does at its end (with the
/// running stack's tables and queues), so a local try needs no hour's wait.
async fn end_test(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: infra/dev end-test --artist ARTIST_ID --campaign CAMPAIGN_ID";
    let (mut artist, mut campaign) = (None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--artist" => artist = Some(args.next().context(usage)?.parse::<ArtistId>()?),
            "--campaign" => {
                campaign = Some(
                    args.next()
                        .context(usage)?
                        .parse::<mailing::domain::CampaignId>()?,
                )
            }
            other => bail!("unknown argument {other}\n{usage}"),
        }
    }
    let (Some(artist), Some(campaign)) = (artist, campaign) else {
        bail!("{usage}");
    };
    let app = mailing::App::from_env()
        .await
        .context("the running stack's environment: start infra/dev up first")?;
    let campaign = mailing::store::campaigns::get(&app, artist, campaign)
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
        .context("no such campaign of this artist")?;
    let at = campaign
        .test_ends_at
        .map_or_else(chrono::Utc::now, |ends| ends.max(chrono::Utc::now()));
    match mailing::sending::decide_test(&app, &campaign, at)
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}"))?
    {
        Some(decision) => println!(
            "{:?}: {} goes to the rest ({})",
            decision.outcome, decision.chosen, decision.reason
        ),
        None => bail!(
            "nothing to decide: the campaign has no undecided test-then-winner test, or is not sending"
        ),
    }
    Ok(())
}

/// Delivers a raw message (or a short text) as the reply to the newest message sent to an
/// address, through the inbound bucket of the running stack.
async fn reply(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: infra/dev reply --to-newest ADDRESS (FILE.eml | --text \"…\") [--virus]";
    let (mut to, mut file, mut text, mut virus) = (None, None, None, "PASS");
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--to-newest" => to = Some(args.next().context(usage)?.clone()),
            "--text" => text = Some(args.next().context(usage)?.clone()),
            "--virus" => virus = "FAIL",
            other if file.is_none() && !other.starts_with('-') => file = Some(other.to_owned()),
            other => bail!("unknown argument {other}\n{usage}"),
        }
    }
    let Some(to) = to else { bail!("{usage}") };
    let raw = match (file, text) {
        (Some(file), None) => std::fs::read(&file).with_context(|| format!("reading {file}"))?,
        (None, Some(text)) => devstack::inbound::text_message(&to, &text),
        _ => bail!("{usage}"),
    };
    let original = devstack::inbound::newest_to(&to).await?;
    let message = devstack::inbound::as_reply_to(&raw, &original, virus)?;
    let bucket = std::env::var("INBOUND_BUCKET")
        .context("INBOUND_BUCKET is not set: start infra/dev up first")?;
    let clients = mailing::aws::Clients::from_env().await;
    let key = devstack::inbound::store(&clients.s3, &bucket, message).await?;
    println!(
        "stored s3://{bucket}/{key}: the stack's email-inbound consumer receives it within a second"
    );
    Ok(())
}

fn issuer() -> anyhow::Result<LocalIssuer> {
    LocalIssuer::load_or_create(&repo_root().join(".local/jwt-signing-key"))
}

fn token(args: &[String]) -> anyhow::Result<()> {
    let mut scopes = Vec::new();
    let mut sub = "dev-user".to_owned();
    let mut hours = 12;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scope" => scopes.push(args.next().context("--scope needs a value")?.clone()),
            "--sub" => sub = args.next().context("--sub needs a value")?.clone(),
            "--hours" => {
                hours = args
                    .next()
                    .context("--hours needs a value")?
                    .parse()
                    .context("--hours: a number")?
            }
            other if !other.starts_with('-') && !scopes.is_empty() => scopes.push(other.to_owned()),
            other => bail!("unknown argument {other}"),
        }
    }
    if scopes.is_empty() {
        bail!("give at least one --scope, e.g. --scope artist:{DEMO_ARTIST}:press");
    }
    println!(
        "{}",
        issuer()?.mint(&sub, &scopes, Duration::from_secs(hours * 3600))
    );
    Ok(())
}

/// Runs the import pipeline on a local file and prints the report as JSON. A dry run needs
/// nothing else; a real import writes to the running local stack (`infra/dev up`).
async fn import(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: infra/dev import [--dry-run] --artist ID --role ROLE [--consent BASIS] [--sheet NAME] FILE";
    let (mut dry_run, mut artist, mut role, mut consent, mut file) =
        (false, None, None, None, None);
    let mut options = mailing::import::ImportOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--artist" => artist = Some(args.next().context(usage)?.parse::<ArtistId>()?),
            "--role" => {
                let raw = args.next().context(usage)?;
                role = Some(
                    raw.parse::<ContactRole>()
                        .map_err(|e| anyhow::anyhow!("--role {raw}: {e}"))?,
                );
            }
            "--consent" => {
                let raw = args.next().context(usage)?;
                consent = Some(
                    serde_json::from_value::<ConsentBasis>(serde_json::Value::String(raw.clone()))
                        .map_err(|e| anyhow::anyhow!("--consent {raw}: {e}"))?,
                );
            }
            "--sheet" => options.sheet = Some(args.next().context(usage)?.clone()),
            other if !other.starts_with("--") && file.is_none() => file = Some(other.to_owned()),
            other => bail!("unknown argument {other}\n{usage}"),
        }
    }
    let (Some(artist), Some(role), Some(file)) = (artist, role, file) else {
        bail!(usage);
    };
    let input = Box::new(std::io::BufReader::new(
        std::fs::File::open(&file).with_context(|| format!("opening {file}"))?,
    ));
    if dry_run {
        let report = mailing::import::dry_run(input, &options)
            .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let basis = consent.context("a real import records consent: give --consent consent|contract|legal_obligation|legitimate_interest")?;
    devstack::stack::require_local_endpoint()?;
    let sdk = mailing::aws::load_config().await;
    let config = mailing::App::configure(&sdk, |name| std::env::var(name).ok())
        .await
        .context("no running local stack: start infra/dev up")?;
    let (clients, requests) = devstack::counting::clients().await;
    let app = mailing::App::new(config, clients);
    let import = ImportId::new();
    let name = std::path::Path::new(&file)
        .file_name()
        .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
    let target = ImportTarget {
        artist,
        role,
        actor: UserId::new("infra-dev-import"),
        consent: Consent {
            basis,
            source: format!("import {import} ({name})"),
            recorded_at: chrono::Utc::now(),
            proof: None,
            wording_version: None,
        },
        dry_run: false,
    };
    let mut progress = contacts_import::Progress::default();
    contacts_import::run(&app, &target, input, options, None, &mut progress)
        .await
        .map_err(|e| match e {
            RunError::File(file) => anyhow::anyhow!("{}: {file}", file.code()),
            RunError::Storage(storage) => anyhow::Error::new(storage),
        })?;
    println!("{}", serde_json::to_string_pretty(&progress.report)?);
    eprintln!("{} DynamoDB requests", requests.dynamodb());
    Ok(())
}

fn generate_contacts(args: &[String]) -> anyhow::Result<()> {
    let [rows, path] = args else {
        bail!("usage: devstack generate-contacts ROWS FILE");
    };
    devstack::generate::contacts(rows.parse().context("ROWS: a number")?, path.as_ref())
}

/// Provisions the tables under `prefix` and prints the functions' environment: every variable
/// as KEY=VALUE lines, for `cargo lambda watch --env-file`; with `--per-function`, each
/// function's own as JSON, with its memory and timeout, for the cold-start harness.
async fn env(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: devstack env --prefix P [--per-function]";
    let (prefix, per_function) = match args {
        [flag, prefix] if flag == "--prefix" => (prefix, false),
        [flag, prefix, per] if flag == "--prefix" && per == "--per-function" => (prefix, true),
        _ => bail!(usage),
    };
    let overrides = devstack::stack::local_overrides("http://127.0.0.1:3000");
    let template_path = repo_root().join("template.yaml");
    let stack = LocalStack::start(&template_path, prefix, overrides).await?;
    if per_function {
        let template = devstack::template::Template::load(&template_path)?;
        let functions = devstack::template::per_function(&template, &stack.environment);
        println!("{}", serde_json::to_string_pretty(&functions)?);
    } else {
        for (name, value) in &stack.environment {
            println!("{name}={value}");
        }
    }
    Ok(())
}

async fn up(args: &[String]) -> anyhow::Result<()> {
    let port: u16 = match args {
        [] => 3000,
        [flag, port] if flag == "--port" => port.parse().context("--port: a port number")?,
        _ => bail!("usage: devstack up [--port N]"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("port {port} is taken; pass --port N"))?;
    let url = gateway::local_url(listener.local_addr()?);
    let overrides = devstack::stack::local_overrides(&url);
    let stack = LocalStack::start(&repo_root().join("template.yaml"), "local", overrides).await?;
    write_stack_env(&stack)?;
    for skipped in &stack.provisioned.skipped {
        eprintln!("not emulated locally: {skipped}");
    }
    let issuer = issuer()?;
    let scope = format!("artist:{DEMO_ARTIST}:*");
    let token = issuer.mint(
        "dev-user",
        std::slice::from_ref(&scope),
        Duration::from_secs(12 * 3600),
    );
    let LocalStack {
        apps,
        consumers,
        providers,
        ..
    } = stack;
    providers.fakes.sources.seed();
    let scheduler = apps
        .of("campaign-scheduler")
        .context("template.yaml declares campaign-scheduler")?
        .clone();
    let gateway = Arc::new(Gateway {
        apps,
        issuer,
        providers,
    });
    for local in consumers {
        eprintln!(
            "event source: {} → {}",
            local.queue_url, local.consumer.function
        );
        let gateway = gateway.clone();
        tokio::spawn(async move { devstack::consumers::run(&gateway.apps, local).await });
    }
    {
        // What EventBridge does for `campaign-scheduler`: a tick every minute.
        eprintln!("event source: every minute → campaign-scheduler");
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(60));
            loop {
                ticks.tick().await;
                let event = lambda_runtime::LambdaEvent::new(
                    aws_lambda_events::event::eventbridge::EventBridgeEvent::default(),
                    lambda_runtime::Context::default(),
                );
                let tick = functions::sending::schedule_tick(&scheduler, event);
                let id = uuid::Uuid::new_v4().to_string();
                if let Err(error) = mailing::request_id::scope(id, tick).await {
                    eprintln!("campaign-scheduler failed: {error}");
                }
            }
        });
    }
    println!("READY {url}");
    println!("ARTIST={DEMO_ARTIST}");
    println!("TOKEN={token}");
    println!(
        "# the token has scope {scope}; others: infra/dev token --scope artist:{DEMO_ARTIST}:press"
    );
    println!("# try: curl -H \"Authorization: Bearer $TOKEN\" {url}/api/artists/$ARTIST/contacts");
    println!("# what SES accepted, newest first: curl {url}/_local/outbox?limit=5");
    println!(
        "# fake Gmail, Outlook and Mailchimp address books to sync from (credentials: curl {url}/_local/providers):"
    );
    println!(
        "#   curl -X POST -H \"Authorization: Bearer $TOKEN\" {url}/api/artists/$ARTIST/contacts/sync/gmail -d '{{\"contact_role\": \"press\", \"consent\": {{\"basis\": \"legitimate_interest\"}}, \"access_token\": \"{}\"}}'",
        devstack::fake_sources::GOOGLE_TOKEN
    );
    gateway::serve(gateway, listener, shutdown()).await
}

/// What `infra/dev import` needs to write to this stack: the emulator and the functions' env.
fn write_stack_env(stack: &LocalStack) -> anyhow::Result<()> {
    let mut lines: Vec<String> = stack
        .environment
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if let Some(bucket) = stack.provisioned.refs.get("InboundBucket") {
        lines.push(format!("INBOUND_BUCKET={bucket}"));
    }
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        if let Ok(value) = std::env::var(name) {
            lines.push(format!("{name}={value}"));
        }
    }
    let path = repo_root().join(".local/stack.env");
    std::fs::create_dir_all(repo_root().join(".local"))?;
    std::fs::write(&path, lines.join("\n") + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

async fn shutdown() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
