//! Import jobs: a team asks to import a file, uploads it to a presigned URL, and `import-upload`
//! runs it when S3 reports the upload — across several invocations for a file too large for one,
//! each continuing from the checkpoint the last one saved. The job carries the status, the
//! counts and, when rows were refused, the key of the error report.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::contacts::ConsentInput;
use crate::contacts_import::{self, ImportTarget, Progress, RunEnd, RunError};
use crate::domain::{
    ArtistId, AuditAction, AuditRecord, Consent, ContactRole, ImportConsent, ImportFailure,
    ImportId, ImportJob, ImportStatus, UserId,
};
use crate::import::{ImportOptions, ImportReport, RowError, Target, csv_safe};
use crate::store::{self, imports as job_store};
use crate::{ApiError, App};

/// Uploads larger than this are refused before reading.
pub const MAX_UPLOAD_BYTES: i64 = 256 * 1024 * 1024;
const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
const REPORT_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Longer than a Lambda invocation can live: a crashed run's lease expires before a retry.
const LEASE: chrono::Duration = chrono::Duration::minutes(16);

/// Runs a file may stop before it is given up on: one could be bad luck (a cold Lambda
/// killed), two with the same file is the file. Below the queue's receive limit, so the job
/// says `failed` before its message reaches the dead-letter queue.
pub const MAX_INTERRUPTED_RUNS: u32 = 2;

/// `ImportsQueue`'s `maxReceiveCount` in template.yaml: the delivery after which SQS gives a
/// message to the dead-letter queue.
pub const LAST_DELIVERY: u32 = 5;
const _: () = assert!(MAX_INTERRUPTED_RUNS < LAST_DELIVERY);

#[derive(Debug, Clone)]
pub struct NewImport {
    pub contact_role: ContactRole,
    pub file_name: String,
    pub consent: ConsentInput,
    pub mapping: BTreeMap<String, Target>,
    pub sheet: Option<String>,
    pub dry_run: bool,
}

/// Where to PUT the file.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct UploadTicket {
    pub method: &'static str,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

pub fn upload_key(artist: ArtistId, id: ImportId) -> String {
    format!("uploads/{artist}/{id}")
}

/// The job an uploaded object belongs to, from its key as S3 events carry it (URL-encoded).
pub fn parse_upload_key(encoded: &str) -> Option<(ArtistId, ImportId)> {
    let key: String = form_urlencoded::parse(format!("k={}", encoded).as_bytes())
        .next()?
        .1
        .into_owned();
    let rest = key.strip_prefix("uploads/")?;
    let (artist, id) = rest.split_once('/')?;
    Some((artist.parse().ok()?, id.parse().ok()?))
}

pub async fn create(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    new: NewImport,
) -> Result<(ImportJob, UploadTicket), ApiError> {
    caller.require_team(artist, new.contact_role)?;
    let id = ImportId::new();
    let source = format!("import {id} ({})", new.file_name);
    let mut job = new_job(caller, artist, id, new.contact_role, new.consent, source);
    job.file_name = new.file_name;
    job.mapping = new.mapping;
    job.sheet = new.sheet;
    job.dry_run = new.dry_run;
    insert(app, &job).await?;
    let presigning =
        PresigningConfig::expires_in(UPLOAD_URL_LIFETIME).map_err(ApiError::internal)?;
    let request = app
        .aws
        .s3
        .put_object()
        .bucket(&app.config.imports_bucket)
        .key(upload_key(artist, id))
        .presigned(presigning)
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(artist = %artist, import = %id, "import created");
    let ticket = UploadTicket {
        method: "PUT",
        url: request.uri().to_owned(),
        expires_at: job.created_at + UPLOAD_URL_LIFETIME,
    };
    Ok((job, ticket))
}

/// A job awaiting its input, with the consent the team states (`source` when it names none).
pub(crate) fn new_job(
    caller: &Caller,
    artist: ArtistId,
    id: ImportId,
    contact_role: ContactRole,
    consent: ConsentInput,
    source: String,
) -> ImportJob {
    let now = Utc::now();
    ImportJob {
        id,
        artist_id: artist,
        contact_role,
        consent: ImportConsent {
            basis: consent.basis,
            source: consent.source.unwrap_or(source),
            proof: consent.proof,
            wording_version: consent.wording_version,
        },
        file_name: String::new(),
        mapping: BTreeMap::new(),
        sheet: None,
        dry_run: false,
        status: ImportStatus::AwaitingUpload,
        records_read: 0,
        report: ImportReport::default(),
        error_report_key: None,
        failure: None,
        created_by: caller.user.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
        lease_until: None,
        interrupted_runs: 0,
        sync: None,
    }
}

/// Where and with what consent the job's rows are written.
pub(crate) fn target_of(job: &ImportJob) -> ImportTarget {
    ImportTarget {
        artist: job.artist_id,
        role: job.contact_role,
        actor: job.created_by.clone(),
        consent: Consent {
            basis: job.consent.basis,
            source: job.consent.source.clone(),
            recorded_at: Utc::now(),
            proof: job.consent.proof.clone(),
            wording_version: job.consent.wording_version.clone(),
        },
        dry_run: job.dry_run,
    }
}

/// Stores a new job with the audit record of its creation.
pub(crate) async fn insert(app: &App, job: &ImportJob) -> Result<(), ApiError> {
    let audit = AuditRecord::new(
        job.artist_id,
        &job.created_by,
        AuditAction::ImportCreated,
        format!("import#{}", job.id),
        vec![],
        job.created_at,
    );
    match store::transact(
        app,
        vec![
            job_store::put_new(app, job)?,
            store::audit::put(app, audit)?,
        ],
    )
    .await?
    {
        store::TransactOutcome::Written => Ok(()),
        store::TransactOutcome::ConditionFailed(_) => Err(ApiError::internal(anyhow::anyhow!(
            "import id {} already taken",
            job.id
        ))),
    }
}

/// The job, if the caller may see its team, and a download link to its error report.
pub async fn get(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: ImportId,
) -> Result<(ImportJob, Option<String>), ApiError> {
    let access = caller.require_artist(artist)?;
    let job = job_store::get(app, artist, id)
        .await?
        .filter(|job| access.allows(job.contact_role))
        .ok_or_else(|| ApiError::not_found("import"))?;
    let link = match &job.error_report_key {
        Some(key) => {
            let presigning =
                PresigningConfig::expires_in(REPORT_URL_LIFETIME).map_err(ApiError::internal)?;
            let request = app
                .aws
                .s3
                .get_object()
                .bucket(&app.config.imports_bucket)
                .key(key)
                .response_content_disposition(format!(
                    "attachment; filename=\"import-{id}-errors.csv\""
                ))
                .presigned(presigning)
                .await
                .map_err(ApiError::internal)?;
            Some(request.uri().to_owned())
        }
        None => None,
    };
    Ok((job, link))
}

/// What one delivery of an import message did.
#[derive(Debug, PartialEq, Eq)]
pub enum Processed {
    Completed,
    Failed,
    /// Paused at a checkpoint; a continuation message is queued.
    Continued,
    /// Finished already, or another run holds it: nothing to do.
    Skipped,
}

/// Runs the import until it ends or `deadline` passes. Storage failures are returned for the
/// message to be retried; a refused file fails the job for good.
pub async fn process(
    app: &App,
    artist: ArtistId,
    id: ImportId,
    deadline: tokio::time::Instant,
) -> Result<Processed, ApiError> {
    let Some(mut job) = job_store::lease(app, artist, id, Utc::now() + LEASE).await? else {
        return Ok(Processed::Skipped);
    };
    let leased = job.version;
    if job.interrupted_runs >= MAX_INTERRUPTED_RUNS {
        let message = format!(
            "the import stopped {} times while reading this file (out of memory or time): split it, or save it as CSV, and import it again",
            job.interrupted_runs
        );
        return fail(app, job, leased, "import_interrupted", &message).await;
    }
    let object = app
        .aws
        .s3
        .get_object()
        .bucket(&app.config.imports_bucket)
        .key(upload_key(artist, id))
        .send()
        .await;
    let object = match object {
        Ok(object) => object,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
            return fail(
                app,
                job,
                leased,
                "upload_missing",
                "the uploaded file is gone; upload it again in a new import",
            )
            .await;
        }
        Err(error) => {
            release(app, job, leased).await;
            return Err(ApiError::internal(error));
        }
    };
    if object.content_length.unwrap_or(0) > MAX_UPLOAD_BYTES {
        return fail(
            app,
            job,
            leased,
            "file_too_large",
            &format!("the file is larger than {MAX_UPLOAD_BYTES} bytes"),
        )
        .await;
    }
    let input = Box::new(tokio_util::io::SyncIoBridge::new(
        object.body.into_async_read(),
    ));
    let target = target_of(&job);
    let options = ImportOptions {
        mapping: job.mapping.clone(),
        sheet: job.sheet.clone(),
        ..ImportOptions::default()
    };
    let mut progress = Progress {
        records_read: job.records_read,
        report: job.report.clone(),
        errors: Vec::new(),
    };
    let outcome =
        contacts_import::run(app, &target, input, options, Some(deadline), &mut progress).await;
    match outcome {
        Err(RunError::File(error)) => {
            fail(app, job, leased, error.code(), &error.to_string()).await
        }
        Err(RunError::Storage(error)) => {
            release(app, job, leased).await;
            Err(error)
        }
        Ok(end) => {
            write_errors_part(app, &job, &progress.errors, progress.records_read).await?;
            job.records_read = progress.records_read;
            job.report = progress.report;
            job.lease_until = None;
            job.updated_at = Utc::now();
            job.version = leased + 1;
            if end == RunEnd::Paused {
                save(app, &job, leased, None).await?;
                continue_later(app, artist, id).await?;
                return Ok(Processed::Continued);
            }
            job.error_report_key = assemble_error_report(app, &job).await?;
            job.status = ImportStatus::Completed;
            let audit = AuditRecord::new(
                artist,
                &job.created_by,
                AuditAction::ContactsImported,
                format!("import#{id}"),
                vec![],
                job.updated_at,
            );
            save(app, &job, leased, Some(audit)).await?;
            delete_upload(app, artist, id).await;
            tracing::info!(artist = %artist, import = %id, rows = job.report.rows, "import completed");
            Ok(Processed::Completed)
        }
    }
}

pub(crate) async fn save(
    app: &App,
    job: &ImportJob,
    expected: u64,
    audit: Option<AuditRecord>,
) -> Result<(), ApiError> {
    let mut writes = vec![job_store::put_existing(app, job, expected)?];
    if let Some(audit) = audit {
        writes.push(store::audit::put(app, audit)?);
    }
    match store::transact(app, writes).await? {
        store::TransactOutcome::Written => Ok(()),
        store::TransactOutcome::ConditionFailed(_) => Err(ApiError::internal(anyhow::anyhow!(
            "import {} changed while leased",
            job.id
        ))),
    }
}

async fn fail(
    app: &App,
    job: ImportJob,
    leased: u64,
    code: &str,
    message: &str,
) -> Result<Processed, ApiError> {
    end_as(app, job, leased, ImportStatus::Failed, code, message).await
}

/// Ends the job in `status` with the reason.
pub(crate) async fn end_as(
    app: &App,
    mut job: ImportJob,
    leased: u64,
    status: ImportStatus,
    code: &str,
    message: &str,
) -> Result<Processed, ApiError> {
    tracing::info!(artist = %job.artist_id, import = %job.id, code, "import refused");
    job.status = status;
    job.failure = Some(ImportFailure {
        code: code.to_owned(),
        message: message.to_owned(),
    });
    job.lease_until = None;
    job.updated_at = Utc::now();
    job.version = leased + 1;
    save(app, &job, leased, None).await?;
    delete_upload(app, job.artist_id, job.id).await;
    Ok(Processed::Failed)
}

/// The message's last delivery failed too: the job says so, with the cause's kind, rather
/// than stay `processing` while its message sits in the dead-letter queue.
pub async fn give_up(
    app: &App,
    artist: ArtistId,
    id: ImportId,
    cause: &ApiError,
) -> Result<(), ApiError> {
    tracing::error!(artist = %artist, import = %id, error = format!("{cause:#}"), "import given up after its last delivery");
    stop(
        app,
        artist,
        id,
        "import_failed",
        &format!(
            "the import failed {LAST_DELIVERY} times on a storage or service error and was stopped; start it again"
        ),
    )
    .await
}

/// Fails the job now, unless a run holds it (that run ends it).
pub(crate) async fn stop(
    app: &App,
    artist: ArtistId,
    id: ImportId,
    code: &str,
    message: &str,
) -> Result<(), ApiError> {
    let Some(job) = job_store::lease(app, artist, id, Utc::now() + LEASE).await? else {
        return Ok(());
    };
    let leased = job.version;
    fail(app, job, leased, code, message).await.map(drop)
}

/// Gives the job back after a failed run so the retry can take it at once.
pub(crate) async fn release(app: &App, mut job: ImportJob, leased: u64) {
    job.lease_until = None;
    job.version = leased + 1;
    if let Err(error) = save(app, &job, leased, None).await {
        tracing::warn!(import = %job.id, error = format!("{error:#}"), "releasing the import lease failed; it expires on its own");
    }
}

/// Uploads are deleted once processed (the bucket's lifecycle rule catches the rest).
async fn delete_upload(app: &App, artist: ArtistId, id: ImportId) {
    let deleted = app
        .aws
        .s3
        .delete_object()
        .bucket(&app.config.imports_bucket)
        .key(upload_key(artist, id))
        .send()
        .await;
    if let Err(error) = deleted {
        tracing::warn!(import = %id, error = %aws_sdk_s3::error::DisplayErrorContext(&error), "deleting the upload failed");
    }
}

#[derive(Serialize, Deserialize)]
struct Continuation {
    continue_import: ContinueImport,
}

#[derive(Serialize, Deserialize)]
struct ContinueImport {
    artist_id: ArtistId,
    import_id: ImportId,
}

async fn continue_later(app: &App, artist: ArtistId, id: ImportId) -> Result<(), ApiError> {
    let body = serde_json::to_string(&Continuation {
        continue_import: ContinueImport {
            artist_id: artist,
            import_id: id,
        },
    })
    .map_err(ApiError::internal)?;
    enqueue(app, body, Duration::ZERO).await
}

/// Puts a message on the imports queue, delivered after `delay` (SQS's limit: 15 minutes).
pub(crate) async fn enqueue(app: &App, body: String, delay: Duration) -> Result<(), ApiError> {
    let delay = delay.min(Duration::from_secs(900)).as_secs() as i32;
    app.aws
        .sqs
        .send_message()
        .queue_url(&app.config.imports_queue_url)
        .message_body(body)
        .delay_seconds(delay)
        .send()
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// What an imports queue message asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ImportMessage {
    Run(Vec<(ArtistId, ImportId)>),
    /// The next pages of a sync, with its sealed credential.
    Sync(crate::sync_jobs::ContinueSync),
    /// S3's `s3:TestEvent`, or an object outside `uploads/`: nothing to do.
    Nothing,
}

/// Reads a message body: an S3 event notification or a continuation. `None` is a poison
/// message: it is left to fail into the dead-letter queue.
pub fn parse_message(body: &str) -> Option<ImportMessage> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    if let Some(sync) = crate::sync_jobs::ContinueSync::read(&value) {
        return Some(ImportMessage::Sync(sync));
    }
    if let Ok(continuation) = serde_json::from_value::<Continuation>(value.clone()) {
        let ContinueImport {
            artist_id,
            import_id,
        } = continuation.continue_import;
        return Some(ImportMessage::Run(vec![(artist_id, import_id)]));
    }
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Some(ImportMessage::Nothing);
    }
    let records = value.get("Records")?.as_array()?;
    let jobs: Vec<(ArtistId, ImportId)> = records
        .iter()
        .filter(|record| {
            record["eventName"]
                .as_str()
                .is_some_and(|name| name.starts_with("ObjectCreated:"))
        })
        .filter_map(|record| parse_upload_key(record["s3"]["object"]["key"].as_str()?))
        .collect();
    Some(if jobs.is_empty() {
        ImportMessage::Nothing
    } else {
        ImportMessage::Run(jobs)
    })
}

fn errors_prefix(job: &ImportJob) -> String {
    format!("reports/{}/{}/parts/", job.artist_id, job.id)
}

/// This run's refused rows, as one part of the error report.
pub(crate) async fn write_errors_part(
    app: &App,
    job: &ImportJob,
    errors: &[RowError],
    records_read: u64,
) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    for error in errors {
        let row = error.row.to_string();
        let fields = [
            row.as_str(),
            &error.code,
            error.field.as_deref().unwrap_or(""),
            &error.message,
        ];
        writer
            .write_record(fields.map(csv_safe).iter().map(|f| f.as_ref()))
            .map_err(ApiError::internal)?;
    }
    let bytes = writer.into_inner().map_err(ApiError::internal)?;
    app.aws
        .s3
        .put_object()
        .bucket(&app.config.imports_bucket)
        .key(format!("{}{records_read:012}.csv", errors_prefix(job)))
        .content_type("text/csv; charset=utf-8")
        .body(bytes.into())
        .send()
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Joins the parts (in checkpoint order) under one header; `None` when no row was refused.
pub(crate) async fn assemble_error_report(
    app: &App,
    job: &ImportJob,
) -> Result<Option<String>, ApiError> {
    let bucket = &app.config.imports_bucket;
    let listed = app
        .aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(errors_prefix(job))
        .send()
        .await
        .map_err(ApiError::internal)?;
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    if keys.is_empty() {
        return Ok(None);
    }
    keys.sort();
    // A UTF-8 BOM so Excel opens accents right.
    let mut report = b"\xEF\xBB\xBFrow,code,field,message\n".to_vec();
    for key in &keys {
        let part = app
            .aws
            .s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(ApiError::internal)?;
        let bytes = part
            .body
            .collect()
            .await
            .map_err(ApiError::internal)?
            .into_bytes();
        report.extend_from_slice(&bytes);
    }
    let key = format!("reports/{}/{}.csv", job.artist_id, job.id);
    app.aws
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("text/csv; charset=utf-8")
        .body(report.into())
        .send()
        .await
        .map_err(ApiError::internal)?;
    for part in keys {
        let _ = app
            .aws
            .s3
            .delete_object()
            .bucket(bucket)
            .key(part)
            .send()
            .await;
    }
    Ok(Some(key))
}

/// The job as the API shows it: what the team asked and where it stands, not the run's
/// checkpoint and lease.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ImportView<'a> {
    pub id: ImportId,
    pub artist_id: ArtistId,
    pub contact_role: ContactRole,
    pub file_name: &'a str,
    pub dry_run: bool,
    pub status: ImportStatus,
    pub consent: &'a ImportConsent,
    pub report: &'a ImportReport,
    pub failure: Option<&'a ImportFailure>,
    /// A short-lived link to the CSV of rejected rows, once there are any.
    pub error_report_url: Option<String>,
    pub created_by: &'a UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What a sync reads from: the provider, and whether it read everything or the changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<&'a crate::domain::SyncSummary>,
    /// Where to `PUT` the file: on creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<UploadTicket>,
}

impl<'a> ImportView<'a> {
    pub fn of(job: &'a ImportJob, error_report_url: Option<String>) -> Self {
        Self {
            id: job.id,
            artist_id: job.artist_id,
            contact_role: job.contact_role,
            file_name: &job.file_name,
            dry_run: job.dry_run,
            status: job.status,
            consent: &job.consent,
            report: &job.report,
            failure: job.failure.as_ref(),
            error_report_url,
            created_by: &job.created_by,
            created_at: job.created_at,
            updated_at: job.updated_at,
            sync: job.sync.as_ref().map(|sync| &sync.summary),
            upload: None,
        }
    }
}
