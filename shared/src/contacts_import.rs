//! The write side of an import: analyzed rows become contacts of one team. An address the team
//! already has updates that contact, never duplicates it; nobody is resubscribed (status is never
//! touched) and consent already held is never replaced or cleared.
//!
//! Addresses on the suppression list are skipped whatever the file says.
//!
//! Cost per batch of rows: one BatchGetItem per 100 addresses on the suppression list, one per
//! 100 addresses for the email guards, one per 100 existing contacts, one TransactWriteItems per 33
//! new contacts (contact, guard and consent ledger entry each) and one per 50 changed contacts. A re-import of an unchanged file reads and writes nothing else.

use std::collections::HashMap;

use chrono::Utc;

use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::domain::{
    ArtistId, Consent, ConsentEntry, Contact, ContactId, ContactRole, ContactSource, ContactStatus,
    EngagementSummary, UserId,
};
use crate::import::{ImportReport, ImportedContact, Standing};
use crate::store::contacts as store;
use crate::store::{TransactOutcome, transact};
use crate::{ApiError, App};

/// Where and how rows are imported.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    pub artist: ArtistId,
    pub role: ContactRole,
    pub actor: UserId,
    /// The consent every new contact records; a row's own proof (Mailchimp) is added to it.
    pub consent: Consent,
    /// Count what would happen, write nothing.
    pub dry_run: bool,
}

/// A new contact is three writes (contact, guard, consent ledger entry): 99 per transaction.
const NEW_PER_TRANSACTION: usize = 33;
/// A changed contact is one write, two when it gains a consent or opts out.
const UPDATES_PER_TRANSACTION: usize = 50;

/// Applies one batch of unique, valid rows and adds what happened to `report`.
pub async fn apply(
    app: &App,
    target: &ImportTarget,
    rows: Vec<ImportedContact>,
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    report.compared_with_existing = true;
    let emails: Vec<_> = rows.iter().map(|row| &row.email).collect();
    let suppressed =
        crate::store::suppression::suppressed(app, target.artist, target.role, &emails).await?;
    // A suppressed address is neither created nor touched: the list outranks any file.
    let (skipped, rows): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|row| suppressed.contains(row.email.normalized()));
    report.skipped_suppressed += skipped.len() as u64;
    let emails: Vec<_> = rows.iter().map(|row| &row.email).collect();
    let holders = store::find_many_by_email(app, target.artist, target.role, &emails).await?;
    let ids: Vec<ContactId> = holders.values().copied().collect();
    let existing: HashMap<ContactId, Contact> = store::get_many(app, target.artist, &ids)
        .await?
        .into_iter()
        .map(|contact| (contact.id, contact))
        .collect();
    let mut new = Vec::new();
    let mut changed = Vec::new();
    for row in rows {
        let current = holders
            .get(row.email.normalized())
            .and_then(|id| existing.get(id));
        match current {
            Some(current) => {
                let merged = merge(current, &row, target);
                if merged == *current {
                    report.unchanged += 1;
                } else {
                    changed.push((merged, current));
                }
            }
            None => new.push(new_contact(row, target)),
        }
    }
    if target.dry_run {
        report.created += new.len() as u64;
        report.updated += changed.len() as u64;
        return Ok(());
    }
    let before = report.created;
    for chunk in new.chunks(NEW_PER_TRANSACTION) {
        write_new(app, target, chunk, report).await?;
    }
    // The list's growth, once per batch and after its contacts: a crash in between undercounts
    // a batch, never counts one twice.
    let created = report.created - before;
    if created > 0 {
        let day = chrono::Utc::now().date_naive();
        let growth =
            crate::store::stats::contacts_created(target.artist, target.role, day, created);
        transact(app, growth.updates(app)?).await?;
    }
    for chunk in changed.chunks(UPDATES_PER_TRANSACTION) {
        write_changed(app, target, chunk, report).await?;
    }
    Ok(())
}

fn new_contact(row: ImportedContact, target: &ImportTarget) -> Contact {
    let now = Utc::now();
    Contact {
        id: ContactId::new(),
        artist_id: target.artist,
        contact_role: target.role,
        email: row.email,
        fields: row.fields,
        status: status_for(row.standing).unwrap_or_default(),
        source: ContactSource::Imported,
        consent: (row.standing == Standing::Consents).then(|| consent_for(&row.proof, target)),
        engagement: EngagementSummary::default(),
        created_by: target.actor.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// The status the source's word moves a contact to; `None` leaves it as it is.
fn status_for(standing: Standing) -> Option<ContactStatus> {
    match standing {
        Standing::Consents | Standing::NoConsent => None,
        Standing::OptedOut => Some(ContactStatus::Unsubscribed),
        Standing::Bounced => Some(ContactStatus::Bounced),
    }
}

fn consent_for(proof: &Option<serde_json::Value>, target: &ImportTarget) -> Consent {
    Consent {
        proof: proof.clone().or_else(|| target.consent.proof.clone()),
        ..target.consent.clone()
    }
}

/// The existing contact with the row's non-empty values: cells overwrite fields (the file is the
/// newer word), tags and metadata are added to, an empty cell never clears anything. An
/// existing consent is kept; status only ever leaves `active` (an opt-out or a bounce at the
/// source), never returns to it.
fn merge(current: &Contact, row: &ImportedContact, target: &ImportTarget) -> Contact {
    let mut merged = current.clone();
    let (fields, incoming) = (&mut merged.fields, &row.fields);
    for (field, value) in [
        (&mut fields.first_name, &incoming.first_name),
        (&mut fields.last_name, &incoming.last_name),
        (&mut fields.company, &incoming.company),
        (&mut fields.position, &incoming.position),
        (&mut fields.phone, &incoming.phone),
    ] {
        if value.is_some() {
            field.clone_from(value);
        }
    }
    let mut tags: Vec<String> = fields.tags.as_slice().to_vec();
    tags.extend(incoming.tags.as_slice().iter().cloned());
    // Both sides are already valid tags; if together they pass the cap, the existing ones stay.
    if let Ok(union) = crate::domain::Tags::parse(&tags) {
        fields.tags = union;
    }
    let mut metadata = fields.metadata.clone();
    metadata.extend(incoming.metadata.clone());
    if let Ok(metadata) = crate::domain::ContactFields::metadata(metadata) {
        fields.metadata = metadata;
    }
    if merged.consent.is_none() && row.standing == Standing::Consents {
        merged.consent = Some(consent_for(&row.proof, target));
    }
    if let Some(status) = status_for(row.standing)
        && merged.status == ContactStatus::Active
    {
        merged.status = status;
    }
    if merged != *current {
        merged.updated_at = Utc::now();
        merged.version = current.version + 1;
    }
    merged
}

/// A new contact's writes: the contact, its guard, its consent appended to its ledger.
fn new_writes(
    app: &App,
    target: &ImportTarget,
    contact: &Contact,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    let mut writes: Vec<TransactWriteItem> = store::put_new(app, contact)?.into();
    writes.extend(gained_consent(app, target, contact, None)?);
    writes.extend(opted_out(app, target, contact, None)?);
    Ok(writes)
}

/// A changed contact's writes: the contact over the version read, and the consent it gains.
fn changed_writes(
    app: &App,
    target: &ImportTarget,
    contact: &Contact,
    current: &Contact,
) -> Result<Vec<TransactWriteItem>, ApiError> {
    let mut writes = vec![store::put_existing(app, contact, current.version)?];
    writes.extend(gained_consent(
        app,
        target,
        contact,
        current.consent.as_ref(),
    )?);
    writes.extend(opted_out(app, target, contact, Some(current.status))?);
    Ok(writes)
}

/// The ledger entry of a consent the import gives a contact that had none.
fn gained_consent(
    app: &App,
    target: &ImportTarget,
    contact: &Contact,
    before: Option<&Consent>,
) -> Result<Option<TransactWriteItem>, ApiError> {
    match (&contact.consent, before) {
        (Some(consent), None) => {
            let entry = ConsentEntry::given(contact.id, consent, target.actor.as_str());
            Ok(Some(crate::store::consent::append(
                app,
                target.artist,
                &entry,
            )?))
        }
        _ => Ok(None),
    }
}

/// The ledger entry of an opt-out the source reports, when the contact becomes unsubscribed.
fn opted_out(
    app: &App,
    target: &ImportTarget,
    contact: &Contact,
    before: Option<ContactStatus>,
) -> Result<Option<TransactWriteItem>, ApiError> {
    if contact.status != ContactStatus::Unsubscribed || before == Some(ContactStatus::Unsubscribed)
    {
        return Ok(None);
    }
    let entry = ConsentEntry::withdrawn(
        contact.id,
        format!("opted out at the source ({})", target.consent.source),
        target.actor.as_str(),
        contact.updated_at,
    );
    Ok(Some(crate::store::consent::append(
        app,
        target.artist,
        &entry,
    )?))
}

async fn write_new(
    app: &App,
    target: &ImportTarget,
    contacts: &[Contact],
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    let mut writes = Vec::with_capacity(contacts.len() * 3);
    for contact in contacts {
        writes.extend(new_writes(app, target, contact)?);
    }
    match transact(app, writes).await? {
        TransactOutcome::Written => report.created += contacts.len() as u64,
        // Someone created one of these addresses meanwhile: go one by one, merging into theirs.
        TransactOutcome::ConditionFailed(_) => {
            for contact in contacts {
                match transact(app, new_writes(app, target, contact)?).await? {
                    TransactOutcome::Written => report.created += 1,
                    TransactOutcome::ConditionFailed(_) => {
                        retry_as_existing(app, target, contact, report).await?
                    }
                }
            }
        }
    }
    Ok(())
}

async fn write_changed(
    app: &App,
    target: &ImportTarget,
    contacts: &[(Contact, &Contact)],
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    let mut writes = Vec::with_capacity(contacts.len());
    for (contact, current) in contacts {
        writes.extend(changed_writes(app, target, contact, current)?);
    }
    match transact(app, writes).await? {
        TransactOutcome::Written => report.updated += contacts.len() as u64,
        TransactOutcome::ConditionFailed(_) => {
            for (contact, current) in contacts {
                match transact(app, changed_writes(app, target, contact, current)?).await? {
                    TransactOutcome::Written => report.updated += 1,
                    TransactOutcome::ConditionFailed(_) => {
                        retry_as_existing(app, target, contact, report).await?
                    }
                }
            }
        }
    }
    Ok(())
}

/// One row whose contact changed under us: read it again and merge once more.
async fn retry_as_existing(
    app: &App,
    target: &ImportTarget,
    wanted: &Contact,
    report: &mut ImportReport,
) -> Result<(), ApiError> {
    let row = ImportedContact {
        row: 0,
        email: wanted.email.clone(),
        fields: wanted.fields.clone(),
        proof: None,
        standing: match (wanted.status, &wanted.consent) {
            (ContactStatus::Unsubscribed, _) => Standing::OptedOut,
            (ContactStatus::Bounced, _) => Standing::Bounced,
            (_, None) => Standing::NoConsent,
            _ => Standing::Consents,
        },
    };
    let Some(id) = store::find_by_email(app, target.artist, target.role, &wanted.email).await?
    else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "contact {} vanished during an import",
            wanted.id
        )));
    };
    let Some(current) = store::get(app, target.artist, id).await? else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "contact {id} vanished during an import"
        )));
    };
    let merged = merge(&current, &row, target);
    if merged == current {
        report.unchanged += 1;
        return Ok(());
    }
    match transact(app, changed_writes(app, target, &merged, &current)?).await? {
        TransactOutcome::Written => {
            report.updated += 1;
            Ok(())
        }
        TransactOutcome::ConditionFailed(_) => Err(ApiError::internal(anyhow::anyhow!(
            "contact {id} kept changing during an import"
        ))),
    }
}

/// How a run of the pipeline ended.
#[derive(Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// The whole file is done.
    Finished,
    /// The time budget ran out: run again with the same progress to continue.
    Paused,
}

/// Where an import stands across runs: the checkpoint, the counts so far, and the refused rows
/// of the latest run (the caller stores them before the next).
#[derive(Debug, Default, Clone)]
pub struct Progress {
    /// Data records already applied: the next run starts after them.
    pub records_read: u64,
    pub report: ImportReport,
    pub errors: Vec<crate::import::RowError>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The file itself is refused: a terminal outcome, reported to the user.
    #[error(transparent)]
    File(#[from] crate::import::FileError),
    /// Storage failed: worth retrying.
    #[error(transparent)]
    Storage(#[from] ApiError),
}

/// One run over `input`: analyzes on a blocking thread, applies batches as they come, and stops
/// between batches once `deadline` has passed. `progress` comes from earlier runs of the same
/// import (or is new) and receives this run's.
pub async fn run(
    app: &App,
    target: &ImportTarget,
    input: Box<dyn std::io::Read + Send>,
    options: crate::import::ImportOptions,
    deadline: Option<tokio::time::Instant>,
    progress: &mut Progress,
) -> Result<RunEnd, RunError> {
    let resume_after = progress.records_read;
    let Progress {
        report,
        errors,
        records_read,
    } = progress;
    enum Event {
        Opened(Box<ImportReport>),
        Batch(crate::import::Batch),
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Event>(4);
    let analysis = tokio::task::spawn_blocking(move || -> Result<(), crate::import::FileError> {
        let mut analyzer = crate::import::Analyzer::open(input, &options)?;
        if sender
            .blocking_send(Event::Opened(Box::new(analyzer.report().clone())))
            .is_err()
        {
            return Ok(());
        }
        while let Some(batch) = analyzer.next_batch(100, resume_after)? {
            if sender.blocking_send(Event::Batch(batch)).is_err() {
                break;
            }
        }
        Ok(())
    });
    let mut end = RunEnd::Finished;
    while let Some(event) = receiver.recv().await {
        match event {
            Event::Opened(opened) => {
                report.detected = opened.detected;
                report.mapping = opened.mapping;
            }
            Event::Batch(mut batch) => {
                let contacts = std::mem::take(&mut batch.contacts);
                apply(app, target, contacts, report).await?;
                report.add(&batch);
                errors.append(&mut batch.errors);
                *records_read = batch.records_read;
                if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
                    end = RunEnd::Paused;
                    break;
                }
            }
        }
    }
    drop(receiver);
    analysis.await.map_err(|join| {
        ApiError::internal(anyhow::anyhow!("the analysis thread failed: {join}"))
    })??;
    Ok(end)
}
