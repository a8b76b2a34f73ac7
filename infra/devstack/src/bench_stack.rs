//! The local stack a benchmark sends from: one artist with a verified sending domain and a
//! sender profile, called through the dev gateway as its owner.

use std::time::Duration;

use anyhow::{Context, bail};
use mailing::domain::ArtistId;
use serde_json::{Value, json};

use crate::auth::{LocalIssuer, random_secret};
use crate::consumers::LocalConsumer;
use crate::gateway::{Gateway, HttpRequest};
use crate::stack::LocalStack;

pub struct BenchStack {
    pub stack: LocalStack,
    pub artist: ArtistId,
    /// The artist's verified sending domain.
    pub domain: String,
    gateway: Gateway,
    token: String,
}

impl BenchStack {
    /// A stack of its own under a fresh prefix starting with `name`.
    pub async fn start(name: &str) -> anyhow::Result<Self> {
        let stack = LocalStack::for_bench(name).await?;
        let artist = ArtistId::new();
        let gateway = Gateway {
            apps: stack.apps.clone(),
            providers: stack.providers.clone(),
            issuer: LocalIssuer::new(random_secret()),
        };
        let token = gateway.issuer.mint(
            "bench",
            &[format!("artist:{artist}:*")],
            Duration::from_secs(6 * 3600),
        );
        let bench = Self {
            domain: format!(
                "{name}{}.example",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            stack,
            artist,
            gateway,
            token,
        };
        crate::dns::publish_proof(bench.stack.apps.all(), artist, &bench.domain).await?;
        bench
            .call(
                "POST",
                "/api/email/domains".into(),
                json!({ "artist_id": artist.to_string(), "domain": bench.domain }),
            )
            .await?;
        bench
            .call(
                "PUT",
                format!("/api/artists/{artist}/sender-profile"),
                json!({ "display_name": "Artiste Example", "postal_address": "12 rue des Lilas, 75011 Paris" }),
            )
            .await?;
        Ok(bench)
    }

    /// Calls the API as the artist's owner; an answer of 300 or more is an error.
    pub async fn call(
        &self,
        method: &'static str,
        target: String,
        body: Value,
    ) -> anyhow::Result<Value> {
        let response = self
            .gateway
            .handle(HttpRequest {
                method,
                target: &target,
                headers: vec![("authorization".into(), format!("Bearer {}", self.token))],
                body: body.to_string().into_bytes(),
            })
            .await;
        let status = response.status().as_u16();
        let body: Value = match response.body() {
            lambda_http::Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        if status >= 300 {
            bail!("{method} {target}: {status} {body}");
        }
        Ok(body)
    }

    /// The event source of `function`'s queue.
    pub fn consumer(&self, function: &str) -> anyhow::Result<&LocalConsumer> {
        self.stack
            .consumers
            .iter()
            .find(|local| local.consumer.function == function)
            .with_context(|| format!("no consumer {function}"))
    }

    /// A campaign of the benchmark newsletter to the artist's `role` contacts, started.
    pub async fn send_newsletter(&self, role: &str) -> anyhow::Result<String> {
        let artist = self.artist;
        let campaign = self
            .call(
                "POST",
                format!("/api/artists/{artist}/campaigns"),
                json!({
                    "contact_role": role, "name": "Nouvel album",
                    "subject": "{{ contact.first_name|default('Bonjour') }}, le nouvel album et la tournée 2027",
                    "content": crate::bench_render::newsletter()?,
                    "from_name": "Artiste Example", "from_email": format!("news@{}", self.domain),
                    "utm_campaign": "album-2027",
                }),
            )
            .await?;
        let id = campaign["id"].as_str().context("a campaign id")?.to_owned();
        self.call(
            "POST",
            format!("/api/artists/{artist}/campaigns/{id}/send"),
            json!({}),
        )
        .await?;
        Ok(id)
    }
}
