//! The artist's sender profile: read by anyone with a grant on the artist, changed only with a
//! grant on every team (it speaks for all of them). Every start reads it (`sending::gate`).

use chrono::Utc;
use serde_json::json;

use crate::auth::Caller;
use crate::domain::{ArtistId, EmailAddress, Language, ReplyHandling, SenderProfile};
use crate::domain::{AuditAction, AuditRecord};
use crate::store::{self as stores, TransactOutcome, sender_profiles as store};
use crate::{ApiError, App, FieldError, sender_domains};

/// A profile as a caller states it (PUT replaces the whole).
#[derive(Debug, Clone)]
pub struct ProfileInput {
    pub display_name: String,
    pub postal_address: Option<String>,
    pub default_from_name: Option<String>,
    pub default_from_email: Option<EmailAddress>,
    pub reply_handling: ReplyHandling,
    pub forward_replies_to: Option<EmailAddress>,
    pub default_language: Language,
    pub time_zone: String,
    pub consent_policies:
        std::collections::BTreeMap<crate::domain::ContactRole, crate::domain::ConsentPolicy>,
}

pub async fn get(app: &App, caller: &Caller, artist: ArtistId) -> Result<SenderProfile, ApiError> {
    caller.require_artist(artist)?;
    store::get(app, artist).await?.ok_or_else(|| ApiError::NotFound {
        code: "sender_profile_missing",
        message: "this artist has no sender profile yet: PUT /api/artists/{artistId}/sender-profile with its display name and postal address".into(),
    })
}

pub async fn put(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    input: ProfileInput,
) -> Result<SenderProfile, ApiError> {
    caller.require_artist_wide(
        artist,
        "the sender profile speaks for every team of the artist: changing it takes access to all of them",
    )?;
    if input.reply_handling == ReplyHandling::StoreAndForward && input.forward_replies_to.is_none()
    {
        return Err(ApiError::invalid_fields(vec![FieldError::new(
            "forward_replies_to",
            "is required when reply_handling is store_and_forward",
        )]));
    }
    if let Some(from) = &input.default_from_email {
        sender_domains::require_claimed(app, artist, from).await?;
    }
    let before = store::get(app, artist).await?;
    let now = Utc::now();
    let profile = SenderProfile {
        artist_id: artist,
        display_name: input.display_name,
        postal_address: input.postal_address,
        default_from_name: input.default_from_name,
        default_from_email: input.default_from_email,
        reply_handling: input.reply_handling,
        forward_replies_to: input.forward_replies_to,
        default_language: input.default_language,
        time_zone: input.time_zone,
        consent_policies: input.consent_policies,
        updated_by: caller.user.clone(),
        updated_at: now,
        version: before.as_ref().map_or(1, |p| p.version + 1),
    };
    let changed = changed_fields(before.as_ref(), &profile);
    if let Some(before) = &before
        && changed.is_empty()
    {
        return Ok(before.clone());
    }
    let audit = AuditRecord::new(
        artist,
        &caller.user,
        AuditAction::SenderProfileUpdated,
        format!("sender_profile#{artist}"),
        changed,
        now,
    )
    .with_values(
        &before,
        &profile,
        &[
            "reply_handling",
            "default_language",
            "time_zone",
            "consent_policies",
        ],
    );
    let writes = vec![
        store::put(app, &profile, before.as_ref().map(|p| p.version))?,
        stores::audit::put(app, audit)?,
    ];
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => Ok(profile),
        TransactOutcome::ConditionFailed(_) => Err(ApiError::Conflict {
            code: "concurrent_change",
            message: "the sender profile changed meanwhile; read it again and retry".into(),
            details: json!({}),
        }),
    }
}

/// Names of the fields that differ (the audit trail names fields, never their values); what
/// every save changes (who, when, the version) is left out.
fn changed_fields(before: Option<&SenderProfile>, after: &SenderProfile) -> Vec<String> {
    let fields = |profile: &SenderProfile| match serde_json::to_value(profile) {
        Ok(serde_json::Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    let Some(before) = before.map(fields) else {
        return vec![];
    };
    fields(after)
        .into_iter()
        .filter(|(name, value)| {
            !matches!(name.as_str(), "updated_by" | "updated_at" | "version")
                && before.get(name) != Some(value)
        })
        .map(|(name, _)| name)
        .collect()
}
