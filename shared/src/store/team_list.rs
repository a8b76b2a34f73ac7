//! Keys every artist-partitioned table shares, and listing one kind of an artist's records
//! (contacts, campaigns) newest first, for one team, several or all, with a page cursor.
//!
//! Items sit at `pk` = `ARTIST#{artist_id}`, `sk` = `{KIND}#{id}` (UUID v7, so `sk` orders by
//! time), with `role_pk` = `{artist_id}#{role}`, `role_sk` = `{id}` for the `by_role` index.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::page::{Page, from_key, to_key};
use crate::cursor::Position;
use crate::domain::{ArtistId, ContactRole};
use crate::{ApiError, App};

pub const BY_ROLE_INDEX: &str = "by_role";

pub fn artist_pk(artist: ArtistId) -> String {
    format!("ARTIST#{artist}")
}

pub fn role_pk(artist: ArtistId, role: ContactRole) -> String {
    format!("{artist}#{role}")
}

pub fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("sk".to_owned(), AttributeValue::S(sk)),
    ])
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
pub struct TeamQuery<'a> {
    pub table: &'a str,
    /// The kind's `sk` prefix (`CONTACT#`).
    pub sk_prefix: &'static str,
    pub artist: ArtistId,
    pub teams: Teams,
    /// Attributes that must equal a value (`status`).
    pub equals: Vec<(&'static str, String)>,
    /// List attributes that must contain a value (`tags`).
    pub contains: Vec<(&'static str, String)>,
    pub limit: usize,
    pub after: Option<Position>,
}

#[derive(Deserialize)]
struct Listed<T> {
    pk: String,
    sk: String,
    #[serde(default)]
    role_pk: String,
    #[serde(default)]
    role_sk: String,
    #[serde(flatten)]
    item: T,
}

/// Queries a request may spend filling one page before it answers with what it has and a cursor:
/// a rare filter value must not turn one request into a walk over the whole partition.
const MAX_QUERIES_PER_PAGE: usize = 5;

/// Newest first. Filters run server-side; when filtered-out items leave a page short, the next
/// query continues, and a page that overflows stops at its last returned item so the cursor
/// resumes exactly there.
pub async fn list<T: DeserializeOwned>(
    app: &App,
    query: &TeamQuery<'_>,
) -> Result<Page<T>, ApiError> {
    let mut items = Vec::with_capacity(query.limit);
    let mut start = query.after.clone();
    for _ in 0..MAX_QUERIES_PER_PAGE {
        let wanted = query.limit - items.len();
        let filtered = !query.equals.is_empty()
            || !query.contains.is_empty()
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
        let page: Vec<Listed<T>> = serde_dynamo::from_items(output.items.unwrap_or_default())?;
        let page_len = page.len();
        for (index, listed) in page.into_iter().enumerate() {
            let mut position =
                Position::from([("pk".to_owned(), listed.pk), ("sk".to_owned(), listed.sk)]);
            if matches!(query.teams, Teams::One(_)) {
                position.insert("role_pk".to_owned(), listed.role_pk);
                position.insert("role_sk".to_owned(), listed.role_sk);
            }
            items.push(listed.item);
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
    query: &TeamQuery<'_>,
    start: Option<Position>,
    limit: usize,
) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    let mut filters = Vec::new();
    let mut values = HashMap::new();
    let mut names = HashMap::new();
    let request = app.aws.dynamodb.query().table_name(query.table);
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
                AttributeValue::S(query.sk_prefix.to_owned()),
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
    for (i, (attribute, value)) in query.equals.iter().enumerate() {
        names.insert(format!("#eq{i}"), (*attribute).to_owned());
        values.insert(format!(":eq{i}"), AttributeValue::S(value.clone()));
        filters.push(format!("#eq{i} = :eq{i}"));
    }
    for (i, (attribute, value)) in query.contains.iter().enumerate() {
        names.insert(format!("#in{i}"), (*attribute).to_owned());
        values.insert(format!(":in{i}"), AttributeValue::S(value.clone()));
        filters.push(format!("contains(#in{i}, :in{i})"));
    }
    request
        .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
        .set_expression_attribute_names((!names.is_empty()).then_some(names))
        .set_expression_attribute_values(Some(values))
        .set_exclusive_start_key(start.map(to_key))
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX))
}
