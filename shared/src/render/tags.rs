//! What a message carries about itself, in ids only: the SES message tags (they come back on
//! every SES event, so events find their send, campaign and team) and Gmail's Feedback-ID.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::{ArtistId, ContactId, ContactRole};

/// The ids of one message.
#[derive(Debug, Clone, Copy)]
pub struct MessageIds {
    pub artist: ArtistId,
    pub role: ContactRole,
    /// `None` for an individual send.
    pub campaign: Option<Uuid>,
    /// `None` for a test or a preview, which go to no contact.
    pub contact: Option<ContactId>,
    pub send: Uuid,
}

/// An SES message tag: name and value of ASCII letters, digits, `_` and `-`, at most 256 each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct MessageTag {
    pub name: &'static str,
    pub value: String,
}

pub fn message_tags(ids: &MessageIds) -> Vec<MessageTag> {
    let contact = ids.contact.map(|contact| MessageTag {
        name: "contact",
        value: contact.to_string(),
    });
    let mut tags = vec![
        MessageTag {
            name: "artist",
            value: ids.artist.to_string(),
        },
        MessageTag {
            name: "role",
            value: ids.role.to_string(),
        },
        MessageTag {
            name: "campaign",
            value: campaign(ids),
        },
    ];
    tags.extend(contact);
    tags.push(MessageTag {
        name: "send",
        value: ids.send.hyphenated().to_string(),
    });
    tags
}

/// `campaign:team:artist:artisthub`: Gmail's Postmaster Tools report complaints per value.
pub fn feedback_id(ids: &MessageIds) -> String {
    format!(
        "{}:{}:{}:artisthub",
        campaign(ids),
        ids.role,
        ids.artist.as_uuid().simple()
    )
}

fn campaign(ids: &MessageIds) -> String {
    ids.campaign
        .map_or_else(|| "individual".to_owned(), |c| c.simple().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_ids_only_in_the_characters_ses_accepts() {
        for (campaign, contact, names) in [
            (None, None, &["artist", "role", "campaign", "send"][..]),
            (
                Some(Uuid::now_v7()),
                Some(ContactId::new()),
                &["artist", "role", "campaign", "contact", "send"][..],
            ),
        ] {
            let ids = MessageIds {
                artist: ArtistId::new(),
                role: ContactRole::Press,
                campaign,
                contact,
                send: Uuid::now_v7(),
            };
            let tags = message_tags(&ids);
            let found: Vec<&str> = tags.iter().map(|t| t.name).collect();
            assert_eq!(found, names);
            for tag in &tags {
                assert!((1..=256).contains(&tag.value.len()));
                assert!(
                    tag.value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "{tag:?}"
                );
            }
            let feedback = feedback_id(&ids);
            assert_eq!(feedback.split(':').count(), 4, "{feedback}");
            assert!(feedback.ends_with(":artisthub"));
        }
    }
}
