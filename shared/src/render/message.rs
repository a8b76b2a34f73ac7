//! A compiled message template and its render for one recipient.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Object, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::Link;

use super::compose::{self, CompositionInput};
use super::language::{self, TRACK_FILTER, TemplateProblem};
use super::mime::{self, Envelope, Mailbox};
use super::tokens::{Token, TokenKind, TokenSigner};

const SUBJECT: &str = "subject.txt";
const HTML: &str = "content.html";
const TEXT: &str = "content.txt";

/// A template as its author wrote it.
#[derive(Debug, Clone)]
pub struct TemplateSource<'a> {
    pub subject: &'a str,
    pub html: &'a str,
    pub text: Option<&'a str>,
}

impl<'a> From<&'a crate::domain::MessageSources> for TemplateSource<'a> {
    fn from(sources: &'a crate::domain::MessageSources) -> Self {
        Self {
            subject: &sources.subject,
            html: &sources.html,
            text: sources.text.as_deref(),
        }
    }
}

impl TemplateSource<'_> {
    /// Each source with the request field it comes from.
    pub fn fields(&self) -> [(&'static str, Option<&str>); 3] {
        [
            ("subject_template", Some(self.subject)),
            ("content_template", Some(self.html)),
            ("text_template", self.text),
        ]
    }
}

/// How the message is tracked, and where its public links point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracking {
    /// Public base URL of the tracking, unsubscribe and web view endpoints.
    pub base_url: String,
    pub links: bool,
    pub open_pixel: bool,
    /// Added to every tracked link that does not set them.
    pub utm: Option<Utm>,
}

/// The UTM parameters of a campaign's links: `utm_content` names an A/B variant, so the
/// CRM's conversions can say which one a visitor came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utm {
    pub source: String,
    pub medium: String,
    pub campaign: String,
    pub content: Option<String>,
}

/// Everything per campaign (or per individual send) that is not per recipient.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Shared {
    pub artist: ArtistVars,
    pub campaign: CampaignVars,
    pub sender: SenderVars,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ArtistVars {
    pub name: Option<String>,
    pub postal_address: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct CampaignVars {
    pub name: Option<String>,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SenderVars {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The recipient's fields as templates see them.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ContactVars {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: String,
    pub company: Option<String>,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl ContactVars {
    pub fn from_contact(email: &str, fields: &crate::domain::ContactFields) -> Self {
        let full_name = match (&fields.first_name, &fields.last_name) {
            (Some(first), Some(last)) => format!("{first} {last}"),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => email.to_owned(),
        };
        Self {
            email: email.to_owned(),
            first_name: fields.first_name.clone(),
            last_name: fields.last_name.clone(),
            full_name,
            company: fields.company.clone(),
            position: fields.position.clone(),
            phone: fields.phone.clone(),
            tags: fields.tags.as_slice().to_vec(),
            metadata: fields.metadata.clone(),
        }
    }
}

/// One message to one person.
pub struct Recipient<'a> {
    /// The send's id: every token of the message names it.
    pub send: Uuid,
    pub contact: &'a ContactVars,
    /// The recipient's display name and ASCII address.
    pub to: Mailbox<'a>,
}

/// The envelope fields that do not come from the template.
pub struct Addressing<'a> {
    pub from: Mailbox<'a>,
    /// Domain of the inbound addresses (`r-{token}@…` for replies, `u-{token}@…` to unsubscribe).
    pub reply_domain: &'a str,
    /// `campaign:team:artist:artisthub`.
    pub feedback_id: &'a str,
}

/// The message as rendered for one person.
#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    pub links: Vec<Link>,
    /// Signed once for the body's link and the List-Unsubscribe headers.
    #[serde(skip)]
    pub unsubscribe_token: String,
}

/// The most one part of a message (subject, HTML or text) may hold once rendered.
pub const MAX_PART_BYTES: usize = 1024 * 1024;

/// Whether rendering stopped at the budget (the fuel, or the size of a part), not on a mistake
/// of the template's: the only failures a template's save check renders a sample for.
pub fn over_budget(error: &Error) -> bool {
    matches!(error.kind(), ErrorKind::OutOfFuel | ErrorKind::WriteFailure)
}

/// A buffer that refuses to grow past [`MAX_PART_BYTES`].
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + chunk.len() > MAX_PART_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("the rendered part is too large"));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(chunk.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A template compiled once, rendered per recipient.
pub struct MessageTemplate {
    env: Environment<'static>,
    /// Variables the template reads.
    pub variables: Vec<String>,
    /// The signature as the HTML part and as the text part show it.
    signature: Option<(Value, Value)>,
    signer: TokenSigner,
    tracking: Tracking,
    links: Arc<LinkContext>,
    /// The text part's lines as encoded for earlier recipients.
    encoded_lines: mime::EncodedLines,
}

impl std::fmt::Debug for MessageTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageTemplate")
            .field("variables", &self.variables)
            .finish_non_exhaustive()
    }
}

impl MessageTemplate {
    /// Checks and compiles `source`; `signature` is sanitized HTML placed unless `None`.
    pub fn compile(
        source: &TemplateSource<'_>,
        signature: Option<&str>,
        tracking: Tracking,
        signer: TokenSigner,
    ) -> Result<Self, Vec<TemplateProblem>> {
        let variables = language::check_fields(&source.fields())?;
        let composed = compose::compose(&CompositionInput {
            html: source.html,
            text: source.text,
            signature,
            track_links: tracking.links,
            open_pixel: tracking.open_pixel,
        });
        let mut env = language::environment();
        env.add_filter(TRACK_FILTER, track);
        let internal = |field: &'static str, error: Error| {
            vec![TemplateProblem {
                field,
                line: error.line().unwrap_or(1),
                column: 1,
                message: format!("the composed template does not compile: {error}"),
            }]
        };
        env.add_template_owned(SUBJECT, source.subject.to_owned())
            .map_err(|e| internal("subject_template", e))?;
        env.add_template_owned(HTML, composed.html)
            .map_err(|e| internal("content_template", e))?;
        env.add_template_owned(TEXT, composed.text)
            .map_err(|e| internal("text_template", e))?;
        // Where the template reads `signature` in an expression of its own, the variable holds
        // it: HTML in the HTML part, text elsewhere (the derived text is template source, so it
        // is rendered once here).
        let signature = match signature {
            Some(html) => {
                let text = env
                    .render_str(&compose::html_to_text(html), ())
                    .map_err(|e| internal("content_template", e))?;
                Some((language::trusted(html), Value::from(text.trim_end())))
            }
            None => None,
        };
        let links = Arc::new(LinkContext {
            signer: signer.clone(),
            click_base: format!("{}/api/email/track/click/", tracking.base_url),
            utm: tracking.utm.clone(),
            resolved: Mutex::default(),
        });
        Ok(Self {
            env,
            variables,
            signature,
            signer,
            tracking,
            links,
            encoded_lines: mime::EncodedLines::default(),
        })
    }

    pub fn shared_context(shared: &Shared) -> Value {
        Value::from_serialize(shared)
    }

    /// The message for `recipient`; `shared` is [`MessageTemplate::shared_context`].
    pub fn render(&self, shared: &Value, recipient: &Recipient<'_>) -> Result<Rendered, Error> {
        let token = |kind| {
            self.signer.sign(Token {
                kind,
                send: recipient.send,
                link: 0,
            })
        };
        let url = |path: &str, token: &str| {
            language::trusted(format!(
                "{}/api/email/{path}/{token}",
                self.tracking.base_url
            ))
        };
        let unsubscribe_token = token(TokenKind::Unsubscribe);
        let links = Value::from_object(LinkRecorder {
            send: recipient.send,
            context: self.links.clone(),
            links: Mutex::new(Vec::new()),
        });
        let context = MessageContext {
            contact: Value::from_serialize(recipient.contact),
            unsubscribe_url: url("unsubscribe", &unsubscribe_token),
            web_view_url: url("view", &token(TokenKind::WebView)),
            open_pixel_url: url("track/open", &token(TokenKind::Open)),
            links: links.clone(),
            signature: None,
            shared: shared.clone(),
        };
        let (html_context, text_context) = match &self.signature {
            Some((html, text)) => (
                MessageContext {
                    signature: Some(html.clone()),
                    ..context.clone()
                },
                MessageContext {
                    signature: Some(text.clone()),
                    ..context
                },
            ),
            None => (context.clone(), context),
        };
        let (html_context, text_context) = (
            Value::from_object(html_context),
            Value::from_object(text_context),
        );
        let subject = self.render_part(SUBJECT, &text_context)?;
        let html = self.render_part(HTML, &html_context)?;
        let text = self.render_part(TEXT, &text_context)?;
        let links = links
            .downcast_object_ref::<LinkRecorder>()
            .map(|recorder| recorder.lock().drain(..).map(|(link, _)| link).collect())
            .unwrap_or_default();
        Ok(Rendered {
            subject: mime::clean(&subject),
            html,
            text,
            links,
            unsubscribe_token,
        })
    }

    /// Renders the template once for a sample recipient and answers the budget error if it
    /// has one: what saving a template, a campaign or a signature checks. Other render errors
    /// are left to the send's check on a real recipient (a sample's empty fields may be what
    /// trips them).
    pub fn check_budget(&self) -> Result<(), Error> {
        let sample = ContactVars {
            email: "sample@example.com".into(),
            first_name: Some("Camille".into()),
            last_name: Some("Martin".into()),
            full_name: "Camille Martin".into(),
            ..ContactVars::default()
        };
        let recipient = Recipient {
            send: Uuid::nil(),
            contact: &sample,
            to: Mailbox {
                name: None,
                address: "sample@example.com",
            },
        };
        match self.render(&Self::shared_context(&Shared::default()), &recipient) {
            Err(error) if over_budget(&error) => Err(error),
            _ => Ok(()),
        }
    }

    /// One part, written through a capped buffer: a template that would write more than
    /// [`MAX_PART_BYTES`] stops there with an error instead of growing a message nobody can
    /// send (SES takes 10 MB whole; Gmail clips HTML past 102 KB).
    fn render_part(&self, name: &str, context: &Value) -> Result<String, Error> {
        let mut out = Capped::default();
        let rendered = self
            .env
            .get_template(name)?
            .render_captured_to(context, &mut out)
            .map(drop);
        if out.overflowed {
            return Err(Error::new(
                ErrorKind::WriteFailure,
                format!("the message is larger than {} KB", MAX_PART_BYTES / 1024),
            ));
        }
        rendered?;
        String::from_utf8(out.bytes).map_err(|_| {
            Error::new(
                ErrorKind::InvalidOperation,
                "the message is not valid UTF-8",
            )
        })
    }

    /// The whole MIME message for `recipient`.
    pub fn mime(
        &self,
        rendered: &Rendered,
        recipient: &Recipient<'_>,
        addressing: &Addressing<'_>,
        date: chrono::DateTime<chrono::Utc>,
    ) -> Vec<u8> {
        let parts = self.envelope_parts(rendered, recipient, addressing);
        mime::write(
            &parts.envelope(rendered, recipient, addressing, date),
            &rendered.html,
            &rendered.text,
            &self.encoded_lines,
        )
    }

    /// The headers the MIME message carries, for previews.
    pub fn headers(
        &self,
        rendered: &Rendered,
        recipient: &Recipient<'_>,
        addressing: &Addressing<'_>,
        date: chrono::DateTime<chrono::Utc>,
    ) -> Vec<(&'static str, String)> {
        let parts = self.envelope_parts(rendered, recipient, addressing);
        mime::headers(&parts.envelope(rendered, recipient, addressing, date))
    }

    fn envelope_parts(
        &self,
        rendered: &Rendered,
        recipient: &Recipient<'_>,
        addressing: &Addressing<'_>,
    ) -> EnvelopeParts {
        let reply = self.signer.sign(Token {
            kind: TokenKind::Reply,
            send: recipient.send,
            link: 0,
        });
        let unsubscribe = &rendered.unsubscribe_token;
        let sending_domain = addressing
            .from
            .address
            .rsplit_once('@')
            .map_or("localhost", |(_, domain)| domain);
        EnvelopeParts {
            reply_to: format!("r-{reply}@{}", addressing.reply_domain),
            message_id: format!("{reply}@{sending_domain}"),
            unsubscribe_url: format!(
                "{}/api/email/unsubscribe/{unsubscribe}",
                self.tracking.base_url
            ),
            unsubscribe_mailto: format!("u-{unsubscribe}@{}", addressing.reply_domain),
            boundary: format!("=_ah_{}", recipient.send.simple()),
        }
    }
}

struct EnvelopeParts {
    reply_to: String,
    message_id: String,
    unsubscribe_url: String,
    unsubscribe_mailto: String,
    boundary: String,
}

impl EnvelopeParts {
    fn envelope<'a>(
        &'a self,
        rendered: &'a Rendered,
        recipient: &Recipient<'a>,
        addressing: &Addressing<'a>,
        date: chrono::DateTime<chrono::Utc>,
    ) -> Envelope<'a> {
        Envelope {
            from: addressing.from.clone(),
            to: recipient.to.clone(),
            reply_to: &self.reply_to,
            subject: &rendered.subject,
            message_id: &self.message_id,
            date,
            list_unsubscribe: (&self.unsubscribe_url, &self.unsubscribe_mailto),
            feedback_id: addressing.feedback_id,
            boundary: &self.boundary,
        }
    }
}

/// What one message's templates read: its own values, then the campaign's (`shared`). One
/// lookup per name, where merged maps would search each layer.
#[derive(Debug, Clone)]
struct MessageContext {
    contact: Value,
    unsubscribe_url: Value,
    web_view_url: Value,
    open_pixel_url: Value,
    links: Value,
    /// As the part shows it (HTML or text), when the template takes one.
    signature: Option<Value>,
    shared: Value,
}

impl Object for MessageContext {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "contact" => Some(self.contact.clone()),
            "unsubscribe_url" => Some(self.unsubscribe_url.clone()),
            "web_view_url" => Some(self.web_view_url.clone()),
            "open_pixel_url" => Some(self.open_pixel_url.clone()),
            "__links" => Some(self.links.clone()),
            "signature" => self.signature.clone(),
            other => self
                .shared
                .get_attr(other)
                .ok()
                .filter(|v| !v.is_undefined()),
        }
    }
}

/// What every message of a template shares about its links: how to sign and where clicks go,
/// and each href already met, resolved (entities decoded, UTM added) once for all recipients.
#[derive(Debug)]
struct LinkContext {
    signer: TokenSigner,
    /// `{base}/api/email/track/click/`
    click_base: String,
    utm: Option<Utm>,
    /// Rendered href → the URL its clicks lead to, or `None` when it is not a web link.
    resolved: Mutex<HashMap<String, Option<Arc<str>>, foldhash::fast::FixedState>>,
}

/// Personalized hrefs (one per contact) would grow the cache without bound: past this many,
/// they are resolved per message.
const RESOLVED_MAX: usize = 256;

impl LinkContext {
    fn resolve(&self, href: &str) -> Option<Arc<str>> {
        let mut resolved = lock(&self.resolved);
        if let Some(url) = resolved.get(href) {
            return url.clone();
        }
        let url = html_escape::decode_html_entities(href.trim());
        let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
        let url: Option<Arc<str>> = (lower.starts_with("https://") || lower.starts_with("http://"))
            .then(|| match &self.utm {
                Some(utm) => with_utm(&url, utm).into(),
                None => url.into(),
            });
        if resolved.len() < RESOLVED_MAX {
            resolved.insert(href.to_owned(), url.clone());
        }
        url
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave their data half-written.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Collects a message's links while it renders and hands out their tracking URLs.
#[derive(Debug)]
struct LinkRecorder {
    send: Uuid,
    context: Arc<LinkContext>,
    /// Each link with its tracking URL: the text part reuses what the HTML part signed.
    links: Mutex<Vec<(Link, String)>>,
}

impl LinkRecorder {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Link, String)>> {
        lock(&self.links)
    }
}

impl Object for LinkRecorder {}

/// `{% filter __track %}href{% endfilter %}`: the rendered href (HTML-escaped text) becomes the
/// link's URL; the output is its tracking URL. Links are numbered as the message meets them, so
/// a link in a loop gets an id per URL; the same URL twice in a message is one link.
fn track(state: &State, href: String) -> Result<Value, Error> {
    let recorder = state
        .lookup("__links")
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "links are not recorded"))?;
    let recorder = recorder
        .downcast_object_ref::<LinkRecorder>()
        .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, "links are not recorded"))?;
    let Some(url) = recorder.context.resolve(&href) else {
        // A personalized href that rendered to something else is left as rendered (escaped).
        return Ok(Value::from(
            html_escape::decode_html_entities(href.trim()).into_owned(),
        ));
    };
    let mut links = recorder.lock();
    if let Some((_, tracked)) = links.iter().find(|(link, _)| *link.url == *url) {
        return Ok(language::trusted(tracked.clone()));
    }
    let id = u16::try_from(links.len()).unwrap_or(u16::MAX);
    let token = recorder.context.signer.sign(Token {
        kind: TokenKind::Click,
        send: recorder.send,
        link: id,
    });
    let mut tracked = String::with_capacity(recorder.context.click_base.len() + token.len());
    tracked.push_str(&recorder.context.click_base);
    tracked.push_str(&token);
    links.push((
        Link {
            id,
            url: url.to_string(),
        },
        tracked.clone(),
    ));
    Ok(language::trusted(tracked))
}

/// `url` with the UTM parameters it does not already set, before any fragment.
fn with_utm(url: &str, utm: &Utm) -> String {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let mut out = base.to_owned();
    let parameters = [
        ("utm_source", Some(&utm.source)),
        ("utm_medium", Some(&utm.medium)),
        ("utm_campaign", Some(&utm.campaign)),
        ("utm_content", utm.content.as_ref()),
    ];
    for (name, value) in parameters
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    {
        if !base.contains(&format!("{name}=")) {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(name);
            out.push('=');
            out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningKey;
    use proptest::prelude::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(&SigningKey::new(vec![9u8; 32]).unwrap())
    }

    fn tracking() -> Tracking {
        Tracking {
            base_url: "https://t.example".into(),
            links: true,
            open_pixel: true,
            utm: Some(Utm {
                source: "artisthub".into(),
                medium: "email".into(),
                campaign: "album-2027".into(),
                content: None,
            }),
        }
    }

    fn compile(html: &str, signature: Option<&str>) -> MessageTemplate {
        MessageTemplate::compile(
            &TemplateSource {
                subject: "Bonjour {{ contact.first_name }} : {{ campaign.name }}",
                html,
                text: None,
            },
            signature,
            tracking(),
            signer(),
        )
        .unwrap()
    }

    fn contact(first_name: &str) -> ContactVars {
        ContactVars {
            email: "zoe@radio.example".into(),
            first_name: Some(first_name.into()),
            full_name: first_name.into(),
            ..ContactVars::default()
        }
    }

    fn render_mime(template: &MessageTemplate, contact: &ContactVars) -> (Rendered, String) {
        let shared = MessageTemplate::shared_context(&Shared {
            campaign: CampaignVars {
                name: Some("Album 2027".into()),
                subject: None,
            },
            ..Shared::default()
        });
        let recipient = Recipient {
            send: Uuid::now_v7(),
            contact,
            to: Mailbox {
                name: contact.first_name.as_deref(),
                address: "zoe@radio.example",
            },
        };
        let rendered = template.render(&shared, &recipient).unwrap();
        let addressing = Addressing {
            from: Mailbox {
                name: Some("Label"),
                address: "news@label.example",
            },
            reply_domain: "reply.label.example",
            feedback_id: "c:press:a:artisthub",
        };
        let mime = template.mime(&rendered, &recipient, &addressing, chrono::Utc::now());
        (rendered, String::from_utf8(mime).unwrap())
    }

    #[test]
    fn a_recipient_gets_a_personalized_tracked_message_with_one_click_unsubscribe() {
        let template = compile(
            "<html><body><p>Bonjour {{ contact.first_name }},</p>\
             <p><a href=\"https://shop.example/a?x=1&amp;y=2\">Boutique</a> \
             <a href=\"https://shop.example/a?x=1&amp;y=2\">encore</a> \
             <a href=\"mailto:press@label.example\">Écrire</a> \
             <a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
            Some("<p>Zoé Martin, <a href=\"https://label.example\">Label</a></p>"),
        );
        let (rendered, mime) = render_mime(&template, &contact("Zoé"));
        assert_eq!(rendered.subject, "Bonjour Zoé : Album 2027");
        assert!(
            rendered.html.contains("Bonjour Zo&#233;,"),
            "{}",
            rendered.html
        );
        assert_eq!(
            rendered.links,
            [
                Link {
                    id: 0,
                    url: "https://shop.example/a?x=1&y=2&utm_source=artisthub&utm_medium=email&utm_campaign=album-2027".into()
                },
                Link {
                    id: 1,
                    url: "https://label.example?utm_source=artisthub&utm_medium=email&utm_campaign=album-2027".into()
                },
            ]
        );
        assert_eq!(
            rendered
                .html
                .matches("https://t.example/api/email/track/click/")
                .count(),
            3
        );
        assert!(
            !rendered.html.contains("shop.example"),
            "no destination in the HTML"
        );
        assert!(
            rendered
                .html
                .contains("href=\"mailto:press@label.example\"")
        );
        assert!(
            rendered
                .html
                .contains("https://t.example/api/email/unsubscribe/")
        );
        assert!(
            rendered
                .html
                .contains("https://t.example/api/email/track/open/")
        );
        assert!(
            rendered
                .text
                .contains("Boutique (https://t.example/api/email/track/click/"),
            "{}",
            rendered.text
        );
        assert!(rendered.text.contains("Bonjour Zoé,"));
        assert!(mime.contains("List-Unsubscribe: <https://t.example/api/email/unsubscribe/"));
        assert!(mime.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert!(mime.contains("Reply-To: r-"));
        assert!(mime.contains("@reply.label.example\r\n"));
        assert!(mime.contains("Content-Type: multipart/alternative;"));
        let click = rendered.html.split("/track/click/").nth(1).unwrap();
        let token = signer()
            .verify(&click[..super::super::tokens::TOKEN_CHARS])
            .unwrap();
        assert_eq!((token.kind, token.link), (TokenKind::Click, 0));
    }

    #[test]
    fn a_template_reading_the_signature_gets_it_once_where_it_says() {
        let signature = "<p>Zoé Martin, <a href=\"https://label.example\">Label</a></p>";
        let template = compile(
            "<p>Hi</p>{% if signature %}<footer>{{ signature }}</footer>{% endif %}<p>PS</p>",
            Some(signature),
        );
        let (rendered, _) = render_mime(&template, &contact("Zoé"));
        assert_eq!(
            rendered.html.matches("Zo&#233; Martin").count(),
            1,
            "{}",
            rendered.html
        );
        assert!(rendered.html.contains("<footer><p>Zo&#233; Martin"));
        assert!(rendered.html.find("Label").unwrap() < rendered.html.find("PS").unwrap());
        let conditional = compile(
            "<p>Hi</p>{% if signature %}<p>Signed.</p>{% endif %}",
            Some(signature),
        );
        let (rendered, _) = render_mime(&conditional, &contact("Zoé"));
        assert!(rendered.html.contains("Signed."), "the variable is set");
        assert!(!rendered.html.contains("Martin"), "not appended as well");
        let text = compile_text("Bonjour,\n\n{{ signature }}", Some(signature));
        let (rendered, _) = render_mime(&text, &contact("Zoé"));
        assert!(
            rendered
                .text
                .ends_with("Zoé Martin, Label (https://label.example)"),
            "{}",
            rendered.text
        );
    }

    fn compile_text(text: &str, signature: Option<&str>) -> MessageTemplate {
        MessageTemplate::compile(
            &TemplateSource {
                subject: "Bonjour",
                html: "<p>Bonjour</p>",
                text: Some(text),
            },
            signature,
            tracking(),
            signer(),
        )
        .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn contact_data_can_inject_neither_markup_nor_headers(first_name in "\\PC{0,40}|<script>alert\\(1\\)</script>|\"\r\nBcc: x@evil.example") {
            let template = compile("<p>Bonjour {{ contact.first_name }}</p><a href=\"https://x.example/?n={{ contact.first_name }}\">x</a>", None);
            let (rendered, mime) = render_mime(&template, &contact(&first_name));
            prop_assert!(!rendered.html.contains("<script"));
            let body_start = rendered.html.find("<p>Bonjour ").unwrap() + 11;
            let greeting = &rendered.html[body_start..rendered.html[body_start..].find("</p>").unwrap() + body_start];
            prop_assert!(!greeting.contains('<') && !greeting.contains('>'), "{}", greeting);
            let head = mime.split("\r\n\r\n").next().unwrap();
            for line in head.split("\r\n") {
                prop_assert!(line.starts_with(' ') || line.contains(": "), "{:?}", line);
                prop_assert!(!line.to_ascii_lowercase().starts_with("bcc"), "{:?}", line);
            }
            prop_assert!(mime.is_ascii());
        }
    }

    #[test]
    fn the_benchmark_newsletter_renders_well_within_the_render_budget() {
        let template = compile(include_str!("../../../infra/bench/newsletter.html"), None);
        let (rendered, _) = render_mime(&template, &contact("Zoé"));
        assert!(rendered.html.len() > 10_000);
    }

    #[test]
    fn a_runaway_loop_or_a_giant_message_stops_at_the_budget_with_an_error() {
        let shared = MessageTemplate::shared_context(&Shared::default());
        let zoe = contact("Zoé");
        let recipient = Recipient {
            send: Uuid::now_v7(),
            contact: &zoe,
            to: Mailbox {
                name: None,
                address: "zoe@radio.example",
            },
        };
        for html in [
            "{% for c in 'x' * 1000000 %}{{ c }}{% endfor %}",
            "{% for a in 'x' * 1000 %}{% for b in 'x' * 1000 %}y{% endfor %}{% endfor %}",
            "{% for a in 'x' * 5000 %}{{ 'x' * 1000 }}{% endfor %}",
            "{{ 'x' * 2000000 }}",
        ] {
            let template = compile(html, None);
            let error = template.render(&shared, &recipient).unwrap_err();
            assert!(over_budget(&error), "{html}: {error}");
            assert!(template.check_budget().is_err(), "{html}");
        }
    }
}
