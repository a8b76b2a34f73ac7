//! Erasure (GDPR art. 17, `POST …/contacts/{id}/erase` and `POST …/contacts/erase`): everything
//! one artist holds about a person goes — every team's contact of the address, its guard and
//! its consent ledger, the messages sent to them, their timeline and first-time marks, the
//! counters that name them, their replies with the raw messages, one-to-one emails to them —
//! and one keyed hash of the
//! (artist, address) stays in suppression, so no import, sync or send reaches them again (the
//! ICO: suppress, do not forget an objection). The aggregates stay: a campaign's counts, a
//! team's heatmap, a conversion's revenue name nobody.
//!
//! The suppression comes first, so nothing new is sent while the rest goes; the contacts go
//! last, in one transaction with the audit record. Every step deletes what it finds: a failed
//! erasure run again finishes the job (sends and replies are found by the address hash, not
//! only through the contacts).

use std::collections::BTreeSet;

use chrono::Utc;
use uuid::Uuid;

use crate::auth::Caller;
use crate::domain::{
    ArtistId, AuditAction, AuditRecord, CampaignId, ContactId, EmailAddress, Erased, Reply,
};
use crate::store::sends::Send;
use crate::store::{self, TransactOutcome};
use crate::{ApiError, App};

/// What an erasure did, as its audit record keeps it.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Erasure {
    /// The audit record's id.
    pub id: crate::domain::AuditId,
    pub erased: Erased,
}

const WHY: &str =
    "erasing a person removes them from every team of the artist: it takes access to all of them";

/// Erases the person a contact is: their address in every team, and everything about them.
pub async fn contact(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ContactId,
) -> Result<Erasure, ApiError> {
    caller.require_artist_wide(artist, WHY)?;
    let contact = store::contacts::get(app, artist, id)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    erase(app, caller, artist, &contact.email).await
}

/// Erases whoever `email` is for the artist, whether a contact holds it today or not.
pub async fn address(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<Erasure, ApiError> {
    caller.require_artist_wide(artist, WHY)?;
    erase(app, caller, artist, email).await
}

async fn erase(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<Erasure, ApiError> {
    store::suppression::erased(app, &caller.user, artist, email).await?;
    let address_hash = store::suppression::address_hash(app, email)?;
    let ids = store::contacts::ids_in_every_team(app, artist, email).await?;
    let contacts = store::contacts::get_many(app, artist, &ids).await?;
    let mut sends = store::sends::all_to(app, artist, &address_hash).await?;
    // Contacts deleted before, known by the messages they got.
    let people: Vec<ContactId> = ids
        .iter()
        .copied()
        .chain(sends.iter().map(|send| send.contact_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    sends.extend(sent_at_other_addresses(app, &people, &sends).await?);

    let replies = store::replies::of_person(app, artist, &people, &address_hash).await?;
    let raw_messages = delete_raw_messages(app, &replies).await?;
    let mut erased = Erased {
        replies: store::replies::delete_many(app, &replies).await? as u64,
        raw_messages,
        ..Erased::default()
    };
    let campaigns: BTreeSet<CampaignId> = sends.iter().map(|send| send.campaign_id).collect();
    let mut individual = Vec::new();
    for campaign in campaigns {
        if store::campaigns::delete_if_individual(app, artist, campaign).await? {
            individual.push(campaign);
        }
    }
    erased.individual_emails = individual.len() as u64;
    erased.counters = store::stats::erase(app, &people, &individual).await? as u64;
    let send_ids: Vec<Uuid> = sends.iter().map(|send| send.send_id).collect();
    erased.interactions = store::interactions::erase(app, &people, &send_ids).await? as u64;
    erased.sends = store::sends::delete_many(app, &sends).await? as u64;
    erased.consent_entries = store::consent::erase(app, artist, &people).await? as u64;
    erased.contacts = contacts.iter().map(|contact| contact.id).collect();

    let mut record = AuditRecord::new(
        artist,
        &caller.user,
        AuditAction::PersonErased,
        String::new(),
        vec![],
        Utc::now(),
    );
    record.target = format!("erasure#{}", record.id);
    record.erased = Some(erased.clone());
    let id = record.id;
    let mut writes = Vec::with_capacity(contacts.len() * 2 + 1);
    for contact in &contacts {
        writes.push(store::contacts::delete(app, contact, contact.version)?);
        writes.push(store::contacts::release_email(
            app,
            contact,
            &contact.email,
        )?);
    }
    writes.push(store::audit::put(app, record)?);
    match store::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(artist = %artist, erasure = %id, contacts = contacts.len(), "person erased");
            Ok(Erasure { id, erased })
        }
        // Everything else is gone already: the caller's retry finishes the job.
        TransactOutcome::ConditionFailed(_) => Err(crate::contacts::concurrent_change()),
    }
}

/// The messages of `people` that their address today does not find: sent while a contact had
/// another address, known from its timeline.
async fn sent_at_other_addresses(
    app: &App,
    people: &[ContactId],
    found: &[Send],
) -> Result<Vec<Send>, ApiError> {
    let known: BTreeSet<(CampaignId, ContactId)> = found
        .iter()
        .map(|send| (send.campaign_id, send.contact_id))
        .collect();
    let mut missing = BTreeSet::new();
    for person in people {
        for interaction in store::interactions::all_of(app, *person).await? {
            let key = (interaction.campaign_id, interaction.contact_id);
            if !known.contains(&key) {
                missing.insert(key);
            }
        }
    }
    let missing: Vec<_> = missing.into_iter().collect();
    store::sends::get_many(app, &missing).await
}

/// Deletes the raw messages the replies were read from: how many.
async fn delete_raw_messages(app: &App, replies: &[Reply]) -> Result<u64, ApiError> {
    let mut deleted = 0;
    for reply in replies {
        let Some((bucket, key)) = reply
            .metadata
            .object
            .strip_prefix("s3://")
            .and_then(|location| location.split_once('/'))
        else {
            continue;
        };
        app.aws
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(ApiError::internal)?;
        deleted += 1;
    }
    Ok(deleted)
}
