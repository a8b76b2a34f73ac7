//! The other sending providers of the local stack: fakes on loopback (`fake_providers`), and
//! credentials made up at start, put in the provider keys' secret as a deployment would, and
//! kept here so tests can sign webhooks as SendGrid, Mailgun and Postmark would.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use mailing::webhooks::postmark::Credentials;
use serde_json::json;

use crate::fake_providers::{self, FakeProviders};

#[derive(Clone)]
pub struct LocalProviders {
    /// SendGrid's event webhook signing key (PKCS#8): SendGrid keeps it, we get its public half.
    sendgrid_pkcs8: Vec<u8>,
    pub mailgun_signing_key: String,
    pub postmark: Credentials,
    /// Where the fakes answer, and what they took.
    pub url: String,
    pub fakes: FakeProviders,
}

impl LocalProviders {
    /// Starts the fakes and makes up the webhook credentials.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let fakes = FakeProviders::default();
        fakes.serve(listener);
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("generating a P-256 key"))?;
        let random = || String::from_utf8(crate::auth::random_secret()).expect("hex is UTF-8");
        Ok(Self {
            sendgrid_pkcs8: pkcs8.as_ref().to_vec(),
            mailgun_signing_key: random(),
            postmark: Credentials {
                user: "postmark".into(),
                password: random(),
            },
            url,
            fakes,
        })
    }

    pub fn sendgrid_key(&self) -> EcdsaKeyPair {
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &self.sendgrid_pkcs8)
            .expect("the key generated at start")
    }

    /// The provider keys' secret, as `mailing::provider_keys` reads it.
    pub fn secret(&self) -> String {
        json!({
            "sendgrid": {
                "api_key": fake_providers::SENDGRID_KEY,
                "base_url": self.url,
                "webhook_public_key": mailing::webhooks::sendgrid::public_key(&self.sendgrid_key()),
            },
            "mailgun": {
                "api_key": fake_providers::MAILGUN_KEY,
                "base_url": self.url,
                "webhook_signing_key": self.mailgun_signing_key,
            },
            "postmark": {
                "server_token": fake_providers::POSTMARK_TOKEN,
                "base_url": self.url,
                "webhook_user": self.postmark.user,
                "webhook_password": self.postmark.password,
            },
        })
        .to_string()
    }
}
