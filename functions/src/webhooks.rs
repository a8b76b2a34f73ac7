//! `POST /api/email/webhooks/{provider}`: the delivery and engagement events of SendGrid,
//! Mailgun and Postmark. Public (no authorizer): each provider's own credential is checked in
//! `mailing::webhooks`.

use lambda_http::Request;
use mailing::webhooks::{self, Provider};
use mailing::{ApiError, App};

use crate::http::{HttpResult, json, path_text};

/// Under API Gateway's 10 MB: SendGrid batches events, up to a few megabytes a request.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

pub async fn receive(app: &App, request: Request) -> HttpResult {
    let provider: Provider = path_text(&request, "provider")
        .parse()
        .map_err(|()| ApiError::not_found("webhook provider"))?;
    // The signature covers the bytes as sent: the body is never parsed before it is checked.
    let body: &[u8] = request.body().as_ref();
    if body.len() > BODY_LIMIT {
        return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
    }
    let received = webhooks::receive(app, provider, request.headers(), body).await?;
    json(200, &received)
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("POST", "/api/email/webhooks/{provider}")
        .summary("A sending provider's webhook")
        .description(
            "Public: no token. `provider` is `sendgrid` (signed event webhook: ECDSA over the \
             `X-Twilio-Email-Event-Webhook-Timestamp` header and the body), `mailgun` (the \
             body's `signature`: HMAC-SHA256 of timestamp and token with the webhook signing \
             key) or `postmark` (the basic auth credentials of the webhook URL). A request that \
             does not verify, or whose signature is more than 15 minutes from now, is a 401 that \
             changes nothing. Events are recorded as SES's are; a replayed event counts once.",
        )
        .body_schema(
            true,
            serde_json::json!({ "application/json": { "schema": {
                "description": "The provider's event payload, as it signs it: SendGrid's array of events, Mailgun's `signature` and `event-data`, Postmark's event.",
                "type": ["array", "object"],
            } } }),
        )
        .answers::<mailing::webhooks::Received>(200, "The events received and queued.")
        .errors(&[400, 401, 404, 413]);
}
