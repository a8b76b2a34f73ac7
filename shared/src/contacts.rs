//! The contacts service: authorization, business rules and the audit trail around the store.

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::auth::{Caller, RoleAccess};
use crate::cursor::{Listing, Page};
use crate::domain::{
    ArtistId, Consent, ConsentBasis, Contact, ContactFields, ContactId, ContactRole, ContactSource,
    ContactStatus, EmailAddress, EngagementSummary, Tags,
};
use crate::domain::{AuditAction, AuditRecord, ConsentEntry};
use crate::store::contacts::{self as store, ListQuery, Teams};
use crate::store::{self as stores, TransactOutcome};
use crate::{ApiError, App};

/// Consent as a caller states it; the time is ours.
#[derive(Debug, Clone)]
pub struct ConsentInput {
    pub basis: ConsentBasis,
    pub source: Option<String>,
    pub proof: Option<Value>,
    pub wording_version: Option<String>,
}

impl ConsentInput {
    fn record(self, default_source: &str) -> Consent {
        Consent {
            basis: self.basis,
            source: self.source.unwrap_or_else(|| default_source.to_owned()),
            recorded_at: Utc::now(),
            proof: self.proof,
            wording_version: self.wording_version,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub contact_role: ContactRole,
    pub email: EmailAddress,
    pub fields: ContactFields,
    pub source: ContactSource,
    pub consent: Option<ConsentInput>,
}

/// A partial update: `None` leaves a field as it is; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    pub email: Option<EmailAddress>,
    /// Accepted only when it is the contact's team already: moving a person between teams is a
    /// new contact in the other team, with its own consent.
    pub contact_role: Option<ContactRole>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    pub company: Option<Option<String>>,
    pub position: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub tags: Option<Tags>,
    pub metadata: Option<Map<String, Value>>,
    pub status: Option<ContactStatus>,
    pub consent: Option<ConsentInput>,
}

#[derive(Debug, Clone)]
pub struct ListRequest {
    pub artist: ArtistId,
    pub contact_role: Option<ContactRole>,
    pub status: Option<ContactStatus>,
    pub tag: Option<String>,
    pub limit: usize,
    pub cursor: Option<String>,
}

pub const MAX_PAGE: usize = 200;
pub const DEFAULT_PAGE: usize = 50;

pub async fn create(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    new: NewContact,
) -> Result<Contact, ApiError> {
    caller.require_team(artist, new.contact_role)?;
    // A person who opted out (or whose address bounced) stays out: created again, the contact
    // carries the status the suppression list says.
    let status = suppressed_status(app, artist, new.contact_role, &new.email)
        .await?
        .unwrap_or(ContactStatus::Active);
    let now = Utc::now();
    let contact = Contact {
        id: ContactId::new(),
        artist_id: artist,
        contact_role: new.contact_role,
        email: new.email,
        fields: new.fields,
        status,
        source: new.source,
        consent: new.consent.map(|consent| consent.record("api")),
        engagement: EngagementSummary::default(),
        created_by: caller.user.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let audit = AuditRecord::contact(
        artist,
        &caller.user,
        AuditAction::ContactCreated,
        contact.id,
        vec![],
        now,
    );
    let [put, claim] = store::put_new(app, &contact)?;
    let mut writes = vec![put, claim, stores::audit::put(app, audit)?];
    let growth = stores::stats::contacts_created(artist, contact.contact_role, now.date_naive(), 1);
    writes.extend(growth.updates(app)?);
    if let Some(consent) = &contact.consent {
        let entry = ConsentEntry::given(contact.id, consent, caller.user.as_str());
        writes.push(stores::consent::append(app, artist, &entry)?);
    }
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(artist = %artist, contact = %contact.id, "contact created");
            Ok(contact)
        }
        TransactOutcome::ConditionFailed(failed) if failed == [1] => {
            Err(email_taken(app, artist, contact.contact_role, &contact.email).await?)
        }
        TransactOutcome::ConditionFailed(failed) => Err(ApiError::internal(anyhow::anyhow!(
            "creating contact {}: conditions {failed:?} failed",
            contact.id
        ))),
    }
}

/// The status the suppression list gives the address for this team, if it is on it.
async fn suppressed_status(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    email: &EmailAddress,
) -> Result<Option<ContactStatus>, ApiError> {
    let suppressed = stores::suppression::suppressed(app, artist, role, &[email]).await?;
    Ok(suppressed
        .reason(email.normalized())
        .map(|reason| reason.contact_status()))
}

/// The 409 for an address another contact of the team holds, naming that contact.
async fn email_taken(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    email: &EmailAddress,
) -> Result<ApiError, ApiError> {
    let existing = store::find_by_email(app, artist, role, email).await?;
    Ok(ApiError::Conflict {
        code: "contact_exists",
        message: format!("a {role} contact with this email address already exists"),
        details: json!({ "existing_id": existing }),
    })
}

/// A contact the caller may see, or 404 — the same answer whether it does not exist or belongs to
/// a team the caller has no grant on, so nothing leaks.
pub async fn get(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ContactId,
) -> Result<Contact, ApiError> {
    let access = caller.require_artist(artist)?;
    visible(store::get(app, artist, id).await?, &access)
}

fn visible(contact: Option<Contact>, access: &RoleAccess) -> Result<Contact, ApiError> {
    contact
        .filter(|contact| access.allows(contact.contact_role))
        .ok_or_else(|| ApiError::not_found("contact"))
}

pub async fn update(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ContactId,
    changes: ContactChanges,
) -> Result<Contact, ApiError> {
    let before = get(app, caller, artist, id).await?;
    let (mut after, changed) = apply(&before, changes)?;
    if changed.is_empty() {
        return Ok(before);
    }
    // Made active again (a new address, an invalid one corrected): not if the person opted out
    // or the address is suppressed.
    if after.status == ContactStatus::Active
        && let Some(status) =
            suppressed_status(app, artist, after.contact_role, &after.email).await?
    {
        if before.status == ContactStatus::Active
            && before.email.normalized() == after.email.normalized()
        {
            after.status = status;
        } else {
            return Err(ApiError::Unprocessable {
                code: "contact_opted_out",
                message: "this address opted out of the team's mail or is suppressed: it cannot be made active again".into(),
                details: json!({ "status": status.as_str() }),
            });
        }
    }
    let now = Utc::now();
    after.updated_at = now;
    after.version = before.version + 1;
    let mut writes = vec![store::put_existing(app, &after, before.version)?];
    let email_changed = before.email.normalized() != after.email.normalized();
    if email_changed {
        writes.push(store::release_email(app, &before, &before.email)?);
        writes.push(store::claim_email(app, &after)?);
    }
    let audit = AuditRecord::contact(
        artist,
        &caller.user,
        AuditAction::ContactUpdated,
        id,
        changed,
        now,
    )
    .with_values(&before, &after, &["status"]);
    writes.push(stores::audit::put(app, audit)?);
    for entry in ledger(&before, &after, caller, now) {
        writes.push(stores::consent::append(app, artist, &entry)?);
    }
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(artist = %artist, contact = %id, "contact updated");
            Ok(after)
        }
        TransactOutcome::ConditionFailed(failed) if email_changed && failed == [2] => {
            Err(email_taken(app, artist, after.contact_role, &after.email).await?)
        }
        TransactOutcome::ConditionFailed(_) => Err(concurrent_change()),
    }
}

/// What an edit adds to the consent ledger: a new basis, or an objection recorded by hand.
fn ledger(
    before: &Contact,
    after: &Contact,
    caller: &Caller,
    at: chrono::DateTime<Utc>,
) -> Vec<ConsentEntry> {
    let mut entries = Vec::new();
    if let Some(consent) = after
        .consent
        .as_ref()
        .filter(|_| after.consent != before.consent)
    {
        entries.push(ConsentEntry::given(after.id, consent, caller.user.as_str()));
    }
    if after.status == ContactStatus::Unsubscribed && before.status != ContactStatus::Unsubscribed {
        entries.push(ConsentEntry::withdrawn(
            after.id,
            "recorded by a team member",
            caller.user.as_str(),
            at,
        ));
    }
    entries
}

pub(crate) fn concurrent_change() -> ApiError {
    ApiError::Conflict {
        code: "concurrent_modification",
        message: "the contact was changed by someone else meanwhile; read it again and retry"
            .into(),
        details: Value::Null,
    }
}

/// Applies `changes`, returning the new contact and the names of the fields that changed.
fn apply(before: &Contact, changes: ContactChanges) -> Result<(Contact, Vec<String>), ApiError> {
    if changes
        .contact_role
        .is_some_and(|role| role != before.contact_role)
    {
        return Err(ApiError::invalid_fields(vec![crate::FieldError::new(
            "contact_role",
            "cannot change; create the contact in the other team instead",
        )]));
    }
    let mut after = before.clone();
    let mut changed = Vec::new();
    let mut set = |name: &str, differs: bool| {
        if differs {
            changed.push(name.to_owned());
        }
    };
    let fields = &mut after.fields;
    macro_rules! text {
        ($($field:ident),*) => {$(
            if let Some(value) = changes.$field {
                set(stringify!($field), value != fields.$field);
                fields.$field = value;
            }
        )*};
    }
    text!(first_name, last_name, company, position, phone);
    if let Some(tags) = changes.tags {
        set("tags", tags != fields.tags);
        fields.tags = tags;
    }
    if let Some(metadata) = changes.metadata {
        set("metadata", metadata != fields.metadata);
        fields.metadata = metadata;
    }
    if let Some(email) = changes.email {
        let differs = email.normalized() != after.email.normalized();
        set("email", email.as_str() != after.email.as_str());
        after.email = email;
        // A new address is a new chance: the old one's bounces say nothing about it.
        if differs
            && matches!(
                after.status,
                ContactStatus::Bounced | ContactStatus::Invalid
            )
        {
            after.status = ContactStatus::Active;
        }
    }
    if let Some(status) = changes.status {
        before
            .status
            .manual_change_to(status)
            .or_else(|error| {
                if status == after.status {
                    Ok(())
                } else {
                    Err(error)
                }
            })
            .map_err(|message| {
                ApiError::invalid_fields(vec![crate::FieldError::new("status", message)])
            })?;
        after.status = status;
    }
    set("status", after.status != before.status);
    if let Some(consent) = changes.consent {
        after.consent = Some(consent.record("api"));
        set("consent", true);
    }
    Ok((after, changed))
}

pub async fn delete(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ContactId,
) -> Result<(), ApiError> {
    let contact = get(app, caller, artist, id).await?;
    let now = Utc::now();
    let audit = AuditRecord::contact(
        artist,
        &caller.user,
        AuditAction::ContactDeleted,
        id,
        vec![],
        now,
    );
    let writes = vec![
        store::delete(app, &contact, contact.version)?,
        store::release_email(app, &contact, &contact.email)?,
        stores::audit::put(app, audit)?,
    ];
    match stores::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(artist = %artist, contact = %id, "contact deleted");
            Ok(())
        }
        TransactOutcome::ConditionFailed(_) => Err(concurrent_change()),
    }
}

pub async fn list(
    app: &App,
    caller: &Caller,
    request: ListRequest,
) -> Result<Page<Contact>, ApiError> {
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
    // The listing a cursor belongs to: replayed against any other, it is refused.
    let listing = Listing::new(
        app.signing_key()?,
        json!([
            "contacts",
            request.artist,
            format!("{teams:?}"),
            request.status,
            request.tag
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
            tag: request.tag,
            limit: request.limit,
            after,
        },
    )
    .await?;
    Ok(listing.page(page.items, page.next))
}
