//! Leaving a list: the team's or everything from the artist. The choice is recorded first in
//! the suppression list, under the keys the send carries, so it holds whatever happens to the
//! contact afterwards (deleted and created again, imported again); then the contacts that exist
//! are marked unsubscribed so the CRM shows it.

use super::event::UnsubscribeScope;
use super::record::change_status;
use crate::domain::ContactStatus;
use crate::store::sends::Send;
use crate::store::{self, suppression};
use crate::{ApiError, App};

/// Idempotent: applying it again finds everything recorded already.
pub async fn apply(app: &App, send: &Send, scope: UnsubscribeScope) -> Result<(), ApiError> {
    let artist_wide = scope == UnsubscribeScope::Artist;
    let service = crate::domain::UserId::new(crate::sending::SERVICE_ACTOR);
    suppression::opt_out(
        app,
        Some((send.artist_id, &service)),
        &send.opt_out,
        artist_wide,
    )
    .await?;
    let Some(contact) = store::contacts::get(app, send.artist_id, send.contact_id).await? else {
        return Ok(());
    };
    let ids = if artist_wide {
        store::contacts::ids_in_every_team(app, send.artist_id, &contact.email).await?
    } else {
        vec![contact.id]
    };
    let how = if artist_wide {
        "the person unsubscribed from every team of the artist"
    } else {
        "the person unsubscribed from the team's mail"
    };
    for id in ids {
        change_status(
            app,
            send.artist_id,
            id,
            ContactStatus::Unsubscribed,
            Some(how),
        )
        .await?;
    }
    Ok(())
}
