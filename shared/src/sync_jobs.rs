//! Contact syncs from Gmail, Outlook and Mailchimp, run as import jobs: the same job, status
//! endpoint, report and per-row error file as a file import, the same rules for each contact
//! (`contacts_import::apply`: validation, dedup, suppression, consent, never resubscribed).
//!
//! `POST …/contacts/sync/{provider}` creates the job and queues its first run on the imports
//! queue with the credential sealed (`sync::seal`); `import-upload` reads page after page,
//! applying each whole and saving the job's position after it, and, when its time runs out or
//! the provider asks to wait, queues the next run with the same sealed credential. The
//! credential is never in the job, a log or a message in clear, and is gone with the last
//! message. A completed sync leaves its cursor (`store::sync_cursors`) for the next one to read
//! only the changes.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::contacts::ConsentInput;
use crate::contacts_import;
use crate::domain::{
    ArtistId, AuditAction, AuditRecord, ContactRole, ImportFailure, ImportId, ImportJob,
    ImportStatus, SyncMode, SyncPosition, SyncProvider, SyncState, SyncSummary,
};
use crate::import::Standing;
use crate::import_jobs::{self, MAX_INTERRUPTED_RUNS, Processed};
use crate::store::suppression::{self, OptOutKeys};
use crate::store::{imports as job_store, sync_cursors};
use crate::sync::{self, Credential, FetchError, Next, Page};
use crate::{ApiError, App};

/// Longer than a Lambda invocation can live, as an import's.
const LEASE: chrono::Duration = chrono::Duration::minutes(16);
/// A Retry-After up to this is waited out in the same invocation; longer, the next run is
/// queued that much later.
const WAIT_IN_PLACE: Duration = Duration::from_secs(10);
/// A provider's 5xx or silence is retried this many times, after 1, 2, 4… seconds, before the
/// message is left to SQS's own retry.
const UNAVAILABLE_RETRIES: u32 = 3;

#[derive(Debug, Clone)]
pub struct NewSync {
    pub contact_role: ContactRole,
    pub consent: ConsentInput,
    pub credential: Credential,
    /// The Mailchimp audience.
    pub list_id: Option<String>,
}

/// Creates the sync's job and queues its first run.
pub async fn start(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    provider: SyncProvider,
    new: NewSync,
) -> Result<ImportJob, ApiError> {
    caller.require_team(artist, new.contact_role)?;
    let id = ImportId::new();
    let last = sync_cursors::get(app, artist, new.contact_role, provider)
        .await?
        .filter(|last| last.list_id == new.list_id);
    let name = match &new.list_id {
        Some(list) => format!("{} audience {list}", provider.title()),
        None => provider.title().to_owned(),
    };
    let source = format!("sync {id} ({name})");
    let mut job = import_jobs::new_job(caller, artist, id, new.contact_role, new.consent, source);
    job.file_name = name;
    job.status = ImportStatus::Processing;
    job.sync = Some(SyncState {
        summary: SyncSummary {
            provider,
            list_id: new.list_id,
            mode: if last.is_some() {
                SyncMode::Incremental
            } else {
                SyncMode::Full
            },
            fell_back_to_full: false,
            pages: 0,
        },
        position: SyncPosition {
            cursor: last.map(|last| last.cursor),
            ..SyncPosition::default()
        },
        started_at: job.created_at,
    });
    let message = ContinueSync {
        artist_id: artist,
        import_id: id,
        credential: sync::seal(app, id, &new.credential)?,
    };
    import_jobs::insert(app, &job).await?;
    if let Err(error) = import_jobs::enqueue(app, message.body()?, Duration::ZERO).await {
        // Nothing will run the stored job: it says so instead of staying `processing`.
        let why = "the sync could not be queued: start it again";
        if let Err(stopping) = import_jobs::stop(app, artist, id, "sync_not_queued", why).await {
            tracing::error!(import = %id, error = format!("{stopping:#}"), "a sync that was never queued could not be marked failed");
        }
        return Err(error);
    }
    tracing::info!(artist = %artist, import = %id, provider = provider.as_str(), "sync started");
    Ok(job)
}

/// The imports queue's message running a sync: its job and its sealed credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinueSync {
    pub artist_id: ArtistId,
    pub import_id: ImportId,
    pub credential: String,
}

impl std::fmt::Debug for ContinueSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ContinueSync({}/{})", self.artist_id, self.import_id)
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    continue_sync: ContinueSync,
}

impl ContinueSync {
    pub fn read(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value::<Envelope>(value.clone())
            .ok()
            .map(|envelope| envelope.continue_sync)
    }

    fn body(&self) -> Result<String, ApiError> {
        serde_json::to_string(&Envelope {
            continue_sync: self.clone(),
        })
        .map_err(ApiError::internal)
    }
}

/// Reads and applies pages until the sync ends, `deadline` passes or the provider asks to
/// wait. A storage failure, or a provider still unavailable after a few tries, is returned for
/// SQS to deliver the message again; the job stays at its last whole page.
pub async fn process(
    app: &App,
    message: &ContinueSync,
    deadline: tokio::time::Instant,
) -> Result<Processed, ApiError> {
    let (artist, id) = (message.artist_id, message.import_id);
    let Some(job) = job_store::lease(app, artist, id, Utc::now() + LEASE).await? else {
        return Ok(Processed::Skipped);
    };
    let mut run = Run {
        leased: job.version,
        job,
    };
    match run.drive(app, message, deadline).await {
        Ok(outcome) => Ok(outcome),
        // Given back at its last saved page, so the message's next delivery takes it at once.
        Err(error) => {
            import_jobs::release(app, run.job, run.leased).await;
            Err(error)
        }
    }
}

impl Run {
    /// The run itself: every way it ends but a failure to give the lease back.
    async fn drive(
        &mut self,
        app: &App,
        message: &ContinueSync,
        deadline: tokio::time::Instant,
    ) -> Result<Processed, ApiError> {
        let id = self.job.id;
        if self.job.sync.is_none() {
            let failure = failure("not_a_sync", "this import is not a sync");
            return self
                .end(app, self.job.clone(), ImportStatus::Failed, Some(failure))
                .await;
        }
        if self.job.interrupted_runs >= MAX_INTERRUPTED_RUNS {
            let message = format!(
                "the sync stopped {} times before saving its progress: start it again",
                self.job.interrupted_runs
            );
            let failure = failure("sync_interrupted", &message);
            return self
                .end(app, self.job.clone(), ImportStatus::Failed, Some(failure))
                .await;
        }
        let credential = match sync::open(app, id, &message.credential) {
            Ok(credential) => credential,
            Err(error) => {
                tracing::error!(import = %id, error = format!("{error:#}"), "a sync's credential did not open");
                let why = "the sync's credential could not be read back: start the sync again";
                let failure = failure("credential_unreadable", why);
                return self
                    .end(app, self.job.clone(), ImportStatus::Failed, Some(failure))
                    .await;
            }
        };
        let mut reader = sync::Reader::new(credential);
        let mut unavailable = 0;
        loop {
            let state = self.state().clone();
            match reader.fetch(app, &state).await {
                Ok(page) => {
                    unavailable = 0;
                    if let Some(done) = self.apply(app, page).await? {
                        return Ok(done);
                    }
                    // At least one page a run, however late it starts: every run moves on.
                    if tokio::time::Instant::now() >= deadline {
                        return self.later(app, message, Duration::ZERO).await;
                    }
                }
                // From the very start already: the provider refuses, whatever it says.
                Err(FetchError::CursorExpired) if state.position == SyncPosition::default() => {
                    let failure = failure(
                        "provider_refused",
                        "the provider answered that a sync from the start had expired",
                    );
                    return self
                        .end(app, self.job.clone(), ImportStatus::Failed, Some(failure))
                        .await;
                }
                Err(FetchError::CursorExpired) => {
                    tracing::info!(import = %id, "the provider's sync cursor expired: reading everything");
                    let state = self.state_mut();
                    state.position = SyncPosition::default();
                    state.summary.mode = SyncMode::Full;
                    state.summary.fell_back_to_full = true;
                }
                Err(FetchError::CredentialRejected(why)) => {
                    let failure = failure("credential_rejected", &why);
                    let job = self.job.clone();
                    return self
                        .end(app, job, ImportStatus::CredentialRejected, Some(failure))
                        .await;
                }
                Err(FetchError::Refused(why)) => {
                    let failure = failure("provider_refused", &why);
                    let job = self.job.clone();
                    return self
                        .end(app, job, ImportStatus::Failed, Some(failure))
                        .await;
                }
                Err(FetchError::RateLimited(wait)) => {
                    let fits = tokio::time::Instant::now() + wait < deadline;
                    if wait > WAIT_IN_PLACE || !fits {
                        return self.later(app, message, wait).await;
                    }
                    tokio::time::sleep(wait).await;
                }
                Err(FetchError::Unavailable(why)) => {
                    unavailable += 1;
                    let backoff = Duration::from_secs(1 << (unavailable - 1));
                    let fits = tokio::time::Instant::now() + backoff < deadline;
                    if unavailable > UNAVAILABLE_RETRIES || !fits {
                        return Err(ApiError::internal(anyhow::anyhow!(
                            "the provider stayed unavailable: {why}"
                        )));
                    }
                    tokio::time::sleep(backoff).await;
                }
            }
        }
    }
}

fn failure(code: &str, message: &str) -> ImportFailure {
    ImportFailure {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// A leased job and the version it was saved at last.
struct Run {
    job: ImportJob,
    leased: u64,
}

impl Run {
    fn state(&self) -> &SyncState {
        self.job.sync.as_ref().expect("checked at the start")
    }

    fn state_mut(&mut self) -> &mut SyncState {
        self.job.sync.as_mut().expect("checked at the start")
    }

    /// Applies one page whole and saves the job after it; `Some` once the sync is complete.
    /// Nothing of the page counts until the save: a failure leaves the job at the page before,
    /// and the retry applies this one again, which changes nothing twice.
    async fn apply(&mut self, app: &App, page: Page) -> Result<Option<Processed>, ApiError> {
        let mut next = self.job.clone();
        let state = next.sync.as_mut().expect("checked at the start");
        let provider = state.summary.provider;
        let mut batch = sync::batch(provider, &page.contacts, next.records_read + 1);
        let rows = std::mem::take(&mut batch.contacts);
        let opted_out: Vec<_> = rows
            .iter()
            .filter(|row| row.standing == Standing::OptedOut)
            .map(|row| row.email.clone())
            .collect();
        let target = import_jobs::target_of(&next);
        contacts_import::apply(app, &target, rows, &mut next.report).await?;
        // The person's opt-out outlives their contact here, as one made from our own links.
        for email in &opted_out {
            let keys = OptOutKeys::of(app, target.artist, target.role, email)?;
            suppression::opt_out(app, Some((target.artist, &target.actor)), &keys, false).await?;
        }
        next.report.add(&batch);
        next.report.add_removed(&page.removed);
        import_jobs::write_errors_part(app, &next, &batch.errors, batch.records_read).await?;
        next.records_read = batch.records_read;
        let state = next.sync.as_mut().expect("checked at the start");
        state.summary.pages += 1;
        match page.next {
            Next::Page(position) => {
                state.position = position;
                next.updated_at = Utc::now();
                next.version = self.leased + 1;
                import_jobs::save(app, &next, self.leased, None).await?;
                self.leased = next.version;
                self.job = next;
                Ok(None)
            }
            Next::Done { cursor } => {
                let last = sync_cursors::SyncCursor {
                    cursor,
                    list_id: state.summary.list_id.clone(),
                    started_at: state.started_at,
                    import_id: next.id,
                };
                sync_cursors::put(app, next.artist_id, next.contact_role, provider, last).await?;
                self.end(app, next, ImportStatus::Completed, None)
                    .await
                    .map(Some)
            }
        }
    }

    /// Ends the job as `job` stands (the last saved one, or with its last page applied): its
    /// error report assembled from every page's part, the status, why. Kept as the run's job
    /// once saved only.
    async fn end(
        &mut self,
        app: &App,
        mut job: ImportJob,
        status: ImportStatus,
        failure: Option<ImportFailure>,
    ) -> Result<Processed, ApiError> {
        job.error_report_key = import_jobs::assemble_error_report(app, &job).await?;
        job.status = status;
        job.failure = failure;
        job.lease_until = None;
        job.updated_at = Utc::now();
        job.version = self.leased + 1;
        let audit = (status == ImportStatus::Completed).then(|| {
            AuditRecord::new(
                job.artist_id,
                &job.created_by,
                AuditAction::ContactsImported,
                format!("import#{}", job.id),
                vec![],
                job.updated_at,
            )
        });
        import_jobs::save(app, &job, self.leased, audit).await?;
        self.leased = job.version;
        self.job = job;
        let job = &self.job;
        let outcome = if status == ImportStatus::Completed {
            Processed::Completed
        } else {
            Processed::Failed
        };
        tracing::info!(artist = %job.artist_id, import = %job.id, ?status, code = job.failure.as_ref().map(|f| f.code.as_str()), "sync ended");
        Ok(outcome)
    }

    /// Gives the lease back and queues the next run `after` from now.
    async fn later(
        &mut self,
        app: &App,
        message: &ContinueSync,
        after: Duration,
    ) -> Result<Processed, ApiError> {
        let mut job = self.job.clone();
        job.lease_until = None;
        job.updated_at = Utc::now();
        job.version = self.leased + 1;
        import_jobs::save(app, &job, self.leased, None).await?;
        self.leased = job.version;
        self.job = job;
        import_jobs::enqueue(app, message.body()?, after).await?;
        tracing::info!(import = %self.job.id, wait_seconds = after.as_secs(), "sync continues in a later run");
        Ok(Processed::Continued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_continuation_reads_back_and_never_prints_its_credential() {
        let message = ContinueSync {
            artist_id: ArtistId::new(),
            import_id: ImportId::new(),
            credential: "c2VhbGVk".into(),
        };
        let value: serde_json::Value = serde_json::from_str(&message.body().unwrap()).unwrap();
        assert_eq!(ContinueSync::read(&value), Some(message.clone()));
        assert!(!format!("{message:?}").contains("c2VhbGVk"));
        assert_eq!(
            ContinueSync::read(&serde_json::json!({"continue_import": {}})),
            None
        );
    }
}
