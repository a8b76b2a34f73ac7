//! What an inbound message is, decided in this order: a mailto unsubscribe (sent to
//! `u-{token}@`), a delivery status notification (RFC 3464), an automatic reply (RFC 3834 and
//! the headers vacation responders use, or an out-of-office subject), else a person's reply.
//!
//! `X-Auto-Response-Suppress` asks *others* not to answer automatically (Outlook puts it on
//! mail people write): it is not a sign of an automatic message.

use super::parse::{DeliveryReport, Inbound};
use crate::render::{Token, TokenKind, TokenSigner};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// Sent to the `mailto:` of `List-Unsubscribe`: the token names the send.
    Unsubscribe(Token),
    Bounce(DeliveryReport),
    /// With the sign that told it.
    Auto(String),
    Human,
}

/// Subjects vacation responders use, lowercased, in English and French.
const AUTO_SUBJECTS: [&str; 16] = [
    "out of office",
    "out-of-office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "away from the office",
    "on vacation",
    "vacation reply",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "absent du bureau",
    "absente du bureau",
    "message d'absence",
    "message d’absence",
];

pub fn classify(inbound: &Inbound, signer: &TokenSigner, reply_domain: &str) -> What {
    if let Some(token) = token_in(
        &inbound.recipients,
        "u-",
        TokenKind::Unsubscribe,
        signer,
        reply_domain,
    ) {
        return What::Unsubscribe(token);
    }
    if let Some(report) = &inbound.report {
        return What::Bounce(report.clone());
    }
    match auto_sign(inbound) {
        Some(sign) => What::Auto(sign),
        None => What::Human,
    }
}

fn auto_sign(inbound: &Inbound) -> Option<String> {
    if inbound.forwarded_by_us {
        return Some(format!("{}: our own forward", super::parse::FORWARD_HEADER));
    }
    for (name, value) in &inbound.auto_headers {
        let lower = value.to_ascii_lowercase();
        let automatic = match name.as_str() {
            "auto-submitted" => !lower.starts_with("no"),
            "x-autoreply" | "x-autorespond" | "x-autoresponder" => true,
            "precedence" => ["auto_reply", "bulk", "junk", "list"].contains(&lower.trim()),
            _ => false,
        };
        if automatic {
            return Some(format!("{name}: {value}"));
        }
    }
    let subject = inbound.subject.to_lowercase();
    AUTO_SUBJECTS
        .iter()
        .find(|sign| subject.contains(*sign))
        .map(|sign| format!("subject: {sign}"))
}

/// The first recipient `{prefix}{token}@{reply_domain}` whose token verifies as `kind`.
pub fn token_in(
    recipients: &[String],
    prefix: &str,
    kind: TokenKind,
    signer: &TokenSigner,
    reply_domain: &str,
) -> Option<Token> {
    recipients.iter().find_map(|address| {
        let (local, domain) = address.rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(reply_domain) {
            return None;
        }
        let local = local.strip_prefix(prefix)?;
        // Sub-addressing (`r-{token}+note@`) some clients add.
        let local = local.split('+').next().unwrap_or(local);
        signer.verify(local).filter(|token| token.kind == kind)
    })
}

/// The send a `Message-ID` of ours names (`<{reply token}@{sending domain}>`).
pub fn token_of_message_id(id: &str, signer: &TokenSigner) -> Option<Token> {
    let id = id.trim().trim_matches(['<', '>']);
    let (local, _) = id.rsplit_once('@')?;
    signer
        .verify(local)
        .filter(|token| token.kind == TokenKind::Reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningKey;

    fn inbound(headers: &[(&str, &str)], subject: &str) -> Inbound {
        Inbound {
            subject: subject.to_owned(),
            auto_headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), (*v).to_owned()))
                .collect(),
            ..Inbound::default()
        }
    }

    /// Headers, subject, and whether the message is automatic.
    type Case = (&'static [(&'static str, &'static str)], &'static str, bool);

    #[test]
    fn automatic_messages_are_told_by_their_headers_and_subjects_but_not_by_a_request_to_others() {
        let signer = TokenSigner::new(&SigningKey::new(vec![1; 32]).unwrap());
        let cases: &[Case] = &[
            (&[("Auto-Submitted", "auto-replied")], "Re: hello", true),
            (&[("Auto-Submitted", "auto-generated")], "Re: hello", true),
            (&[("Auto-Submitted", "no")], "Re: hello", false),
            (&[("X-Autoreply", "yes")], "Re: hello", true),
            (&[("X-Autorespond", "1")], "Re: hello", true),
            (&[("X-Autoresponder", "on")], "Re: hello", true),
            (&[("Precedence", "bulk")], "Re: hello", true),
            (&[("Precedence", "list")], "Re: hello", true),
            (&[("Precedence", "auto_reply")], "Re: hello", true),
            (&[("Precedence", "first-class")], "Re: hello", false),
            (&[("X-Auto-Response-Suppress", "All")], "Re: hello", false),
            (&[], "Out of Office: back Monday", true),
            (&[], "Automatic reply: New single", true),
            (&[], "Réponse automatique : absent", true),
            (&[], "Absence du bureau", true),
            (&[], "Re: New single", false),
        ];
        for (headers, subject, automatic) in cases {
            let what = classify(&inbound(headers, subject), &signer, "reply.example");
            assert_eq!(
                matches!(what, What::Auto(_)),
                *automatic,
                "{headers:?} {subject:?}: {what:?}"
            );
        }
    }
}
