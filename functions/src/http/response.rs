//! Responses: JSON bodies, and `ApiError` mapped to its status and `{ "error": … }` body.

use lambda_http::{Body, Response};
use mailing::ApiError;
use serde::Serialize;

/// What every HTTP handler returns; [`error_response`] turns the error side into a response.
pub type HttpResult = Result<Response<Body>, ApiError>;

/// A whole list, answered at once: `{ "items": [...] }`.
#[derive(Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ListOf{T}")
)]
pub struct Items<T> {
    pub items: Vec<T>,
}

pub fn json(status: u16, value: &impl Serialize) -> HttpResult {
    let body = serde_json::to_string(value).map_err(ApiError::internal)?;
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .map_err(ApiError::internal)
}

/// A CSV download named `filename`.
pub fn csv(bytes: Vec<u8>, filename: &str) -> HttpResult {
    Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header(
            "content-disposition",
            format!("attachment; filename=\"{filename}\""),
        )
        .body(Body::Binary(bytes))
        .map_err(ApiError::internal)
}

/// A redirect to `location` (a presigned download), as GitHub answers an archive download.
pub fn found(location: &str) -> HttpResult {
    Response::builder()
        .status(302)
        .header("location", location)
        .body(Body::Empty)
        .map_err(ApiError::internal)
}

pub fn empty(status: u16) -> HttpResult {
    Response::builder()
        .status(status)
        .body(Body::Empty)
        .map_err(ApiError::internal)
}

/// The response for a failed request. Internal causes are logged with their whole chain and
/// never sent.
pub fn error_response(error: &ApiError) -> Response<Body> {
    match error {
        ApiError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "request failed")
        }
        expected => tracing::info!(
            status = expected.status(),
            code = expected.code(),
            "request refused"
        ),
    }
    let mut response = Response::new(Body::Text(error.body().to_string()));
    *response.status_mut() = http::StatusCode::from_u16(error.status())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    response
}
