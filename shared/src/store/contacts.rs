//! Contacts and their email guards in the contacts table (layout in the module docs of `store`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use crate::cursor::Position;
use crate::domain::{ArtistId, Contact, ContactId, ContactRole, ContactStatus, EmailAddress};
use crate::{ApiError, App};

pub const BY_ROLE_INDEX: &str = "by_role";

#[derive(Serialize, Deserialize)]
struct ContactItem {
    pk: String,
    sk: String,
    role_pk: String,
    role_sk: String,
    email_normalized: String,
    #[serde(flatten)]
    contact: Contact,
}

#[derive(Serialize, Deserialize)]
struct EmailGuard {
    pk: String,
    sk: String,
    contact_id: ContactId,
}

pub(super) fn artist_pk(artist: ArtistId) -> String {
    format!("ARTIST#{artist}")
}

fn contact_sk(id: ContactId) -> String {
    format!("CONTACT#{id}")
}

fn guard_sk(role: ContactRole, email: &EmailAddress) -> String {
    format!("EMAIL#{role}#{}", email.normalized())
}

fn role_pk(artist: ArtistId, role: ContactRole) -> String {
    format!("{artist}#{role}")
}

pub(super) fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
}

fn to_item(contact: &Contact) -> ContactItem {
    ContactItem {
        pk: artist_pk(contact.artist_id),
        sk: contact_sk(contact.id),
        role_pk: role_pk(contact.artist_id, contact.contact_role),
        role_sk: contact.id.to_string(),
        email_normalized: contact.email.normalized().to_owned(),
        contact: contact.clone(),
    }
}

/// Strongly consistent read by id.
pub async fn get(app: &App, artist: ArtistId, id: ContactId) -> Result<Option<Contact>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(artist_pk(artist), contact_sk(id))))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, ContactItem>(item)?.contact,
        )),
        None => Ok(None),
    }
}

/// The id of the contact holding (artist, role, address), if any: one GetItem.
pub async fn find_by_email(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    email: &EmailAddress,
) -> Result<Option<ContactId>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(artist_pk(artist), guard_sk(role, email))))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, EmailGuard>(item)?.contact_id,
        )),
        None => Ok(None),
    }
}

/// The contact ids holding these addresses in (artist, role), by normalized address: one
/// BatchGetItem per 100 addresses.
pub async fn find_many_by_email(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    emails: &[&EmailAddress],
) -> Result<HashMap<String, ContactId>, ApiError> {
    let keys = emails
        .iter()
        .map(|email| key(artist_pk(artist), guard_sk(role, email)))
        .collect();
    let guards: Vec<EmailGuard> = batch_get(app, keys).await?;
    Ok(guards
        .into_iter()
        .filter_map(|guard| {
            let email = guard.sk.splitn(3, '#').nth(2)?.to_owned();
            Some((email, guard.contact_id))
        })
        .collect())
}

/// Contacts by id, strongly consistent: one BatchGetItem per 100 ids.
pub async fn get_many(
    app: &App,
    artist: ArtistId,
    ids: &[ContactId],
) -> Result<Vec<Contact>, ApiError> {
    let keys = ids
        .iter()
        .map(|id| key(artist_pk(artist), contact_sk(*id)))
        .collect();
    let items: Vec<ContactItem> = batch_get(app, keys).await?;
    Ok(items.into_iter().map(|item| item.contact).collect())
}

async fn batch_get<T: serde::de::DeserializeOwned>(
    app: &App,
    keys: Vec<HashMap<String, AttributeValue>>,
) -> Result<Vec<T>, ApiError> {
    let items = super::batch::get_many(app, &app.config.contacts_table, keys).await?;
    Ok(serde_dynamo::from_items(items)?)
}

/// Writes a new contact: the contact must not exist (index 0) and its address must be free in
/// its team (index 1).
pub fn put_new(app: &App, contact: &Contact) -> Result<[TransactWriteItem; 2], ApiError> {
    Ok([
        put(
            app,
            serde_dynamo::to_item(to_item(contact))?,
            "attribute_not_exists(pk)",
            None,
        )?,
        claim_email(app, contact)?,
    ])
}

/// Replaces a contact if nobody wrote it since `expected_version` was read.
pub fn put_existing(
    app: &App,
    contact: &Contact,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    put(
        app,
        serde_dynamo::to_item(to_item(contact))?,
        "version = :expected",
        Some(AttributeValue::N(expected_version.to_string())),
    )
}

/// Takes the address for this contact in its team; fails if another contact holds it.
pub fn claim_email(app: &App, contact: &Contact) -> Result<TransactWriteItem, ApiError> {
    let guard = EmailGuard {
        pk: artist_pk(contact.artist_id),
        sk: guard_sk(contact.contact_role, &contact.email),
        contact_id: contact.id,
    };
    put(
        app,
        serde_dynamo::to_item(guard)?,
        "attribute_not_exists(pk)",
        None,
    )
}

/// Frees the address `email` held by `contact`.
pub fn release_email(
    app: &App,
    contact: &Contact,
    email: &EmailAddress,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(
            artist_pk(contact.artist_id),
            guard_sk(contact.contact_role, email),
        )))
        .condition_expression("contact_id = :id")
        .expression_attribute_values(":id", AttributeValue::S(contact.id.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Deletes a contact if nobody wrote it since `expected_version` was read.
pub fn delete(
    app: &App,
    contact: &Contact,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(
            artist_pk(contact.artist_id),
            contact_sk(contact.id),
        )))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// A conditional put into the contacts table (which also holds import jobs), for a transaction.
pub(super) fn put(
    app: &App,
    item: HashMap<String, AttributeValue>,
    condition: &str,
    expected: Option<AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.contacts_table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_values(
            expected.map(|v| HashMap::from([(":expected".to_owned(), v)])),
        )
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What to list: one team (through the `by_role` index) or every team in `roles` (through the
/// artist's partition).
#[derive(Debug, Clone)]
pub enum Teams {
    One(ContactRole),
    Several(Vec<ContactRole>),
    All,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub artist: ArtistId,
    pub teams: Teams,
    pub status: Option<ContactStatus>,
    pub tag: Option<String>,
    pub limit: usize,
    pub after: Option<Position>,
}

pub struct Page {
    pub items: Vec<Contact>,
    pub next: Option<Position>,
}

/// Queries a request may spend filling one page before it answers with what it has and a cursor:
/// a rare tag must not turn one request into a walk over the whole partition.
const MAX_QUERIES_PER_PAGE: usize = 5;

/// Newest first. Filters run server-side; when filtered-out items leave a page short, the next
/// query continues, and a page that overflows stops at its last returned item so the cursor
/// resumes exactly there.
pub async fn list(app: &App, query: &ListQuery) -> Result<Page, ApiError> {
    let mut items = Vec::with_capacity(query.limit);
    let mut start = query.after.clone();
    for _ in 0..MAX_QUERIES_PER_PAGE {
        let wanted = query.limit - items.len();
        let filtered = query.status.is_some()
            || query.tag.is_some()
            || matches!(query.teams, Teams::Several(_));
        // Without filters every evaluated item is returned, so asking for exactly what is
        // wanted keeps the cursor exact; with filters, read ahead.
        let batch = if filtered {
            (wanted * 4).clamp(25, 500)
        } else {
            wanted
        };
        let output = build_query(app, query, start.take(), batch).send().await?;
        let last_evaluated = output.last_evaluated_key;
        let page: Vec<ContactItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
        let page_len = page.len();
        for (index, item) in page.into_iter().enumerate() {
            let position = position_of(&item, &query.teams);
            items.push(item.contact);
            if items.len() == query.limit {
                let more = index + 1 < page_len || last_evaluated.is_some();
                return Ok(Page {
                    items,
                    next: more.then_some(position),
                });
            }
        }
        match last_evaluated {
            Some(key) => start = Some(from_key(key)?),
            None => return Ok(Page { items, next: None }),
        }
    }
    Ok(Page { items, next: start })
}

fn build_query(
    app: &App,
    query: &ListQuery,
    start: Option<Position>,
    limit: usize,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    let mut filters = Vec::new();
    let mut values = HashMap::new();
    let mut names = HashMap::new();
    let request = app
        .aws
        .dynamodb
        .query()
        .table_name(&app.config.contacts_table);
    let request = match &query.teams {
        Teams::One(role) => {
            values.insert(
                ":key".to_owned(),
                AttributeValue::S(role_pk(query.artist, *role)),
            );
            request
                .index_name(BY_ROLE_INDEX)
                .key_condition_expression("role_pk = :key")
        }
        Teams::Several(_) | Teams::All => {
            values.insert(
                ":key".to_owned(),
                AttributeValue::S(artist_pk(query.artist)),
            );
            values.insert(
                ":prefix".to_owned(),
                AttributeValue::S("CONTACT#".to_owned()),
            );
            request.key_condition_expression("pk = :key AND begins_with(sk, :prefix)")
        }
    };
    if let Teams::Several(roles) = &query.teams {
        let placeholders: Vec<String> = roles
            .iter()
            .enumerate()
            .map(|(i, role)| {
                values.insert(
                    format!(":role{i}"),
                    AttributeValue::S(role.as_str().to_owned()),
                );
                format!(":role{i}")
            })
            .collect();
        filters.push(format!("contact_role IN ({})", placeholders.join(", ")));
    }
    if let Some(status) = query.status {
        names.insert("#status".to_owned(), "status".to_owned());
        values.insert(
            ":status".to_owned(),
            AttributeValue::S(status.as_str().to_owned()),
        );
        filters.push("#status = :status".to_owned());
    }
    if let Some(tag) = &query.tag {
        values.insert(":tag".to_owned(), AttributeValue::S(tag.clone()));
        filters.push("contains(tags, :tag)".to_owned());
    }
    request
        .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
        .set_expression_attribute_names((!names.is_empty()).then_some(names))
        .set_expression_attribute_values(Some(values))
        .set_exclusive_start_key(start.map(to_key))
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
}

fn position_of(item: &ContactItem, teams: &Teams) -> Position {
    let mut position = Position::from([
        ("pk".to_owned(), item.pk.clone()),
        ("sk".to_owned(), item.sk.clone()),
    ]);
    if matches!(teams, Teams::One(_)) {
        position.insert("role_pk".to_owned(), item.role_pk.clone());
        position.insert("role_sk".to_owned(), item.role_sk.clone());
    }
    position
}

fn to_key(position: Position) -> HashMap<String, AttributeValue> {
    position
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect()
}

fn from_key(key: HashMap<String, AttributeValue>) -> Result<Position, ApiError> {
    key.into_iter()
        .map(|(name, value)| match value {
            AttributeValue::S(s) => Ok((name, s)),
            other => Err(ApiError::internal(anyhow::anyhow!(
                "unexpected key attribute {name}: {other:?}"
            ))),
        })
        .collect()
}
