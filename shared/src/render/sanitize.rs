//! Signature HTML as users paste it (from Gmail, Outlook, a signature generator), reduced to what
//! is safe to place in every message: an allow-list of formatting elements and attributes, links
//! and images on web URLs only, no scripts, styles sheets, frames, forms, event handlers,
//! comments or doctypes, and no template syntax: braces become character references, so a
//! signature is always literal text, never MiniJinja code.
//!
//! Raw-text elements (`xmp`, `noembed`, `noframes`, `plaintext`, `listing`, `noscript`…) go
//! with their content: what is text inside them is markup once they are unwrapped
//! (`<xmp><img src=x onerror=…></xmp>`).

use lol_html::html_content::ContentType;
use lol_html::{HtmlRewriter, Settings, doc_comments, doc_text, doctype, element};

/// Elements kept as they are (their attributes filtered).
const KEPT: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "small",
    "sub",
    "sup",
    "br",
    "hr",
    "p",
    "div",
    "span",
    "font",
    "img",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "center",
    "address",
];

/// Elements dropped with everything inside them.
const DROPPED: &[&str] = &[
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "form",
    "input",
    "button",
    "select",
    "textarea",
    "template",
    "noscript",
    "svg",
    "math",
    "head",
    "title",
    "meta",
    "link",
    "base",
    "video",
    "audio",
    "canvas",
    "xmp",
    "noembed",
    "noframes",
    "plaintext",
    "listing",
];

/// Attributes kept on kept elements (URLs checked separately).
const ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "alt",
    "title",
    "width",
    "height",
    "style",
    "align",
    "valign",
    "color",
    "face",
    "size",
    "border",
    "cellpadding",
    "cellspacing",
    "bgcolor",
    "colspan",
    "rowspan",
    "target",
    "dir",
    "lang",
];

/// The largest signature accepted, in bytes of HTML as sent.
pub const MAX_SIGNATURE_BYTES: usize = 16 * 1024;

/// The safe form of `html`.
pub fn sanitize_signature(html: &str) -> String {
    let mut output = Vec::with_capacity(html.len());
    let mut rewriter = HtmlRewriter::new(
        Settings {
            element_content_handlers: vec![element!("*", |el| {
                let name = el.tag_name().to_ascii_lowercase();
                if DROPPED.contains(&name.as_str()) {
                    el.remove();
                    return Ok(());
                }
                if !KEPT.contains(&name.as_str()) {
                    el.remove_and_keep_content();
                    return Ok(());
                }
                let unsafe_attributes: Vec<String> = el
                    .attributes()
                    .iter()
                    .filter(|attribute| {
                        !allowed_attribute(&name, &attribute.name(), &attribute.value())
                    })
                    .map(|attribute| attribute.name())
                    .collect();
                for attribute in unsafe_attributes {
                    el.remove_attribute(&attribute);
                }
                if name == "a" && el.get_attribute("target").is_some() {
                    el.set_attribute("rel", "noopener")?;
                }
                Ok(())
            })],
            document_content_handlers: vec![
                doctype!(|doctype| {
                    doctype.remove();
                    Ok(())
                }),
                doc_comments!(|comment| {
                    comment.remove();
                    Ok(())
                }),
                doc_text!(|chunk| {
                    if chunk.as_str().contains(['{', '}']) {
                        let literal = chunk.as_str().replace('{', "&#123;").replace('}', "&#125;");
                        chunk.replace(&literal, ContentType::Html);
                    }
                    Ok(())
                }),
            ],
            ..Settings::new()
        },
        |chunk: &[u8]| output.extend_from_slice(chunk),
    );
    // In-memory input and infallible handlers: lol_html refuses input only past its memory
    // limit, far above MAX_SIGNATURE_BYTES; refusing everything is then the safe answer.
    if rewriter
        .write(html.as_bytes())
        .and_then(|_| rewriter.end())
        .is_err()
    {
        return String::new();
    }
    String::from_utf8_lossy(&output).trim().to_owned()
}

fn allowed_attribute(element: &str, name: &str, raw_value: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if !ATTRIBUTES.contains(&name.as_str()) || raw_value.contains(['{', '}']) {
        return false;
    }
    // What a browser would see: entities decoded, whitespace and controls gone
    // (`jav&#x09;ascript:` is `javascript:`).
    let value: String = html_escape::decode_html_entities(raw_value)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    match name.as_str() {
        "href" => {
            element == "a"
                && ["https://", "http://", "mailto:", "tel:"]
                    .iter()
                    .any(|scheme| value.starts_with(scheme))
        }
        "src" => {
            element == "img" && (value.starts_with("https://") || value.starts_with("http://"))
        }
        "style" => ![
            "expression",
            "javascript",
            "url(",
            "@import",
            "behavior",
            "-moz-binding",
        ]
        .iter()
        .any(|bad| value.contains(bad)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_signature_markup_is_removed_and_formatting_kept() {
        for (input, expected) in [
            (
                "<p><b>Léa Martin</b><br>Attachée de presse</p>",
                "<p><b>Léa Martin</b><br>Attachée de presse</p>",
            ),
            ("<script>alert(1)</script>Léa", "Léa"),
            ("<style>p{color:red}</style><p>Léa</p>", "<p>Léa</p>"),
            ("<p onclick=\"steal()\">Léa</p>", "<p>Léa</p>"),
            ("<a href=\"javascript:alert(1)\">x</a>", "<a>x</a>"),
            ("<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "<a>x</a>"),
            ("<a href=\" JAVASCRIPT:alert(1)\">x</a>", "<a>x</a>"),
            (
                "<img src=\"data:image/png;base64,AAAA\" alt=\"logo\">",
                "<img alt=\"logo\">",
            ),
            (
                "<a href=\"https://label.example\" target=\"_blank\">label</a>",
                "<a href=\"https://label.example\" target=\"_blank\" rel=\"noopener\">label</a>",
            ),
            ("<iframe src=\"https://evil.example\"></iframe>ok", "ok"),
            (
                "<form action=\"https://evil.example\"><input name=\"p\"></form>ok",
                "ok",
            ),
            ("<!-- tracking --><span>Léa</span>", "<span>Léa</span>"),
            ("<section><custom-tag>Léa</custom-tag></section>", "Léa"),
            (
                "<p style=\"background:url(https://t.example/p.gif)\">Léa</p>",
                "<p>Léa</p>",
            ),
            (
                "<p style=\"color:#333;font-size:12px\">Léa</p>",
                "<p style=\"color:#333;font-size:12px\">Léa</p>",
            ),
            ("<svg><script>alert(1)</script></svg>Léa", "Léa"),
            ("<xmp><img src=x onerror=alert(1)></xmp>Léa", "Léa"),
            ("<noembed><script>alert(1)</script></noembed>Léa", "Léa"),
            (
                "<noframes><img src=x onerror=alert(1)></noframes>Léa",
                "Léa",
            ),
            ("<listing><img src=x onerror=alert(1)></listing>Léa", "Léa"),
            ("Léa<plaintext><img src=x onerror=alert(1)>", "Léa"),
            ("<!DOCTYPE {{ contact.email }}><p>Léa</p>", "<p>Léa</p>"),
            ("<!doctype html><!-- {{ x }} --><p>Léa</p>", "<p>Léa</p>"),
            (
                "<a href=\"mailto:lea@label.example\">Léa</a>",
                "<a href=\"mailto:lea@label.example\">Léa</a>",
            ),
        ] {
            assert_eq!(sanitize_signature(input), expected, "{input}");
        }
    }

    #[test]
    fn template_syntax_in_a_signature_stays_literal_text() {
        for input in [
            "{{ contact.email }}",
            "{% for x in y %}loop{% endfor %}",
            "{# comment #}",
            "<a href=\"https://x.example/{{ contact.email }}\">x</a>",
            "<p title=\"{{ secret }}\">x</p>",
        ] {
            let safe = sanitize_signature(input);
            assert!(
                !safe.contains('{') && !safe.contains('}'),
                "{input} → {safe}"
            );
            let problems = crate::render::language::check("signature", &safe);
            assert_eq!(problems, Ok(vec![]), "{safe}");
        }
    }
}
