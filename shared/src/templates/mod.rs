//! The templates service: built-in defaults and each artist's own templates, who may read and
//! change them, the default of each team, previews, and installing the built-ins.

pub mod builtin;

use chrono::Utc;
use serde::Serialize;
use serde_json::json;

use crate::auth::Caller;
use crate::domain::{
    ArtistId, ContactFields, ContactId, ContactRole, EmailAddress, EmailTemplate, Language,
    TemplateId, TemplateSummary,
};
use crate::domain::{AuditAction, AuditRecord};
use crate::render::{
    self, ContactVars, Mailbox, MessageIds, MessageTemplate, Preview, PreviewError, PreviewInput,
    Shared, TemplateProblem, TemplateSource, Tracking,
};
use crate::store::templates::{self as store, Owner};
use crate::store::{self as stores, TransactOutcome};
use crate::{ApiError, App};

pub const NAME_MAX: usize = 200;
/// The seed's `subject_template VARCHAR(300)`.
pub const SUBJECT_MAX: usize = 300;
/// Bytes of HTML source: room for a rich newsletter while the item stays far below DynamoDB's
/// 400 KB (the rendered message is checked against Gmail's 102 KB separately).
pub const CONTENT_MAX: usize = 200 * 1024;
pub const TEXT_MAX: usize = 100 * 1024;

#[derive(Debug, Clone)]
pub struct NewTemplate {
    pub artist: ArtistId,
    pub contact_role: ContactRole,
    pub name: String,
    pub language: Language,
    pub subject_template: String,
    pub content_template: String,
    pub text_template: Option<String>,
    pub append_signature: bool,
    pub is_default: bool,
    pub based_on: Option<TemplateId>,
}

/// A partial update: `None` leaves a field as it is. Team, language and artist are fixed at
/// creation (a translation is a new template).
#[derive(Debug, Clone, Default)]
pub struct TemplateChanges {
    pub name: Option<String>,
    pub subject_template: Option<String>,
    pub content_template: Option<String>,
    pub text_template: Option<Option<String>>,
    pub append_signature: Option<bool>,
    pub is_default: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// Without an artist, the built-ins only.
    pub artist: Option<ArtistId>,
    pub contact_role: Option<ContactRole>,
    pub language: Option<Language>,
}

/// Built-ins and, for an artist, their own templates the caller may see: each team's defaults
/// first (an artist's own default replacing the built-in one of its language), then by name.
pub async fn list(
    app: &App,
    caller: &Caller,
    request: ListRequest,
) -> Result<Vec<TemplateSummary>, ApiError> {
    let mut templates = store::list(app, Owner::BuiltIn, request.contact_role).await?;
    if let Some(artist) = request.artist {
        let access = caller.require_artist(artist)?;
        if let Some(role) = request.contact_role {
            caller.require_team(artist, role)?;
        }
        let own = store::list(app, Owner::Artist(artist), request.contact_role).await?;
        templates.retain(|t| access.allows(t.contact_role));
        for builtin in &mut templates {
            builtin.is_default = !own.iter().any(|t| {
                t.is_default
                    && t.contact_role == builtin.contact_role
                    && t.language == builtin.language
            });
        }
        templates.extend(own.into_iter().filter(|t| access.allows(t.contact_role)));
    }
    if let Some(language) = request.language {
        templates.retain(|t| t.language == language);
    }
    templates.sort_by(|a, b| {
        (
            a.contact_role,
            !a.is_default,
            a.language,
            a.built_in,
            &a.name,
        )
            .cmp(&(
                b.contact_role,
                !b.is_default,
                b.language,
                b.built_in,
                &b.name,
            ))
    });
    Ok(templates.iter().map(TemplateSummary::from).collect())
}

/// A template the caller may read: any built-in, or one of an artist's team they belong to.
/// Others are 404, whether they exist or not.
pub async fn get(app: &App, caller: &Caller, id: TemplateId) -> Result<EmailTemplate, ApiError> {
    store::get(app, id)
        .await?
        .filter(|t| {
            t.artist_id
                .is_none_or(|artist| caller.can(artist, t.contact_role))
        })
        .ok_or_else(|| ApiError::not_found("template"))
}

/// A template the caller may change: their team's, never a built-in.
async fn own(
    app: &App,
    caller: &Caller,
    id: TemplateId,
) -> Result<(EmailTemplate, ArtistId), ApiError> {
    let template = get(app, caller, id).await?;
    match template.artist_id {
        Some(artist) => Ok((template, artist)),
        None => Err(ApiError::Conflict {
            code: "built_in_template",
            message: "built-in templates cannot be changed; create your own from it with based_on"
                .into(),
            details: json!({ "template_id": id }),
        }),
    }
}

/// Compiles the sources as a send would: syntax, unknown variables and filters, the
/// composition (signature, tracked links, text part) and the render budget. Answers the
/// variables read.
fn compile(app: &App, template: &EmailTemplate) -> Result<Vec<String>, ApiError> {
    compile_checked(app, &source(template), None).map(|compiled| compiled.variables)
}

/// `source` (with `signature`) compiled as a send compiles it, and rendered once for a sample
/// recipient within the render budget: what every save of sendable content checks.
pub fn compile_checked(
    app: &App,
    source: &TemplateSource<'_>,
    signature: Option<&str>,
) -> Result<MessageTemplate, ApiError> {
    let compiled = MessageTemplate::compile(
        source,
        signature,
        Tracking {
            base_url: app.config.public_base_url.clone(),
            links: true,
            open_pixel: true,
            utm: None,
        },
        app.signer()?.clone(),
    )
    .map_err(invalid_template)?;
    compiled.check_budget().map_err(|error| {
        invalid_template(vec![TemplateProblem {
            field: "content_template",
            line: error.line().unwrap_or(1),
            column: 1,
            message: format!(
                "rendering this takes more than a message may ({error}): loops and repetitions must stay small"
            ),
        }])
    })?;
    Ok(compiled)
}

pub fn source(template: &EmailTemplate) -> TemplateSource<'_> {
    TemplateSource {
        subject: &template.subject_template,
        html: &template.content_template,
        text: template.text_template.as_deref(),
    }
}

pub fn invalid_template(problems: Vec<TemplateProblem>) -> ApiError {
    let message = match problems.as_slice() {
        [one] => format!(
            "{} line {}, column {}: {}",
            one.field, one.line, one.column, one.message
        ),
        many => format!("the template has {} problems", many.len()),
    };
    ApiError::Unprocessable {
        code: "template_invalid",
        message,
        details: json!({ "problems": problems }),
    }
}

pub async fn create(
    app: &App,
    caller: &Caller,
    new: NewTemplate,
) -> Result<EmailTemplate, ApiError> {
    caller.require_team(new.artist, new.contact_role)?;
    if let Some(based_on) = new.based_on {
        // Only what the caller may read can be a model (and the link must lead somewhere).
        get(app, caller, based_on).await.map_err(|_| {
            ApiError::invalid_fields(vec![crate::FieldError::new(
                "based_on",
                "is not a template you can read",
            )])
        })?;
    }
    let now = Utc::now();
    let mut template = EmailTemplate {
        id: TemplateId::new(),
        artist_id: Some(new.artist),
        contact_role: new.contact_role,
        name: new.name,
        language: new.language,
        subject_template: new.subject_template,
        content_template: new.content_template,
        text_template: new.text_template,
        append_signature: new.append_signature,
        variables: Vec::new(),
        is_default: new.is_default,
        built_in: false,
        based_on: new.based_on,
        created_by: caller.user.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    template.variables = compile(app, &template)?;
    let mut writes = vec![store::put_new(app, &template)?];
    if template.is_default {
        writes.extend(take_default(app, &template, new.artist).await?);
    }
    let audit = audit(
        new.artist,
        caller,
        AuditAction::TemplateCreated,
        &template,
        vec![],
    );
    writes.push(stores::audit::put(app, audit)?);
    write(app, writes, template.id).await?;
    tracing::info!(artist = %new.artist, template = %template.id, "template created");
    Ok(template)
}

pub async fn update(
    app: &App,
    caller: &Caller,
    id: TemplateId,
    changes: TemplateChanges,
) -> Result<EmailTemplate, ApiError> {
    let (before, artist) = own(app, caller, id).await?;
    let mut after = before.clone();
    let mut changed = Vec::new();
    let mut set = |name: &str, differs: bool| {
        if differs {
            changed.push(name.to_owned());
        }
    };
    if let Some(name) = changes.name {
        set("name", name != after.name);
        after.name = name;
    }
    if let Some(subject) = changes.subject_template {
        set("subject_template", subject != after.subject_template);
        after.subject_template = subject;
    }
    if let Some(content) = changes.content_template {
        set("content_template", content != after.content_template);
        after.content_template = content;
    }
    if let Some(text) = changes.text_template {
        set("text_template", text != after.text_template);
        after.text_template = text;
    }
    if let Some(append) = changes.append_signature {
        set("append_signature", append != after.append_signature);
        after.append_signature = append;
    }
    if let Some(is_default) = changes.is_default {
        set("is_default", is_default != after.is_default);
        after.is_default = is_default;
    }
    if changed.is_empty() {
        return Ok(before);
    }
    after.variables = compile(app, &after)?;
    after.updated_at = Utc::now();
    after.version = before.version + 1;
    let mut writes = vec![store::put_existing(app, &after, before.version)?];
    match (before.is_default, after.is_default) {
        (false, true) => writes.extend(take_default(app, &after, artist).await?),
        (true, false) => writes.push(store::release_default(app, &before, artist)?),
        _ => {}
    }
    let audit = audit(
        artist,
        caller,
        AuditAction::TemplateUpdated,
        &after,
        changed,
    );
    writes.push(stores::audit::put(app, audit)?);
    write(app, writes, id).await?;
    tracing::info!(artist = %artist, template = %id, "template updated");
    Ok(after)
}

pub async fn delete(app: &App, caller: &Caller, id: TemplateId) -> Result<(), ApiError> {
    let (template, artist) = own(app, caller, id).await?;
    let mut writes = vec![store::delete(app, &template, template.version)?];
    if template.is_default {
        writes.push(store::release_default(app, &template, artist)?);
    }
    let audit = audit(
        artist,
        caller,
        AuditAction::TemplateDeleted,
        &template,
        vec![],
    );
    writes.push(stores::audit::put(app, audit)?);
    write(app, writes, id).await?;
    tracing::info!(artist = %artist, template = %id, "template deleted");
    Ok(())
}

/// The writes that make `template` its team's default for its language, taking the flag from
/// the previous default.
async fn take_default(
    app: &App,
    template: &EmailTemplate,
    artist: ArtistId,
) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, ApiError> {
    let previous =
        store::get_default(app, artist, template.contact_role, template.language).await?;
    let mut writes = vec![store::claim_default(app, template, artist, previous)?];
    if let Some(previous) = previous.filter(|p| *p != template.id) {
        writes.push(store::clear_default_flag(app, previous)?);
    }
    Ok(writes)
}

async fn write(
    app: &App,
    writes: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
    id: TemplateId,
) -> Result<(), ApiError> {
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => Ok(()),
        TransactOutcome::ConditionFailed(failed) => {
            tracing::info!(template = %id, ?failed, "template write lost a race");
            Err(ApiError::Conflict {
                code: "concurrent_change",
                message: "the template (or its team's default) changed meanwhile; read it again and retry"
                    .into(),
                details: json!({}),
            })
        }
    }
}

fn audit(
    artist: ArtistId,
    caller: &Caller,
    action: AuditAction,
    template: &EmailTemplate,
    changed: Vec<String>,
) -> AuditRecord {
    AuditRecord::new(
        artist,
        &caller.user,
        action,
        format!("template#{}", template.id),
        changed,
        Utc::now(),
    )
}

/// What installing the built-ins did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstallReport {
    pub written: usize,
    pub unchanged: usize,
    pub removed: usize,
}

/// Installs every built-in the code ships and removes those it no longer does. Running it again
/// writes nothing.
pub async fn install_builtins(app: &App) -> Result<InstallReport, ApiError> {
    let mut report = InstallReport::default();
    let shipped = builtin::all(Utc::now());
    for installed in &shipped {
        if store::install_builtin(app, &installed.template, &installed.revision).await? {
            report.written += 1;
        } else {
            report.unchanged += 1;
        }
    }
    for stored in store::list(app, Owner::BuiltIn, None).await? {
        if !shipped.iter().any(|s| s.template.id == stored.id) {
            store::remove_builtin(app, stored.id).await?;
            report.removed += 1;
        }
    }
    tracing::info!(?report, "built-in templates installed");
    Ok(report)
}

/// Whom a preview is for: a sample typed in, or one of the artist's contacts.
#[derive(Debug, Clone)]
pub enum PreviewContact {
    Sample {
        email: EmailAddress,
        fields: Box<ContactFields>,
    },
    Existing(ContactId),
}

#[derive(Debug, Clone)]
pub struct PreviewRequest {
    pub artist: ArtistId,
    pub contact: PreviewContact,
    /// The artist, campaign and sender values to show (campaigns supply them when sending).
    pub shared: Shared,
}

/// The template rendered for one contact as it would be sent by the caller: their signature,
/// tracked links, the MIME headers, and the content checks.
pub async fn preview(
    app: &App,
    caller: &Caller,
    id: TemplateId,
    request: PreviewRequest,
) -> Result<Preview, ApiError> {
    let template = get(app, caller, id).await?;
    if template
        .artist_id
        .is_some_and(|artist| artist != request.artist)
    {
        return Err(ApiError::not_found("template"));
    }
    caller.require_team(request.artist, template.contact_role)?;
    let (email, fields) = match request.contact {
        PreviewContact::Sample { email, fields } => (email, *fields),
        PreviewContact::Existing(contact) => {
            let contact = crate::contacts::get(app, caller, request.artist, contact).await?;
            (contact.email, contact.fields)
        }
    };
    let signature = if template.append_signature {
        store::get_signature(app, request.artist, template.contact_role, &caller.user)
            .await?
            .map(|signature| signature.html)
    } else {
        None
    };
    let contact = ContactVars::from_contact(email.as_str(), &fields);
    let fallback_from = format!("noreply@{}", app.config.reply_domain);
    let from = Mailbox {
        name: request
            .shared
            .sender
            .name
            .as_deref()
            .or(request.shared.artist.name.as_deref()),
        address: request
            .shared
            .sender
            .email
            .as_deref()
            .unwrap_or(&fallback_from),
    };
    render::preview(&PreviewInput {
        role: template.contact_role,
        source: source(&template),
        signature: signature.as_deref(),
        shared: &request.shared,
        contact: &contact,
        to: Mailbox {
            name: Some(&contact.full_name),
            address: email.ascii(),
        },
        from,
        reply_domain: &app.config.reply_domain,
        ids: MessageIds {
            artist: request.artist,
            role: template.contact_role,
            campaign: None,
            contact: None,
            send: uuid::Uuid::now_v7(),
        },
        base_url: &app.config.public_base_url,
        signer: app.signer()?,
    })
    .map_err(|error| match error {
        PreviewError::Template(problems) => invalid_template(problems),
        PreviewError::Render(error) => ApiError::Unprocessable {
            code: "template_render_failed",
            message: format!("the template does not render for this contact: {error}"),
            details: json!({ "line": error.line() }),
        },
    })
}
