//! The other sending providers' credentials of the local stack: made up at start, put in the
//! provider keys' secret as a deployment would, and kept here so tests and the local fake
//! providers can sign webhooks as SendGrid, Mailgun and Postmark would.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use mailing::webhooks::postmark::Credentials;
use serde_json::json;

pub struct LocalProviders {
    /// SendGrid's event webhook signing key (PKCS#8): SendGrid keeps it, we get its public half.
    sendgrid_pkcs8: Vec<u8>,
    pub mailgun_signing_key: String,
    pub postmark: Credentials,
}

impl LocalProviders {
    pub fn generate() -> anyhow::Result<Self> {
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
                "api_key": "SG.local",
                "webhook_public_key": mailing::webhooks::sendgrid::public_key(&self.sendgrid_key()),
            },
            "mailgun": { "api_key": "local", "webhook_signing_key": self.mailgun_signing_key },
            "postmark": {
                "server_token": "local",
                "webhook_user": self.postmark.user,
                "webhook_password": self.postmark.password,
            },
        })
        .to_string()
    }
}
