//! What every handler needs, built once per cold start.

use aws_config::SdkConfig;

use crate::aws::Clients;
use crate::config::{Config, ConfigError};
use crate::dns::Resolver;
use crate::render::TokenSigner;
use crate::secrets;
use crate::sending::CompiledTemplates;

#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub aws: Clients,
    /// Kept while the container is warm.
    pub compiled: CompiledTemplates,
    /// Domain ownership proofs; its HTTPS client is built on first use.
    pub dns: Resolver,
    /// Signs and checks every token of our messages, keyed once.
    pub signer: TokenSigner,
}

impl App {
    pub fn new(config: Config, aws: Clients) -> Self {
        let mut signer = TokenSigner::new(&config.signing_key);
        if let Some(previous) = &config.previous_signing_key {
            signer = signer.also_verifying(previous);
        }
        Self {
            signer,
            config,
            aws,
            compiled: CompiledTemplates::default(),
            dns: Resolver::default(),
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let config = Self::configure(&sdk, |name| std::env::var(name).ok()).await?;
        Ok(Self::new(config, Clients::new(&sdk)))
    }

    /// The configuration `lookup` describes, its keys read from the secrets it names: a key
    /// is never taken from the environment itself.
    pub async fn configure(
        sdk: &SdkConfig,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let keys = secrets::resolve(sdk, &lookup).await?;
        Config::from_lookup(|name| {
            if secrets::KEYS.contains(&name) {
                keys.iter()
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone())
            } else {
                lookup(name)
            }
        })
    }
}
