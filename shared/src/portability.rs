//! Portability (GDPR art. 15 and 20): everything held about one contact as JSON
//! (`GET …/contacts/{id}/export`), and a team's list as CSV a spreadsheet opens without running
//! anything (`GET …/contacts/export`), answered inline or, past what a Lambda response carries,
//! through a presigned link to a copy that expires within a day.

use std::collections::BTreeSet;

use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::analytics::report::Locale;
use crate::auth::Caller;
use crate::domain::{
    ArtistId, CampaignId, ConsentEntry, Contact, ContactId, Interaction, Reply, VariantIndex,
};
use crate::import::csv_safe;
use crate::store;
use crate::store::sends::{Send, SendEngagement, SendStatus};
use crate::{ApiError, App};

/// One message sent to the contact, as its send row holds it (the keyed hashes left out).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct MessageExport {
    pub send_id: Uuid,
    pub campaign_id: CampaignId,
    pub status: SendStatus,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantIndex>,
    #[serde(flatten)]
    pub engagement: SendEngagement,
}

impl From<Send> for MessageExport {
    fn from(send: Send) -> Self {
        Self {
            send_id: send.send_id,
            campaign_id: send.campaign_id,
            status: send.status,
            created_at: send.created_at,
            sent_at: send.sent_at,
            variant: send.variant,
            engagement: send.engagement,
        }
    }
}

/// Everything held about one contact.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ContactExport {
    pub exported_at: DateTime<Utc>,
    pub contact: Contact,
    /// Every basis given and every withdrawal, oldest first.
    pub consent_history: Vec<ConsentEntry>,
    /// Newest first.
    pub messages: Vec<MessageExport>,
    /// Newest first.
    pub interactions: Vec<Interaction>,
    /// Newest first, their HTML sanitized as the replies API shows it.
    pub replies: Vec<Reply>,
}

/// Everything held about the contact, for a caller who may see it (404 otherwise).
pub async fn contact(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ContactId,
) -> Result<ContactExport, ApiError> {
    let mut contact = crate::contacts::get(app, caller, artist, id).await?;
    crate::tracking::engagement::of_contacts(app, std::slice::from_mut(&mut contact)).await?;
    let address_hash = store::suppression::address_hash(app, &contact.email)?;
    let mut interactions = store::interactions::all_of(app, id).await?;
    interactions.sort_by_key(|i| std::cmp::Reverse(i.created_at));
    // Messages sent at the address today, and those its timeline names (an earlier address).
    let keys: BTreeSet<(CampaignId, ContactId)> = store::sends::all_to(app, artist, &address_hash)
        .await?
        .into_iter()
        .map(|send| (send.campaign_id, send.contact_id))
        .chain(interactions.iter().map(|i| (i.campaign_id, i.contact_id)))
        .filter(|(_, contact)| *contact == id)
        .collect();
    let keys: Vec<_> = keys.into_iter().collect();
    let mut messages = store::sends::get_many(app, &keys).await?;
    messages.sort_by_key(|m| std::cmp::Reverse(m.created_at));
    // Replies on this contact only: the same person's replies to another team stay there.
    let mut replies: Vec<Reply> = store::replies::of_person(app, artist, &[id], &address_hash)
        .await?
        .into_iter()
        .filter(|reply| reply.contact_id == Some(id))
        .map(crate::replies::api::sanitized)
        .collect();
    replies.sort_by_key(|r| std::cmp::Reverse(r.received_at));
    Ok(ContactExport {
        exported_at: Utc::now(),
        consent_history: store::consent::history(app, artist, id).await?,
        contact,
        messages: messages.into_iter().map(MessageExport::from).collect(),
        interactions,
        replies,
    })
}

/// A team's list as CSV: in the answer, or behind a link when larger than a response carries.
pub enum ListExport {
    Inline(Vec<u8>),
    Link(String),
}

/// How long the link to a large export answers.
const LINK_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

const COLUMNS: [&str; 17] = [
    "id",
    "email",
    "contact_role",
    "status",
    "first_name",
    "last_name",
    "company",
    "position",
    "phone",
    "tags",
    "source",
    "consent_basis",
    "consent_source",
    "consent_recorded_at",
    "metadata",
    "created_at",
    "updated_at",
];

fn record(contact: &Contact) -> [String; 17] {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let consent = contact.consent.as_ref();
    let basis = consent
        .map(|c| serde_json::to_value(c.basis).unwrap_or_default())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    [
        contact.id.to_string(),
        contact.email.as_str().to_owned(),
        contact.contact_role.as_str().to_owned(),
        contact.status.as_str().to_owned(),
        text(&contact.fields.first_name),
        text(&contact.fields.last_name),
        text(&contact.fields.company),
        text(&contact.fields.position),
        text(&contact.fields.phone),
        contact.fields.tags.as_slice().join(", "),
        serde_json::to_value(contact.source)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        basis,
        consent.map(|c| c.source.clone()).unwrap_or_default(),
        consent
            .map(|c| c.recorded_at.to_rfc3339())
            .unwrap_or_default(),
        if contact.fields.metadata.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(contact.fields.metadata.clone()).to_string()
        },
        contact.created_at.to_rfc3339(),
        contact.updated_at.to_rfc3339(),
    ]
}

/// The contacts `request` lists (every page), as CSV: UTF-8 with a byte-order mark, every cell
/// a spreadsheet would take for a formula made text (`import::csv_safe`).
pub async fn list(
    app: &App,
    caller: &Caller,
    mut request: crate::contacts::ListRequest,
    locale: Locale,
) -> Result<ListExport, ApiError> {
    request.limit = crate::contacts::MAX_PAGE;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(locale.separator())
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(COLUMNS).map_err(ApiError::internal)?;
    let mut rows = 0;
    loop {
        let page = crate::contacts::list(app, caller, request.clone()).await?;
        for contact in &page.items {
            let cells = record(contact);
            writer
                .write_record(
                    cells
                        .iter()
                        .map(|cell| csv_safe(cell))
                        .map(|c| c.into_owned()),
                )
                .map_err(ApiError::internal)?;
            rows += 1;
        }
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    let csv = writer.into_inner().map_err(ApiError::internal)?;
    let inline = csv.len() <= app.config.export_inline_bytes;
    tracing::info!(artist = %request.artist, rows, bytes = csv.len(), inline, "contacts exported");
    if inline {
        return Ok(ListExport::Inline(csv));
    }
    let key = format!("exports/{}/{}.csv", request.artist, Uuid::now_v7());
    app.aws
        .s3
        .put_object()
        .bucket(&app.config.imports_bucket)
        .key(&key)
        .content_type("text/csv; charset=utf-8")
        .body(csv.into())
        .send()
        .await
        .map_err(ApiError::internal)?;
    let presigning = PresigningConfig::expires_in(LINK_LIFETIME).map_err(ApiError::internal)?;
    let link = app
        .aws
        .s3
        .get_object()
        .bucket(&app.config.imports_bucket)
        .key(&key)
        .response_content_disposition("attachment; filename=\"contacts.csv\"")
        .presigned(presigning)
        .await
        .map_err(ApiError::internal)?;
    Ok(ListExport::Link(link.uri().to_owned()))
}
