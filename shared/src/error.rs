//! The one error type every service returns and every handler maps to a response.

use serde::Serialize;
use serde_json::{Value, json};

/// A field that failed validation, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The body of every refusal.
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "Error")
)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What the caller learns of a refusal.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ErrorDetail {
    /// Stable and machine-readable: `validation_failed`, `not_found`, `forbidden`…
    pub code: &'static str,
    /// For a person: what is wrong and how to put it right.
    pub message: String,
    /// Anything more the code documents (`fields` of a 422, the `parameter` of a 400), or null.
    pub details: Value,
}

/// Everything that can go wrong in a request. Expected failures carry a machine-readable code
/// and a message for the caller; `Internal` carries the cause chain, which is logged and never
/// returned.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        details: Value,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound {
            code: "not_found",
            message: format!("{what} not found"),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    /// Field-level validation failures of a well-formed request (422).
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Unprocessable {
            code: "validation_failed",
            message,
            details: json!({ "fields": errors }),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::Unprocessable { .. } => 422,
            Self::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Internal(_) => "internal",
        }
    }

    /// The JSON body `{ "error": { "code", "message", "details" } }`. Internal causes are not
    /// part of it.
    pub fn body(&self) -> Value {
        serde_json::to_value(ErrorBody {
            error: self.detail(),
        })
        .unwrap_or(Value::Null)
    }

    pub fn detail(&self) -> ErrorDetail {
        let details = match self {
            Self::BadRequest { details, .. }
            | Self::Conflict { details, .. }
            | Self::Unprocessable { details, .. } => details.clone(),
            Self::PayloadTooLarge { limit } => json!({ "limit_bytes": limit }),
            _ => Value::Null,
        };
        ErrorDetail {
            code: self.code(),
            message: self.to_string(),
            details,
        }
    }
}

/// Any SDK or serialization failure is internal: the caller learns nothing of it.
impl<E> From<aws_sdk_dynamodb::error::SdkError<E>> for ApiError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: aws_sdk_dynamodb::error::SdkError<E>) -> Self {
        Self::Internal(anyhow::Error::new(error))
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(error: serde_dynamo::Error) -> Self {
        Self::Internal(anyhow::Error::new(error).context("converting a DynamoDB item"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_reveal_their_cause() {
        let error = ApiError::internal(anyhow::anyhow!("table arn:aws:dynamodb:secret missing"));
        assert_eq!(error.status(), 500);
        assert!(!error.body().to_string().contains("secret"));
    }

    #[test]
    fn field_errors_are_listed_in_details() {
        let error = ApiError::invalid_fields(vec![FieldError::new("email", "is not an address")]);
        assert_eq!(error.status(), 422);
        assert_eq!(error.body()["error"]["message"], "email: is not an address");
        assert_eq!(
            error.body()["error"]["details"]["fields"][0]["field"],
            "email"
        );
    }
}
