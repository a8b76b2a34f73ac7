//! A campaign's recipients and how far each message got (`GET …/campaigns/{id}/sends`).
//!
//! A send's status is not stored: it is the furthest step its set-once times reached
//! (`store::sends::SendEngagement`). Events arrive in any order and any number of times, and
//! each only ever fills a time that was empty, so a late Delivery after an Open leaves the send
//! opened, and a replayed Bounce changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::Caller;
use crate::cursor::{Listing, Page};
use crate::domain::{ArtistId, CampaignId, ContactId, EmailAddress};
use crate::store::{self, sends::Send, sends::SendStatus};
use crate::{ApiError, App, campaigns};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// The seed's send statuses, in the order a message moves through them, with the pipeline's
/// own before SES (`sending`: claimed, its SES call made or about to be; `failed`: never to be
/// sent) and `complained` after `unsubscribed`, the strongest thing a reader can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Pending,
    Sending,
    Failed,
    /// Left out by the team's consent policy: never sent.
    Skipped,
    Sent,
    Delivered,
    Bounced,
    Opened,
    Clicked,
    /// The person answered (automatic replies are left out).
    Replied,
    Unsubscribed,
    Complained,
}

impl Progress {
    pub fn of(send: &Send) -> Self {
        let engagement = &send.engagement;
        let reached = [
            (engagement.complained_at, Self::Complained),
            (engagement.unsubscribed_at, Self::Unsubscribed),
            (engagement.replied_at, Self::Replied),
            (engagement.clicked_at, Self::Clicked),
            (engagement.opened_at, Self::Opened),
            (engagement.bounced_at, Self::Bounced),
            (engagement.delivered_at, Self::Delivered),
        ];
        reached
            .into_iter()
            .find_map(|(at, progress)| at.map(|_| progress))
            .unwrap_or(match send.status {
                SendStatus::Pending => Self::Pending,
                SendStatus::Claimed => Self::Sending,
                SendStatus::Failed => Self::Failed,
                SendStatus::Sent => Self::Sent,
                SendStatus::Skipped => Self::Skipped,
            })
    }
}

/// One recipient of a campaign. The contact's fields are absent once the contact is erased.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Recipient {
    pub send_id: Uuid,
    pub contact_id: ContactId,
    pub email: Option<EmailAddress>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: Progress,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
    pub clicked_at: Option<DateTime<Utc>>,
    pub bounced_at: Option<DateTime<Utc>>,
    pub complained_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub replied_at: Option<DateTime<Utc>>,
    /// Why SES refused it, for a failed send.
    pub error: Option<String>,
}

/// A page of the recipients of a campaign the caller may see (404 otherwise, as for the
/// campaign): one Query of its sends and one BatchGetItem of their contacts.
pub async fn of_campaign(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    campaign: CampaignId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Recipient>, ApiError> {
    campaigns::get(app, caller, artist, campaign).await?;
    let listing = Listing::new(
        app.signing_key()?,
        json!(["sends", artist, campaign]).to_string(),
    );
    let after = listing.resume(cursor)?;
    let page = store::sends::of_campaign(app, campaign, limit, after).await?;
    let ids: Vec<ContactId> = page.items.iter().map(|send| send.contact_id).collect();
    let mut contacts: HashMap<ContactId, _> = store::contacts::get_many(app, artist, &ids)
        .await?
        .into_iter()
        .map(|contact| (contact.id, contact))
        .collect();
    let recipients = page
        .items
        .into_iter()
        .map(|send| {
            let contact = contacts.remove(&send.contact_id);
            let (email, first_name, last_name) = match contact {
                Some(contact) => (
                    Some(contact.email),
                    contact.fields.first_name,
                    contact.fields.last_name,
                ),
                None => (None, None, None),
            };
            let status = Progress::of(&send);
            let engagement = send.engagement;
            Recipient {
                send_id: send.send_id,
                contact_id: send.contact_id,
                email,
                first_name,
                last_name,
                status,
                sent_at: send.sent_at,
                delivered_at: engagement.delivered_at,
                opened_at: engagement.opened_at,
                clicked_at: engagement.clicked_at,
                bounced_at: engagement.bounced_at,
                complained_at: engagement.complained_at,
                unsubscribed_at: engagement.unsubscribed_at,
                replied_at: engagement.replied_at,
                error: send.error,
            }
        })
        .collect();
    Ok(listing.page(recipients, page.next))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::domain::ContactRole;

    fn send(status: SendStatus) -> Send {
        let mut send = Send::pending(
            (ArtistId::new(), ContactRole::Press),
            CampaignId::new(),
            ContactId::new(),
            crate::store::suppression::OptOutKeys {
                team: "team".into(),
                artist: "artist".into(),
                address: "address".into(),
            },
            Utc::now(),
        );
        send.status = status;
        send
    }

    #[test]
    fn before_any_event_the_status_is_the_pipelines() {
        let cases = [
            (SendStatus::Pending, Progress::Pending),
            (SendStatus::Claimed, Progress::Sending),
            (SendStatus::Failed, Progress::Failed),
            (SendStatus::Sent, Progress::Sent),
        ];
        for (status, expected) in cases {
            assert_eq!(Progress::of(&send(status)), expected, "{status:?}");
        }
    }

    #[test]
    fn the_status_is_the_furthest_step_reached_whatever_order_events_came_in() {
        let t0 = Utc::now();
        let at = |minutes| Some(t0 + Duration::minutes(minutes));
        let mut sent = send(SendStatus::Sent);
        // Opened first, delivered after (SES's Delivery can come after a fast reader's open).
        sent.engagement.opened_at = at(1);
        sent.engagement.delivered_at = at(2);
        assert_eq!(Progress::of(&sent), Progress::Opened);
        sent.engagement.clicked_at = at(3);
        assert_eq!(Progress::of(&sent), Progress::Clicked);
        sent.engagement.replied_at = at(4);
        assert_eq!(Progress::of(&sent), Progress::Replied);
        sent.engagement.unsubscribed_at = at(4);
        assert_eq!(Progress::of(&sent), Progress::Unsubscribed);
        sent.engagement.complained_at = at(5);
        assert_eq!(Progress::of(&sent), Progress::Complained);

        let mut bounced = send(SendStatus::Sent);
        bounced.engagement.bounced_at = at(1);
        assert_eq!(Progress::of(&bounced), Progress::Bounced);
        bounced.engagement.delivered_at = at(2);
        assert_eq!(Progress::of(&bounced), Progress::Bounced);
    }
}
