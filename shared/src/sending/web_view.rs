//! The message in a browser (`GET /api/email/view/{t}`): rendered again for its recipient from
//! the content the campaign froze when it started, so the page is the message they got, with
//! the same tracked links, whatever was edited since. The page is served sandboxed (see the
//! handler's Content-Security-Policy): the author's HTML runs no script on our origin.

use super::deliver::{Compiled, compile};
use crate::render::{ContactVars, Mailbox, Recipient, TokenKind};
use crate::store::{self, sends};
use crate::{ApiError, App};

/// The HTML of the message the token names, if it is one of ours and still there.
pub async fn web_view(app: &App, token: &str) -> Result<Option<String>, ApiError> {
    let Some(token) = app.signer()?.verify(token) else {
        return Ok(None);
    };
    if token.kind != TokenKind::WebView {
        return Ok(None);
    }
    let Some(send) = sends::by_id(app, token.send).await? else {
        return Ok(None);
    };
    let campaign = store::campaigns::get(app, send.artist_id, send.campaign_id).await?;
    let contact = store::contacts::get(app, send.artist_id, send.contact_id).await?;
    let (Some(campaign), Some(contact)) = (campaign, contact) else {
        return Ok(None);
    };
    if campaign.frozen.is_none() {
        return Ok(None);
    }
    let Compiled {
        template,
        shared_context,
        ..
    } = compile(app, &campaign, send.variant)?;
    let vars = ContactVars::from_contact(contact.email.as_str(), &contact.fields);
    let recipient = Recipient {
        send: send.send_id,
        contact: &vars,
        to: Mailbox {
            name: None,
            address: contact.email.ascii(),
        },
    };
    // A message that did not render for its recipient was never sent (its row failed): there
    // is nothing to show.
    match template.render(&shared_context, &recipient) {
        Ok(rendered) => Ok(Some(rendered.html)),
        Err(error) => {
            tracing::warn!(send = %send.send_id, %error, "web view not rendered");
            Ok(None)
        }
    }
}
