//! `GET /_local/api`: the OpenAPI document as a page a person reads, with nothing fetched from
//! elsewhere (the machines this runs on have no internet; Swagger UI would need a CDN).

use std::fmt::Write;

use html_escape::encode_text as text;
use serde_json::Value;

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ddd;margin-top:2em}
details{border:1px solid #ddd;border-radius:6px;margin:.4em 0;padding:.3em .8em}
summary{cursor:pointer}
.method{display:inline-block;min-width:4.5em;font:bold 13px monospace;text-transform:uppercase}
.get{color:#0b6e4f}.post{color:#1d4ed8}.put{color:#a16207}.delete{color:#b91c1c}.head{color:#6b7280}
code,pre{font:13px monospace;background:#f6f6f6}
pre{padding:.6em;overflow:auto}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}";

/// The page for `document`.
pub fn render(document: &Value) -> String {
    let mut page = String::new();
    let title = document["info"]["title"].as_str().unwrap_or("API");
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} API</title><style>{STYLE}</style></head><body><h1>{} API</h1><p>{}</p><p>The document: <a href=\"/_local/openapi.json\">/_local/openapi.json</a> (OpenAPI {}).</p>",
        text(title),
        text(title),
        text(document["info"]["description"].as_str().unwrap_or_default()),
        text(document["openapi"].as_str().unwrap_or_default()),
    );
    let mut by_tag: std::collections::BTreeMap<String, Vec<(String, String, &Value)>> =
        Default::default();
    for (path, methods) in document["paths"].as_object().into_iter().flatten() {
        for (method, operation) in methods.as_object().into_iter().flatten() {
            let tag = operation["tags"][0].as_str().unwrap_or("other").to_owned();
            by_tag
                .entry(tag)
                .or_default()
                .push((method.clone(), path.clone(), operation));
        }
    }
    for (tag, operations) in by_tag {
        let _ = write!(page, "<h2>{}</h2>", text(&tag));
        for (method, path, operation) in operations {
            operation_html(&mut page, &method, &path, operation);
        }
    }
    page.push_str("<h2>Schemas</h2>");
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            page,
            "<details id=\"schema-{}\"><summary><code>{}</code></summary><pre>{}</pre></details>",
            text(name),
            text(name),
            schema_html(schema),
        );
    }
    page.push_str("</body></html>");
    page
}

fn operation_html(page: &mut String, method: &str, path: &str, operation: &Value) {
    let public = operation
        .get("security")
        .is_some_and(|s| s == &Value::Array(vec![]));
    let _ = write!(
        page,
        "<details><summary><span class=\"method {method}\">{method}</span> <code>{}</code> {}{}</summary>",
        text(path),
        text(operation["summary"].as_str().unwrap_or_default()),
        if public { " <em>(public)</em>" } else { "" },
    );
    if let Some(description) = operation["description"].as_str() {
        let _ = write!(page, "<p>{}</p>", text(description));
    }
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !parameters.is_empty() {
        page.push_str("<table><tr><th>parameter</th><th>in</th><th>schema</th><th></th></tr>");
        for parameter in parameters {
            let _ = write!(
                page,
                "<tr><td><code>{}</code>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                text(parameter["name"].as_str().unwrap_or_default()),
                if parameter["required"] == true {
                    " *"
                } else {
                    ""
                },
                text(parameter["in"].as_str().unwrap_or_default()),
                schema_html(&parameter["schema"]),
                text(parameter["description"].as_str().unwrap_or_default()),
            );
        }
        page.push_str("</table>");
    }
    if let Some(content) = operation["requestBody"]["content"].as_object() {
        for (media_type, body) in content {
            let _ = write!(
                page,
                "<p>Body <code>{}</code>: <code>{}</code></p>",
                text(media_type),
                schema_html(&body["schema"]),
            );
        }
    }
    page.push_str("<table><tr><th>status</th><th>answer</th><th>body</th></tr>");
    for (status, response) in operation["responses"].as_object().into_iter().flatten() {
        let bodies: Vec<String> = response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media_type, content)| {
                format!(
                    "<code>{}</code> {}",
                    text(media_type),
                    schema_html(&content["schema"])
                )
            })
            .collect();
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(status),
            text(response["description"].as_str().unwrap_or_default()),
            bodies.join("<br>"),
        );
    }
    page.push_str("</table></details>");
}

/// A schema as JSON, its references made links to the schema they name.
fn schema_html(schema: &Value) -> String {
    let json = serde_json::to_string_pretty(schema).unwrap_or_default();
    let escaped = text(&json).into_owned();
    let mut out = String::with_capacity(escaped.len());
    let marker = "\"#/components/schemas/";
    let mut rest = escaped.as_str();
    while let Some(start) = rest.find(marker) {
        out.push_str(&rest[..start]);
        let after = &rest[start + marker.len()..];
        let end = after.find('"').unwrap_or(after.len());
        let name = &after[..end];
        let _ = write!(out, "\"<a href=\"#schema-{name}\">{name}</a>");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a reader needs is on the page, and every schema a link names is there to
    /// follow.
    #[test]
    fn the_page_shows_every_operation_and_every_linked_schema_is_on_it() {
        let document = functions::contract::document();
        let page = render(&document);
        for (path, methods) in document["paths"].as_object().unwrap() {
            for method in methods.as_object().unwrap().keys() {
                assert!(
                    page.contains(&format!(
                        "<span class=\"method {method}\">{method}</span> <code>{}</code>",
                        text(path)
                    )),
                    "{method} {path}"
                );
            }
        }
        let mut rest = page.as_str();
        let mut links = 0;
        while let Some(start) = rest.find("href=\"#schema-") {
            let after = &rest[start + "href=\"#".len()..];
            let anchor = &after[..after.find('"').unwrap()];
            assert!(page.contains(&format!("id=\"{anchor}\"")), "{anchor}");
            links += 1;
            rest = after;
        }
        assert!(links > 100, "schemas are linked ({links})");
        assert!(!page.contains("<script"), "nothing runs");
    }
}
