//! Sending domains. An artist claims the domain its campaigns are sent from, proves the claim
//! (a TXT record derived from the artist and the domain, looked up through DNS, or an
//! administrator's approval), and SES verifies the domain through the Easy DKIM records its DNS
//! publishes. Both are needed to send: SES identities are account-wide, so SES's verification
//! says nothing about *which* artist owns the domain (two artists of one label may share it,
//! each proving it).

use aws_sdk_sesv2::operation::create_email_identity::CreateEmailIdentityError;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::VerificationStatus;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;

use crate::auth::Caller;
use crate::domain::{
    ArtistId, DomainClaim, DomainName, DomainProof, EmailAddress, ProofMethod, SendingProvider,
    UserId,
};
use crate::domain::{AuditAction, AuditRecord};
use crate::store::{self as stores, TransactOutcome, sender_domains as store};
use crate::{ApiError, App};

/// Where the ownership proof is published, under the domain.
pub const PROOF_LABEL: &str = "_artisthub-challenge";
const PROOF_PREFIX: &str = "artisthub-domain-verification=";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// The artist has not proven the domain is theirs: publish the TXT record, then verify.
    PendingVerification,
    /// SES has not seen the DKIM records yet (they can take up to 72 hours).
    Pending,
    Verified,
    /// SES gave up: the records were not found in time; register the domain again.
    Failed,
    /// SES could not check for now; it retries.
    TemporaryFailure,
}

impl DomainStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingVerification => "pending_verification",
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Failed => "failed",
            Self::TemporaryFailure => "temporary_failure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
    /// Whether sending depends on it (DKIM and the ownership proof do; DMARC is what Gmail and
    /// Yahoo ask of bulk senders).
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct SenderDomain {
    pub domain: DomainName,
    pub artist_id: ArtistId,
    /// `verified` only when the claim is proven and, for SES, SES verified the domain (another
    /// provider checks its own DKIM: a domain it refuses stops the campaign with its reason).
    pub status: DomainStatus,
    pub provider: SendingProvider,
    /// The artist's proof of ownership, once given.
    pub ownership: Option<DomainProof>,
    pub dns_records: Vec<DnsRecord>,
    pub registered_by: UserId,
    pub registered_at: DateTime<Utc>,
}

/// The TXT record that proves `artist` owns `domain`: keyed by the deployment's secret, so
/// nobody can publish another artist's proof without being told it.
pub fn proof_record(
    app: &App,
    artist: ArtistId,
    domain: &DomainName,
) -> Result<DnsRecord, ApiError> {
    // The never-rotated key: rotating the signing key must not change a published proof.
    let mut mac = Hmac::<Sha256>::new_from_slice(app.email_hash_key()?.as_bytes())
        .expect("HMAC accepts any key length");
    for part in [
        b"domain-claim".as_slice(),
        artist.to_string().as_bytes(),
        domain.as_str().as_bytes(),
    ] {
        mac.update(part);
        mac.update(b"\0");
    }
    let token = data_encoding::BASE32_NOPAD.encode(&mac.finalize().into_bytes()[..20]);
    Ok(DnsRecord {
        kind: "TXT",
        name: format!("{PROOF_LABEL}.{domain}"),
        value: format!("{PROOF_PREFIX}{}", token.to_ascii_lowercase()),
        required: true,
    })
}

fn require_whole_artist(caller: &Caller, artist: ArtistId) -> Result<(), ApiError> {
    caller.require_artist_wide(
        artist,
        "sending domains are the artist's, for every team: this takes access to all of them",
    )?;
    Ok(())
}

/// Claims `domain` for the artist and answers the records to publish; the claim is proven at
/// once when its TXT record is already there. Registering again is harmless, and with another
/// provider moves the domain's mail to it.
pub async fn register(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    domain: DomainName,
    provider: SendingProvider,
) -> Result<SenderDomain, ApiError> {
    require_whole_artist(caller, artist)?;
    let created = match provider {
        SendingProvider::Ses => app
            .aws
            .sesv2
            .create_email_identity()
            .email_identity(domain.as_str())
            .send()
            .await
            .map(|_| ()),
        _ => Ok(()),
    };
    if let Err(error) = created {
        match error.into_service_error() {
            // Another artist of the same label, or an earlier attempt: the identity is there.
            CreateEmailIdentityError::AlreadyExistsException(_) => {}
            other => {
                return Err(ApiError::internal(
                    anyhow::Error::new(other).context("CreateEmailIdentity"),
                ));
            }
        }
    }
    let now = Utc::now();
    let claim = DomainClaim {
        domain: domain.clone(),
        artist_id: artist,
        proof: None,
        registered_by: caller.user.clone(),
        registered_at: now,
        provider,
    };
    let audit = AuditRecord::new(
        artist,
        &caller.user,
        AuditAction::DomainRegistered,
        format!("domain#{domain}"),
        vec![],
        now,
    );
    let writes = vec![store::put(app, &claim)?, stores::audit::put(app, audit)?];
    let claim = match stores::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(artist = %artist, domain = %domain, "sending domain claimed");
            claim
        }
        // Claimed before: that claim, and its proof, stand; only the provider may change.
        TransactOutcome::ConditionFailed(_) => {
            let claimed = store::get(app, artist, &domain).await?.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("claim of {domain} not found"))
            })?;
            switch_provider(app, caller, claimed, provider).await?
        }
    };
    let claim = match claim.proof {
        Some(_) => claim,
        None => prove_by_dns(app, &caller.user, claim).await?,
    };
    describe(app, claim).await
}

/// The claim moved to `provider` when it is with another one: the next batch of every
/// campaign from the domain leaves through it, and so do forwards of replies.
async fn switch_provider(
    app: &App,
    caller: &Caller,
    mut claim: DomainClaim,
    provider: SendingProvider,
) -> Result<DomainClaim, ApiError> {
    if claim.provider == provider {
        return Ok(claim);
    }
    let audit = AuditRecord::new(
        claim.artist_id,
        &caller.user,
        AuditAction::DomainProviderChanged,
        format!("domain#{}", claim.domain),
        vec!["provider".to_owned()],
        Utc::now(),
    )
    .with_change("provider", claim.provider, provider);
    let writes = vec![
        store::set_provider(app, &claim, provider)?,
        stores::audit::put(app, audit)?,
    ];
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(artist = %claim.artist_id, domain = %claim.domain, from = claim.provider.name(), to = provider.name(), "sending domain moved to another provider");
            claim.provider = provider;
            Ok(claim)
        }
        TransactOutcome::ConditionFailed(_) => Err(ApiError::Conflict {
            code: "concurrent_modification",
            message: "the domain's provider was changed by someone else meanwhile; read it again and retry".into(),
            details: serde_json::Value::Null,
        }),
    }
}

/// `POST /api/email/domains/{domain}/verify`: looks the artist's proof up in DNS now, or, for a
/// `mailing:admin` who asks, approves the claim without it.
pub async fn verify(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    domain: DomainName,
    approve: bool,
) -> Result<SenderDomain, ApiError> {
    require_whole_artist(caller, artist)?;
    if approve && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "approving a domain claim without its DNS proof takes mailing:admin",
        ));
    }
    let claim = store::get(app, artist, &domain)
        .await?
        .ok_or_else(|| ApiError::not_found("sending domain"))?;
    let claim = match (&claim.proof, approve) {
        (Some(_), _) => claim,
        (None, true) => prove(app, &caller.user, claim, ProofMethod::Admin).await?,
        (None, false) => {
            let proven = prove_by_dns(app, &caller.user, claim).await?;
            if proven.proof.is_none() {
                let record = proof_record(app, artist, &domain)?;
                return Err(ApiError::Unprocessable {
                    code: "domain_proof_missing",
                    message: format!(
                        "no TXT record {} = \"{}\" was found: publish it in {domain}'s DNS and verify again (DNS changes can take a few minutes)",
                        record.name, record.value
                    ),
                    details: json!({ "record": record }),
                });
            }
            proven
        }
    };
    describe(app, claim).await
}

/// The claim, proven if its TXT record is published; a DNS failure leaves it unproven (and is
/// logged), never proves it.
async fn prove_by_dns(
    app: &App,
    actor: &UserId,
    claim: DomainClaim,
) -> Result<DomainClaim, ApiError> {
    let expected = proof_record(app, claim.artist_id, &claim.domain)?;
    let found = match app.dns.txt(&app.config.dns_query_url, &expected.name).await {
        Ok(values) => values.iter().any(|value| value.trim() == expected.value),
        Err(error) => {
            tracing::warn!(artist = %claim.artist_id, domain = %claim.domain, error = %error, "ownership proof not looked up");
            false
        }
    };
    if !found {
        return Ok(claim);
    }
    prove(app, actor, claim, ProofMethod::Dns).await
}

async fn prove(
    app: &App,
    actor: &UserId,
    mut claim: DomainClaim,
    method: ProofMethod,
) -> Result<DomainClaim, ApiError> {
    let now = Utc::now();
    claim.proof = Some(DomainProof {
        method,
        by: actor.clone(),
        at: now,
    });
    let audit = AuditRecord::new(
        claim.artist_id,
        actor,
        AuditAction::DomainVerified,
        format!("domain#{}", claim.domain),
        vec!["proof".into()],
        now,
    );
    match stores::transact(
        app,
        vec![store::put(app, &claim)?, stores::audit::put(app, audit)?],
    )
    .await?
    {
        TransactOutcome::Written => {
            tracing::info!(artist = %claim.artist_id, domain = %claim.domain, ?method, "domain claim proven");
            Ok(claim)
        }
        // Proven meanwhile by another request: that proof stands.
        TransactOutcome::ConditionFailed(_) => store::get(app, claim.artist_id, &claim.domain)
            .await?
            .ok_or_else(|| ApiError::not_found("sending domain")),
    }
}

/// The artist's domains with their state; unproven claims are looked up in DNS again.
pub async fn list(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
) -> Result<Vec<SenderDomain>, ApiError> {
    caller.require_artist(artist)?;
    let mut domains = Vec::new();
    for claim in store::list(app, artist).await? {
        let claim = match claim.proof {
            Some(_) => claim,
            None => prove_by_dns(app, &caller.user, claim).await?,
        };
        domains.push(describe(app, claim).await?);
    }
    Ok(domains)
}

async fn describe(app: &App, claim: DomainClaim) -> Result<SenderDomain, ApiError> {
    // Another provider's DKIM records are in its own console: only SES's are ours to show.
    let identity = match claim.provider {
        SendingProvider::Ses => Some(
            app.aws
                .sesv2
                .get_email_identity()
                .email_identity(claim.domain.as_str())
                .send()
                .await?,
        ),
        _ => None,
    };
    let status = match (&claim.proof, &identity) {
        (None, _) => DomainStatus::PendingVerification,
        (Some(_), Some(identity)) => ses_status(identity),
        (Some(_), None) => DomainStatus::Verified,
    };
    let mut dns_records = vec![proof_record(app, claim.artist_id, &claim.domain)?];
    if let Some(identity) = &identity {
        dns_records.extend(ses_records(&claim.domain, identity));
    }
    Ok(SenderDomain {
        provider: claim.provider,
        status,
        ownership: claim.proof,
        dns_records,
        domain: claim.domain,
        artist_id: claim.artist_id,
        registered_by: claim.registered_by,
        registered_at: claim.registered_at,
    })
}

fn ses_status(identity: &GetEmailIdentityOutput) -> DomainStatus {
    if identity.verified_for_sending_status {
        return DomainStatus::Verified;
    }
    match identity.verification_status() {
        Some(VerificationStatus::Failed) => DomainStatus::Failed,
        Some(VerificationStatus::TemporaryFailure) => DomainStatus::TemporaryFailure,
        _ => DomainStatus::Pending,
    }
}

/// Easy DKIM's three CNAMEs, and a starting DMARC policy.
fn ses_records(domain: &DomainName, identity: &GetEmailIdentityOutput) -> Vec<DnsRecord> {
    let tokens = identity
        .dkim_attributes()
        .map(|dkim| dkim.tokens())
        .unwrap_or_default();
    tokens
        .iter()
        .map(|token| DnsRecord {
            kind: "CNAME",
            name: format!("{token}._domainkey.{domain}"),
            value: format!("{token}.dkim.amazonses.com"),
            required: true,
        })
        .chain(std::iter::once(DnsRecord {
            kind: "TXT",
            name: format!("_dmarc.{domain}"),
            value: "v=DMARC1; p=none;".to_owned(),
            required: false,
        }))
        .collect()
}

fn refused(domain: &DomainName, message: String) -> ApiError {
    ApiError::Unprocessable {
        code: "sender_domain_unverified",
        message,
        details: json!({ "domain": domain }),
    }
}

/// The artist's proven claim on `email`'s domain, or the refusal saying what to do. Every send
/// batch checks this (one read): a domain's claim cannot be lost mid-campaign unnoticed.
pub async fn require_claimed(
    app: &App,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<DomainClaim, ApiError> {
    let domain = DomainName::parse(email.domain()).map_err(ApiError::internal)?;
    match store::get(app, artist, &domain).await? {
        None => Err(refused(
            &domain,
            format!(
                "{domain} is not a sending domain of this artist: register it with POST /api/email/domains and publish its DNS records"
            ),
        )),
        Some(claim) if claim.proof.is_none() => Err(refused(
            &domain,
            format!(
                "this artist has not proven {domain} is theirs: publish the TXT record {PROOF_LABEL}.{domain} (GET /api/email/domains) and POST /api/email/domains/{domain}/verify"
            ),
        )),
        Some(claim) => Ok(claim),
    }
}

/// Refuses sending from `email` unless the artist's claim on its domain is proven and SES has
/// verified the domain: what every start of a send checks.
pub async fn require_verified(
    app: &App,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<(), ApiError> {
    let claim = require_claimed(app, artist, email).await?;
    let domain = claim.domain.clone();
    match describe(app, claim).await?.status {
        DomainStatus::Verified => Ok(()),
        status => Err(refused(
            &domain,
            format!(
                "{domain} is not verified by SES yet ({}): publish its DKIM records (GET /api/email/domains)",
                status.as_str()
            ),
        )),
    }
}

/// The artist's proven domains: where test messages may go (the team's own mailboxes).
pub async fn proven(app: &App, artist: ArtistId) -> Result<Vec<DomainName>, ApiError> {
    Ok(store::list(app, artist)
        .await?
        .into_iter()
        .filter(|claim| claim.proof.is_some())
        .map(|claim| claim.domain)
        .collect())
}
