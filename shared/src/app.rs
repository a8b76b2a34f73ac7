//! What every handler needs, built once per cold start.

use aws_config::SdkConfig;

use crate::ApiError;
use crate::aws::Clients;
use crate::config::{Config, ConfigError, SigningKey};
use crate::dns::Resolver;
use crate::provider_keys::ProviderKeys;
use crate::render::TokenSigner;
use crate::secrets::{self, Key, NotGiven};
use crate::sending::CompiledTemplates;

#[derive(Debug, Clone)]
pub struct App {
    pub config: Config,
    pub aws: Clients,
    /// Kept while the container is warm.
    pub compiled: CompiledTemplates,
    /// Domain ownership proofs; its HTTPS client is built on first use.
    pub dns: Resolver,
    /// The other sending providers' HTTPS client, built on first use (shared with `dns`).
    pub http: crate::https::Lazy,
    /// Signs and checks every token of our messages, keyed once (read through `signer`).
    signer: Option<TokenSigner>,
}

impl App {
    pub fn new(config: Config, aws: Clients) -> Self {
        let signer = config.signing_key.as_ref().map(|key| {
            let signer = TokenSigner::new(key);
            match &config.previous_signing_key {
                Some(previous) => signer.also_verifying(previous),
                None => signer,
            }
        });
        let http = crate::https::Lazy::default();
        Self {
            signer,
            config,
            aws,
            compiled: CompiledTemplates::default(),
            dns: Resolver::new(http.clone()),
            http,
        }
    }

    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = crate::aws::load_config().await;
        let config = Self::configure(&sdk, |name| std::env::var(name).ok()).await?;
        Ok(Self::new(config, Clients::new(&sdk)))
    }

    /// The key that signs cursors, if this function is given it.
    pub fn signing_key(&self) -> Result<&SigningKey, ApiError> {
        self.config
            .signing_key
            .as_ref()
            .ok_or_else(|| ApiError::internal(NotGiven(Key::Signing)))
    }

    /// The key of the suppression list's hashes and the ownership proofs, if given.
    pub fn email_hash_key(&self) -> Result<&SigningKey, ApiError> {
        self.config
            .email_hash_key
            .as_ref()
            .ok_or_else(|| ApiError::internal(NotGiven(Key::EmailHash)))
    }

    /// The other sending providers' credentials, if this function is given them.
    pub fn provider_keys(&self) -> Result<&ProviderKeys, ApiError> {
        self.config
            .providers
            .as_ref()
            .ok_or_else(|| ApiError::internal(NotGiven(Key::Providers)))
    }

    /// Signs and checks the tokens of our messages, if this function is given the signing key.
    pub fn signer(&self) -> Result<&TokenSigner, ApiError> {
        self.signer
            .as_ref()
            .ok_or_else(|| ApiError::internal(NotGiven(Key::Signing)))
    }

    /// This app as a function given only `keys` sees it: what the local stack runs each
    /// function with, so a key a function uses but is not given fails its tests.
    pub fn given_only(&self, keys: &[Key]) -> Self {
        let mut app = self.clone();
        if !keys.contains(&Key::Signing) {
            app.config.signing_key = None;
            app.config.previous_signing_key = None;
            app.signer = None;
        }
        if !keys.contains(&Key::EmailHash) {
            app.config.email_hash_key = None;
        }
        if !keys.contains(&Key::Providers) {
            app.config.providers = None;
        }
        app
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
