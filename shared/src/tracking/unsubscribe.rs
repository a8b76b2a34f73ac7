//! Leaving a list: the team's (the contact) or everything from the artist (every team's
//! contact with that address, and an artist-wide suppression so a later import into another
//! team does not bring the person back).

use super::event::UnsubscribeScope;
use super::record::change_status;
use crate::domain::ContactStatus;
use crate::store::sends::Send;
use crate::store::{self, suppression};
use crate::{ApiError, App};

/// Idempotent: applying it again finds everyone unsubscribed already.
pub async fn apply(app: &App, send: &Send, scope: UnsubscribeScope) -> Result<(), ApiError> {
    match scope {
        UnsubscribeScope::Team => {
            change_status(
                app,
                send.artist_id,
                send.contact_id,
                ContactStatus::Unsubscribed,
            )
            .await
        }
        UnsubscribeScope::Artist => {
            let Some(contact) = store::contacts::get(app, send.artist_id, send.contact_id).await?
            else {
                return Ok(());
            };
            suppression::suppress_for_artist(app, send.artist_id, &contact.email).await?;
            let everywhere =
                store::contacts::ids_in_every_team(app, send.artist_id, &contact.email).await?;
            for id in everywhere {
                change_status(app, send.artist_id, id, ContactStatus::Unsubscribed).await?;
            }
            Ok(())
        }
    }
}
