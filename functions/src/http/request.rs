//! Reading requests without ever panicking: the caller, path and query parameters, JSON bodies.

use std::str::FromStr;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use mailing::auth::Caller;
use mailing::domain::UserId;
use mailing::{ApiError, FieldError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::json;

/// The largest JSON body an endpoint reads unless it says otherwise.
pub const JSON_LIMIT: usize = 64 * 1024;

/// The caller as the API Gateway JWT authorizer validated them. No authorizer context means the
/// request did not come through the authorizer: refused.
pub fn caller(request: &Request) -> Result<Caller, ApiError> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthorized);
    };
    let jwt = context
        .authorizer
        .as_ref()
        .and_then(|authorizer| authorizer.jwt.as_ref())
        .ok_or(ApiError::Unauthorized)?;
    let sub = jwt
        .claims
        .get("sub")
        .filter(|sub| !sub.is_empty())
        .ok_or(ApiError::Unauthorized)?;
    // API Gateway lists scopes only for routes that declare some; the claim always has them.
    let claimed = jwt.claims.get("scope").or_else(|| jwt.claims.get("scp"));
    let scopes: Vec<&str> = match &jwt.scopes {
        Some(scopes) => scopes.iter().map(String::as_str).collect(),
        None => claimed
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default(),
    };
    Ok(Caller::new(UserId::new(sub), scopes))
}

/// A path parameter parsed as an id; a malformed id is a 404 (no such resource), never a panic.
pub fn path_id<T: FromStr>(request: &Request, name: &str, what: &str) -> Result<T, ApiError> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .and_then(|raw| raw.parse().ok())
        .ok_or_else(|| ApiError::not_found(what))
}

/// A path parameter as the caller sent it (a token): empty when absent.
pub fn path_text<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .unwrap_or_default()
}

/// A request header's value, when it is text.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// An optional query parameter parsed by `parse`, or a 400 naming it.
pub fn query_param<T>(
    request: &Request,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    let params = request.query_string_parameters_ref();
    let Some(raw) = params.and_then(|p| p.first(name)) else {
        return Ok(None);
    };
    parse(raw)
        .map(Some)
        .map_err(|message| ApiError::BadRequest {
            code: "invalid_query",
            message: format!("query parameter {name} {message}"),
            details: json!({ "parameter": name }),
        })
}

/// `?limit=`: 1 to `max`, `default` when absent.
pub fn query_limit(request: &Request, default: usize, max: usize) -> Result<usize, ApiError> {
    let limit = query_param(request, "limit", |raw| {
        raw.parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("must be a whole number from 1 to {max}"))
    })?;
    Ok(limit.unwrap_or(default))
}

/// Parses a JSON body of at most `limit` bytes into `T`. Broken JSON is a 400 with the line and
/// column; well-formed JSON of the wrong shape is a 422 naming the field.
pub fn json_body<T: DeserializeOwned>(request: &Request, limit: usize) -> Result<T, ApiError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "missing_body",
            "a JSON request body is required",
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| malformed(&error))?;
    if !value.is_object() {
        return Err(ApiError::invalid_fields(vec![FieldError::new(
            "body",
            "must be a JSON object",
        )]));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let (field, message) = describe(&error.path().to_string(), &error.inner().to_string());
        ApiError::invalid_fields(vec![FieldError::new(field, message)])
    })
}

/// Deserializes `value`, found at `field` of a body already parsed, reporting a wrong shape
/// against the inner field's full path (`contact.tags`).
pub fn nested<T: DeserializeOwned>(field: &str, value: serde_json::Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let (inner, message) = describe(&error.path().to_string(), &error.inner().to_string());
        let path = if inner == "body" {
            field.to_owned()
        } else {
            format!("{field}.{inner}")
        };
        FieldError::new(path, message)
    })
}

/// serde reports a missing field at the path of its parent object, naming it only in the message;
/// the caller wants the field's own path. Unknown fields are reported at their own path.
fn describe(path: &str, message: &str) -> (String, String) {
    let join = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |rest: &str| rest.split('`').nth(1).map(str::to_owned);
    if let Some(name) = message.strip_prefix("missing field ").and_then(quoted) {
        return (join(&name), "is required".to_owned());
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some(name) = quoted(rest)
    {
        let expected = rest.split_once(", ").map_or("", |(_, e)| e);
        let field = if path == "." { name } else { path.to_owned() };
        return (field, format!("is not a known field; {expected}"));
    }
    let field = if path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    (field, message.to_owned())
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        code: "malformed_json",
        message: format!("request body is not valid JSON: {error}"),
        details: json!({ "line": error.line(), "column": error.column() }),
    }
}

/// For optional fields of a partial update: absent is `None`, `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The spreadsheet a CSV is for (`?locale=fr`: `;` between cells, decimal commas).
pub fn csv_locale(request: &Request) -> Result<mailing::analytics::report::Locale, ApiError> {
    use mailing::analytics::report::Locale;
    let locale = query_param(request, "locale", |raw| match raw {
        "fr" => Ok(Locale::French),
        "en" => Ok(Locale::English),
        _ => Err("must be fr or en".into()),
    })?;
    Ok(locale.unwrap_or(Locale::English))
}
