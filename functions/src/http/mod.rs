//! The HTTP edge: requests become validated values or a clear 4xx, results become responses.

mod fields;
mod request;
mod response;

pub use fields::{ConsentBody, ContactFieldsBody, Fields};
pub use request::{
    JSON_LIMIT, caller, csv_locale, header, json_body, nested, nullable, path_id, path_text,
    query_limit, query_param,
};
pub use response::{HttpResult, Items, csv, empty, error_response, found, json};
