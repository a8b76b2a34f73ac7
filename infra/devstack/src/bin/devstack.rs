//! `devstack up [--port N]` serves every route on loopback; `devstack token --scope S...` prints
//! a token the running stack accepts. Run through `infra/dev`, which starts the emulator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use devstack::auth::{LocalIssuer, random_secret};
use devstack::gateway::{self, Gateway};
use devstack::repo_root;
use devstack::stack::LocalStack;

/// The artist the printed dev token is scoped to.
const DEMO_ARTIST: &str = "018f3a2c-7b4e-7c1d-9a2b-3c4d5e6f7a8b";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("up") => up(&args[1..]).await,
        Some("token") => token(&args[1..]),
        Some("env") => env(&args[1..]).await,
        Some("import") => import(&args[1..]),
        _ => bail!(
            "usage: devstack up [--port N] | devstack token --scope SCOPE... [--sub USER] [--hours H] | devstack env --prefix P | devstack import --dry-run --artist ID --role ROLE [--sheet NAME] FILE"
        ),
    }
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

/// Runs the import pipeline on a local file and prints the report as JSON.
fn import(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: infra/dev import --dry-run --artist ID --role ROLE [--sheet NAME] FILE";
    let (mut dry_run, mut artist, mut role, mut file) = (false, None, None, None);
    let mut options = mailing::import::ImportOptions::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dry-run" => dry_run = true,
            "--artist" => {
                artist = Some(
                    args.next()
                        .context(usage)?
                        .parse::<mailing::domain::ArtistId>()?,
                )
            }
            "--role" => {
                let raw = args.next().context(usage)?;
                role = Some(
                    raw.parse::<mailing::domain::ContactRole>()
                        .map_err(|e| anyhow::anyhow!("--role {raw}: {e}"))?,
                );
            }
            "--sheet" => options.sheet = Some(args.next().context(usage)?.clone()),
            other if !other.starts_with("--") && file.is_none() => file = Some(other.to_owned()),
            other => bail!("unknown argument {other}\n{usage}"),
        }
    }
    let (Some(_artist), Some(_role), Some(file)) = (artist, role, file) else {
        bail!(usage);
    };
    if !dry_run {
        bail!(
            "writing contacts from the command line is not available yet; use --dry-run\n{usage}"
        );
    }
    let input = std::fs::File::open(&file).with_context(|| format!("opening {file}"))?;
    match mailing::import::dry_run(Box::new(std::io::BufReader::new(input)), &options) {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
        Err(error) => bail!("{}: {error}", error.code()),
    }
}

/// Provisions the tables under `prefix` and prints the functions' environment as KEY=VALUE lines,
/// for `cargo lambda watch --env-file`.
async fn env(args: &[String]) -> anyhow::Result<()> {
    let [flag, prefix] = args else {
        bail!("usage: devstack env --prefix P");
    };
    if flag != "--prefix" {
        bail!("usage: devstack env --prefix P");
    }
    let overrides = BTreeMap::from([
        (
            "SIGNING_KEY".to_owned(),
            String::from_utf8(random_secret())?,
        ),
        (
            "PUBLIC_BASE_URL".to_owned(),
            "http://127.0.0.1:3000".to_owned(),
        ),
    ]);
    let stack = LocalStack::start(&repo_root().join("template.yaml"), prefix, overrides).await?;
    for (name, value) in &stack.environment {
        println!("{name}={value}");
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
    let overrides = BTreeMap::from([
        (
            "SIGNING_KEY".to_owned(),
            String::from_utf8(random_secret())?,
        ),
        ("PUBLIC_BASE_URL".to_owned(), url.clone()),
    ]);
    let stack = LocalStack::start(&repo_root().join("template.yaml"), "local", overrides).await?;
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
    let gateway = Arc::new(Gateway {
        app: stack.app,
        issuer,
    });
    println!("READY {url}");
    println!("ARTIST={DEMO_ARTIST}");
    println!("TOKEN={token}");
    println!(
        "# the token has scope {scope}; others: infra/dev token --scope artist:{DEMO_ARTIST}:press"
    );
    println!("# try: curl -H \"Authorization: Bearer $TOKEN\" {url}/api/artists/$ARTIST/contacts");
    gateway::serve(gateway, listener, shutdown()).await
}

async fn shutdown() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
