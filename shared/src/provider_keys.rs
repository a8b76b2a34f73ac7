//! The other sending providers' credentials, one JSON document in the secret
//! `PROVIDER_KEYS_SECRET` names (template parameter `ProviderKeysSecretName`), read at cold start
//! by the functions that send through them or take their webhooks, and by no other:
//!
//! ```json
//! { "sendgrid": { "api_key": "SG.…", "webhook_public_key": "MFkwEwYHKoZIzj0CAQYI…" },
//!   "mailgun":  { "api_key": "…", "webhook_signing_key": "…" },
//!   "postmark": { "server_token": "…", "webhook_user": "…", "webhook_password": "…" } }
//! ```
//!
//! Every provider and every field is optional: a deployment names only what it uses, and a
//! webhook of a provider without its credential is refused.

use serde::Deserialize;

use crate::webhooks::postmark::Credentials;

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderKeys {
    #[serde(default)]
    pub sendgrid: Option<SendgridKeys>,
    #[serde(default)]
    pub mailgun: Option<MailgunKeys>,
    #[serde(default)]
    pub postmark: Option<PostmarkKeys>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendgridKeys {
    #[serde(default)]
    pub api_key: Option<String>,
    /// `https://api.sendgrid.com` unless set (a proxy, a test's fake).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The signed event webhook's verification key: base64 of its DER form, as SendGrid shows it.
    #[serde(default)]
    pub webhook_public_key: Option<String>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailgunKeys {
    #[serde(default)]
    pub api_key: Option<String>,
    /// `us` (the default) or `eu`: where the account's domains live.
    #[serde(default)]
    pub region: Option<String>,
    /// Overrides the region's URL (a test's fake).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The "HTTP webhook signing key" of the Mailgun account.
    #[serde(default)]
    pub webhook_signing_key: Option<String>,
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkKeys {
    #[serde(default)]
    pub server_token: Option<String>,
    /// The message stream campaigns go out on: `broadcast` unless set.
    #[serde(default)]
    pub message_stream: Option<String>,
    /// `https://api.postmarkapp.com` unless set (a test's fake).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The basic auth credentials put in the webhook's URL.
    #[serde(default)]
    pub webhook_user: Option<String>,
    #[serde(default)]
    pub webhook_password: Option<String>,
}

impl ProviderKeys {
    /// The keys a secret's JSON holds; the error names what is wrong, never a value.
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|error| {
            // serde's messages name fields and positions; a value would only show in an
            // "invalid type" message, which we replace.
            if error.is_data() && error.to_string().contains("invalid type") {
                format!("a field has the wrong type (line {})", error.line())
            } else {
                error.to_string()
            }
        })
    }

    pub fn sendgrid_webhook_key(&self) -> Option<&str> {
        self.sendgrid.as_ref()?.webhook_public_key.as_deref()
    }

    pub fn mailgun_webhook_key(&self) -> Option<&str> {
        self.mailgun.as_ref()?.webhook_signing_key.as_deref()
    }

    pub fn postmark_webhook(&self) -> Option<Credentials> {
        let keys = self.postmark.as_ref()?;
        Some(Credentials {
            user: keys.webhook_user.clone()?,
            password: keys.webhook_password.clone()?,
        })
    }
}

impl std::fmt::Debug for ProviderKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderKeys")
            .field("sendgrid", &self.sendgrid.is_some())
            .field("mailgun", &self.mailgun.is_some())
            .field("postmark", &self.postmark.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_names_only_the_providers_it_uses() {
        let keys = ProviderKeys::parse(
            r#"{ "postmark": { "server_token": "t", "webhook_user": "u", "webhook_password": "p" } }"#,
        )
        .unwrap();
        assert!(keys.sendgrid_webhook_key().is_none());
        assert!(keys.mailgun_webhook_key().is_none());
        let postmark = keys.postmark_webhook().unwrap();
        assert_eq!(
            (postmark.user.as_str(), postmark.password.as_str()),
            ("u", "p")
        );
        assert_eq!(
            format!("{keys:?}"),
            "ProviderKeys { sendgrid: false, mailgun: false, postmark: true }"
        );
        assert!(
            ProviderKeys::parse("{}")
                .unwrap()
                .postmark_webhook()
                .is_none()
        );
    }

    #[test]
    fn a_malformed_document_is_refused_without_showing_a_value() {
        for (json, named) in [
            (r#"{ "sendgird": {} }"#, "sendgird"),
            (r#"{ "mailgun": { "api_key": 12345678 } }"#, "wrong type"),
            ("not json", "expected"),
        ] {
            let error = ProviderKeys::parse(json).unwrap_err();
            assert!(error.contains(named), "{error}");
            assert!(!error.contains("12345678"), "{error}");
        }
    }
}
