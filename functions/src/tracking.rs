//! The public endpoints a message's recipient reaches (no authorizer: the signed token in the
//! path is the only credential). Mail clients call `GET`; the seed's `POST` routes serve API
//! clients and RFC 8058 one-click unsubscribes.

use lambda_http::{Body, Request, Response};
use mailing::ApiError;
use mailing::App;
use mailing::tracking::pages::{self, PageLanguage};
use mailing::tracking::{UnsubscribeScope, public};

use crate::http::{HttpResult, empty, header, json, path_text};

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Every fetch must reach us: a cached pixel is an open we never see.
const NO_STORE: &str = "no-store, no-cache, must-revalidate, private, max-age=0";

fn token(request: &Request) -> &str {
    path_text(request, "trackingId")
}

fn user_agent(request: &Request) -> Option<&str> {
    header(request, "user-agent")
}

/// Our own pages: no script at all, no framing, nothing loaded from elsewhere but images.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The web view holds the author's HTML: sandboxed (a unique origin, no script, no forms, no
/// top navigation), so nothing in it runs with our origin's rights, whatever it contains.
const MESSAGE_POLICY: &str = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; style-src 'unsafe-inline' https:; img-src https: http: data:; font-src https: data:; frame-ancestors 'none'; base-uri 'none'";

fn html(status: u16, page: String) -> HttpResult {
    page_with_policy(status, page, PAGE_POLICY)
}

fn page_with_policy(status: u16, page: String, policy: &str) -> HttpResult {
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", NO_STORE)
        .header("x-robots-tag", "noindex")
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header("content-security-policy", policy)
        .body(Body::Text(page))
        .map_err(ApiError::internal)
}

fn is_head(request: &Request) -> bool {
    request.method() == http::Method::HEAD
}

/// `HEAD` answers as `GET` would, without the body: link checkers and mail scanners ask it.
fn bodiless_for_head(request: &Request, response: HttpResult) -> HttpResult {
    if !is_head(request) {
        return response;
    }
    response.map(|mut response| {
        *response.body_mut() = Body::Empty;
        response
    })
}

fn invalid_page(request: &Request) -> HttpResult {
    let language = PageLanguage::choose(None, header(request, "accept-language"));
    html(404, pages::invalid_link(language))
}

/// `GET /api/email/track/open/{trackingId}`: the pixel, whatever the token (a broken image in
/// a message helps nobody, and the answer tells a prober nothing). `HEAD` records nothing.
pub async fn open(app: &App, request: Request) -> HttpResult {
    let response = Response::builder()
        .status(200)
        .header("content-type", "image/gif")
        .header("cache-control", NO_STORE)
        .header("pragma", "no-cache")
        .header("expires", "0");
    if is_head(&request) {
        return response.body(Body::Empty).map_err(ApiError::internal);
    }
    if let Err(error) = public::open(app, token(&request), user_agent(&request)).await {
        tracing::error!(
            error = format!("{error:#}"),
            "an open could not be recorded"
        );
    }
    response
        .body(Body::Binary(PIXEL.to_vec()))
        .map_err(ApiError::internal)
}

/// `POST /api/email/track/open/{trackingId}`: the same, for API clients.
pub async fn open_post(app: &App, request: Request) -> HttpResult {
    public::open(app, token(&request), user_agent(&request)).await?;
    empty(204)
}

/// `GET /api/email/track/click/{trackingId}`: a redirect to the link the message held under
/// that id, never to a URL the request names. `HEAD` answers the same and records nothing.
pub async fn click(app: &App, request: Request) -> HttpResult {
    let target = if is_head(&request) {
        public::click_target(app, token(&request)).await?
    } else {
        public::click(app, token(&request), user_agent(&request)).await?
    };
    let response = match target {
        Some(url) => Response::builder()
            .status(302)
            .header("location", url)
            .header("cache-control", NO_STORE)
            .header("referrer-policy", "no-referrer")
            .body(Body::Empty)
            .map_err(ApiError::internal),
        None => invalid_page(&request),
    };
    bodiless_for_head(&request, response)
}

/// `POST /api/email/track/click/{trackingId}`: records the click and answers where it leads.
pub async fn click_post(app: &App, request: Request) -> HttpResult {
    match public::click(app, token(&request), user_agent(&request)).await? {
        Some(url) => json(200, &ClickTarget { url }),
        None => Err(ApiError::not_found("tracking link")),
    }
}

/// Where a recorded click leads.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
struct ClickTarget {
    url: String,
}

/// `GET /api/email/unsubscribe/{trackingId}`: the choice, this team or the whole artist.
/// Showing it changes nothing: link scanners fetch every URL of a message.
pub async fn unsubscribe_page(app: &App, request: Request) -> HttpResult {
    let response = match public::unsubscribe_view(app, token(&request)).await? {
        Some(view) => {
            let language = view.language(header(&request, "accept-language"));
            html(200, pages::unsubscribe_choice(&view, language))
        }
        None => invalid_page(&request),
    };
    bodiless_for_head(&request, response)
}

/// `GET /api/email/view/{trackingId}`: the message in a browser, sandboxed.
pub async fn view(app: &App, request: Request) -> HttpResult {
    let response = match mailing::sending::web_view(app, token(&request)).await? {
        Some(page) => page_with_policy(200, page, MESSAGE_POLICY),
        None => invalid_page(&request),
    };
    bodiless_for_head(&request, response)
}

/// How the POST was made, by its body.
enum Submission {
    /// RFC 8058: `List-Unsubscribe=One-Click`, sent by the mailbox provider.
    OneClick,
    /// The page's form.
    Form(UnsubscribeScope),
    /// An API client: `{"scope": "team" | "artist"}` (team when absent).
    Json(UnsubscribeScope),
}

fn submission(request: &Request) -> Result<Submission, ApiError> {
    let body: &[u8] = request.body().as_ref();
    if body.len() > 4096 {
        return Err(ApiError::PayloadTooLarge { limit: 4096 });
    }
    let scope = |value: &str| match value {
        "team" => Ok(UnsubscribeScope::Team),
        "artist" => Ok(UnsubscribeScope::Artist),
        other => Err(ApiError::bad_request(
            "invalid_scope",
            format!("scope must be team or artist, not {other:?}"),
        )),
    };
    let content_type = header(request, "content-type").unwrap_or_default();
    if content_type.starts_with("application/json") {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::bad_request("malformed_json", "the body is not JSON"))?;
        return match value.get("scope").and_then(|s| s.as_str()) {
            Some(value) => Ok(Submission::Json(scope(value)?)),
            None => Ok(Submission::Json(UnsubscribeScope::Team)),
        };
    }
    let mut chosen = None;
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "List-Unsubscribe" if value == "One-Click" => return Ok(Submission::OneClick),
            "scope" => chosen = Some(scope(&value)?),
            _ => {}
        }
    }
    // A bare POST to the List-Unsubscribe URL is a one-click unsubscribe too.
    Ok(chosen.map_or(Submission::OneClick, Submission::Form))
}

/// `POST /api/email/unsubscribe/{trackingId}`: applies the choice at once, idempotently.
pub async fn unsubscribe(app: &App, request: Request) -> HttpResult {
    let submission = submission(&request)?;
    let scope = match submission {
        Submission::OneClick => UnsubscribeScope::Team,
        Submission::Form(scope) | Submission::Json(scope) => scope,
    };
    let applied = public::unsubscribe(app, token(&request), scope).await?;
    match (submission, applied) {
        (Submission::Json(_), true) => json(
            200,
            &Unsubscribed {
                unsubscribed: true,
                scope,
            },
        ),
        (Submission::Json(_), false) => Err(ApiError::not_found("unsubscribe link")),
        (Submission::OneClick, true) => Response::builder()
            .status(200)
            .header("content-type", "text/plain; charset=utf-8")
            .body(Body::Text("unsubscribed\n".into()))
            .map_err(ApiError::internal),
        (Submission::Form(_), true) => {
            let accept = header(&request, "accept-language");
            let page = match public::unsubscribe_view(app, token(&request)).await? {
                Some(view) => pages::unsubscribed(&view, scope, view.language(accept)),
                None => pages::invalid_link(PageLanguage::choose(None, accept)),
            };
            html(200, page)
        }
        (_, false) => invalid_page(&request),
    }
}

/// What an API client's unsubscribe did.
#[derive(serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
struct Unsubscribed {
    unsubscribed: bool,
    scope: UnsubscribeScope,
}

/// `ses-events` (EventsQueue): SES's events and our endpoints', recorded once per batch.
pub async fn events(
    app: &App,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error> {
    let messages = crate::runtime::bodies(event);
    Ok(crate::runtime::failures(
        mailing::tracking::consume(app, &messages).await,
    ))
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use serde_json::json;
    const HTML: &str = "text/html";
    let invalid = "An invalid or expired link: a page saying so, in the reader's language.";
    let open = "/api/email/track/open/{trackingId}";
    api.operation("GET", open)
        .summary("The open pixel of a message")
        .description("Answers the pixel whatever the token: a broken image helps nobody and tells a prober nothing.")
        .media(200, "image/gif", "A 1×1 transparent GIF.");
    api.head_of_get(open);
    api.operation("POST", open)
        .summary("Record an open (API clients)")
        .empty(204, "Recorded.");
    let click = "/api/email/track/click/{trackingId}";
    api.operation("GET", click)
        .summary("Follow a message's link")
        .description("Redirects to the link the message held under that token, never to a URL the request names.")
        .redirect(302, "The link's target.")
        .media(404, HTML, invalid);
    api.head_of_get(click);
    api.operation("POST", click)
        .summary("Record a click and answer where it leads (API clients)")
        .answers::<ClickTarget>(200, "The link's target.");
    let view = "/api/email/view/{trackingId}";
    api.operation("GET", view)
        .summary("A message in a browser, sandboxed")
        .media(200, HTML, "The message as its recipient got it.")
        .media(404, HTML, invalid);
    api.head_of_get(view);
    let unsubscribe = "/api/email/unsubscribe/{trackingId}";
    api.operation("GET", unsubscribe)
        .summary("The unsubscribe page: this team or the whole artist")
        .description("Showing it changes nothing: link scanners fetch every URL of a message.")
        .media(200, HTML, "The choice.")
        .media(404, HTML, invalid);
    api.head_of_get(unsubscribe);
    let scope = json!({ "type": "string", "enum": ["team", "artist"] });
    api.operation("POST", unsubscribe)
        .summary("Unsubscribe, at once and idempotently")
        .description("RFC 8058 one-click (`List-Unsubscribe=One-Click`, or an empty body) unsubscribes from the team; the page's form and API clients choose `team` or `artist`.")
        .body_schema(false, json!({
            "application/x-www-form-urlencoded": { "schema": {
                "type": "object",
                "properties": { "List-Unsubscribe": { "const": "One-Click" }, "scope": scope },
            } },
            "application/json": { "schema": {
                "type": "object",
                "properties": { "scope": scope },
            } },
        }))
        .answers::<Unsubscribed>(200, "Unsubscribed (API clients).")
        .media(200, HTML, "Unsubscribed: the page saying so (the form).")
        .media(200, "text/plain", "Unsubscribed (one-click).")
        .media(404, HTML, invalid)
        .errors(&[400, 413]);
}
