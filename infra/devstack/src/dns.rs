//! The emulator's DNS stub (`infra/dns_local.py`): where a test or a developer publishes the
//! TXT record that proves an artist owns a sending domain.

use mailing::App;
use mailing::domain::{ArtistId, DomainName};

use crate::outbox::{call, emulator};

/// Publishes a TXT record under `name`.
pub async fn publish_txt(name: &str, value: &str) -> anyhow::Result<()> {
    let url = format!("{}/_local/dns", emulator()?);
    let body = serde_json::json!({ "name": name, "value": value });
    call(http::Method::POST, &url, Some(body.to_string())).await?;
    Ok(())
}

/// Withdraws every record of `name`.
pub async fn withdraw(name: &str) -> anyhow::Result<()> {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", name)
        .finish();
    let url = format!("{}/_local/dns?{query}", emulator()?);
    call(http::Method::DELETE, &url, None).await?;
    Ok(())
}

/// Publishes the proof that `artist` owns `domain`, as the domain's owner would.
pub async fn publish_proof(app: &App, artist: ArtistId, domain: &str) -> anyhow::Result<()> {
    let record = mailing::sender_domains::proof_record(app, artist, &DomainName::parse(domain)?)?;
    publish_txt(&record.name, &record.value).await
}
