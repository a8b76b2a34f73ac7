//! Signatures: each user's own, per artist and team, sanitized before they are stored.

use chrono::Utc;

use crate::auth::Caller;
use crate::domain::{ArtistId, ContactRole, Signature};
use crate::domain::{AuditAction, AuditRecord};
use crate::render::TemplateSource;
use crate::render::sanitize::sanitize_signature;
use crate::store::templates as store;
use crate::store::{self as stores, TransactOutcome};
use crate::{ApiError, App, templates};

pub async fn get(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    role: ContactRole,
) -> Result<Signature, ApiError> {
    caller.require_team(artist, role)?;
    store::get_signature(app, artist, role, &caller.user)
        .await?
        .ok_or_else(|| ApiError::not_found("signature"))
}

/// Stores the caller's signature for the team, as sanitized HTML (an empty result clears it
/// from messages without deleting the record).
pub async fn put(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    role: ContactRole,
    html: &str,
) -> Result<Signature, ApiError> {
    caller.require_team(artist, role)?;
    let html = sanitize_signature(html);
    // What the sanitizer keeps is literal text; the template check and the render budget hold
    // it to that whatever a future sanitizer change lets through.
    crate::render::language::check("signature", &html).map_err(templates::invalid_template)?;
    templates::compile_checked(
        app,
        &TemplateSource {
            subject: "",
            html: "<p>{{ signature }}</p>",
            text: None,
        },
        Some(&html),
    )?;
    let now = Utc::now();
    let signature = Signature {
        artist_id: artist,
        contact_role: role,
        user: caller.user.clone(),
        html,
        updated_at: now,
    };
    let audit = AuditRecord::new(
        artist,
        &caller.user,
        AuditAction::SignatureUpdated,
        format!("signature#{role}#{}", caller.user.as_str()),
        vec!["html".into()],
        now,
    );
    let writes = vec![
        store::put_signature(app, &signature)?,
        stores::audit::put(app, audit)?,
    ];
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => Ok(signature),
        TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
            "saving a signature: conditions {failed:?} failed"
        ))),
    }
}
