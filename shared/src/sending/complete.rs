//! A campaign is sent once every recipient is dispatched and has an outcome.

use crate::audit::AuditAction;
use crate::domain::{Campaign, CampaignStatus, UserId};
use crate::store::campaigns as store;
use crate::{ApiError, App};

/// Who the service's own moves are recorded as.
pub const SERVICE_ACTOR: &str = "artisthub-mailing";

pub async fn complete_if_done(app: &App, campaign: &Campaign) -> Result<(), ApiError> {
    let done = campaign.counters.success_count + campaign.counters.failed_count;
    if campaign.status != CampaignStatus::Sending
        || !campaign.dispatched
        || done < campaign.counters.recipient_count
    {
        return Ok(());
    }
    // Conditional on still sending: two senders finishing together move it once.
    let moved = store::move_status(
        app,
        campaign.artist_id,
        campaign.id,
        (CampaignStatus::Sending, CampaignStatus::Sent),
        vec![],
        super::start::audit(
            campaign,
            &UserId::new(SERVICE_ACTOR),
            AuditAction::CampaignSent,
        ),
    )
    .await?;
    if moved.is_some() {
        tracing::info!(artist = %campaign.artist_id, campaign = %campaign.id, recipients = campaign.counters.recipient_count, "campaign sent");
    }
    Ok(())
}
