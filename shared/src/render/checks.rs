//! Content checks on a rendered message (preview now, send later): what gets a message clipped,
//! filtered as spam, or refused by the rules bulk senders must follow.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::{element, end_tag, text};
use serde::Serialize;

use super::compose::{html_to_text, read_html};
use super::message::{Rendered, Shared};
use crate::domain::ContactRole;

/// Gmail clips messages whose HTML is larger than this.
pub const GMAIL_CLIP_BYTES: usize = 102 * 1024;

const SPAM_PHRASES: &[&str] = &[
    // English
    "100% free",
    "act now",
    "buy now",
    "cash bonus",
    "click here",
    "earn money",
    "free gift",
    "guaranteed",
    "limited time",
    "no cost",
    "order now",
    "risk-free",
    "winner",
    "urgent",
    "you have been selected",
    "make money",
    // Français
    "100% gratuit",
    "achetez maintenant",
    "argent facile",
    "cliquez ici",
    "félicitations",
    "gagnez",
    "offre limitée",
    "sans frais",
    "urgent",
    "vous avez gagné",
    "gratuit",
];

const SHORTENERS: &[&str] = &[
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "t.co",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "bl.ink",
    "lnkd.in",
    "rb.gy",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Sending is refused until it is fixed.
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ContentWarning {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
}

fn warning(code: &'static str, severity: Severity, message: impl Into<String>) -> ContentWarning {
    ContentWarning {
        code,
        severity,
        message: message.into(),
    }
}

/// Variables every message gets from the renderer, never from the sample.
const RENDERER_SETS: &[&str] = &["signature", "unsubscribe_url", "web_view_url"];

pub struct CheckInput<'a> {
    pub role: ContactRole,
    /// Rendered without link tracking, so links show where they lead.
    pub rendered: &'a Rendered,
    /// Variables the template reads, and the values the sample gave them.
    pub variables: &'a [String],
    pub context: &'a serde_json::Value,
    pub shared: &'a Shared,
    /// The public base URL of our own links (unsubscribe, web view).
    pub own_base_url: &'a str,
}

pub fn check(input: &CheckInput<'_>) -> Vec<ContentWarning> {
    let mut found = Vec::new();
    let marketing = input.role == ContactRole::Marketing;
    let page = scan(&input.rendered.html);
    let visible = html_to_text(&input.rendered.html);
    if marketing
        && !page
            .links
            .iter()
            .any(|(href, _)| href.contains("/api/email/unsubscribe/"))
    {
        found.push(warning(
            "missing_unsubscribe_link",
            Severity::Error,
            "marketing mail must show an unsubscribe link: add <a href=\"{{ unsubscribe_url }}\">",
        ));
    }
    if input.rendered.text.trim().is_empty() {
        found.push(warning(
            "missing_text_part",
            Severity::Warning,
            "the plain-text part is empty; spam filters distrust HTML-only mail",
        ));
    }
    let words = visible.split_whitespace().count();
    if page.images > 0 && words < 30 {
        found.push(warning(
            "image_only",
            Severity::Warning,
            format!("{} image(s) and only {words} words of text: mostly-image mail is filtered as spam and unreadable with images off", page.images),
        ));
    }
    check_subject(&input.rendered.subject, &mut found);
    // Our own unsubscribe and web view links are not the author's to fix (and point at a raw
    // IP on a local stack).
    for (href, label) in page
        .links
        .iter()
        .filter(|(href, _)| input.own_base_url.is_empty() || !href.starts_with(input.own_base_url))
    {
        check_link(href, label, &mut found);
    }
    if input.rendered.html.len() > GMAIL_CLIP_BYTES {
        found.push(warning(
            "html_too_large",
            Severity::Warning,
            format!("the HTML is {} KB; Gmail clips messages over 102 KB (and hides the unsubscribe link with the rest)", input.rendered.html.len() / 1024),
        ));
    }
    if marketing {
        let uses_address = input.variables.iter().any(|v| v == "artist.postal_address");
        let has_address = input
            .shared
            .artist
            .postal_address
            .as_deref()
            .is_some_and(|a| !a.trim().is_empty());
        if !(looks_like_postal_address(&visible) || uses_address && has_address) {
            found.push(warning(
                "missing_postal_address",
                Severity::Warning,
                "marketing mail must show the sender's postal address (CAN-SPAM): add {{ artist.postal_address }} to the footer",
            ));
        }
    }
    for variable in input.variables {
        if is_empty_at(input.context, variable) && !RENDERER_SETS.contains(&variable.as_str()) {
            found.push(warning(
                "empty_variable",
                Severity::Info,
                format!(
                    "{variable} is empty for this contact: check how the text reads without it"
                ),
            ));
        }
    }
    found
}

fn check_subject(subject: &str, found: &mut Vec<ContentWarning>) {
    let letters: Vec<char> = subject.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    if letters.len() >= 8 && upper * 10 >= letters.len() * 7 {
        found.push(warning(
            "subject_all_caps",
            Severity::Warning,
            "the subject is mostly capital letters, a classic spam signal",
        ));
    }
    if subject.trim().is_empty() {
        found.push(warning(
            "empty_subject",
            Severity::Error,
            "the subject is empty",
        ));
    }
    let lower = subject.to_lowercase();
    for phrase in SPAM_PHRASES {
        if contains_words(&lower, phrase) {
            found.push(warning(
                "subject_spam_phrase",
                Severity::Warning,
                format!("the subject contains \"{phrase}\", which spam filters score against"),
            ));
        }
    }
    if subject.contains("!!") || subject.contains("$$") || subject.contains("€€") {
        found.push(warning(
            "subject_spam_phrase",
            Severity::Warning,
            "repeated ! or currency signs in the subject are scored as spam",
        ));
    }
}

fn check_link(href: &str, label: &str, found: &mut Vec<ContentWarning>) {
    let Some(host) = host_of(href) else {
        if href
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("javascript:")
        {
            found.push(warning(
                "script_link",
                Severity::Error,
                "a link runs javascript:, which mail clients block",
            ));
        }
        return;
    };
    if host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[') {
        found.push(warning(
            "raw_ip_link",
            Severity::Warning,
            format!("a link points to a raw IP address ({host}): link to a domain"),
        ));
    }
    if SHORTENERS
        .iter()
        .any(|s| host == *s || host.ends_with(&format!(".{s}")))
    {
        found.push(warning("url_shortener", Severity::Warning, format!("a link uses the shortener {host}, which spam filters distrust: link to the destination")));
    }
    let shown = label.trim();
    let shown_host = host_of(shown).or_else(|| {
        let bare = shown.trim_end_matches('/');
        (!bare.contains(char::is_whitespace) && bare.contains('.') && !bare.contains('@'))
            .then(|| bare.split('/').next().unwrap_or(bare).to_ascii_lowercase())
    });
    if let Some(shown_host) = shown_host {
        let strip = |h: &str| h.trim_start_matches("www.").to_owned();
        if strip(&shown_host) != strip(&host) {
            found.push(warning(
                "link_text_mismatch",
                Severity::Error,
                format!(
                    "a link shows {shown_host} but leads to {host}: phishing filters flag this"
                ),
            ));
        }
    }
}

fn host_of(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    (!host.is_empty()).then(|| host.to_owned())
}

fn contains_words(haystack: &str, phrase: &str) -> bool {
    haystack.match_indices(phrase).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// A street word or a postal code next to a town: enough to tell a footer holds an address.
fn looks_like_postal_address(text: &str) -> bool {
    let lower = text.to_lowercase();
    let street = [
        "rue ",
        "avenue",
        "boulevard",
        "bd ",
        "chemin",
        "place ",
        "street",
        "road",
        "suite ",
        "po box",
        "bp ",
    ];
    let has_street = street.iter().any(|w| lower.contains(w));
    let has_code = lower
        .split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() == 5);
    has_street && has_code
}

/// Whether `path` (`contact.first_name`) is missing, null or blank in `context`.
fn is_empty_at(context: &serde_json::Value, path: &str) -> bool {
    let mut value = context;
    for part in path.split('.') {
        match value.get(part) {
            Some(next) => value = next,
            None => return true,
        }
    }
    match value {
        serde_json::Value::Null => true,
        serde_json::Value::String(s) => s.trim().is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[derive(Default)]
struct Page {
    /// `(href, text)` of each link.
    links: Vec<(String, String)>,
    images: usize,
}

fn scan(html: &str) -> Page {
    let page = Rc::new(RefCell::new(Page {
        links: Vec::new(),
        images: 0,
    }));
    let open = Rc::new(RefCell::new(Vec::<usize>::new()));
    let handlers = {
        let (p1, p2, p3) = (page.clone(), page.clone(), page.clone());
        let (o1, o2) = (open.clone(), open.clone());
        vec![
            element!("a[href]", move |el| {
                let href = html_escape::decode_html_entities(
                    &el.get_attribute("href").unwrap_or_default(),
                )
                .into_owned();
                let mut page = p1.borrow_mut();
                page.links.push((href, String::new()));
                o1.borrow_mut().push(page.links.len() - 1);
                let o1 = o1.clone();
                if el.can_have_content() {
                    el.on_end_tag(end_tag!(move |_| {
                        o1.borrow_mut().pop();
                        Ok(())
                    }))?;
                }
                Ok(())
            }),
            element!("img", move |_| {
                p2.borrow_mut().images += 1;
                Ok(())
            }),
            text!("a", move |chunk| {
                if let Some(&index) = o2.borrow().last() {
                    let decoded = html_escape::decode_html_entities(chunk.as_str()).into_owned();
                    p3.borrow_mut().links[index].1.push_str(&decoded);
                }
                Ok(())
            }),
        ]
    };
    // A page lol_html refuses is checked on what was read of it.
    read_html(html, handlers);
    std::mem::take(&mut *page.borrow_mut())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(role: ContactRole, subject: &str, html: &str, text: &str) -> Vec<&'static str> {
        let rendered = Rendered {
            subject: subject.to_owned(),
            html: html.to_owned(),
            text: text.to_owned(),
            links: Vec::new(),
            unsubscribe_token: String::new(),
        };
        check(&CheckInput {
            role,
            rendered: &rendered,
            variables: &[],
            context: &serde_json::json!({}),
            shared: &Shared::default(),
            own_base_url: "",
        })
        .into_iter()
        .map(|w| w.code)
        .collect()
    }

    #[test]
    fn each_rule_catches_its_case() {
        let words = "mot ".repeat(40);
        let ok_body = format!(
            "<p>{words}</p><p>12 rue des Lilas, 75011 Paris</p><a href=\"https://x.example/api/email/unsubscribe/t\">stop</a>"
        );
        type Case = (
            ContactRole,
            &'static str,
            String,
            &'static str,
            &'static str,
        );
        let cases: Vec<Case> = vec![
            (
                ContactRole::Marketing,
                "Nouvel album",
                format!("<p>{words}</p>"),
                "t",
                "missing_unsubscribe_link",
            ),
            (
                ContactRole::Press,
                "Communiqué",
                format!("<p>{words}</p>"),
                "",
                "missing_text_part",
            ),
            (
                ContactRole::Press,
                "Communiqué",
                "<img src=\"https://cdn.example/a.jpg\">".into(),
                "t",
                "image_only",
            ),
            (
                ContactRole::Press,
                "NOUVEL ALBUM DISPONIBLE",
                format!("<p>{words}</p>"),
                "t",
                "subject_all_caps",
            ),
            (
                ContactRole::Press,
                "Cliquez ici pour écouter",
                format!("<p>{words}</p>"),
                "t",
                "subject_spam_phrase",
            ),
            (
                ContactRole::Press,
                "Act now!!",
                format!("<p>{words}</p>"),
                "t",
                "subject_spam_phrase",
            ),
            (
                ContactRole::Press,
                "Album",
                format!("<p>{words}<a href=\"https://evil.example/x\">www.label.example</a></p>"),
                "t",
                "link_text_mismatch",
            ),
            (
                ContactRole::Press,
                "Album",
                format!("<p>{words}<a href=\"http://203.0.113.9/x\">ici</a></p>"),
                "t",
                "raw_ip_link",
            ),
            (
                ContactRole::Press,
                "Album",
                format!("<p>{words}<a href=\"https://bit.ly/x\">ici</a></p>"),
                "t",
                "url_shortener",
            ),
            (
                ContactRole::Press,
                "Album",
                format!("<p>{words}{}</p>", "x".repeat(GMAIL_CLIP_BYTES)),
                "t",
                "html_too_large",
            ),
            (
                ContactRole::Marketing,
                "Album",
                format!(
                    "<p>{words}</p><a href=\"https://x.example/api/email/unsubscribe/t\">stop</a>"
                ),
                "t",
                "missing_postal_address",
            ),
        ];
        for (role, subject, html, text, code) in cases {
            let found = codes(role, subject, &html, text);
            assert!(found.contains(&code), "{code}: found {found:?}");
        }
        assert_eq!(
            codes(ContactRole::Marketing, "Le nouvel album", &ok_body, "texte"),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn a_link_showing_its_own_domain_is_fine() {
        let words = "mot ".repeat(40);
        let html =
            format!("<p>{words}<a href=\"https://www.label.example/a\">label.example</a></p>");
        assert!(!codes(ContactRole::Press, "Album", &html, "t").contains(&"link_text_mismatch"));
    }
}
