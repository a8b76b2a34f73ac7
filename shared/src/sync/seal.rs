//! The credential of a sync that continues in another invocation travels sealed in its queue
//! message: AES-256-GCM under a key derived (HKDF-SHA256) from the email-hash key's secret,
//! with the import's id as associated data. A message read from the queue, or from a
//! dead-letter queue later, shows nothing, and a sealed credential opens only for its own job.
//! The email-hash key is never rotated, so a continuation queued before any rotation opens.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;

use super::Credential;
use crate::config::SigningKey;
use crate::domain::ImportId;
use crate::{ApiError, App};

const SALT: &[u8] = b"artisthub-mailing sync credential";

fn key(secret: &SigningKey) -> Result<LessSafeKey, ApiError> {
    let prk = Salt::new(HKDF_SHA256, SALT).extract(secret.as_bytes());
    let okm = prk
        .expand(&[b"aes-256-gcm v1"], &AES_256_GCM)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("deriving the sealing key")))?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

pub fn seal(app: &App, job: ImportId, credential: &Credential) -> Result<String, ApiError> {
    seal_with(app.email_hash_key()?, job, credential)
}

pub fn open(app: &App, job: ImportId, sealed: &str) -> Result<Credential, ApiError> {
    open_with(app.email_hash_key()?, job, sealed)
}

fn seal_with(
    secret: &SigningKey,
    job: ImportId,
    credential: &Credential,
) -> Result<String, ApiError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("no randomness for a nonce")))?;
    let mut sealed = serde_json::to_vec(credential).map_err(ApiError::internal)?;
    key(secret)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(job.to_string().as_bytes()),
            &mut sealed,
        )
        .map_err(|_| ApiError::internal(anyhow::anyhow!("sealing a credential")))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

fn open_with(secret: &SigningKey, job: ImportId, sealed: &str) -> Result<Credential, ApiError> {
    let unreadable = || ApiError::internal(anyhow::anyhow!("a sealed credential did not open"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| unreadable())?;
    if bytes.len() < NONCE_LEN {
        return Err(unreadable());
    }
    let (nonce, sealed) = bytes.split_at(NONCE_LEN);
    let mut sealed = sealed.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unreadable())?;
    let plain = key(secret)?
        .open_in_place(nonce, Aad::from(job.to_string().as_bytes()), &mut sealed)
        .map_err(|_| unreadable())?;
    serde_json::from_slice(plain).map_err(|_| unreadable())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(fill: u8) -> SigningKey {
        SigningKey::new(vec![fill; 32]).unwrap()
    }

    #[test]
    fn a_sealed_credential_opens_for_its_job_only_and_never_shows() {
        let job = ImportId::new();
        let credential = Credential::AccessToken("ya29.secret-token".into());
        let sealed = seal_with(&secret(1), job, &credential).unwrap();
        assert!(!sealed.contains("secret-token"));
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&sealed)
            .unwrap();
        assert!(!String::from_utf8_lossy(&decoded).contains("secret"));
        assert_eq!(open_with(&secret(1), job, &sealed).unwrap(), credential);
        assert!(open_with(&secret(1), ImportId::new(), &sealed).is_err());
        assert!(open_with(&secret(2), job, &sealed).is_err());
        let mut tampered = decoded.clone();
        *tampered.last_mut().unwrap() ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(tampered);
        assert!(open_with(&secret(1), job, &tampered).is_err());
        assert!(open_with(&secret(1), job, "not base64!").is_err());
    }

    #[test]
    fn two_seals_of_one_credential_differ() {
        let job = ImportId::new();
        let credential = Credential::ApiKey("k-us1".into());
        assert_ne!(
            seal_with(&secret(1), job, &credential).unwrap(),
            seal_with(&secret(1), job, &credential).unwrap()
        );
    }
}
