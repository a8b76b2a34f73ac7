//! Field-level validation of request bodies: every bad field reported at once.

use mailing::contacts::ConsentInput;
use mailing::domain::{ConsentBasis, ContactFields};
use mailing::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::Value;

/// Collects every field error of a body so the caller fixes them all at once.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    /// The value, or `None` with the error recorded against `field`.
    pub fn check<T, E: ToString>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        result
            .map_err(|error| self.0.push(FieldError::new(field, error.to_string())))
            .ok()
    }

    /// A free-text field (see `ContactFields::text`).
    pub fn text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        self.check(field, ContactFields::text(value, max)).flatten()
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// `value()` when every field was valid, else a 422 listing them.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(ApiError::invalid_fields(self.0))
        }
    }
}

/// `consent` in a body: the lawful basis, where it was collected, and any proof.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    basis: ConsentBasis,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    proof: Option<Value>,
}

impl ConsentBody {
    pub fn parse(self, fields: &mut Fields) -> ConsentInput {
        let source = fields.text("consent.source", self.source.as_deref(), 200);
        ConsentInput {
            basis: self.basis,
            source,
            proof: self.proof,
        }
    }
}
