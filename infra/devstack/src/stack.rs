//! One local stack: the emulator provisioned from the template, and the app the functions see.

use std::collections::BTreeMap;
use std::path::Path;

use crate::apps::FunctionApps;
use crate::counting::{self, RequestCounter};
use anyhow::{Context, bail};

use crate::providers::LocalProviders;
use crate::provision::{self, Provisioned};
use crate::template::Template;

pub struct LocalStack {
    /// The stack's app (every key) and each function's (only its keys).
    pub apps: FunctionApps,
    pub consumers: Vec<crate::consumers::LocalConsumer>,
    pub environment: BTreeMap<String, String>,
    pub provisioned: Provisioned,
    pub requests: RequestCounter,
    /// The other providers' credentials the stack was given, to sign their webhooks with.
    pub providers: LocalProviders,
}

/// What a deployment's parameters say, made up locally: where the public endpoints answer.
pub fn local_overrides(public_base_url: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("PUBLIC_BASE_URL".to_owned(), public_base_url.to_owned()),
        (
            "REPLY_DOMAIN".to_owned(),
            "reply.artisthub.localhost".to_owned(),
        ),
        // The emulator's resolver stub (`infra/dns_local.py`): proofs a test or a developer
        // publishes with `POST /_local/dns`.
        (
            "DNS_QUERY_URL".to_owned(),
            format!(
                "{}/_local/dns-query",
                std::env::var("AWS_ENDPOINT_URL").unwrap_or_default()
            ),
        ),
    ])
}

/// Refuses to run against anything but the emulator on loopback.
pub fn require_local_endpoint() -> anyhow::Result<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .context("AWS_ENDPOINT_URL is not set: the local stack runs only against the emulator (use infra/dev)")?;
    let host = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("AWS_ENDPOINT_URL={endpoint} is not a loopback http address; refusing to touch it");
    }
    Ok(endpoint)
}

impl LocalStack {
    /// A benchmark's stack of its own, from the repository's template, under a fresh prefix
    /// starting with `name`.
    pub async fn for_bench(name: &str) -> anyhow::Result<Self> {
        let prefix = format!("{name}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Self::start(
            &crate::repo_root().join("template.yaml"),
            &prefix,
            local_overrides("http://127.0.0.1:9"),
        )
        .await
    }

    /// Provisions every table of `template_path` under `prefix` and builds the app with the
    /// template's environment; `overrides` supplies what the template computes (secrets, URLs).
    pub async fn start(
        template_path: &Path,
        prefix: &str,
        overrides: BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        require_local_endpoint()?;
        let template = Template::load(template_path)?;
        let (clients, requests) = counting::clients().await;
        // One SDK configuration for what only the local stack calls: topics and secrets.
        let sdk = mailing::aws::load_config().await;
        let sns = aws_sdk_sns::Client::new(&sdk);
        let provisioned = provision::provision(&template, prefix, &clients, &sns).await?;
        let mut environment = provision::environment(&template, &provisioned, &overrides)?;
        let providers = LocalProviders::start().await?;
        // Contact syncs read the fakes' address books instead of Google, Microsoft, Mailchimp.
        for name in ["GOOGLE_PEOPLE_URL", "MICROSOFT_GRAPH_URL", "MAILCHIMP_URL"] {
            environment.insert(name.to_owned(), providers.url.clone());
        }
        provision::create_secrets(&sdk, prefix, &mut environment, &providers).await?;
        let app = provision::app(&sdk, &environment, clients).await?;
        // What the `BuiltInTemplates` custom resource does on deploy.
        mailing::templates::install_builtins(&app)
            .await
            .context("installing the built-in templates")?;
        let consumers = provision::consumers(&template, &provisioned)?;
        Ok(Self {
            apps: FunctionApps::new(app, &template),
            consumers,
            environment,
            provisioned,
            requests,
            providers,
        })
    }
}
