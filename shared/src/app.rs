//! What every handler needs, built once per cold start.

use crate::aws::Clients;
use crate::config::{Config, ConfigError};
use crate::dns::Resolver;
use crate::render::TokenSigner;
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
        Self {
            signer: TokenSigner::new(&config.signing_key),
            config,
            aws,
            compiled: CompiledTemplates::default(),
            dns: Resolver::default(),
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        Ok(Self::new(config, Clients::from_env().await))
    }
}
