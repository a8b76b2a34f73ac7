//! The route table: every HTTP endpoint, the Lambda function that serves it, and its handler.
//! `template.yaml` declares the same functions and routes; a test holds the two together.

use std::future::Future;
use std::pin::Pin;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::Request;
use lambda_runtime::LambdaEvent;
use mailing::App;

use crate::http::HttpResult;
use crate::{
    analytics, audit, campaigns, contacts, conversions, domains, emails, erasure, exports, history,
    imports, replies, sender_profiles, sending, signatures, sync, templates, tracking, webhooks,
};

pub type Handler =
    for<'a> fn(&'a App, Request) -> Pin<Box<dyn Future<Output = HttpResult> + Send + 'a>>;

#[derive(Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// API Gateway syntax: `{name}` is a path parameter.
    pub path: &'static str,
    /// The Lambda function: its binary in `src/bin/` and `BuildProperties.Binary` in the template.
    pub function: &'static str,
    pub handler: Handler,
    /// Reached by message recipients or providers' webhooks without a token of ours
    /// (`Authorizer: NONE` in the template): the handler checks its own credential, a signed
    /// tracking token or the provider's signature.
    pub public: bool,
}

/// The `N` routes `function` serves, picked from [`ROUTES`] while compiling, so that its binary
/// holds only their handlers (a binary that looks its routes up in `ROUTES` at run time links
/// every handler of the API). Compilation fails when `function` does not serve `N` routes.
pub const fn routes_of<const N: usize>(function: &str) -> [Route; N] {
    let mut routes = [ROUTES[0]; N];
    let (mut at, mut found) = (0, 0);
    while at < ROUTES.len() {
        if same(ROUTES[at].function, function) {
            assert!(found < N, "the function serves more routes than asked");
            routes[found] = ROUTES[at];
            found += 1;
        }
        at += 1;
    }
    assert!(found == N, "the function serves fewer routes than asked");
    routes
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut at = 0;
    while at < a.len() {
        if a[at] != b[at] {
            return false;
        }
        at += 1;
    }
    true
}

macro_rules! route {
    ($method:literal, $path:literal, $function:literal, $handler:path) => {
        Route {
            method: $method,
            path: $path,
            function: $function,
            handler: |app, request| Box::pin($handler(app, request)),
            public: false,
        }
    };
}

macro_rules! public_route {
    ($method:literal, $path:literal, $function:literal, $handler:path) => {
        Route {
            method: $method,
            path: $path,
            function: $function,
            handler: |app, request| Box::pin($handler(app, request)),
            public: true,
        }
    };
}

pub const ROUTES: &[Route] = &[
    route!(
        "GET",
        "/api/artists/{artistId}/campaigns/{campaignId}/analytics",
        "campaigns-analytics",
        analytics::campaign
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/email/analytics",
        "analytics-artist",
        analytics::artist
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/audit",
        "audit-list",
        audit::list
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/email/conversions",
        "conversions-create",
        conversions::create
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/email/analytics/heatmap",
        "analytics-heatmap",
        analytics::heatmap
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/email/analytics/{role}",
        "analytics-team",
        analytics::team
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/email/replies",
        "replies-list",
        replies::list
    ),
    route!(
        "PUT",
        "/api/artists/{artistId}/email/replies/{replyId}",
        "replies-update",
        replies::update
    ),
    route!(
        "GET",
        "/api/email/replies/unassigned",
        "replies-unassigned",
        replies::unassigned
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/contacts/import",
        "contacts-import",
        imports::create
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/contacts/imports/{importId}",
        "contacts-imports-get",
        imports::get
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/contacts/sync/{provider}",
        "contacts-sync",
        sync::start
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/contacts",
        "contacts-list",
        contacts::list
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/contacts",
        "contacts-create",
        contacts::create
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/contacts/{contactId}",
        "contacts-get",
        contacts::get
    ),
    route!(
        "PUT",
        "/api/artists/{artistId}/contacts/{contactId}",
        "contacts-update",
        contacts::update
    ),
    route!(
        "DELETE",
        "/api/artists/{artistId}/contacts/{contactId}",
        "contacts-delete",
        contacts::delete
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/contacts/{contactId}/export",
        "contact-export",
        exports::contact
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/contacts/export",
        "contacts-export",
        exports::list
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/contacts/{contactId}/erase",
        "contacts-erase",
        erasure::contact
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/contacts/erase",
        "contacts-erase-address",
        erasure::address
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/contacts/{contactId}/emails",
        "contact-emails-send",
        emails::send
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/campaigns",
        "campaigns-list",
        campaigns::list
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns",
        "campaigns-create",
        campaigns::create
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/campaigns/{campaignId}",
        "campaigns-get",
        campaigns::get
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/campaigns/{campaignId}/sends",
        "campaigns-sends",
        campaigns::sends
    ),
    route!(
        "PUT",
        "/api/artists/{artistId}/campaigns/{campaignId}",
        "campaigns-update",
        campaigns::update
    ),
    route!(
        "DELETE",
        "/api/artists/{artistId}/campaigns/{campaignId}",
        "campaigns-delete",
        campaigns::delete
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns/{campaignId}/send",
        "campaigns-send",
        campaigns::send
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns/{campaignId}/schedule",
        "campaigns-schedule",
        campaigns::schedule
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns/{campaignId}/pause",
        "campaigns-pause",
        campaigns::pause
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns/{campaignId}/resume",
        "campaigns-resume",
        campaigns::resume
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns/{campaignId}/cancel",
        "campaigns-cancel",
        campaigns::cancel
    ),
    route!(
        "POST",
        "/api/artists/{artistId}/campaigns/{campaignId}/test",
        "campaigns-test",
        campaigns::test
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/contacts/{contactId}/history",
        "contacts-history",
        history::get
    ),
    route!("GET", "/api/email/domains", "domains-list", domains::list),
    route!(
        "POST",
        "/api/email/domains",
        "domains-create",
        domains::create
    ),
    route!(
        "POST",
        "/api/email/domains/{domain}/verify",
        "domains-verify",
        domains::verify
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/sender-profile",
        "sender-profile-get",
        sender_profiles::get
    ),
    route!(
        "PUT",
        "/api/artists/{artistId}/sender-profile",
        "sender-profile-update",
        sender_profiles::update
    ),
    route!(
        "GET",
        "/api/templates/email",
        "templates-list",
        templates::list
    ),
    route!(
        "POST",
        "/api/templates/email",
        "templates-create",
        templates::create
    ),
    route!(
        "GET",
        "/api/templates/email/{templateId}",
        "templates-get",
        templates::get
    ),
    route!(
        "PUT",
        "/api/templates/email/{templateId}",
        "templates-update",
        templates::update
    ),
    route!(
        "DELETE",
        "/api/templates/email/{templateId}",
        "templates-delete",
        templates::delete
    ),
    route!(
        "POST",
        "/api/templates/email/{templateId}/preview",
        "templates-preview",
        templates::preview
    ),
    route!(
        "GET",
        "/api/artists/{artistId}/signatures/{role}",
        "signatures-get",
        signatures::get
    ),
    route!(
        "PUT",
        "/api/artists/{artistId}/signatures/{role}",
        "signatures-update",
        signatures::put
    ),
    public_route!(
        "GET",
        "/api/email/track/open/{trackingId}",
        "track-open",
        tracking::open
    ),
    public_route!(
        "HEAD",
        "/api/email/track/open/{trackingId}",
        "track-open",
        tracking::open
    ),
    public_route!(
        "POST",
        "/api/email/track/open/{trackingId}",
        "track-open",
        tracking::open_post
    ),
    public_route!(
        "GET",
        "/api/email/track/click/{trackingId}",
        "track-click",
        tracking::click
    ),
    public_route!(
        "HEAD",
        "/api/email/track/click/{trackingId}",
        "track-click",
        tracking::click
    ),
    public_route!(
        "POST",
        "/api/email/track/click/{trackingId}",
        "track-click",
        tracking::click_post
    ),
    public_route!(
        "GET",
        "/api/email/view/{trackingId}",
        "email-view",
        tracking::view
    ),
    public_route!(
        "HEAD",
        "/api/email/view/{trackingId}",
        "email-view",
        tracking::view
    ),
    public_route!(
        "POST",
        "/api/email/webhooks/{provider}",
        "email-webhooks",
        webhooks::receive
    ),
    public_route!(
        "GET",
        "/api/email/unsubscribe/{trackingId}",
        "email-unsubscribe",
        tracking::unsubscribe_page
    ),
    public_route!(
        "HEAD",
        "/api/email/unsubscribe/{trackingId}",
        "email-unsubscribe",
        tracking::unsubscribe_page
    ),
    public_route!(
        "POST",
        "/api/email/unsubscribe/{trackingId}",
        "email-unsubscribe",
        tracking::unsubscribe
    ),
];

pub type QueueHandler = for<'a> fn(
    &'a App,
    LambdaEvent<SqsEvent>,
) -> Pin<
    Box<dyn Future<Output = Result<SqsBatchResponse, lambda_runtime::Error>> + Send + 'a>,
>;

/// A function fed by an SQS queue: its name and the template's logical id of the queue.
pub struct Consumer {
    pub function: &'static str,
    pub queue: &'static str,
    pub handler: QueueHandler,
}

pub const CONSUMERS: &[Consumer] = &[
    Consumer {
        function: "import-upload",
        queue: "ImportsQueue",
        handler: |app, event| Box::pin(imports::upload(app, event)),
    },
    Consumer {
        function: "campaign-dispatch",
        queue: "DispatchQueue",
        handler: |app, event| Box::pin(sending::dispatch(app, event)),
    },
    Consumer {
        function: "email-send",
        queue: "SendQueue",
        handler: |app, event| Box::pin(sending::send(app, event)),
    },
    Consumer {
        function: "email-inbound",
        queue: "InboundQueue",
        handler: |app, event| Box::pin(replies::inbound(app, event)),
    },
    Consumer {
        function: "ses-events",
        queue: "EventsQueue",
        handler: |app, event| Box::pin(tracking::events(app, event)),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_is_given_exactly_its_own_routes_in_table_order() {
        const OPEN: [Route; 3] = routes_of("track-open");
        assert_eq!(OPEN.map(|route| route.method), ["GET", "HEAD", "POST"]);
        assert!(OPEN.iter().all(|route| route.function == "track-open"));
        assert!(
            OPEN.iter()
                .all(|route| route.path == "/api/email/track/open/{trackingId}")
        );
    }
}
