//! Field-level validation of request bodies: every bad field reported at once.

use mailing::contacts::ConsentInput;
use mailing::domain::{Consent, ConsentBasis, ContactFields, Tags};
use mailing::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{Map, Value};

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

    /// A value whose error already names its field.
    pub fn check_field<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|error| self.0.push(error)).ok()
    }

    /// A free-text field (see `ContactFields::text`).
    pub fn text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        self.check(field, ContactFields::text(value, max)).flatten()
    }

    /// Template source: not blank, at most `max` bytes, no control characters but line breaks
    /// and tabs (and no line break at all when `single_line`).
    pub fn source(
        &mut self,
        field: &str,
        value: String,
        max: usize,
        single_line: bool,
    ) -> Option<String> {
        let problem = if value.trim().is_empty() {
            Some("must not be empty".to_owned())
        } else if value.len() > max {
            Some(format!("must be at most {max} bytes"))
        } else if single_line && value.contains(['\r', '\n']) {
            Some("must be one line".to_owned())
        } else if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            Some("must not contain control characters".to_owned())
        } else {
            None
        };
        match problem {
            Some(message) => {
                self.push(field, message);
                None
            }
            None => Some(value),
        }
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
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ConsentInput")
)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    basis: ConsentBasis,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    proof: Option<Value>,
    #[serde(default)]
    wording_version: Option<String>,
}

impl ConsentBody {
    pub fn parse(self, fields: &mut Fields) -> ConsentInput {
        let source = fields.text("consent.source", self.source.as_deref(), 200);
        let wording_version = fields.text(
            "consent.wording_version",
            self.wording_version.as_deref(),
            100,
        );
        let proof = self
            .proof
            .and_then(|proof| fields.check("consent.proof", Consent::proof(proof)));
        ConsentInput {
            basis: self.basis,
            source,
            proof,
            wording_version,
        }
    }
}

/// A contact's own fields in a body (everything but address, team and status).
#[derive(Deserialize, Default)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ContactFieldsInput")
)]
#[serde(deny_unknown_fields)]
pub struct ContactFieldsBody {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

impl ContactFieldsBody {
    /// The checked fields; errors are reported under `prefix` (`contact.` in a nested object).
    pub fn parse(self, f: &mut Fields, prefix: &str) -> ContactFields {
        let name = |field: &str| format!("{prefix}{field}");
        ContactFields {
            first_name: f.text(
                &name("first_name"),
                self.first_name.as_deref(),
                ContactFields::NAME_MAX,
            ),
            last_name: f.text(
                &name("last_name"),
                self.last_name.as_deref(),
                ContactFields::NAME_MAX,
            ),
            company: f.text(
                &name("company"),
                self.company.as_deref(),
                ContactFields::ORGANIZATION_MAX,
            ),
            position: f.text(
                &name("position"),
                self.position.as_deref(),
                ContactFields::ORGANIZATION_MAX,
            ),
            phone: f.text(
                &name("phone"),
                self.phone.as_deref(),
                ContactFields::PHONE_MAX,
            ),
            tags: f
                .check(&name("tags"), Tags::parse(&self.tags))
                .unwrap_or_default(),
            metadata: f
                .check(&name("metadata"), ContactFields::metadata(self.metadata))
                .unwrap_or_default(),
        }
    }
}
