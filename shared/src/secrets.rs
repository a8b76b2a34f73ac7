//! The keys, read from Secrets Manager once per cold start. A function's environment names the
//! secrets (`SIGNING_KEY_SECRET`, `EMAIL_HASH_KEY_SECRET`), never their values: a value in an
//! environment variable is shown to anyone who may read the function's configuration.
//!
//! Rotation: `aws secretsmanager put-secret-value` makes the new value `AWSCURRENT` and the old
//! one `AWSPREVIOUS`. Functions started after it sign with the new key and still accept tokens
//! signed with the previous one (links in messages already sent) until the next rotation. The
//! email-hash key is never rotated: the suppression list is keyed by it.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;

use crate::config::ConfigError;

/// A key a function may be given. Each function's environment in `template.yaml` names the
/// secrets of the keys it uses, and its policy allows reading exactly those: a function that
/// cannot use a key cannot leak it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// Signs and checks tokens (links in messages) and cursors.
    Signing,
    /// Keys the suppression list's hashes and the domains' ownership proofs.
    EmailHash,
    /// The other sending providers' API keys and webhook credentials (`ProviderKeys`).
    Providers,
}

impl Key {
    pub const ALL: [Key; 3] = [Key::Signing, Key::EmailHash, Key::Providers];

    /// The configuration name of the key's value.
    pub const fn name(self) -> &'static str {
        match self {
            Key::Signing => "SIGNING_KEY",
            Key::EmailHash => "EMAIL_HASH_KEY",
            Key::Providers => "PROVIDER_KEYS",
        }
    }

    /// The environment variable naming the key's secret.
    pub const fn variable(self) -> &'static str {
        match self {
            Key::Signing => "SIGNING_KEY_SECRET",
            Key::EmailHash => "EMAIL_HASH_KEY_SECRET",
            Key::Providers => "PROVIDER_KEYS_SECRET",
        }
    }
}

/// A function used a key its environment does not name: a mistake in `template.yaml`, made
/// visible as the request's internal error rather than a key read by every function.
#[derive(Debug, thiserror::Error)]
#[error("this function is not given the {} key: name its secret ({}) in its environment in template.yaml", .0.name(), .0.variable())]
pub struct NotGiven(pub Key);

/// The configuration names only a secret may give.
pub const KEYS: [&str; 4] = [
    "SIGNING_KEY",
    "SIGNING_KEY_PREVIOUS",
    "EMAIL_HASH_KEY",
    "PROVIDER_KEYS",
];

/// What rotation leaves readable beside the current value.
const PREVIOUS: &str = "AWSPREVIOUS";

/// The keys the environment names, as `(name, value)` pairs configuration reads: `SIGNING_KEY`
/// and `SIGNING_KEY_PREVIOUS` (after a rotation), `EMAIL_HASH_KEY`.
pub async fn resolve(
    sdk: &SdkConfig,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let client = Client::new(sdk);
    let wanted: Vec<(Key, Option<&str>, String)> = Key::ALL
        .into_iter()
        .filter_map(|key| {
            Some((
                key,
                lookup(key.variable()).filter(|n| !n.trim().is_empty())?,
            ))
        })
        .flat_map(|(key, secret)| {
            let stages: &[Option<&str>] = match key {
                Key::Signing => &[None, Some(PREVIOUS)],
                _ => &[None],
            };
            stages
                .iter()
                .map(move |stage| (key, *stage, secret.clone()))
        })
        .collect();
    // Every value at once: a cold start waits for one round trip to Secrets Manager, not one
    // per value (four for a function given every key).
    let reads = wanted.iter().map(|(key, stage, secret)| {
        let client = &client;
        async move { (*key, *stage, read(client, secret, *stage).await) }
    });
    let mut values = Vec::new();
    for (key, stage, value) in futures::future::join_all(reads).await {
        let variable = key.variable();
        let unreadable = |error: String| ConfigError::Invalid {
            name: variable,
            problem: format!("names a secret that cannot be read: {error}"),
        };
        match (stage, value.map_err(unreadable)?) {
            (None, Some(current)) => values.push((key.name().to_owned(), current)),
            (None, None) => return Err(unreadable("it has no current value".into())),
            (Some(_), Some(previous)) => values.push(("SIGNING_KEY_PREVIOUS".to_owned(), previous)),
            (Some(_), None) => {}
        }
    }
    Ok(values)
}

/// The secret's string at `stage` (the current one by default); `None` when no version has it.
async fn read(
    client: &Client,
    secret: &str,
    stage: Option<&str>,
) -> Result<Option<String>, String> {
    match client
        .get_secret_value()
        .secret_id(secret)
        .set_version_stage(stage.map(str::to_owned))
        .send()
        .await
    {
        Ok(output) => Ok(output.secret_string),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
                && stage.is_some() =>
        {
            Ok(None)
        }
        // The SDK's message names the secret and the cause, never the value.
        Err(error) => Err(aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string()),
    }
}
