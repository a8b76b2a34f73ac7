//! Sending domains: an artist registers the domain its campaigns are sent from; SES verifies it
//! through the Easy DKIM records the artist's DNS publishes. SES identities are account-wide, so
//! which artist may send from which domain is recorded here (two artists of one label may share
//! its domain).

use aws_sdk_sesv2::operation::create_email_identity::CreateEmailIdentityError;
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityOutput;
use aws_sdk_sesv2::types::VerificationStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditAction, AuditRecord};
use crate::auth::{Caller, RoleAccess};
use crate::domain::{ArtistId, DomainName, UserId};
use crate::store::{self as stores, TransactOutcome};
use crate::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
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
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Failed => "failed",
            Self::TemporaryFailure => "temporary_failure",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub value: String,
    /// Whether sending depends on it (DKIM does; DMARC is what Gmail and Yahoo ask of bulk senders).
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SenderDomain {
    pub domain: DomainName,
    pub artist_id: ArtistId,
    pub status: DomainStatus,
    pub dns_records: Vec<DnsRecord>,
    pub registered_by: UserId,
    pub registered_at: DateTime<Utc>,
}

/// The artist's claim on a domain, in the campaigns table.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DomainItem {
    pk: String,
    sk: String,
    domain: String,
    artist_id: ArtistId,
    registered_by: UserId,
    registered_at: DateTime<Utc>,
}

const SK_PREFIX: &str = "DOMAIN#";

/// Registers `domain` for the artist (every team sends from it, so it takes access to all of
/// them) and answers the records to publish. Registering again is harmless.
pub async fn register(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    domain: DomainName,
) -> Result<SenderDomain, ApiError> {
    if caller.require_artist(artist)? != RoleAccess::All {
        return Err(ApiError::forbidden(
            "registering a sending domain takes access to every team of the artist",
        ));
    }
    let created = app
        .aws
        .sesv2
        .create_email_identity()
        .email_identity(domain.as_str())
        .send()
        .await;
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
    let item = DomainItem {
        pk: stores::team_list::artist_pk(artist),
        sk: format!("{SK_PREFIX}{domain}"),
        domain: domain.to_string(),
        artist_id: artist,
        registered_by: caller.user.clone(),
        registered_at: now,
    };
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&app.config.campaigns_table)
        .set_item(Some(serde_dynamo::to_item(&item)?))
        .build()
        .map_err(ApiError::internal)?;
    let audit = AuditRecord::new(
        artist,
        &caller.user,
        AuditAction::DomainRegistered,
        format!("domain#{domain}"),
        vec![],
        now,
    );
    let writes = vec![
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(put)
            .build(),
        stores::audit::put(app, audit)?,
    ];
    if let TransactOutcome::ConditionFailed(failed) = stores::transact(app, writes).await? {
        return Err(ApiError::internal(anyhow::anyhow!(
            "registering a domain: conditions {failed:?} failed"
        )));
    }
    tracing::info!(artist = %artist, domain = %domain, "sending domain registered");
    describe(app, item).await
}

/// The artist's domains with their state at SES.
pub async fn list(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
) -> Result<Vec<SenderDomain>, ApiError> {
    caller.require_artist(artist)?;
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.campaigns_table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(stores::team_list::artist_pk(artist)),
        )
        .expression_attribute_values(
            ":prefix",
            aws_sdk_dynamodb::types::AttributeValue::S(SK_PREFIX.to_owned()),
        )
        .send()
        .await?;
    let items: Vec<DomainItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
    let mut domains = Vec::with_capacity(items.len());
    for item in items {
        domains.push(describe(app, item).await?);
    }
    Ok(domains)
}

async fn describe(app: &App, item: DomainItem) -> Result<SenderDomain, ApiError> {
    let domain = DomainName::parse(&item.domain)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("stored domain {}: {e}", item.domain)))?;
    let identity = app
        .aws
        .sesv2
        .get_email_identity()
        .email_identity(domain.as_str())
        .send()
        .await?;
    Ok(SenderDomain {
        status: status(&identity),
        dns_records: records(&domain, &identity),
        domain,
        artist_id: item.artist_id,
        registered_by: item.registered_by,
        registered_at: item.registered_at,
    })
}

fn status(identity: &GetEmailIdentityOutput) -> DomainStatus {
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
fn records(domain: &DomainName, identity: &GetEmailIdentityOutput) -> Vec<DnsRecord> {
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

/// Refuses sending from `email` unless its domain is registered for the artist and SES has
/// verified it, saying what to do.
pub async fn require_verified(
    app: &App,
    artist: ArtistId,
    email: &crate::domain::EmailAddress,
) -> Result<(), ApiError> {
    let domain = DomainName::parse(email.domain()).map_err(ApiError::internal)?;
    let refused = |message: String| ApiError::Unprocessable {
        code: "sender_domain_unverified",
        message,
        details: serde_json::json!({ "domain": domain }),
    };
    let claim = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.campaigns_table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(stores::team_list::artist_pk(artist)),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("{SK_PREFIX}{domain}")),
        )
        .consistent_read(true)
        .send()
        .await?;
    let Some(item) = claim.item else {
        return Err(refused(format!(
            "{domain} is not a sending domain of this artist: register it with POST /api/email/domains and publish its DNS records"
        )));
    };
    let described = describe(app, serde_dynamo::from_item(item)?).await?;
    match described.status {
        DomainStatus::Verified => Ok(()),
        status => Err(refused(format!(
            "{domain} is not verified yet ({}): publish its DNS records (GET /api/email/domains)",
            status.as_str()
        ))),
    }
}
