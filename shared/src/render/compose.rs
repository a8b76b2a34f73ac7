//! What happens once per template (not per recipient): the signature is placed, every tracked
//! link is wrapped so that rendering records and signs it, the open pixel is added, the text
//! part is derived from the HTML when the template has none, and the HTML's literal text is made
//! 7-bit (numeric references for non-ASCII, lines kept short) so that no recipient's message
//! needs a transfer encoding pass. All HTML work uses lol_html on the template source; MiniJinja
//! syntax in text and attribute values passes through it as text.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::ContentType;
use lol_html::{HtmlRewriter, Settings, element, end_tag, text};
use minijinja::machinery::{Token, WhitespaceConfig, tokenize};
use minijinja::syntax::SyntaxConfig;

use super::language::TRACK_FILTER;

/// The variable the open pixel's URL is rendered from (not for template authors).
const OPEN_PIXEL: &str = "open_pixel_url";

/// Where a composed HTML line is broken (at a space) to stay far below SMTP's 998 octets.
const LINE_SOFT_LIMIT: usize = 800;

/// The template sources the renderer compiles, after composition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub html: String,
    pub text: String,
}

pub struct CompositionInput<'a> {
    pub html: &'a str,
    pub text: Option<&'a str>,
    /// The signature's HTML, already sanitized, when it is to be placed.
    pub signature: Option<&'a str>,
    pub track_links: bool,
    pub open_pixel: bool,
}

pub fn compose(input: &CompositionInput<'_>) -> Composed {
    let html = match input.signature {
        Some(signature) => place_signature(input.html, signature),
        None => input.html.to_owned(),
    };
    let html = rewrite(&html, input.track_links, input.open_pixel);
    let text = match input.text {
        Some(text) => match input.signature.filter(|_| !mentions_signature(text)) {
            Some(signature) => format!("{}\n\n-- \n{}", text.trim_end(), html_to_text(signature)),
            None => text.to_owned(),
        },
        None => html_to_text(&html),
    };
    Composed {
        html: seven_bit(&html),
        text,
    }
}

/// `{{ signature }}` where the template puts it (inlined, so its links are tracked too); a
/// template reading `signature` otherwise (`{% if signature %}`) gets it as a variable; any
/// other gets it at the end of the body.
fn place_signature(html: &str, signature: &str) -> String {
    if let Some(range) = signature_expression(html) {
        return format!("{}{signature}{}", &html[..range.start], &html[range.end..]);
    }
    if mentions_signature(html) {
        return html.to_owned();
    }
    let block = format!("<div class=\"signature\" style=\"margin-top:24px\">{signature}</div>");
    match html.to_ascii_lowercase().rfind("</body") {
        Some(at) => format!("{}{block}{}", &html[..at], &html[at..]),
        None => format!("{html}{block}"),
    }
}

fn mentions_signature(source: &str) -> bool {
    tokens(source).any(|(token, _)| matches!(token, Token::Ident("signature")))
}

/// The byte range of a plain `{{ signature }}` expression.
fn signature_expression(source: &str) -> Option<std::ops::Range<usize>> {
    let all: Vec<_> = tokens(source).collect();
    all.windows(3).find_map(|w| match w {
        [
            (Token::VariableStart, start),
            (Token::Ident("signature"), _),
            (Token::VariableEnd, end),
        ] => Some(start.start_offset as usize..end.end_offset as usize),
        _ => None,
    })
}

fn tokens(source: &str) -> impl Iterator<Item = (Token<'_>, minijinja::machinery::Span)> {
    tokenize(source, false, SyntaxConfig, WhitespaceConfig::default()).map_while(Result::ok)
}

/// Hides the preheader (the line inbox lists show after the subject) first in the body,
/// padded with invisible characters so that the body's own first words do not follow it into
/// the list. Its text is escaped as text; template expressions in it render as elsewhere.
pub fn with_preheader(html: &str, preheader: &str) -> String {
    let escaped = preheader
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let block = format!(
        "<div data-preheader style=\"display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;mso-hide:all\">{escaped}{}</div>",
        "&#847;&zwnj;&nbsp;".repeat(40)
    );
    let placed = Rc::new(RefCell::new(false));
    let mut output = Vec::with_capacity(html.len() + block.len());
    {
        let (seen, first) = (placed.clone(), block.clone());
        let mut rewriter = HtmlRewriter::new(
            Settings {
                element_content_handlers: vec![element!("body", move |el| {
                    el.prepend(&first, ContentType::Html);
                    *seen.borrow_mut() = true;
                    Ok(())
                })],
                ..Settings::new()
            },
            |chunk: &[u8]| output.extend_from_slice(chunk),
        );
        if rewriter
            .write(html.as_bytes())
            .and_then(|_| rewriter.end())
            .is_err()
        {
            return format!("{block}{html}");
        }
    }
    match String::from_utf8(output) {
        Ok(rewritten) if *placed.borrow() => rewritten,
        _ => format!("{block}{html}"),
    }
}

/// Whether a link is one to count clicks on: web links, not mail or phone links, anchors or the
/// unsubscribe and web view links (a click there is not engagement).
fn trackable(href: &str) -> bool {
    let lower = href.trim().to_ascii_lowercase();
    let web =
        lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("{{");
    web && !lower.contains("unsubscribe_url")
        && !lower.contains("web_view_url")
        && !href.contains('"')
}

/// Wraps tracked hrefs in the tracking filter and appends the open pixel.
fn rewrite(html: &str, track_links: bool, open_pixel: bool) -> String {
    let body_seen = Rc::new(RefCell::new(false));
    let pixel = format!(
        "<img src=\"{{{{ {OPEN_PIXEL} }}}}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px\">"
    );
    let mut output = Vec::with_capacity(html.len() + 1024);
    {
        let body = body_seen.clone();
        let pixel = pixel.clone();
        let mut rewriter = HtmlRewriter::new(
            Settings {
                element_content_handlers: vec![
                    element!("a[href]", move |el| {
                        let href = el.get_attribute("href").unwrap_or_default();
                        if track_links && trackable(&href) {
                            let wrapped = format!(
                                "{{% filter {TRACK_FILTER} %}}{}{{% endfilter %}}",
                                href.trim()
                            );
                            el.set_attribute("href", &wrapped)?;
                        }
                        Ok(())
                    }),
                    element!("body", move |el| {
                        *body.borrow_mut() = true;
                        if open_pixel {
                            el.append(&pixel, ContentType::Html);
                        }
                        Ok(())
                    }),
                ],
                ..Settings::new()
            },
            |chunk: &[u8]| output.extend_from_slice(chunk),
        );
        // Input and output are in memory and the handlers cannot fail on text: a rewriter
        // error here means lol_html refused the input, which it does only on its memory limit.
        if rewriter
            .write(html.as_bytes())
            .and_then(|_| rewriter.end())
            .is_err()
        {
            return html.to_owned();
        }
    }
    let mut html = String::from_utf8(output)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    if open_pixel && !*body_seen.borrow() {
        html.push_str(&pixel);
    }
    html
}

/// A plain-text rendering of an HTML template source: block elements become line breaks, links
/// show their target, images their alt text; `head`, `style` and `script` are dropped.
pub fn html_to_text(html: &str) -> String {
    #[derive(Default)]
    struct State {
        out: String,
        hidden: usize,
        pre: usize,
        /// Open links: where their text starts in `out`, and their href.
        links: Vec<(usize, String)>,
    }
    let state = Rc::new(RefCell::new(State::default()));
    let block = |tag: &'static str, before: &'static str, after: &'static str| {
        let state = state.clone();
        element!(tag, move |el| {
            state.borrow_mut().out.push_str(before);
            let state = state.clone();
            if el.can_have_content() {
                el.on_end_tag(end_tag!(move |_| {
                    state.borrow_mut().out.push_str(after);
                    Ok(())
                }))?;
            }
            Ok(())
        })
    };
    let hide = |tag: &'static str| {
        let state = state.clone();
        element!(tag, move |el| {
            state.borrow_mut().hidden += 1;
            let state = state.clone();
            el.on_end_tag(end_tag!(move |_| {
                state.borrow_mut().hidden -= 1;
                Ok(())
            }))?;
            Ok(())
        })
    };
    let mut handlers = vec![
        hide("head"),
        hide("style"),
        hide("script"),
        hide("title"),
        hide("[data-preheader]"),
    ];
    for tag in [
        "p",
        "div",
        "table",
        "blockquote",
        "section",
        "header",
        "footer",
        "ul",
        "ol",
    ] {
        handlers.push(block(tag, "\n\n", "\n\n"));
    }
    for tag in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        handlers.push(block(tag, "\n\n", "\n\n"));
    }
    handlers.push(block("tr", "\n", "\n"));
    handlers.push(block("td", " ", " "));
    handlers.push(block("th", " ", " "));
    handlers.push(block("li", "\n- ", ""));
    handlers.push(block("br", "\n", ""));
    handlers.push(block("hr", "\n\n---\n\n", ""));
    {
        let state = state.clone();
        handlers.push(element!("pre", move |el| {
            state.borrow_mut().pre += 1;
            state.borrow_mut().out.push_str("\n\n");
            let state = state.clone();
            el.on_end_tag(end_tag!(move |_| {
                let mut s = state.borrow_mut();
                s.pre -= 1;
                s.out.push_str("\n\n");
                Ok(())
            }))?;
            Ok(())
        }));
    }
    {
        let state = state.clone();
        handlers.push(element!("img[alt]", move |el| {
            let alt = el.get_attribute("alt").unwrap_or_default();
            if !alt.trim().is_empty() && state.borrow().hidden == 0 {
                push_collapsed(
                    &mut state.borrow_mut().out,
                    &format!(" {} ", decode_text(&alt)),
                );
            }
            Ok(())
        }));
    }
    {
        let state = state.clone();
        handlers.push(element!("a[href]", move |el| {
            let href = el.get_attribute("href").unwrap_or_default();
            let start = state.borrow().out.len();
            state.borrow_mut().links.push((start, href));
            let state = state.clone();
            if el.can_have_content() {
                el.on_end_tag(end_tag!(move |_| {
                    let mut s = state.borrow_mut();
                    let Some((start, href)) = s.links.pop() else {
                        return Ok(());
                    };
                    let label = s.out.get(start..).unwrap_or("").trim().to_owned();
                    let target = href.trim();
                    let shown = target.strip_prefix("mailto:").unwrap_or(target);
                    if !target.is_empty() && !target.starts_with('#') && label != shown {
                        let target = decode_text(target);
                        s.out.push_str(&format!(" ({target})"));
                    }
                    Ok(())
                }))?;
            }
            Ok(())
        }));
    }
    {
        let state = state.clone();
        handlers.push(text!("*", move |chunk| {
            let mut s = state.borrow_mut();
            if s.hidden > 0 {
                return Ok(());
            }
            let decoded = decode_text(chunk.as_str());
            if s.pre > 0 {
                s.out.push_str(&decoded);
            } else {
                push_collapsed(&mut s.out, &decoded);
            }
            Ok(())
        }));
    }
    if !read_html(html, handlers) {
        return String::new();
    }
    let out = std::mem::take(&mut state.borrow_mut().out);
    tidy(&out)
}

/// Runs `handlers` over `html` for what they collect, discarding the output; `false` when
/// lol_html refused the input (only on its memory limit, for input held in memory).
pub(super) fn read_html(
    html: &str,
    handlers: Vec<(
        std::borrow::Cow<'static, lol_html::Selector>,
        lol_html::ElementContentHandlers<'_>,
    )>,
) -> bool {
    let mut rewriter = HtmlRewriter::new(
        Settings {
            element_content_handlers: handlers,
            ..Settings::new()
        },
        |_: &[u8]| {},
    );
    rewriter
        .write(html.as_bytes())
        .and_then(|_| rewriter.end())
        .is_ok()
}

/// HTML's whitespace rule: runs of ASCII blanks are one space (a no-break space stays).
fn push_collapsed(out: &mut String, text: &str) {
    let mut last_blank = out.ends_with([' ', '\n']);
    for c in text.chars() {
        if c.is_ascii_whitespace() {
            if !last_blank {
                out.push(' ');
            }
            last_blank = true;
        } else {
            out.push(c);
            last_blank = false;
        }
    }
}

/// Text of an HTML text node or attribute: entities decoded, except that braces written as
/// entities stay literal braces for MiniJinja (a signature cannot smuggle in template code).
fn decode_text(raw: &str) -> String {
    let mut guarded = raw.to_owned();
    for (entity, mark) in [
        ("&#123;", "\u{E000}"),
        ("&#125;", "\u{E001}"),
        ("&#x7b;", "\u{E000}"),
        ("&#x7d;", "\u{E001}"),
        ("&#x7B;", "\u{E000}"),
        ("&#x7D;", "\u{E001}"),
        ("&lbrace;", "\u{E000}"),
        ("&rbrace;", "\u{E001}"),
        ("&lcub;", "\u{E000}"),
        ("&rcub;", "\u{E001}"),
    ] {
        if guarded.contains(entity) {
            guarded = guarded.replace(entity, mark);
        }
    }
    html_escape::decode_html_entities(&guarded)
        .replace('\u{E000}', "{{ '{' }}")
        .replace('\u{E001}', "{{ '}' }}")
}

/// Lines without trailing blanks, at most one blank line in a row, no blank start or end.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.lines().map(|l| l.trim_end().trim_start_matches(' ')) {
        if line.is_empty() {
            blank_lines += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_lines > 0 { "\n\n" } else { "\n" });
        }
        blank_lines = 0;
        out.push_str(line);
    }
    out.push('\n');
    out
}

/// The HTML source with its literal text in 7-bit ASCII (numeric character references), CRLF
/// line ends (SMTP's, so a message copies its HTML part whole) and lines broken at spaces past
/// [`LINE_SOFT_LIMIT`]; template code is left exactly as written.
fn seven_bit(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + source.len() / 8);
    let mut column = 0;
    let mut copied = 0;
    for (token, span) in tokens(source) {
        let (start, end) = (span.start_offset as usize, span.end_offset as usize);
        let Token::TemplateData(data) = token else {
            continue;
        };
        out.push_str(&source[copied..start]);
        column = column_after(&source[copied..start], column);
        for c in data.chars() {
            match c {
                '\r' => {}
                '\n' => {
                    out.push_str("\r\n");
                    column = 0;
                }
                ' ' if column > LINE_SOFT_LIMIT => {
                    out.push_str("\r\n");
                    column = 0;
                }
                c if c.is_ascii() => {
                    out.push(c);
                    column += 1;
                }
                c => {
                    let reference = format!("&#{};", c as u32);
                    column += reference.len();
                    out.push_str(&reference);
                }
            }
        }
        copied = end;
    }
    out.push_str(&source[copied..]);
    out
}

fn column_after(text: &str, column: usize) -> usize {
    match text.rfind('\n') {
        Some(at) => text.len() - at - 1,
        None => column + text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compose_html(html: &str, signature: Option<&str>) -> Composed {
        compose(&CompositionInput {
            html,
            text: None,
            signature,
            track_links: true,
            open_pixel: true,
        })
    }

    #[test]
    fn the_preheader_leads_the_body_hidden_and_stays_out_of_the_text_part() {
        for (html, starts) in [
            (
                "<html><body class=\"x\"><p>Corps</p></body></html>",
                "<html><body class=\"x\"><div data-preheader",
            ),
            ("<p>Corps</p>", "<div data-preheader"),
        ] {
            let placed = with_preheader(html, "Bonjour {{ contact.first_name }} <3 & plus");
            assert!(placed.starts_with(starts), "{placed}");
            assert!(placed.contains("Bonjour {{ contact.first_name }} &lt;3 &amp; plus"));
            assert!(placed.contains("display:none"));
            let composed = compose_html(&placed, None);
            assert!(!composed.text.contains("Bonjour"), "{}", composed.text);
            assert!(composed.text.contains("Corps"));
        }
    }

    #[test]
    fn web_links_are_wrapped_for_tracking_and_the_others_left_alone() {
        let composed = compose_html(
            "<body><a href=\"https://shop.example/a?x=1&amp;y=2\">Shop</a> \
             <a href=\"mailto:press@label.example\">Mail</a> <a href=\"#top\">Top</a> \
             <a href=\"{{ unsubscribe_url }}\">Se désabonner</a> \
             <a href='{{ contact.metadata.page }}'>Page</a></body>",
            None,
        );
        assert_eq!(composed.html.matches("{% filter __track %}").count(), 2);
        assert!(composed.html.contains(
            "href=\"{% filter __track %}https://shop.example/a?x=1&amp;y=2{% endfilter %}\""
        ));
        assert!(
            composed
                .html
                .contains("{% filter __track %}{{ contact.metadata.page }}{% endfilter %}")
        );
        assert!(
            composed
                .html
                .contains("href=\"mailto:press@label.example\"")
        );
        assert!(composed.html.contains("href=\"{{ unsubscribe_url }}\""));
        assert!(composed.html.contains("{{ open_pixel_url }}"));
        assert!(
            composed.html.contains("d&#233;sabonner"),
            "{}",
            composed.html
        );
        assert!(composed.html.is_ascii());
    }

    #[test]
    fn the_signature_goes_where_the_template_puts_it_or_before_the_end_of_the_body() {
        let signature = "<p>Zoé — <a href=\"https://label.example\">Label</a></p>";
        let placed = compose_html("<p>Hi</p>{{ signature }}<p>PS</p>", Some(signature));
        assert!(placed.html.find("Label").unwrap() < placed.html.find("PS").unwrap());
        assert_eq!(
            placed.html.matches("{% filter __track %}").count(),
            1,
            "signature links are tracked"
        );
        let appended = compose_html("<html><body><p>Hi</p></body></html>", Some(signature));
        assert!(appended.html.find("Label").unwrap() < appended.html.find("</body>").unwrap());
        assert!(
            appended
                .text
                .contains("Label ({% filter __track %}https://label.example{% endfilter %})"),
            "text links are tracked like the HTML's: {}",
            appended.text
        );
    }

    #[test]
    fn the_text_part_reads_like_the_html() {
        let text = html_to_text(
            "<html><head><title>T</title><style>p{color:red}</style></head><body>\
             <h1>Tournée&nbsp;2027</h1><p>Bonjour {{ contact.first_name }},</p>\
             <ul><li>Paris</li><li>Lyon</li></ul>\
             <p><a href=\"https://tickets.example\">Billets</a> <img src=x alt=\"Affiche\"></p>\
             <p>&#123;&#123; not code &#125;&#125;</p></body></html>",
        );
        assert_eq!(
            text,
            "Tournée\u{a0}2027\n\nBonjour {{ contact.first_name }},\n\n- Paris\n- Lyon\n\n\
             Billets (https://tickets.example) Affiche\n\n\
             {{ '{' }}{{ '{' }} not code {{ '}' }}{{ '}' }}\n"
        );
    }

    #[test]
    fn long_html_lines_are_broken_at_spaces_and_template_code_is_untouched() {
        let long = format!("<p>{}</p>{{{{ \"é\" }}}}", "mot ".repeat(600));
        let composed = seven_bit(&long);
        assert!(
            composed
                .lines()
                .all(|line| line.len() <= LINE_SOFT_LIMIT + 10)
        );
        assert!(composed.ends_with("{{ \"é\" }}"));
    }
}
