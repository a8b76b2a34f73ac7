//! Templates, default choices and signatures in the templates table (layout in `store`'s docs).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::domain::{
    ArtistId, ContactRole, EmailTemplate, Language, Signature, TemplateId, UserId,
};
use crate::{ApiError, App};

/// Whose templates: the built-ins, or one artist's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    BuiltIn,
    Artist(ArtistId),
}

impl Owner {
    fn of(template: &EmailTemplate) -> Self {
        template.artist_id.map_or(Self::BuiltIn, Self::Artist)
    }

    fn key(self) -> String {
        match self {
            Self::BuiltIn => "BUILTIN".to_owned(),
            Self::Artist(artist) => format!("ARTIST#{artist}"),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TemplateItem {
    owner: String,
    listing: String,
    /// Built-ins only: names their content, so installing rewrites only what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revision: Option<String>,
    #[serde(flatten)]
    template: EmailTemplate,
}

fn listing(role: ContactRole, id: TemplateId) -> String {
    format!("{role}#{id}")
}

fn template_item(template: &EmailTemplate, revision: Option<&str>) -> TemplateItem {
    TemplateItem {
        owner: Owner::of(template).key(),
        listing: listing(template.contact_role, template.id),
        revision: revision.map(str::to_owned),
        template: template.clone(),
    }
}

/// Which template is a team's default for a language: one item per (artist, role, language),
/// so two concurrent choices cannot both win.
#[derive(Serialize, Deserialize)]
struct DefaultItem {
    id: String,
    template_id: TemplateId,
}

fn default_key(artist: ArtistId, role: ContactRole, language: Language) -> String {
    format!("default#{artist}#{role}#{language}")
}

#[derive(Serialize, Deserialize)]
struct SignatureItem {
    id: String,
    #[serde(flatten)]
    signature: Signature,
}

fn signature_key(artist: ArtistId, role: ContactRole, user: &UserId) -> String {
    format!("signature#{artist}#{role}#{}", user.as_str())
}

fn key(id: String) -> HashMap<String, AttributeValue> {
    HashMap::from([("id".to_owned(), AttributeValue::S(id))])
}

async fn get_item(
    app: &App,
    id: String,
) -> Result<Option<HashMap<String, AttributeValue>>, ApiError> {
    Ok(app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.templates_table)
        .set_key(Some(key(id)))
        .consistent_read(true)
        .send()
        .await?
        .item)
}

pub async fn get(app: &App, id: TemplateId) -> Result<Option<EmailTemplate>, ApiError> {
    match get_item(app, id.to_string()).await? {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, TemplateItem>(item)?.template,
        )),
        None => Ok(None),
    }
}

/// Every template of `owner` (of one team when `role` is given), through the `by_owner` index.
pub async fn list(
    app: &App,
    owner: Owner,
    role: Option<ContactRole>,
) -> Result<Vec<EmailTemplate>, ApiError> {
    let mut templates = Vec::new();
    let mut start = None;
    loop {
        let mut query = app
            .aws
            .dynamodb
            .query()
            .table_name(&app.config.templates_table)
            .index_name("by_owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.key()))
            .set_exclusive_start_key(start);
        query = match role {
            Some(role) => query
                .key_condition_expression("#owner = :owner AND begins_with(listing, :role)")
                .expression_attribute_values(":role", AttributeValue::S(format!("{role}#"))),
            None => query.key_condition_expression("#owner = :owner"),
        };
        let output = query
            .expression_attribute_names("#owner", "owner")
            .send()
            .await?;
        let items: Vec<TemplateItem> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
        templates.extend(items.into_iter().map(|item| item.template));
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(templates),
        }
    }
}

fn put(
    app: &App,
    item: HashMap<String, AttributeValue>,
    condition: &str,
    values: HashMap<String, AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.templates_table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_values((!values.is_empty()).then_some(values))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn version(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn put_new(app: &App, template: &EmailTemplate) -> Result<TransactWriteItem, ApiError> {
    put(
        app,
        serde_dynamo::to_item(template_item(template, None))?,
        "attribute_not_exists(id)",
        HashMap::new(),
    )
}

pub fn put_existing(
    app: &App,
    template: &EmailTemplate,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    put(
        app,
        serde_dynamo::to_item(template_item(template, None))?,
        "version = :expected",
        HashMap::from([(":expected".to_owned(), version(expected_version))]),
    )
}

pub fn delete(
    app: &App,
    template: &EmailTemplate,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.templates_table)
        .set_key(Some(key(template.id.to_string())))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", version(expected_version))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// The artist's default template of a team and language, if they chose one.
pub async fn get_default(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    language: Language,
) -> Result<Option<TemplateId>, ApiError> {
    match get_item(app, default_key(artist, role, language)).await? {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, DefaultItem>(item)?.template_id,
        )),
        None => Ok(None),
    }
}

/// Makes `template` the default of its team and language, provided the choice is still
/// `previous` (what the caller read).
pub fn claim_default(
    app: &App,
    template: &EmailTemplate,
    artist: ArtistId,
    previous: Option<TemplateId>,
) -> Result<TransactWriteItem, ApiError> {
    let item = serde_dynamo::to_item(DefaultItem {
        id: default_key(artist, template.contact_role, template.language),
        template_id: template.id,
    })?;
    match previous {
        None => put(app, item, "attribute_not_exists(id)", HashMap::new()),
        Some(previous) => put(
            app,
            item,
            "template_id = :previous",
            HashMap::from([(
                ":previous".to_owned(),
                AttributeValue::S(previous.to_string()),
            )]),
        ),
    }
}

/// Removes the default choice held by `template`.
pub fn release_default(
    app: &App,
    template: &EmailTemplate,
    artist: ArtistId,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.templates_table)
        .set_key(Some(key(default_key(
            artist,
            template.contact_role,
            template.language,
        ))))
        .condition_expression("template_id = :template")
        .expression_attribute_values(":template", AttributeValue::S(template.id.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// The former default loses its flag (and its version moves, so a stale edit cannot restore it).
pub fn clear_default_flag(app: &App, id: TemplateId) -> Result<TransactWriteItem, ApiError> {
    let update = Update::builder()
        .table_name(&app.config.templates_table)
        .set_key(Some(key(id.to_string())))
        .update_expression("SET is_default = :no, version = version + :one")
        .condition_expression("attribute_exists(id)")
        .expression_attribute_values(":no", AttributeValue::Bool(false))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Writes a built-in unless the table already holds this revision. Answers whether it wrote.
pub async fn install_builtin(
    app: &App,
    template: &EmailTemplate,
    revision: &str,
) -> Result<bool, ApiError> {
    let result = app
        .aws
        .dynamodb
        .put_item()
        .table_name(&app.config.templates_table)
        .set_item(Some(serde_dynamo::to_item(template_item(
            template,
            Some(revision),
        ))?))
        .condition_expression("attribute_not_exists(id) OR revision <> :revision")
        .expression_attribute_values(":revision", AttributeValue::S(revision.to_owned()))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(error) => match error.into_service_error() {
            PutItemError::ConditionalCheckFailedException(_) => Ok(false),
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("installing a built-in template"),
            )),
        },
    }
}

/// Removes a built-in the code no longer ships.
pub async fn remove_builtin(app: &App, id: TemplateId) -> Result<(), ApiError> {
    app.aws
        .dynamodb
        .delete_item()
        .table_name(&app.config.templates_table)
        .set_key(Some(key(id.to_string())))
        .condition_expression("#owner = :builtin")
        .expression_attribute_names("#owner", "owner")
        .expression_attribute_values(":builtin", AttributeValue::S(Owner::BuiltIn.key()))
        .send()
        .await?;
    Ok(())
}

pub async fn get_signature(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    user: &UserId,
) -> Result<Option<Signature>, ApiError> {
    match get_item(app, signature_key(artist, role, user)).await? {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, SignatureItem>(item)?.signature,
        )),
        None => Ok(None),
    }
}

pub fn put_signature(app: &App, signature: &Signature) -> Result<TransactWriteItem, ApiError> {
    let item = SignatureItem {
        id: signature_key(signature.artist_id, signature.contact_role, &signature.user),
        signature: signature.clone(),
    };
    let put = Put::builder()
        .table_name(&app.config.templates_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}
