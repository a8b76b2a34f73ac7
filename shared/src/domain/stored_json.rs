//! Free JSON a caller gives us to keep (a contact's metadata, a consent's proof) is stored as
//! DynamoDB maps and numbers: it must fit them, or the write fails after every check passed.

use serde_json::Value;

/// DynamoDB's limit on nested maps and lists.
const MAX_DEPTH: usize = 32;
/// DynamoDB numbers: magnitudes from 1E-130 up to, not including, 1E+126.
const MAX_MAGNITUDE: f64 = 1e126;
const MIN_MAGNITUDE: f64 = 1e-130;

/// `Ok` when DynamoDB can store `value` as it is.
pub fn storable(value: &Value) -> Result<(), String> {
    check(value, 0)
}

fn check(value: &Value, depth: usize) -> Result<(), String> {
    match value {
        Value::Number(number) => {
            let magnitude = number.as_f64().map_or(f64::INFINITY, f64::abs);
            if magnitude >= MAX_MAGNITUDE || (magnitude != 0.0 && magnitude < MIN_MAGNITUDE) {
                return Err(format!(
                    "holds the number {number}: numbers must be between 1e-130 and 1e126 in size"
                ));
            }
            Ok(())
        }
        Value::Array(_) | Value::Object(_) if depth >= MAX_DEPTH => Err(format!(
            "nests more than {MAX_DEPTH} levels of objects and arrays"
        )),
        Value::Array(items) => items.iter().try_for_each(|item| check(item, depth + 1)),
        // DynamoDB names every member of a map: none may be empty.
        Value::Object(map) if map.contains_key("") => {
            Err("holds an object with an empty key".into())
        }
        Value::Object(map) => map.values().try_for_each(|item| check(item, depth + 1)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_dynamodb_cannot_hold_are_refused_and_the_rest_kept() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEPTH + 1 {
            deep = json!([deep]);
        }
        let cases = [
            (json!({ "ip": "203.0.113.7", "at": 1_700_000_000 }), true),
            (json!(0), true),
            (json!(-12.5e100), true),
            (json!(u64::MAX), true),
            (json!(2.44e161), false),
            (json!({ "a": [1e-200] }), false),
            (json!({ "a": { "": 1 } }), false),
            (deep, false),
        ];
        for (value, ok) in cases {
            assert_eq!(storable(&value).is_ok(), ok, "{value}");
        }
    }
}
