//! A raw inbound message, read with `mail-parser` (MIME structure, transfer encodings, legacy
//! charsets, RFC 2047/2231 headers) into the facts the rest of the pipeline decides on. Nothing
//! here fails: a message we cannot read at all still becomes an [`Inbound`] with what little
//! was found, so it is stored rather than lost.

use mail_parser::{Addr, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use crate::domain::{Attachment, Verdict, Verdicts};

/// Texts kept on the reply row, at most (a DynamoDB item holds 400 KB); the raw message keeps
/// everything.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbound {
    /// Every address the message was sent to, lowercased: `To`, `Cc`, and the `for` of the
    /// `Received` headers (the envelope recipient, which a `Bcc` hides).
    pub recipients: Vec<String>,
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    pub message_id: Option<String>,
    /// `In-Reply-To` then `References`, without angle brackets.
    pub thread: Vec<String>,
    /// The headers that tell an automatic message, as (lowercased name, value).
    pub auto_headers: Vec<(String, String)>,
    /// The text part, or (HTML-only mail) the text of the HTML part.
    pub text: String,
    /// Whether `text` is a text part of the message, not derived from its HTML.
    pub has_text_part: bool,
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// For an RFC 3464 delivery status notification: what it reports.
    pub report: Option<DeliveryReport>,
    pub verdicts: Verdicts,
    /// Our own forward coming back (a forward target that replies automatically).
    pub forwarded_by_us: bool,
}

/// One recipient of an RFC 3464 report (`message/delivery-status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub final_recipient: Option<String>,
    pub action: String,
    /// The enhanced status code, `5.1.1`.
    pub status: String,
    pub diagnostic: Option<String>,
    /// The `Message-ID` of the message that bounced, from the returned headers.
    pub original_message_id: Option<String>,
}

/// The header our forwards carry, so that one coming back is never forwarded again.
pub const FORWARD_HEADER: &str = "X-ArtistHub-Forwarded";

const AUTO_HEADERS: [&str; 6] = [
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "precedence",
    "x-auto-response-suppress",
];

pub fn parse(raw: &[u8]) -> Inbound {
    let Some(message) = MessageParser::default().parse(raw) else {
        return Inbound::default();
    };
    let mut inbound = Inbound {
        recipients: recipients(&message),
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        message_id: message.message_id().map(str::to_owned),
        thread: thread(&message),
        auto_headers: message
            .headers_raw()
            .filter(|(name, _)| AUTO_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect(),
        verdicts: verdicts(&message),
        forwarded_by_us: message.header_raw(FORWARD_HEADER).is_some(),
        ..Inbound::default()
    };
    if let Some(from) = message.from().and_then(|f| f.first()) {
        inbound.from_address = from.address().map(|a| a.trim().to_ascii_lowercase());
        inbound.from_name = from
            .name()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
    }
    inbound.text = clip(message.body_text(0).unwrap_or_default().into_owned());
    inbound.has_text_part = message
        .text_bodies()
        .any(|part| matches!(part.body, PartType::Text(_)));
    inbound.html = message
        .html_bodies()
        .next()
        .filter(|part| part.is_text_html())
        .and_then(|part| part.text_contents())
        .map(|html| clip(html.to_owned()));
    inbound.attachments = attachments(&message);
    inbound.report = report(&message);
    inbound
}

fn clip(mut text: String) -> String {
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

fn addresses<'a>(
    value: Option<&'a mail_parser::Address<'a>>,
) -> impl Iterator<Item = &'a Addr<'a>> {
    value.into_iter().flat_map(|address| address.iter())
}

fn recipients(message: &Message<'_>) -> Vec<String> {
    let mut found: Vec<String> = addresses(message.to())
        .chain(addresses(message.cc()))
        .filter_map(|addr| addr.address())
        .map(str::to_owned)
        .chain(
            message
                .received_all()
                .filter_map(|received| received.for_())
                .map(str::to_owned),
        )
        .map(|address| address.trim().trim_matches(['<', '>']).to_ascii_lowercase())
        .collect();
    found.dedup();
    found
}

fn ids_of(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![id.to_string()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn thread(message: &Message<'_>) -> Vec<String> {
    let mut ids = ids_of(message.in_reply_to());
    ids.extend(ids_of(message.references()).into_iter().rev());
    ids
}

/// The first (topmost) header of that name: `Message::header_raw` gives the last.
fn first_header<'a>(message: &'a Message<'_>, name: &str) -> Option<&'a str> {
    message
        .headers_raw()
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// SES writes its verdicts at the top of the stored message; the first of each header is
/// SES's (a sender's forged copy comes below it).
fn verdicts(message: &Message<'_>) -> Verdicts {
    let first_word = |name: &str| {
        first_header(message, name)
            .and_then(|value| value.split_whitespace().next())
            .map(verdict)
            .unwrap_or_default()
    };
    let results = first_header(message, "Authentication-Results")
        .filter(|value| value.trim_start().starts_with("amazonses.com"))
        .unwrap_or_default();
    let method = |name: &str| {
        results
            .split(';')
            .filter_map(|clause| clause.trim().strip_prefix(name)?.strip_prefix('='))
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .map(verdict)
    };
    Verdicts {
        spam: first_word("X-SES-Spam-Verdict"),
        virus: first_word("X-SES-Virus-Verdict"),
        spf: method("spf").unwrap_or_else(|| first_word("Received-SPF")),
        dkim: method("dkim").unwrap_or_default(),
        dmarc: method("dmarc").unwrap_or_default(),
    }
}

fn verdict(word: &str) -> Verdict {
    match word.trim_end_matches(';').to_ascii_lowercase().as_str() {
        "pass" => Verdict::Pass,
        "fail" | "softfail" | "hardfail" => Verdict::Fail,
        "gray" | "neutral" | "none" => Verdict::Gray,
        "processing_failed" | "temperror" | "permerror" => Verdict::ProcessingFailed,
        _ => Verdict::Unknown,
    }
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments
        .iter()
        .filter_map(|&id| Some((id, message.parts.get(id as usize)?)))
        .map(|(id, part)| Attachment {
            filename: part.attachment_name().map(str::to_owned),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned())
                .to_ascii_lowercase(),
            size: part.len() as u64,
            part: id,
        })
        .collect()
}

/// The delivery-status part of a `multipart/report; report-type=delivery-status`, if the
/// message is one.
fn report(message: &Message<'_>) -> Option<DeliveryReport> {
    let root = message.content_type()?;
    let is_report = root.ctype().eq_ignore_ascii_case("multipart")
        && root
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && root
            .attribute("report-type")
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let is = |part: &&mail_parser::MessagePart<'_>, sub: &str| {
        part.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
        }) || (sub == "rfc822-headers"
            && part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case(sub))
            }))
    };
    let status = message.parts.iter().find(|p| is(p, "delivery-status"))?;
    let fields = String::from_utf8_lossy(status.contents()).into_owned();
    let original_message_id = message
        .parts
        .iter()
        .find(|p| is(p, "rfc822") || is(p, "rfc822-headers"))
        .and_then(|part| match &part.body {
            PartType::Message(inner) => inner.message_id().map(str::to_owned),
            _ => MessageParser::default()
                .parse(part.contents())
                .and_then(|inner| inner.message_id().map(str::to_owned)),
        });
    Some(delivery_fields(&fields, original_message_id))
}

/// The per-recipient fields of a delivery-status body (RFC 3464 §2.3): the first recipient's.
fn delivery_fields(body: &str, original_message_id: Option<String>) -> DeliveryReport {
    let mut report = DeliveryReport {
        final_recipient: None,
        action: String::new(),
        status: String::new(),
        diagnostic: None,
        original_message_id,
    };
    let unfolded = body
        .replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ");
    for line in unfolded.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        // `rfc822; someone@example.com`: the address after the type.
        let typed = || value.rsplit(';').next().unwrap_or(value).trim().to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" if report.final_recipient.is_none() => {
                report.final_recipient = Some(typed().to_ascii_lowercase());
            }
            "action" if report.action.is_empty() => report.action = value.to_ascii_lowercase(),
            "status" if report.status.is_empty() => {
                report.status = value
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            "diagnostic-code" if report.diagnostic.is_none() => report.diagnostic = Some(typed()),
            _ => {}
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GMAIL: &[u8] = include_bytes!("../../../events/inbound/gmail-en.eml");
    const DSN: &[u8] = include_bytes!("../../../events/inbound/dsn-hard-bounce.eml");

    #[test]
    fn ses_verdicts_are_read_from_the_headers_ses_put_on_top() {
        let raw = b"X-SES-Spam-Verdict: FAIL\r\nX-SES-Virus-Verdict: PASS\r\n\
            Authentication-Results: amazonses.com; spf=softfail smtp.mailfrom=x; dkim=fail; dmarc=none;\r\n\
            X-SES-Virus-Verdict: FAIL\r\nFrom: a@b.example\r\nSubject: x\r\n\r\nbody\r\n";
        let verdicts = parse(raw).verdicts;
        assert_eq!(verdicts.spam, Verdict::Fail);
        assert_eq!(
            verdicts.virus,
            Verdict::Pass,
            "a copy below SES's is the sender's"
        );
        assert_eq!(verdicts.spf, Verdict::Fail);
        assert_eq!(verdicts.dkim, Verdict::Fail);
        assert_eq!(verdicts.dmarc, Verdict::Gray);
        assert_eq!(
            parse(b"Subject: x\r\n\r\nbody").verdicts,
            Verdicts::default()
        );
    }

    #[test]
    fn attachments_are_described_and_never_inlined() {
        let raw = b"From: a@b.example\r\nSubject: pics\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
            Content-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\n\
            Content-Type: application/x-msdownload\r\n\
            Content-Disposition: attachment; filename*=UTF-8''pr%C3%A9sentation.exe\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b--\r\n";
        let inbound = parse(raw);
        assert_eq!(inbound.text.trim(), "See attached.");
        assert_eq!(inbound.attachments.len(), 1);
        let attachment = &inbound.attachments[0];
        assert_eq!(
            attachment.filename.as_deref(),
            Some("présentation.exe"),
            "RFC 2231"
        );
        assert_eq!(attachment.content_type, "application/x-msdownload");
        assert_eq!(attachment.size, 12);
        assert!(!inbound.text.contains("TVqQ"));
    }

    #[test]
    fn a_delivery_report_names_its_recipient_status_and_returned_message() {
        let report = parse(DSN).report.expect("a delivery report");
        assert_eq!(report.final_recipient.as_deref(), Some("gone@example.com"));
        assert_eq!(report.action, "failed");
        assert_eq!(report.status, "5.1.1");
        assert_eq!(
            report.original_message_id.as_deref(),
            Some("original.message.id@original.invalid")
        );
        assert!(parse(GMAIL).report.is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let inbound = parse(&bytes);
            let _ = super::super::clean::visible(&inbound.text, inbound.html.as_deref(), inbound.has_text_part);
        }

        #[test]
        fn truncated_and_mangled_messages_never_panic(
            cut in 0..GMAIL.len() + DSN.len(),
            flip in 0..GMAIL.len(),
            byte in any::<u8>(),
        ) {
            let mut joined = [GMAIL, DSN].concat();
            joined.truncate(cut);
            let inbound = parse(&joined);
            let _ = super::super::clean::visible(&inbound.text, inbound.html.as_deref(), inbound.has_text_part);
            let mut mangled = GMAIL.to_vec();
            mangled[flip] = byte;
            let _ = parse(&mangled);
        }
    }
}
