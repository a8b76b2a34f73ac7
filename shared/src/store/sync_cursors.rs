//! Where the last completed sync of one team from one provider left off (`sk` =
//! `SYNC#{role}#{provider}` in the artist's partition of the contacts table): the provider's
//! cursor (Google sync token, Graph delta link, Mailchimp time), never a credential or an
//! address.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::team_list;
use crate::domain::{ArtistId, ContactRole, ImportId, SyncProvider};
use crate::{ApiError, App};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCursor {
    pub cursor: String,
    /// The Mailchimp audience the cursor belongs to: another audience starts from nothing.
    pub list_id: Option<String>,
    /// When the sync that left it began: a sync that began earlier never overwrites it.
    pub started_at: DateTime<Utc>,
    pub import_id: ImportId,
}

#[derive(Serialize, Deserialize)]
struct CursorItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    cursor: SyncCursor,
}

fn sk(role: ContactRole, provider: SyncProvider) -> String {
    format!("SYNC#{role}#{}", provider.as_str())
}

pub async fn get(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    provider: SyncProvider,
) -> Result<Option<SyncCursor>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.contacts_table)
        .set_key(Some(team_list::key(
            team_list::artist_pk(artist),
            sk(role, provider),
        )))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(serde_dynamo::from_item::<_, CursorItem>(item)?.cursor)),
        None => Ok(None),
    }
}

/// Keeps `cursor` unless a sync that began later already left its own.
pub async fn put(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    provider: SyncProvider,
    cursor: SyncCursor,
) -> Result<(), ApiError> {
    let started_at = serde_dynamo::to_attribute_value(cursor.started_at)?;
    let item = CursorItem {
        pk: team_list::artist_pk(artist),
        sk: sk(role, provider),
        cursor,
    };
    let written = app
        .aws
        .dynamodb
        .put_item()
        .table_name(&app.config.contacts_table)
        .set_item(Some(serde_dynamo::to_item(item)?))
        .condition_expression("attribute_not_exists(pk) OR started_at <= :started")
        .expression_attribute_values(":started", started_at)
        .send()
        .await;
    match written {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
