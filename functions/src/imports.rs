//! Contact imports: `POST /api/artists/{artistId}/contacts/import`,
//! `GET /api/artists/{artistId}/contacts/imports/{importId}`, and the `import-upload` consumer
//! of the imports queue.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::Request;
use lambda_runtime::LambdaEvent;
use mailing::domain::{ArtistId, ContactRole, ImportId};
use mailing::import::Target;
use mailing::import_jobs::{self, ImportMessage, ImportView, NewImport};
use mailing::sync_jobs;
use mailing::{ApiError, App};
use serde::Deserialize;

use crate::http::{self, ConsentBody, Fields, HttpResult};

/// `POST /api/artists/{artistId}/contacts/import`: creates the job and answers where to upload.
pub async fn create(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let new = http::json_body::<CreateBody>(&request, http::JSON_LIMIT)?.parse()?;
    let (job, upload) = import_jobs::create(app, &caller, artist, new).await?;
    let view = ImportView {
        upload: Some(upload),
        ..ImportView::of(&job, None)
    };
    http::json(201, &view)
}

/// `GET /api/artists/{artistId}/contacts/imports/{importId}`
pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ImportId = http::path_id(&request, "importId", "import")?;
    let (job, link) = import_jobs::get(app, &caller, artist, id).await?;
    http::json(200, &ImportView::of(&job, link))
}

/// Time kept in hand before the invocation's deadline to save the checkpoint.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);

/// `import-upload`: runs the imports named by each message (S3 upload events, continuations).
/// A message that cannot be read, or whose import hit a storage failure, is reported failed so
/// SQS retries it; on its last delivery the import is marked failed with the reason instead
/// (the message then goes, acknowledged: nothing is left for the dead-letter queue to hold).
pub async fn upload(
    app: &App,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let remaining = event
        .context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(SAFETY_MARGIN)
        .max(Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + remaining;
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(message) = record.body.as_deref().and_then(import_jobs::parse_message) else {
            tracing::warn!(message = %id, "unreadable imports message");
            response.add_failure(id);
            continue;
        };
        let last = delivery(&record) >= import_jobs::LAST_DELIVERY;
        let jobs = match message {
            ImportMessage::Nothing => continue,
            ImportMessage::Run(jobs) => jobs,
            ImportMessage::Sync(sync) => {
                let (artist, import) = (sync.artist_id, sync.import_id);
                let outcome = sync_jobs::process(app, &sync, deadline).await;
                if !handled(app, artist, import, outcome, last).await {
                    response.add_failure(id);
                }
                continue;
            }
        };
        for (artist, import) in jobs {
            let outcome = import_jobs::process(app, artist, import, deadline).await;
            if !handled(app, artist, import, outcome, last).await {
                response.add_failure(id.clone());
                break;
            }
        }
    }
    Ok(response)
}

/// Logs what a run did; `false` when its message must be delivered again. A run failing on its
/// message's last delivery marks the job failed instead.
async fn handled(
    app: &App,
    artist: ArtistId,
    import: ImportId,
    outcome: Result<import_jobs::Processed, ApiError>,
    last: bool,
) -> bool {
    match outcome {
        Ok(outcome) => {
            tracing::info!(artist = %artist, import = %import, ?outcome, "import message handled");
            true
        }
        Err(error) if last => match import_jobs::give_up(app, artist, import, &error).await {
            Ok(()) => true,
            Err(also) => {
                tracing::error!(import = %import, error = format!("{also:#}"), "the failed import could not be marked failed");
                false
            }
        },
        Err(error) => {
            tracing::error!(artist = %artist, import = %import, error = format!("{error:#}"), "import run failed");
            false
        }
    }
}

/// Which delivery of its message this is (SQS's `ApproximateReceiveCount`; 1 when absent).
fn delivery(record: &aws_lambda_events::event::sqs::SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1)
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewImport", transform = dry_run_alias)
)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[cfg_attr(feature = "openapi", schemars(with = "ContactRole"))]
    contact_role: String,
    file_name: String,
    consent: ConsentBody,
    #[serde(default)]
    mapping: BTreeMap<String, Target>,
    #[serde(default)]
    sheet: Option<String>,
    #[serde(default, alias = "dryRun")]
    dry_run: bool,
}

/// `dryRun` is read as `dry_run`: a serde alias, which schemars leaves out.
#[cfg(feature = "openapi")]
fn dry_run_alias(schema: &mut schemars::Schema) {
    if let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    {
        properties.insert(
            "dryRun".to_owned(),
            serde_json::json!({ "type": "boolean", "deprecated": true, "description": "The same as `dry_run`." }),
        );
    }
}

impl CreateBody {
    fn parse(self) -> Result<NewImport, ApiError> {
        let mut f = Fields::default();
        let role = f.check("contact_role", self.contact_role.parse::<ContactRole>());
        let file_name = self.file_name.trim().to_owned();
        let bad_name = file_name.is_empty()
            || file_name.chars().count() > 255
            || file_name
                .chars()
                .any(|c| c.is_control() || c == '/' || c == '\\');
        if bad_name {
            f.push(
                "file_name",
                "must be a file name of 1 to 255 characters, without a path",
            );
        }
        let header_ok = |header: &str| {
            !header.trim().is_empty()
                && header.chars().count() <= 200
                && !header.chars().any(char::is_control)
        };
        if self.mapping.len() > 1000 || !self.mapping.keys().all(|k| header_ok(k)) {
            f.push(
                "mapping",
                "at most 1000 columns, each header 1 to 200 characters without control characters",
            );
        }
        let consent = self.consent.parse(&mut f);
        f.finish(|| NewImport {
            contact_role: role.expect("checked"),
            file_name,
            consent,
            mapping: self.mapping,
            sheet: self.sheet,
            dry_run: self.dry_run,
        })
    }
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("POST", "/api/artists/{artistId}/contacts/import")
        .summary("Start an import: answers where to upload the file")
        .description("CSV (any encoding and separator), XLSX, XLS or ODS. The consent stated covers every row; columns are recognized by their names in English and French, or mapped. Uploading the file starts the import; `dry_run` reports without writing.")
        .body::<CreateBody>()
        .answers::<ImportView>(201, "The job, awaiting its upload, and the upload link.");
    api.operation("GET", "/api/artists/{artistId}/contacts/imports/{importId}")
        .summary("An import and its report")
        .answers::<ImportView>(200, "The job, its counts and per-row errors.");
}
