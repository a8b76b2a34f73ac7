//! The template language: MiniJinja, with the variables and filters a template may use.
//!
//! # Variables (the one place they are documented)
//!
//! | variable | what it holds |
//! |---|---|
//! | `contact.email`, `contact.first_name`, `contact.last_name`, `contact.full_name` | the recipient (`full_name`: first and last name, or the address) |
//! | `contact.company`, `contact.position`, `contact.phone`, `contact.tags` | the recipient's fields; `tags` is a list |
//! | `contact.metadata.<key>` | any column an import kept (`contact.metadata.city`); empty when the contact has none |
//! | `artist.name`, `artist.postal_address` | the artist sending (the postal address marketing mail must show) |
//! | `campaign.name`, `campaign.subject` | the campaign of the send (empty for individual sends) |
//! | `sender.name`, `sender.email` | who the message is from |
//! | `signature` | the sender's signature for this artist and team, as HTML; placed at the end unless the template places it |
//! | `unsubscribe_url` | the recipient's one-click unsubscribe page (never tracked as a click) |
//! | `web_view_url` | the message in a browser |
//!
//! A missing value renders as nothing. Contact data is HTML-escaped in HTML parts and cannot
//! be marked safe: the `safe` filter is not available.

use std::collections::BTreeSet;

use minijinja::machinery::{Span, Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// Roots a template may read, and whether any attribute below them is allowed (`metadata`).
const VARIABLES: &[&str] = &[
    "contact.email",
    "contact.first_name",
    "contact.last_name",
    "contact.full_name",
    "contact.company",
    "contact.position",
    "contact.phone",
    "contact.tags",
    "contact.metadata",
    "artist.name",
    "artist.postal_address",
    "campaign.name",
    "campaign.subject",
    "sender.name",
    "sender.email",
    "signature",
    "unsubscribe_url",
    "web_view_url",
];

/// MiniJinja's filters that only shape text; `safe` (which would let contact data write HTML)
/// and anything touching the environment are absent.
const FILTERS: &[&str] = &[
    "upper",
    "lower",
    "title",
    "capitalize",
    "trim",
    "default",
    "d",
    "escape",
    "e",
    "length",
    "count",
    "join",
    "replace",
    "first",
    "last",
    "round",
    "int",
    "float",
    "abs",
    "list",
    "sort",
    "unique",
    "reverse",
    "urlencode",
    "lines",
    "indent",
    "min",
    "max",
    "sum",
];

/// Filters the renderer adds for itself.
pub(super) const TRACK_FILTER: &str = "__track";

/// A problem in a template, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    /// `subject_template`, `content_template` or `text_template`.
    pub field: &'static str,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// What one part of one message may cost to render, in MiniJinja instructions: the benchmark
/// newsletter takes a few thousand (see the renderer's tests), a loop of a million iterations
/// runs out long before it holds a sender or the web view for seconds.
pub const RENDER_FUEL: u64 = 200_000;

/// The environment every template compiles in. HTML parts escape; text parts and subjects do
/// not. Every render is budgeted ([`RENDER_FUEL`]).
pub(super) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(RENDER_FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            return Ok(());
        }
        if matches!(state.auto_escape(), AutoEscape::Html) && !value.is_safe() {
            return write_html_ascii(out, &value.to_string());
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.remove_filter("safe");
    env
}

/// HTML-escaped and 7-bit: non-ASCII characters as numeric references, so that a message's
/// HTML part never needs a transfer encoding.
fn write_html_ascii(out: &mut minijinja::Output<'_>, text: &str) -> Result<(), minijinja::Error> {
    let mut run = 0;
    for (at, c) in text.char_indices() {
        let escaped = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#x27;",
            c if c.is_ascii() => continue,
            _ => "",
        };
        out.write_str(&text[run..at])?;
        if escaped.is_empty() {
            write!(out, "&#{};", c as u32)?;
        } else {
            out.write_str(escaped)?;
        }
        run = at + c.len_utf8();
    }
    out.write_str(&text[run..])?;
    Ok(())
}

/// Tags that would reach other templates: a message is one template, its parts are ours.
const MULTI_TEMPLATE_TAGS: &[&str] = &["include", "extends", "import", "from"];

/// Checks `source` as `field` and answers the variables it reads (`contact.first_name`,
/// sorted), or everything wrong with it: syntax, unknown variables and unknown filters, each with
/// its line and column.
pub fn check(field: &'static str, source: &str) -> Result<Vec<String>, Vec<TemplateProblem>> {
    let problem = |span: Option<Span>, message: String| TemplateProblem {
        field,
        line: span.map_or(1, |s| s.start_line as usize),
        column: span.map_or(1, |s| s.start_col as usize + 1),
        message,
    };
    let env = environment();
    let template = env.template_from_str(source).map_err(|error| {
        let line = error.line().unwrap_or(1);
        let column = error
            .range()
            .map_or(1, |range| column_of(source, range.start));
        vec![TemplateProblem {
            field,
            line,
            column,
            message: error.detail().unwrap_or("syntax error").to_owned(),
        }]
    })?;
    let names: BTreeSet<String> = template.undeclared_variables(true).into_iter().collect();
    let mut problems = Vec::new();
    let tokens: Vec<(Token, Span)> =
        tokenize(source, false, SyntaxConfig, WhitespaceConfig::default())
            .filter_map(Result::ok)
            .collect();
    for name in names.iter().filter(|name| !is_known(name)) {
        let root = name.split('.').next().unwrap_or(name);
        let span = tokens
            .iter()
            .find(|(token, _)| matches!(token, Token::Ident(ident) if *ident == root))
            .map(|(_, span)| *span);
        problems.push(problem(span, format!("unknown variable {name}")));
    }
    let mut after_pipe = false;
    let mut after_filter_tag = false;
    let mut after_block_start = false;
    for (token, span) in &tokens {
        if let Token::Ident(tag) = token
            && after_block_start
            && MULTI_TEMPLATE_TAGS.contains(tag)
        {
            problems.push(problem(
                Some(*span),
                format!("{tag} is not available: a message is one template"),
            ));
        }
        after_block_start = matches!(token, Token::BlockStart);
        if let Token::Ident(name) = token
            && (after_pipe || after_filter_tag)
            && !FILTERS.contains(name)
        {
            let message = if *name == "safe" {
                "the safe filter is not available: contact data is always escaped".to_owned()
            } else {
                format!("unknown filter {name}")
            };
            problems.push(problem(Some(*span), message));
        }
        after_filter_tag = matches!(token, Token::Ident("filter")) && !after_pipe;
        after_pipe = matches!(token, Token::Pipe);
    }
    if problems.is_empty() {
        Ok(names.into_iter().collect())
    } else {
        Err(problems)
    }
}

/// [`check`] for every field of a template: the variables all of them read, or every problem.
pub fn check_fields(
    fields: &[(&'static str, Option<&str>)],
) -> Result<Vec<String>, Vec<TemplateProblem>> {
    let mut variables = BTreeSet::new();
    let mut problems = Vec::new();
    for (field, source) in fields {
        match source.map(|source| check(field, source)) {
            Some(Ok(found)) => variables.extend(found),
            Some(Err(found)) => problems.extend(found),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(variables.into_iter().collect())
    } else {
        Err(problems)
    }
}

/// A documented variable, a root of one (`contact`), or a key below `contact.metadata`.
fn is_known(name: &str) -> bool {
    let below = |parent: &str, child: &str| {
        child.starts_with(parent) && child.as_bytes().get(parent.len()) == Some(&b'.')
    };
    name.starts_with("contact.metadata.")
        || VARIABLES
            .iter()
            .any(|known| name == *known || below(name, known))
}

fn column_of(source: &str, offset: usize) -> usize {
    let before = &source[..offset.min(source.len())];
    before.chars().rev().take_while(|c| *c != '\n').count() + 1
}

/// A value that writes itself unescaped: the signature and the renderer's own URLs.
pub(super) fn trusted(html: impl Into<String>) -> Value {
    Value::from_safe_string(html.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_derived_from_the_template() {
        let names = check(
            "content_template",
            "Bonjour {{ contact.first_name }}{% for t in contact.tags %}{{ t }}{% endfor %} {{ contact.metadata.city }}",
        )
        .unwrap();
        assert_eq!(
            names,
            [
                "contact.first_name",
                "contact.metadata.city",
                "contact.tags"
            ]
        );
    }

    #[test]
    fn unknown_variables_and_filters_are_refused_with_their_place() {
        type Case = (&'static str, &'static str, (usize, usize));
        let cases: &[Case] = &[
            (
                "Hi {{ contact.frist_name }}",
                "unknown variable contact.frist_name",
                (1, 7),
            ),
            ("\n  {{ password }}", "unknown variable password", (2, 6)),
            (
                "{{ contact.first_name|shout }}",
                "unknown filter shout",
                (1, 23),
            ),
            (
                "{{ contact.company|safe }}",
                "the safe filter is not available",
                (1, 20),
            ),
            (
                "{% filter nope %}x{% endfilter %}",
                "unknown filter nope",
                (1, 11),
            ),
            (
                "{% if contact.first_name %}\n{{ oops(",
                "expected expression",
                (2, 8),
            ),
            ("{{ contact.first_name }", "unexpected", (1, 23)),
            (
                "<p>{% include \"content.html\" %}</p>",
                "include is not available",
                (1, 7),
            ),
            (
                "{% extends \"content.html\" %}",
                "extends is not available",
                (1, 4),
            ),
            ("{% from \"x\" import y %}", "from is not available", (1, 4)),
        ];
        for (source, message, (line, column)) in cases {
            let problems = check("content_template", source).unwrap_err();
            let first = problems
                .first()
                .unwrap_or_else(|| panic!("{source:?} passed"));
            assert!(first.message.contains(message), "{source:?}: {first:?}");
            assert_eq!(
                (first.line, first.column),
                (*line, *column),
                "{source:?}: {first:?}"
            );
        }
    }

    #[test]
    fn documented_variables_filters_and_metadata_keys_pass() {
        let source = "{{ contact.first_name|default('vous')|title }} {{ contact.metadata.ville }} \
            {% for t in contact.tags|sort %}{{ t|upper }}{% endfor %} {{ artist.name }} \
            {{ campaign.name }} {{ sender.name }} {{ signature }} {{ unsubscribe_url }} \
            {{ web_view_url }} {{ contact.email|urlencode }} {% if contact is defined %}ok{% endif %}";
        assert_eq!(check("content_template", source).err(), None);
    }
}
