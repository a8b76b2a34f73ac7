//! The campaigns service: drafting, editing and listing campaigns, with the rules on who may and
//! in which status. Sending, scheduling and the moves between statuses build on these.

use chrono::Utc;
use serde_json::json;

use crate::auth::{Caller, RoleAccess};
use crate::cursor::{Listing, Page};
use crate::domain::{
    AbTest, ArtistId, BestTimeWindow, Campaign, CampaignContent, CampaignCounters, CampaignId,
    CampaignKind, CampaignStatus, ContactRole, Language, MessageSources, Money, Recipients, Sender,
    TemplateId, Variant, VariantIndex,
};
use crate::domain::{AuditAction, AuditRecord};
use crate::render::compose::with_preheader;
use crate::store::campaigns::{self as store, ListQuery};
use crate::store::team_list::Teams;
use crate::store::{self as stores, TransactOutcome};
use crate::{ApiError, App, FieldError, templates};

pub const NAME_MAX: usize = 200;
pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 25;

#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub artist: ArtistId,
    pub contact_role: ContactRole,
    pub name: String,
    pub content: CampaignContent,
    pub recipients: Recipients,
    pub sender: Sender,
    pub track_opens: bool,
    pub track_clicks: bool,
    pub utm_campaign: Option<String>,
    pub ab_test: Option<AbTest>,
    pub cost: Option<Money>,
    pub send_at_best_time: Option<BestTimeWindow>,
}

/// A partial update: `None` leaves a field as it is; `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct CampaignChanges {
    pub name: Option<String>,
    pub template_id: Option<Option<TemplateId>>,
    pub subject: Option<Option<String>>,
    pub content: Option<Option<String>>,
    pub text_content: Option<Option<String>>,
    pub preheader: Option<Option<String>>,
    pub recipients: Option<Recipients>,
    pub sender: Option<Sender>,
    pub track_opens: Option<bool>,
    pub track_clicks: Option<bool>,
    pub utm_campaign: Option<Option<String>>,
    pub ab_test: Option<Option<AbTest>>,
    pub cost: Option<Option<Money>>,
    pub send_at_best_time: Option<Option<BestTimeWindow>>,
}

impl CampaignChanges {
    fn only_cost(&self) -> bool {
        let Self {
            name,
            template_id,
            subject,
            content,
            text_content,
            preheader,
            recipients,
            sender,
            track_opens,
            track_clicks,
            utm_campaign,
            ab_test,
            cost,
            send_at_best_time,
        } = self;
        cost.is_some()
            && name.is_none()
            && template_id.is_none()
            && subject.is_none()
            && content.is_none()
            && text_content.is_none()
            && preheader.is_none()
            && recipients.is_none()
            && sender.is_none()
            && track_opens.is_none()
            && track_clicks.is_none()
            && utm_campaign.is_none()
            && ab_test.is_none()
            && send_at_best_time.is_none()
    }
}

pub struct ListRequest {
    pub artist: ArtistId,
    pub contact_role: Option<ContactRole>,
    pub status: Option<CampaignStatus>,
    pub limit: usize,
    pub cursor: Option<String>,
}

/// The sources a campaign sends: its template's, with its own subject over the template's, or
/// its own subject and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedContent {
    pub subject: String,
    pub html: String,
    pub text: Option<String>,
    pub preheader: Option<String>,
    pub append_signature: bool,
    /// The template's language; `None` for a campaign's own content.
    pub language: Option<Language>,
}

impl ResolvedContent {
    /// The sources a message is compiled from: the preheader hidden in the HTML, and the
    /// signature to append (if any).
    pub fn sources(&self, signature: Option<String>) -> MessageSources {
        MessageSources {
            subject: self.subject.clone(),
            html: match &self.preheader {
                Some(preheader) => with_preheader(&self.html, preheader),
                None => self.html.clone(),
            },
            text: self.text.clone(),
            signature,
        }
    }
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid_fields(vec![FieldError::new(field, message)])
}

/// What `campaign` sends, checked: the template must be of the campaign's team (a built-in or
/// the artist's own) and, when a caller asks, one they can read; the whole must compile.
pub async fn resolve_content(
    app: &App,
    caller: Option<&Caller>,
    artist: ArtistId,
    role: ContactRole,
    content: &CampaignContent,
) -> Result<ResolvedContent, ApiError> {
    let resolved = match content.template_id {
        Some(id) => {
            if content.content.is_some() {
                return Err(invalid(
                    "content",
                    "give either template_id or content, not both",
                ));
            }
            let template = match caller {
                // Not found or not theirs is the caller's mistake; an outage stays an outage.
                Some(caller) => match templates::get(app, caller, id).await {
                    Ok(template) => Some(template),
                    Err(ApiError::NotFound { .. } | ApiError::Forbidden(_)) => None,
                    Err(other) => return Err(other),
                },
                None => crate::store::templates::get(app, id).await?,
            };
            let template = template
                .filter(|t| {
                    t.contact_role == role && t.artist_id.is_none_or(|owner| owner == artist)
                })
                .ok_or_else(|| invalid("template_id", "is not a template of this team"))?;
            ResolvedContent {
                subject: content.subject.clone().unwrap_or(template.subject_template),
                html: template.content_template,
                text: template.text_template,
                preheader: content.preheader.clone(),
                append_signature: template.append_signature,
                language: Some(template.language),
            }
        }
        None => match (&content.subject, &content.content) {
            (Some(subject), Some(html)) => ResolvedContent {
                subject: subject.clone(),
                html: html.clone(),
                text: content.text_content.clone(),
                preheader: content.preheader.clone(),
                append_signature: true,
                language: None,
            },
            (None, _) => return Err(invalid("subject", "is required without a template_id")),
            (_, None) => return Err(invalid("content", "is required without a template_id")),
        },
    };
    templates::compile_checked(app, &(&resolved.sources(None)).into(), None)?;
    Ok(resolved)
}

/// What one variant sends: the campaign's content with the variant's changes. A variant's own
/// HTML comes with its own text or none (the text is then derived from its HTML).
pub fn variant_content(base: &ResolvedContent, variant: &Variant) -> ResolvedContent {
    let mut resolved = base.clone();
    if let Some(subject) = &variant.subject {
        resolved.subject = subject.clone();
    }
    match (&variant.content, &variant.text_content) {
        (Some(html), text) => {
            resolved.html = html.clone();
            resolved.text = text.clone();
        }
        (None, Some(text)) => resolved.text = Some(text.clone()),
        (None, None) => {}
    }
    if let Some(preheader) = &variant.preheader {
        resolved.preheader = Some(preheader.clone());
    }
    resolved
}

/// Every variant of `test` compiles over `base`; a problem names its variant.
pub fn check_variants(app: &App, base: &ResolvedContent, test: &AbTest) -> Result<(), ApiError> {
    for (index, variant) in test.indexes().zip(&test.variants) {
        let resolved = variant_content(base, variant);
        templates::compile_checked(app, &(&resolved.sources(None)).into(), None)
            .map_err(|error| in_variant(index, error))?;
    }
    Ok(())
}

/// Sending at each recipient's best hour spreads a campaign over its window: a test-then-winner
/// test, which needs its test over before the rest goes, cannot be spread so (a split can).
fn best_time_fits(window: Option<&BestTimeWindow>, test: Option<&AbTest>) -> Result<(), ApiError> {
    let winner =
        test.is_some_and(|test| matches!(test.mode, crate::domain::AbMode::TestThenWinner { .. }));
    if window.is_some() && winner {
        return Err(invalid(
            "send_at_best_time",
            "cannot spread a test-then-winner A/B test over the window: use a split test, or send the test at once",
        ));
    }
    Ok(())
}

/// `error`, saying which variant it is about.
pub fn in_variant(variant: VariantIndex, error: ApiError) -> ApiError {
    match error {
        ApiError::Unprocessable {
            code,
            message,
            mut details,
        } => {
            if let Some(details) = details.as_object_mut() {
                details.insert("variant".into(), json!(variant));
            }
            ApiError::Unprocessable {
                code,
                message: format!("variant {variant}: {message}"),
                details,
            }
        }
        other => other,
    }
}

pub async fn create(app: &App, caller: &Caller, new: NewCampaign) -> Result<Campaign, ApiError> {
    caller.require_team(new.artist, new.contact_role)?;
    let resolved = resolve_content(
        app,
        Some(caller),
        new.artist,
        new.contact_role,
        &new.content,
    )
    .await?;
    if let Some(test) = &new.ab_test {
        check_variants(app, &resolved, test)?;
    }
    best_time_fits(new.send_at_best_time.as_ref(), new.ab_test.as_ref())?;
    let now = Utc::now();
    let campaign = Campaign {
        id: CampaignId::new(),
        artist_id: new.artist,
        contact_role: new.contact_role,
        kind: CampaignKind::Bulk,
        name: new.name,
        content: new.content,
        recipients: new.recipients,
        sender: new.sender,
        track_opens: new.track_opens,
        track_clicks: new.track_clicks,
        utm_campaign: new.utm_campaign,
        ab_test: new.ab_test,
        cost: new.cost,
        send_at_best_time: new.send_at_best_time,
        slots_queued: None,
        test_ends_at: None,
        ab_decision: None,
        frozen: None,
        status: CampaignStatus::Draft,
        status_reason: None,
        scheduled_at: None,
        sent_at: None,
        dispatched: false,
        counters: CampaignCounters::default(),
        created_by: caller.user.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let audit = audit(&campaign, caller, AuditAction::CampaignCreated, vec![]);
    write(
        app,
        vec![
            store::put_new(app, &campaign)?,
            stores::audit::put(app, audit)?,
        ],
    )
    .await?;
    tracing::info!(artist = %campaign.artist_id, campaign = %campaign.id, "campaign created");
    Ok(campaign)
}

/// A campaign the caller may see, or 404 whether it does not exist or is another team's.
pub async fn get(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Campaign, ApiError> {
    let access = caller.require_artist(artist)?;
    store::get(app, artist, id)
        .await?
        .filter(|campaign| access.allows(campaign.contact_role))
        .ok_or_else(|| ApiError::not_found("campaign"))
}

pub async fn list(
    app: &App,
    caller: &Caller,
    request: ListRequest,
) -> Result<Page<Campaign>, ApiError> {
    let access = caller.require_artist(request.artist)?;
    let teams = match (request.contact_role, access) {
        (Some(role), access) if access.allows(role) => Teams::One(role),
        (Some(role), _) => {
            return Err(ApiError::forbidden(format!(
                "you have no access to this artist's {role} team"
            )));
        }
        (None, RoleAccess::All) => Teams::All,
        (None, RoleAccess::Only(roles)) if roles.len() == 1 => {
            Teams::One(*roles.first().expect("one role"))
        }
        (None, RoleAccess::Only(roles)) => Teams::Several(roles.into_iter().collect()),
    };
    let listing = Listing::new(
        app.signing_key()?,
        json!([
            "campaigns",
            request.artist,
            format!("{teams:?}"),
            request.status
        ])
        .to_string(),
    );
    let after = listing.resume(request.cursor.as_deref())?;
    let page = store::list(
        app,
        &ListQuery {
            artist: request.artist,
            teams,
            status: request.status,
            limit: request.limit,
            after,
        },
    )
    .await?;
    Ok(listing.page(page.items, page.next))
}

/// A campaign the caller's team may change: found, theirs, and still a draft or scheduled.
async fn editable(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Campaign, ApiError> {
    let campaign = get(app, caller, artist, id).await?;
    caller.require_team(artist, campaign.contact_role)?;
    if !campaign.status.is_editable() {
        return Err(status_conflict(
            "campaign_not_editable",
            &campaign,
            "only draft and scheduled campaigns can be edited",
        ));
    }
    Ok(campaign)
}

pub fn status_conflict(code: &'static str, campaign: &Campaign, message: &str) -> ApiError {
    ApiError::Conflict {
        code,
        message: format!("{message}; this one is {}", campaign.status.as_str()),
        details: json!({ "status": campaign.status }),
    }
}

pub async fn update(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
    changes: CampaignChanges,
) -> Result<Campaign, ApiError> {
    // A campaign's cost is often known once it has gone (the ads' bill): it may be set in any
    // status; everything else only while the campaign is a draft or scheduled.
    let cost_only = changes.only_cost();
    let before = match cost_only {
        true => {
            let campaign = get(app, caller, artist, id).await?;
            caller.require_team(artist, campaign.contact_role)?;
            campaign
        }
        false => editable(app, caller, artist, id).await?,
    };
    let mut after = before.clone();
    let mut changed = Vec::new();
    macro_rules! apply {
        ($field:ident, $($path:tt)+) => {
            if let Some(value) = changes.$field {
                if value != after.$($path)+ {
                    changed.push(stringify!($field).to_owned());
                }
                after.$($path)+ = value;
            }
        };
    }
    apply!(name, name);
    apply!(template_id, content.template_id);
    apply!(subject, content.subject);
    apply!(content, content.content);
    apply!(text_content, content.text_content);
    apply!(preheader, content.preheader);
    apply!(recipients, recipients);
    apply!(sender, sender);
    apply!(track_opens, track_opens);
    apply!(track_clicks, track_clicks);
    apply!(utm_campaign, utm_campaign);
    apply!(ab_test, ab_test);
    apply!(cost, cost);
    apply!(send_at_best_time, send_at_best_time);
    if changed.is_empty() {
        return Ok(before);
    }
    if !cost_only {
        let resolved = resolve_content(
            app,
            Some(caller),
            artist,
            after.contact_role,
            &after.content,
        )
        .await?;
        if let Some(test) = &after.ab_test {
            check_variants(app, &resolved, test)?;
        }
        best_time_fits(after.send_at_best_time.as_ref(), after.ab_test.as_ref())?;
    }
    after.updated_at = Utc::now();
    after.version = before.version + 1;
    let audit = audit(&after, caller, AuditAction::CampaignUpdated, changed).with_values(
        &before,
        &after,
        &[
            "name",
            "subject",
            "template_id",
            "scheduled_at",
            "utm_campaign",
            "track_opens",
            "track_clicks",
            "cost",
            "send_at_best_time",
        ],
    );
    write(
        app,
        vec![
            match cost_only {
                // Counters and the `due` index move under a started campaign: only its cost is
                // written.
                true => store::set_cost(app, &after, before.version)?,
                false => store::put_existing(app, &after, before.version)?,
            },
            stores::audit::put(app, audit)?,
        ],
    )
    .await?;
    Ok(after)
}

pub async fn delete(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<(), ApiError> {
    let campaign = get(app, caller, artist, id).await?;
    caller.require_team(artist, campaign.contact_role)?;
    if !campaign.status.is_deletable() {
        return Err(status_conflict(
            "campaign_not_deletable",
            &campaign,
            "a campaign with sends is kept for its statistics; cancel it instead",
        ));
    }
    let audit = audit(&campaign, caller, AuditAction::CampaignDeleted, vec![]);
    write(
        app,
        vec![
            store::delete(app, &campaign, campaign.version)?,
            stores::audit::put(app, audit)?,
        ],
    )
    .await
}

async fn write(
    app: &App,
    writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<(), ApiError> {
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => Ok(()),
        TransactOutcome::ConditionFailed(_) => Err(ApiError::Conflict {
            code: "concurrent_change",
            message: "the campaign changed meanwhile; read it again and retry".into(),
            details: json!({}),
        }),
    }
}

fn audit(
    campaign: &Campaign,
    caller: &Caller,
    action: AuditAction,
    changed: Vec<String>,
) -> AuditRecord {
    AuditRecord::new(
        campaign.artist_id,
        &caller.user,
        action,
        format!("campaign#{}", campaign.id),
        changed,
        Utc::now(),
    )
}
