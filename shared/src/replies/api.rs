//! The replies API: `GET /api/artists/{artistId}/email/replies` and `PUT …/replies/{replyId}`,
//! and the unassigned replies administrators see (`GET /api/email/replies/unassigned`).
//!
//! Team grants as everywhere: a caller sees the replies of the teams they may see, and another
//! team's reply is a 404. Reply HTML is only ever returned sanitized.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::json;

use crate::auth::{Caller, RoleAccess};
use crate::cursor::{Listing, Page};
use crate::domain::{
    ArtistId, AuditAction, AuditRecord, CampaignId, ContactId, ContactRole, ContactStatus,
    EmailAddress, Reply, ReplyId, ReplyKind, UserId,
};
use crate::render::sanitize::sanitize_signature;
use crate::store::replies::{Filters, Owner};
use crate::store::{self, TransactOutcome};
use crate::{ApiError, App};

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;
/// The longest note a team may keep on a reply.
pub const NOTE_MAX: usize = 2000;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ContactSummary {
    pub id: ContactId,
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: ContactStatus,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct CampaignSummary {
    pub id: CampaignId,
    pub name: String,
    pub subject: Option<String>,
}

/// A reply as the API shows it: its HTML sanitized, with its contact and campaign.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ReplyView {
    #[serde(flatten)]
    pub reply: Reply,
    pub contact: Option<ContactSummary>,
    pub campaign: Option<CampaignSummary>,
}

#[derive(Debug, Default)]
pub struct ListRequest {
    pub processed: Option<bool>,
    pub contact_role: Option<ContactRole>,
    pub campaign_id: Option<CampaignId>,
    pub assigned_to: Option<UserId>,
    pub kind: Option<ReplyKind>,
    pub limit: usize,
    pub cursor: Option<String>,
}

pub async fn list(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    request: ListRequest,
) -> Result<Page<ReplyView>, ApiError> {
    let access = caller.require_artist(artist)?;
    let roles: Vec<ContactRole> = match (request.contact_role, access) {
        (Some(role), access) if access.allows(role) => vec![role],
        (Some(role), _) => {
            return Err(ApiError::forbidden(format!(
                "you have no access to this artist's {role} team"
            )));
        }
        (None, RoleAccess::All) => Vec::new(),
        (None, RoleAccess::Only(roles)) => roles.into_iter().collect(),
    };
    let filters = Filters {
        processed: request.processed,
        roles,
        campaign_id: request.campaign_id.map(|id| id.to_string()),
        assigned_to: request.assigned_to.map(|user| user.to_string()),
        kind: request.kind.map(|kind| kind.as_str().to_owned()),
    };
    let listing = Listing::new(
        app.signing_key()?,
        json!([
            "replies",
            artist,
            filters.processed,
            filters.roles,
            filters.campaign_id,
            filters.assigned_to,
            filters.kind
        ])
        .to_string(),
    );
    let after = listing.resume(request.cursor.as_deref())?;
    let page =
        store::replies::list(app, Owner::Artist(artist), &filters, request.limit, after).await?;
    let views = views(app, artist, page.items).await?;
    Ok(listing.page(views, page.next))
}

/// The replies that matched nothing we sent: administrators only.
pub async fn unassigned(
    app: &App,
    caller: &Caller,
    limit: usize,
    cursor: Option<&str>,
) -> Result<Page<ReplyView>, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden(
            "unassigned replies are for administrators (mailing:admin)",
        ));
    }
    let listing = Listing::new(app.signing_key()?, "replies|unassigned".to_owned());
    let after = listing.resume(cursor)?;
    let page =
        store::replies::list(app, Owner::Unassigned, &Filters::default(), limit, after).await?;
    let views = page
        .items
        .into_iter()
        .map(|reply| ReplyView {
            reply: sanitized(reply),
            contact: None,
            campaign: None,
        })
        .collect();
    Ok(listing.page(views, page.next))
}

/// What a team may change on a reply; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Change {
    pub processed: Option<bool>,
    /// `Some(None)` unassigns.
    pub assigned_to: Option<Option<UserId>>,
    /// `Some(None)` clears it.
    pub note: Option<Option<String>>,
}

pub async fn update(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ReplyId,
    change: Change,
) -> Result<ReplyView, ApiError> {
    caller.require_artist(artist)?;
    let mut reply = store::replies::get(app, Owner::Artist(artist), id)
        .await?
        .filter(|reply| {
            reply
                .contact_role
                .is_some_and(|role| caller.can(artist, role))
        })
        .ok_or_else(|| ApiError::not_found("reply"))?;
    let before = (reply.processed, reply.assigned_to.clone());
    let mut changed = Vec::new();
    if let Some(processed) = change.processed.filter(|p| *p != reply.processed) {
        reply.processed = processed;
        changed.push("processed".to_owned());
    }
    if let Some(assigned_to) = change.assigned_to.filter(|a| *a != reply.assigned_to) {
        reply.assigned_to = assigned_to;
        changed.push("assigned_to".to_owned());
    }
    if let Some(note) = change.note.filter(|n| *n != reply.note) {
        reply.note = note;
        changed.push("note".to_owned());
    }
    if !changed.is_empty() {
        let now = Utc::now();
        reply.version += 1;
        reply.updated_at = Some(now);
        let write = store::replies::replace(app, &reply)?;
        let audit = store::audit::put(
            app,
            AuditRecord::new(
                artist,
                &caller.user,
                AuditAction::ReplyUpdated,
                format!("reply#{id}"),
                changed,
                now,
            )
            .with_change("processed", before.0, reply.processed)
            .with_change("assigned_to", &before.1, &reply.assigned_to),
        )?;
        if let TransactOutcome::ConditionFailed(_) =
            store::transact(app, vec![write, audit]).await?
        {
            return Err(ApiError::Conflict {
                code: "concurrent_change",
                message: "the reply changed meanwhile; read it again and retry".into(),
                details: json!({}),
            });
        }
    }
    let mut views = views(app, artist, vec![reply]).await?;
    views.pop().ok_or_else(|| ApiError::not_found("reply"))
}

pub(crate) fn sanitized(mut reply: Reply) -> Reply {
    reply.html = reply.html.as_deref().map(sanitize_signature);
    reply
}

/// Each reply with its contact (one BatchGetItem) and campaign (one GetItem per campaign of
/// the page, a few at once).
async fn views(
    app: &App,
    artist: ArtistId,
    replies: Vec<Reply>,
) -> Result<Vec<ReplyView>, ApiError> {
    let contact_ids: Vec<ContactId> = replies
        .iter()
        .filter_map(|r| r.contact_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let contacts: HashMap<ContactId, ContactSummary> =
        store::contacts::get_many(app, artist, &contact_ids)
            .await?
            .into_iter()
            .map(|contact| {
                (
                    contact.id,
                    ContactSummary {
                        id: contact.id,
                        email: contact.email,
                        first_name: contact.fields.first_name,
                        last_name: contact.fields.last_name,
                        status: contact.status,
                    },
                )
            })
            .collect();
    let campaign_ids: BTreeSet<CampaignId> = replies.iter().filter_map(|r| r.campaign_id).collect();
    let campaigns: HashMap<CampaignId, CampaignSummary> = futures::stream::iter(campaign_ids)
        .map(|id| async move { store::campaigns::get(app, artist, id).await })
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .map(|campaign| {
            let subject = campaign
                .frozen
                .as_ref()
                .map(|frozen| frozen.sources.subject.clone())
                .or(campaign.content.subject.clone());
            (
                campaign.id,
                CampaignSummary {
                    id: campaign.id,
                    name: campaign.name,
                    subject,
                },
            )
        })
        .collect();
    Ok(replies
        .into_iter()
        .map(|reply| {
            let contact = reply.contact_id.and_then(|id| contacts.get(&id).cloned());
            let campaign = reply.campaign_id.and_then(|id| campaigns.get(&id).cloned());
            ReplyView {
                reply: sanitized(reply),
                contact,
                campaign,
            }
        })
        .collect())
}
