//! Configuration, read once per cold start from the environment. A missing or malformed variable
//! stops the function at init with a message naming it, rather than failing requests later.

use std::fmt;

/// The key that signs tokens and cursors. Never printed.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub const MIN_BYTES: usize = 32;

    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, String> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_BYTES {
            return Err(format!("must be at least {} bytes", Self::MIN_BYTES));
        }
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing environment variable {0}")]
    Missing(&'static str),
    #[error("environment variable {name} {problem}")]
    Invalid { name: &'static str, problem: String },
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Contacts and their email guards (see `store::contacts`).
    pub contacts_table: String,
    /// Audit records (see `store::audit`).
    pub audit_table: String,
    /// Private bucket: uploads to import (`uploads/`) and error reports (`reports/`).
    pub imports_bucket: String,
    /// Queue feeding `import-upload`: S3 upload events and continuations of long imports.
    pub imports_queue_url: String,
    /// Suppressed addresses, by keyed hash (see `store::suppression`).
    pub suppression_table: String,
    /// Signs tokens and cursors; only functions whose environment names its secret have it
    /// (read it through `App::signing_key`).
    pub signing_key: Option<SigningKey>,
    /// The key before the last rotation: tokens it signed (links in messages already sent)
    /// still verify until the next rotation.
    pub previous_signing_key: Option<SigningKey>,
    /// Keys the hashes of the suppression list and the domains' ownership proofs; separate from
    /// `signing_key` so rotating that one never forgets who must not be written to, nor changes
    /// a proof already published. Only functions whose environment names its secret have it.
    pub email_hash_key: Option<SigningKey>,
    /// The other sending providers' credentials, for the functions given them.
    pub providers: Option<crate::provider_keys::ProviderKeys>,
    /// Where the public endpoints (tracking, unsubscribe) are reachable, without trailing slash.
    pub public_base_url: String,
    /// Campaigns (see `store::campaigns`).
    pub campaigns_table: String,
    /// One row per campaign and contact (see `store::sends`).
    pub sends_table: String,
    /// Contacts' timelines and first-time marks (see `store::interactions`).
    pub interactions_table: String,
    /// Engagement counters per campaign, link, team and day, contact (see `store::stats`).
    pub stats_table: String,
    /// Feeds `ses-events`: SES's events through SNS, and our tracking endpoints' own.
    pub events_queue_url: String,
    /// Feeds `campaign-dispatch`: one message per campaign to dispatch, and its continuations.
    pub dispatch_queue_url: String,
    /// Feeds `email-send`: batches of recipients to send to.
    pub send_queue_url: String,
    /// The SES configuration set every message is sent with (event publishing).
    pub configuration_set: String,
    /// Templates, built-in defaults, default choices and signatures (see `store::templates`).
    pub templates_table: String,
    /// Replies and unassigned inbound messages (see `store::replies`).
    pub replies_table: String,
    pub conversions_table: String,
    /// The inbound mail domain: replies go to `r-{token}@` it, mailto unsubscribes to `u-{token}@`.
    pub reply_domain: String,
    /// Messages an artist may send per UTC day, all teams together: a runaway stops there.
    pub daily_send_quota: u64,
    /// How long the per-person records live (DynamoDB TTL on `expires_at`).
    pub retention: Retention,
    /// A DNS-over-HTTPS resolver's JSON endpoint, where domain ownership proofs are looked up.
    pub dns_query_url: String,
    /// The largest contact export answered in the response; larger ones go through a link.
    pub export_inline_bytes: usize,
    /// Where Google's, Microsoft's and Mailchimp's APIs answer for contact syncs: the real
    /// ones unless `GOOGLE_PEOPLE_URL`, `MICROSOFT_GRAPH_URL` or `MAILCHIMP_URL` say otherwise.
    pub sync_apis: crate::sync::SyncApis,
}

/// Under API Gateway's and Lambda's 6 MB response limit, with room for headers.
pub const EXPORT_INLINE_BYTES: usize = 4 * 1024 * 1024;

/// Days each kind of per-person record is kept before DynamoDB's TTL removes it: the
/// aggregates (stats) and the suppression list stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub sends_days: u32,
    pub interactions_days: u32,
    pub replies_days: u32,
}

impl Retention {
    /// When a record made at `at` and kept `days` expires, in epoch seconds (TTL's unit).
    pub fn expires_at(at: chrono::DateTime<chrono::Utc>, days: u32) -> i64 {
        (at + chrono::Duration::days(i64::from(days))).timestamp()
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        // A key is optional: a function is given only the keys it uses.
        let key = |name: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| {
                    SigningKey::new(value.into_bytes())
                        .map_err(|problem| ConfigError::Invalid { name, problem })
                })
                .transpose()
        };
        let signing_key = key("SIGNING_KEY")?;
        let previous_signing_key = key("SIGNING_KEY_PREVIOUS")?;
        let email_hash_key = key("EMAIL_HASH_KEY")?;
        let providers = lookup("PROVIDER_KEYS")
            .filter(|value| !value.trim().is_empty())
            .map(|json| {
                crate::provider_keys::ProviderKeys::parse(&json).map_err(|problem| {
                    ConfigError::Invalid {
                        name: "PROVIDER_KEYS",
                        problem: format!("is not the providers' keys: {problem}"),
                    }
                })
            })
            .transpose()?;
        let public_base_url = get("PUBLIC_BASE_URL")?;
        if !(public_base_url.starts_with("https://") || public_base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_BASE_URL",
                problem: "must be an http(s) URL".into(),
            });
        }
        let dns_query_url = get("DNS_QUERY_URL")?;
        if !(dns_query_url.starts_with("https://") || dns_query_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "DNS_QUERY_URL",
                problem: "must be an http(s) URL".into(),
            });
        }
        let url = |name: &'static str| {
            lookup(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| {
                    if value.starts_with("https://") || value.starts_with("http://") {
                        Ok(value.trim_end_matches('/').to_owned())
                    } else {
                        Err(ConfigError::Invalid {
                            name,
                            problem: "must be an http(s) URL".into(),
                        })
                    }
                })
                .transpose()
        };
        let defaults = crate::sync::SyncApis::default();
        let sync_apis = crate::sync::SyncApis {
            google_people: url("GOOGLE_PEOPLE_URL")?.unwrap_or(defaults.google_people),
            microsoft_graph: url("MICROSOFT_GRAPH_URL")?.unwrap_or(defaults.microsoft_graph),
            mailchimp: url("MAILCHIMP_URL")?,
        };
        let reply_domain = crate::domain::DomainName::parse(&get("REPLY_DOMAIN")?)
            .map_err(|_| ConfigError::Invalid {
                name: "REPLY_DOMAIN",
                problem: "must be a domain name such as reply.example.com".into(),
            })?
            .to_string();
        let daily_send_quota = get("DAILY_SEND_QUOTA")?
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|quota| *quota > 0)
            .ok_or_else(|| ConfigError::Invalid {
                name: "DAILY_SEND_QUOTA",
                problem: "must be a positive whole number".into(),
            })?;
        let days = |name: &'static str| {
            get(name)?
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|days| *days > 0)
                .ok_or_else(|| ConfigError::Invalid {
                    name,
                    problem: "must be a positive whole number of days".into(),
                })
        };
        let retention = Retention {
            sends_days: days("SENDS_RETENTION_DAYS")?,
            interactions_days: days("INTERACTIONS_RETENTION_DAYS")?,
            replies_days: days("REPLIES_RETENTION_DAYS")?,
        };
        Ok(Self {
            daily_send_quota,
            retention,
            contacts_table: get("CONTACTS_TABLE")?,
            audit_table: get("AUDIT_TABLE")?,
            imports_bucket: get("IMPORTS_BUCKET")?,
            imports_queue_url: get("IMPORTS_QUEUE_URL")?,
            suppression_table: get("SUPPRESSION_TABLE")?,
            signing_key,
            previous_signing_key,
            email_hash_key,
            providers,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            templates_table: get("TEMPLATES_TABLE")?,
            campaigns_table: get("CAMPAIGNS_TABLE")?,
            sends_table: get("SENDS_TABLE")?,
            interactions_table: get("INTERACTIONS_TABLE")?,
            stats_table: get("STATS_TABLE")?,
            replies_table: get("REPLIES_TABLE")?,
            conversions_table: get("CONVERSIONS_TABLE")?,
            events_queue_url: get("EVENTS_QUEUE_URL")?,
            dispatch_queue_url: get("DISPATCH_QUEUE_URL")?,
            send_queue_url: get("SEND_QUEUE_URL")?,
            configuration_set: get("SES_CONFIGURATION_SET")?,
            reply_domain,
            dns_query_url,
            export_inline_bytes: EXPORT_INLINE_BYTES,
            sync_apis,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn complete() -> HashMap<&'static str, String> {
        HashMap::from([
            ("CONTACTS_TABLE", "contacts".to_owned()),
            ("AUDIT_TABLE", "audit".to_owned()),
            ("REPLIES_TABLE", "replies".to_owned()),
            ("CONVERSIONS_TABLE", "conversions".to_owned()),
            ("IMPORTS_BUCKET", "imports".to_owned()),
            (
                "IMPORTS_QUEUE_URL",
                "http://127.0.0.1:1/queue/imports".to_owned(),
            ),
            ("SIGNING_KEY", "k".repeat(32)),
            ("SUPPRESSION_TABLE", "suppression".to_owned()),
            ("EMAIL_HASH_KEY", "h".repeat(32)),
            ("PUBLIC_BASE_URL", "https://mail.example/".to_owned()),
            ("TEMPLATES_TABLE", "templates".to_owned()),
            ("CAMPAIGNS_TABLE", "campaigns".to_owned()),
            ("SENDS_TABLE", "sends".to_owned()),
            ("INTERACTIONS_TABLE", "interactions".to_owned()),
            ("STATS_TABLE", "stats".to_owned()),
            (
                "EVENTS_QUEUE_URL",
                "http://127.0.0.1:1/queue/events".to_owned(),
            ),
            (
                "DISPATCH_QUEUE_URL",
                "http://127.0.0.1:1/queue/dispatch".to_owned(),
            ),
            ("SEND_QUEUE_URL", "http://127.0.0.1:1/queue/send".to_owned()),
            ("SES_CONFIGURATION_SET", "mailing".to_owned()),
            ("REPLY_DOMAIN", "Reply.Mail.example".to_owned()),
            ("DAILY_SEND_QUOTA", "50000".to_owned()),
            ("SENDS_RETENTION_DAYS", "400".to_owned()),
            ("INTERACTIONS_RETENTION_DAYS", "730".to_owned()),
            ("REPLIES_RETENTION_DAYS", "730".to_owned()),
            (
                "DNS_QUERY_URL",
                "https://cloudflare-dns.com/dns-query".to_owned(),
            ),
        ])
    }

    #[test]
    fn a_complete_environment_is_read() {
        let env = complete();
        let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
        assert_eq!(config.contacts_table, "contacts");
        assert_eq!(config.public_base_url, "https://mail.example");
        assert_eq!(config.reply_domain, "reply.mail.example");
        assert!(!format!("{config:?}").contains("kkkk"));
    }

    #[test]
    fn a_function_given_no_keys_has_none() {
        let mut env = complete();
        env.remove("SIGNING_KEY");
        env.remove("EMAIL_HASH_KEY");
        let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
        assert!(config.signing_key.is_none());
        assert!(config.email_hash_key.is_none());
        assert!(config.previous_signing_key.is_none());
    }

    #[test]
    fn each_missing_or_bad_variable_is_named() {
        for name in [
            "CONTACTS_TABLE",
            "AUDIT_TABLE",
            "PUBLIC_BASE_URL",
            "TEMPLATES_TABLE",
            "CAMPAIGNS_TABLE",
            "SENDS_TABLE",
            "INTERACTIONS_TABLE",
            "STATS_TABLE",
            "EVENTS_QUEUE_URL",
            "DISPATCH_QUEUE_URL",
            "SEND_QUEUE_URL",
            "SES_CONFIGURATION_SET",
            "REPLY_DOMAIN",
            "DAILY_SEND_QUOTA",
            "DNS_QUERY_URL",
            "SENDS_RETENTION_DAYS",
            "INTERACTIONS_RETENTION_DAYS",
            "REPLIES_RETENTION_DAYS",
        ] {
            let mut env = complete();
            env.remove(name);
            let error = Config::from_lookup(|n| env.get(n).cloned()).unwrap_err();
            assert_eq!(error, ConfigError::Missing(name));
            assert!(error.to_string().contains(name));
        }
        let mut env = complete();
        env.insert("SIGNING_KEY", "short".into());
        let error = Config::from_lookup(|n| env.get(n).cloned()).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                name: "SIGNING_KEY",
                ..
            }
        ));
        env.insert("SIGNING_KEY", "k".repeat(32));
        env.insert("PUBLIC_BASE_URL", "mail.example".into());
        let error = Config::from_lookup(|n| env.get(n).cloned()).unwrap_err();
        assert!(matches!(
            error,
            ConfigError::Invalid {
                name: "PUBLIC_BASE_URL",
                ..
            }
        ));
        env.insert("PUBLIC_BASE_URL", "https://mail.example".into());
        for bad in [
            "localhost",
            "reply..example",
            "-a.example",
            "a b.example",
            "[127.0.0.1]",
        ] {
            env.insert("REPLY_DOMAIN", bad.into());
            let error = Config::from_lookup(|n| env.get(n).cloned()).unwrap_err();
            assert!(
                matches!(
                    error,
                    ConfigError::Invalid {
                        name: "REPLY_DOMAIN",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
