//! An artist's audit trail (`GET /api/artists/{artistId}/audit`): every record of its mutations
//! and of the service's own moves, newest first, filtered by actor, action, target and time,
//! for a grant on every team of the artist (the trail covers them all). Records name their
//! target by id and never carry a person's address.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::auth::Caller;
use crate::cursor::{Listing, Page};
use crate::domain::{ArtistId, AuditAction, AuditRecord, UserId};
use crate::store::audit::{self as store, TrailQuery};
use crate::{ApiError, App};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

pub struct TrailRequest {
    pub artist: ArtistId,
    pub actor: Option<UserId>,
    pub action: Option<AuditAction>,
    /// `{type}#{id}`, as records name it (`campaign#…`, `contact#…`).
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: usize,
    pub cursor: Option<String>,
}

/// The start of the ids of records made at `at`: an audit id is a UUID v7, whose text begins
/// with its milliseconds in hex (`xxxxxxxx-xxxx`), so ids sort as time.
fn time_prefix(at: DateTime<Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    format!("{:08x}-{:04x}", ms >> 16, ms & 0xffff)
}

pub async fn list(
    app: &App,
    caller: &Caller,
    request: TrailRequest,
) -> Result<Page<AuditRecord>, ApiError> {
    caller.require_artist_wide(
        request.artist,
        "the audit trail covers every team of the artist: reading it takes access to all of them",
    )?;
    let action = request
        .action
        .map(|action| serde_json::to_value(action).map_err(ApiError::internal))
        .transpose()?;
    let action = action.as_ref().and_then(|value| value.as_str());
    let listing = Listing::new(
        app.signing_key()?,
        json!([
            "audit",
            request.artist,
            request.actor.as_ref().map(UserId::as_str),
            action,
            request.target,
            request.from,
            request.to
        ])
        .to_string(),
    );
    let after = listing.resume(request.cursor.as_deref())?;
    let page = store::trail(
        app,
        TrailQuery {
            artist: request.artist,
            actor: request.actor.as_ref().map(UserId::as_str),
            action,
            target: request.target.as_deref(),
            from_sk: format!(
                "AUDIT#{}",
                request.from.map(time_prefix).unwrap_or_default()
            ),
            to_sk: format!("AUDIT#{}~", request.to.map(time_prefix).unwrap_or_default()),
            limit: request.limit,
            after,
        },
    )
    .await?;
    Ok(listing.page(page.items, page.next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AuditId;

    #[test]
    fn an_ids_time_prefix_bounds_it_between_its_milliseconds() {
        let before = Utc::now();
        let id = AuditId::new().to_string();
        let after = Utc::now() + chrono::Duration::milliseconds(1);
        assert!(time_prefix(before).as_str() <= id.as_str(), "{id}");
        assert!(format!("{}~", time_prefix(after)).as_str() > id.as_str());
        assert!(time_prefix(after).as_str() > &id[..13], "{id}");
    }
}
