//! The local identity provider and the emulation of API Gateway's JWT authorizer: tokens are
//! HS256, signed with a key kept in `.local/` so `infra/dev token` and a running `infra/dev up`
//! agree. The authorizer checks signature, issuer, audience and expiry, as API Gateway does.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde_json::Value;

pub const ISSUER: &str = "https://auth.artisthub.local/";
pub const AUDIENCE: &str = "artisthub-mailing";

pub struct LocalIssuer {
    key: Vec<u8>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    scope: String,
    iat: i64,
    exp: i64,
}

impl LocalIssuer {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// The key at `path`, created on first use.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if let Ok(key) = std::fs::read(path) {
            return Ok(Self::new(key));
        }
        let key = random_secret();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, &key).with_context(|| format!("writing {}", path.display()))?;
        Ok(Self::new(key))
    }

    pub fn mint(&self, sub: &str, scopes: &[String], ttl: Duration) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER,
            aud: AUDIENCE,
            sub,
            scope: scopes.join(" "),
            iat: now,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.key),
        )
        .expect("HS256 signing of plain claims cannot fail")
    }

    /// The token's claims as API Gateway passes them to functions (every value a string), or
    /// `None` for any token API Gateway would refuse.
    pub fn verify(&self, authorization: &str) -> Option<BTreeMap<String, String>> {
        let token = authorization
            .strip_prefix("Bearer ")
            .or_else(|| authorization.strip_prefix("bearer "))
            .unwrap_or(authorization)
            .trim();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<BTreeMap<String, Value>>(
            token,
            &DecodingKey::from_secret(&self.key),
            &validation,
        )
        .ok()?;
        Some(
            data.claims
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        Value::String(s) => s,
                        Value::Array(items) => {
                            let items: Vec<String> = items
                                .iter()
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                                .collect();
                            format!("[{}]", items.join(" "))
                        }
                        other => other.to_string(),
                    };
                    (name, value)
                })
                .collect(),
        )
    }
}

/// 32 random bytes, hex-encoded (v4 UUIDs come from the OS's random source).
pub fn random_secret() -> Vec<u8> {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_verifies_with_its_scopes() {
        let issuer = LocalIssuer::new(random_secret());
        let token = issuer.mint(
            "user-1",
            &["artist:a:press".into(), "mailing:admin".into()],
            Duration::from_secs(60),
        );
        let claims = issuer.verify(&format!("Bearer {token}")).unwrap();
        assert_eq!(claims["sub"], "user-1");
        assert_eq!(claims["scope"], "artist:a:press mailing:admin");
        assert_eq!(claims["aud"], AUDIENCE);
    }

    #[test]
    fn tokens_api_gateway_would_refuse_are_refused() {
        let issuer = LocalIssuer::new(random_secret());
        let other = LocalIssuer::new(random_secret());
        let token = issuer.mint("user-1", &[], Duration::from_secs(60));
        let expired = issuer.mint("user-1", &[], Duration::ZERO);
        std::thread::sleep(Duration::from_millis(1100));
        let cases = [
            (
                "signed by another key",
                other.mint("user-1", &[], Duration::from_secs(60)),
            ),
            ("expired", expired),
            ("truncated", token[..token.len() - 3].to_owned()),
            ("empty", String::new()),
            ("garbage", "Bearer not.a.jwt".to_owned()),
        ];
        for (case, token) in cases {
            assert!(issuer.verify(&token).is_none(), "{case}");
        }
    }
}
