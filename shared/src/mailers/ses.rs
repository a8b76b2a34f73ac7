//! SES v2 `SendEmail` with our raw MIME message, in the configuration set that publishes its
//! events, our ids as message tags.

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};

use super::{Outbound, Outcome};
use crate::App;

pub async fn send(app: &App, message: &Outbound<'_>) -> Outcome {
    let tags: Vec<MessageTag> = message
        .args
        .iter()
        .filter_map(|(name, value)| MessageTag::builder().name(name).value(value).build().ok())
        .collect();
    let raw = match RawMessage::builder()
        .data(Blob::new(message.mime.to_vec()))
        .build()
    {
        Ok(raw) => raw,
        Err(error) => return Outcome::Refused(format!("the message could not be built: {error}")),
    };
    let result = app
        .aws
        .sesv2
        .send_email()
        .from_email_address(message.from.address)
        .destination(
            Destination::builder()
                .to_addresses(message.to.address)
                .build(),
        )
        .content(EmailContent::builder().raw(raw).build())
        .configuration_set_name(&app.config.configuration_set)
        .set_email_tags(Some(tags))
        .send()
        .await;
    match result {
        Ok(output) => Outcome::Accepted(output.message_id.unwrap_or_default()),
        Err(error) => classify(error.into_service_error()),
    }
}

fn classify(error: SendEmailError) -> Outcome {
    match error {
        SendEmailError::TooManyRequestsException(e) => Outcome::Later(format!("throttled: {e}")),
        SendEmailError::LimitExceededException(e) => Outcome::Later(format!("limit exceeded: {e}")),
        SendEmailError::AccountSuspendedException(_) => {
            Outcome::Stop("SES suspended the account's sending".into())
        }
        SendEmailError::SendingPausedException(_) => {
            Outcome::Stop("sending is paused for the account or its configuration set".into())
        }
        SendEmailError::MailFromDomainNotVerifiedException(_) => {
            Outcome::Stop("the sender's MAIL FROM domain is not verified".into())
        }
        SendEmailError::MessageRejected(e) => Outcome::Refused(format!("SES refused it: {e}")),
        SendEmailError::BadRequestException(e) => Outcome::Refused(format!("SES refused it: {e}")),
        other => Outcome::Later(format!("SES failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::types::error::{
        AccountSuspendedException, BadRequestException, LimitExceededException, MessageRejected,
        SendingPausedException, TooManyRequestsException,
    };

    #[test]
    fn ses_errors_retry_stop_the_campaign_or_fail_one_recipient() {
        let kind = |answer: Outcome| match answer {
            Outcome::Accepted(_) => "accepted",
            Outcome::Refused(_) => "refused",
            Outcome::Later(_) => "later",
            Outcome::Stop(_) => "stop",
        };
        for (error, expected) in [
            (
                SendEmailError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                ),
                "later",
            ),
            (
                SendEmailError::LimitExceededException(LimitExceededException::builder().build()),
                "later",
            ),
            (
                SendEmailError::AccountSuspendedException(
                    AccountSuspendedException::builder().build(),
                ),
                "stop",
            ),
            (
                SendEmailError::SendingPausedException(SendingPausedException::builder().build()),
                "stop",
            ),
            (
                SendEmailError::MessageRejected(MessageRejected::builder().build()),
                "refused",
            ),
            (
                SendEmailError::BadRequestException(BadRequestException::builder().build()),
                "refused",
            ),
        ] {
            let name = format!("{error:?}");
            assert_eq!(kind(classify(error)), expected, "{name}");
        }
    }
}
