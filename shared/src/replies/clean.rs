//! What the person wrote, without the history their client quoted below it or the signature
//! their phone added. No Rust crate does this; the rules follow what the common clients write,
//! in English and French:
//!
//! - a quote header: Gmail, Apple Mail and Thunderbird's `On … wrote:` / `Le … a écrit :`,
//!   even when the client wrapped it over two or three lines;
//! - Outlook's `-----Original Message-----` / `-----Message d'origine-----`, its underscore
//!   rule, and its `From:`/`Sent:`/`To:`/`Subject:` block (`De :`/`Envoyé :`/`À :`/`Objet :`);
//! - forwards: `---------- Forwarded message ---------`, `Begin forwarded message:`,
//!   `-------- Message transféré --------`, `Début du message réexpédié :`;
//! - lines quoted with `>`;
//! - the signature delimiter `-- ` and mobile signatures (`Sent from my iPhone`, `Envoyé de mon
//!   iPhone`, `Get Outlook for Android`, `Télécharger Outlook pour iOS`…).
//!
//! HTML-only messages lose Gmail's `gmail_quote`, Apple's `blockquote type=cite` and what
//! follows Outlook's `divRplyFwdMsg` before the same text rules run on their text.

use std::cell::Cell;
use std::rc::Rc;

use lol_html::html_content::ContentType;
use lol_html::{RewriteStrSettings, element, rewrite_str, text};

/// The visible reply of a message: its text part if it has one, else the text of its HTML.
pub fn visible(text: &str, html: Option<&str>, has_text_part: bool) -> String {
    match html {
        Some(html) if !has_text_part => visible_text(&mail_parser::decoders::html::html_to_text(
            &without_html_quotes(html),
        )),
        _ => visible_text(text),
    }
}

/// The HTML without the quoted history the common clients mark up, each block ending in a
/// line break (the text conversion joins blocks otherwise).
pub fn without_html_quotes(html: &str) -> String {
    let after_outlook_header = Rc::new(Cell::new(false));
    let (seen, dropping) = (after_outlook_header.clone(), after_outlook_header.clone());
    let dropping_text = after_outlook_header;
    let result = rewrite_str(
        html,
        RewriteStrSettings {
            element_content_handlers: vec![
                element!(
                    "div.gmail_quote, blockquote.gmail_quote, blockquote[type=cite], div.moz-cite-prefix",
                    |el| {
                        el.remove();
                        Ok(())
                    }
                ),
                element!("#divRplyFwdMsg", move |el| {
                    seen.set(true);
                    el.remove();
                    Ok(())
                }),
                element!("*", move |el| {
                    if dropping.get() {
                        el.remove();
                    }
                    Ok(())
                }),
                element!("div, p, li, tr, h1, h2, h3, h4, h5, h6", |el| {
                    el.after("<br>", ContentType::Html);
                    Ok(())
                }),
                text!("*", move |chunk| {
                    if dropping_text.get() {
                        chunk.remove();
                    }
                    Ok(())
                }),
            ],
            ..RewriteStrSettings::new()
        },
    );
    // Not HTML lol_html can rewrite: the text rules still apply to what it says.
    result.unwrap_or_else(|_| html.to_owned())
}

/// The visible reply of a plain-text body.
pub fn visible_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    let end = quote_start(&lines).unwrap_or(lines.len());
    let mut kept: Vec<&str> = lines[..end]
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    if let Some(at) = kept.iter().position(|line| is_signature(line)) {
        kept.truncate(at);
    }
    kept.join("\n").trim().to_owned()
}

/// Where the quoted history begins, if it does.
fn quote_start(lines: &[&str]) -> Option<usize> {
    (0..lines.len()).find(|&at| {
        let line = lines[at].trim();
        is_separator(line) || wrote_header(lines, at) || outlook_block(lines, at)
    })
}

fn is_separator(line: &str) -> bool {
    let lower = line.to_lowercase();
    let bare = lower.trim_matches(|c: char| c == '-' || c == '_' || c.is_whitespace());
    (line.len() >= 20 && line.chars().all(|c| c == '_'))
        || ((lower.starts_with("---") || lower.starts_with("___"))
            && [
                "original message",
                "message d'origine",
                "message d’origine",
                "forwarded message",
                "message transféré",
                "message transfere",
            ]
            .contains(&bare))
        || [
            "begin forwarded message:",
            "début du message réexpédié :",
            "début du message réexpédié:",
        ]
        .contains(&lower.as_str())
}

/// `On … wrote:` or `Le … a écrit :`, on one line or wrapped over up to three.
fn wrote_header(lines: &[&str], at: usize) -> bool {
    let first = lines[at].trim();
    let starts =
        first.starts_with("On ") || first.starts_with("Le ") || first == "On" || first == "Le";
    if !starts {
        return false;
    }
    let mut joined = String::new();
    for line in lines.iter().skip(at).take(3) {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        let end = joined.trim_end();
        if end.ends_with("wrote:") || end.ends_with("a écrit :") || end.ends_with("a écrit:") {
            return true;
        }
        if line.trim().is_empty() {
            return false;
        }
    }
    false
}

/// Outlook's header block: `From:` (`De :`) followed within four lines by two of `Sent:`,
/// `Date:`, `To:`, `Subject:` (`Envoyé :`, `À :`, `Objet :`).
fn outlook_block(lines: &[&str], at: usize) -> bool {
    let field = |line: &str, names: &[&str]| {
        let line = line.trim_start_matches(['*', ' ']);
        names.iter().any(|name| {
            line.strip_prefix(name).is_some_and(|rest| {
                rest.trim_start_matches(['*', ' ', '\u{a0}'])
                    .starts_with(':')
            })
        })
    };
    if !field(lines[at], &["From", "De"]) {
        return false;
    }
    let following = lines
        .iter()
        .skip(at + 1)
        .take(4)
        .filter(|line| {
            field(
                line,
                &[
                    "Sent", "Date", "To", "Subject", "Cc", "Envoyé", "À", "A", "Objet",
                ],
            )
        })
        .count();
    following >= 2
}

fn is_signature(line: &str) -> bool {
    if line == "-- " || line.trim() == "--" {
        return true;
    }
    let lower = line.trim().to_lowercase();
    [
        "sent from my ",
        "sent from outlook",
        "sent from mail for windows",
        "get outlook for ",
        "envoyé de mon ",
        "envoyé depuis mon ",
        "envoyé à partir de ",
        "télécharger outlook pour ",
        "obtenir outlook pour ",
    ]
    .iter()
    .any(|start| lower.starts_with(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_history_and_signatures_are_cut_where_each_client_starts_them() {
        let cases: &[(&str, &str, &str)] = &[
            ("nothing quoted", "Merci !\n", "Merci !"),
            (
                "Gmail wrapped over three lines",
                "Yes.\n\nOn Thu, Dec 3, 2026 at 9:00 AM Label\nNova Press <press@label.example>\nwrote:\n> hi",
                "Yes.",
            ),
            (
                "French Gmail on one line",
                "Oui.\n\nLe jeu. 3 déc. 2026 à 09:00, Label <a@b.fr> a écrit :\n> salut",
                "Oui.",
            ),
            (
                "Outlook block in bold Markdown-ish text",
                "Ok.\n\n*From:* Label <a@b.example>\n*Sent:* Thursday\n*To:* Me\n*Subject:* Hi\n\nold",
                "Ok.",
            ),
            (
                "French Outlook block without the separator",
                "D'accord.\n\nDe : Label <a@b.fr>\nEnvoyé : jeudi\nÀ : Moi\nObjet : Salut\n\nancien",
                "D'accord.",
            ),
            (
                "Outlook rule",
                "Fine.\n________________________________\nFrom: x",
                "Fine.",
            ),
            (
                "Apple forward",
                "See below.\n\nBegin forwarded message:\n\nFrom: x",
                "See below.",
            ),
            (
                "French forward",
                "Voir plus bas.\n\n-------- Message transféré --------\nDe : x",
                "Voir plus bas.",
            ),
            ("signature delimiter", "Thanks\n-- \nJane Doe\nPR", "Thanks"),
            (
                "Android",
                "Yes\n\nEnvoyé depuis mon appareil Android",
                "Yes",
            ),
            ("Outlook mobile", "Yes\n\nGet Outlook for iOS", "Yes"),
            (
                "interleaved answers keep the person's lines",
                "> Can you come?\nYes.\n> Friday?\nNo, Saturday.",
                "Yes.\nNo, Saturday.",
            ),
            (
                "a sentence starting with On is not a header",
                "On Friday we play Lyon.\nSee you there.",
                "On Friday we play Lyon.\nSee you there.",
            ),
            (
                "a From: line alone is not an Outlook block",
                "From: the whole team, thanks!",
                "From: the whole team, thanks!",
            ),
            (
                "CRLF line ends",
                "Hello\r\n\r\nOn Mon, A wrote:\r\n> x",
                "Hello",
            ),
        ];
        for (case, text, expected) in cases {
            assert_eq!(visible_text(text), *expected, "{case}");
        }
    }

    #[test]
    fn html_quotes_of_gmail_apple_and_outlook_are_dropped_before_the_text_is_read() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "gmail_quote",
                r#"<div>Yes!</div><div class="gmail_quote">On Thu, A wrote:<blockquote>old</blockquote></div>"#,
                "Yes!",
            ),
            (
                "Apple's cite blockquote",
                r#"<div>Sure.</div><blockquote type="cite">old text</blockquote>"#,
                "Sure.",
            ),
            (
                "everything after Outlook's divRplyFwdMsg",
                r#"<p>Noted.</p><hr><div id="divRplyFwdMsg">From: x</div><div>old</div><p>older</p>"#,
                "Noted.",
            ),
        ];
        for (case, html, expected) in cases {
            assert_eq!(visible("", Some(html), false), *expected, "{case}");
        }
        assert_eq!(
            visible("text part wins", Some("<p>html</p>"), true),
            "text part wins"
        );
    }
}
