//! The built-in defaults: one template per team and language, real enough to send once the
//! bracketed parts are written. They live in code (one layout, one body per template), are
//! installed into the templates table at deploy time (`templates-install`) and read from there
//! like any template; an artist's own default replaces them for that artist.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::{ContactRole, EmailTemplate, Language, TemplateId, UserId};
use crate::render::language;

/// Who the built-ins are created by.
pub const AUTHOR: &str = "artisthub";

struct Builtin {
    id: &'static str,
    role: ContactRole,
    language: Language,
    name: &'static str,
    subject: &'static str,
    body: &'static str,
}

const LAYOUT: &str = include_str!("builtin/layout.html");

const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000101",
        role: ContactRole::Marketing,
        language: Language::Fr,
        name: "Newsletter",
        subject: "{{ artist.name }} : les nouvelles du mois",
        body: include_str!("builtin/newsletter.fr.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000102",
        role: ContactRole::Marketing,
        language: Language::En,
        name: "Newsletter",
        subject: "{{ artist.name }}: this month's news",
        body: include_str!("builtin/newsletter.en.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000201",
        role: ContactRole::Press,
        language: Language::Fr,
        name: "Communiqué de presse",
        subject: "Communiqué de presse — {{ artist.name }} : {{ campaign.name }}",
        body: include_str!("builtin/press-release.fr.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000202",
        role: ContactRole::Press,
        language: Language::En,
        name: "Press release",
        subject: "Press release — {{ artist.name }}: {{ campaign.name }}",
        body: include_str!("builtin/press-release.en.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000301",
        role: ContactRole::Tour,
        language: Language::Fr,
        name: "Annonce de dates de tournée",
        subject: "{{ artist.name }} en tournée : les dates",
        body: include_str!("builtin/tour-dates.fr.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000302",
        role: ContactRole::Tour,
        language: Language::En,
        name: "Tour dates announcement",
        subject: "{{ artist.name }} on tour: the dates",
        body: include_str!("builtin/tour-dates.en.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000401",
        role: ContactRole::Label,
        language: Language::Fr,
        name: "Annonce de sortie",
        subject: "Nouvelle sortie : {{ artist.name }}, {{ campaign.name }}",
        body: include_str!("builtin/release.fr.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000402",
        role: ContactRole::Label,
        language: Language::En,
        name: "Release announcement",
        subject: "New release: {{ artist.name }}, {{ campaign.name }}",
        body: include_str!("builtin/release.en.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000501",
        role: ContactRole::Finance,
        language: Language::Fr,
        name: "Relance de facture",
        subject: "Rappel : facture {{ contact.metadata.invoice_number }} — {{ artist.name }}",
        body: include_str!("builtin/payment-reminder.fr.html"),
    },
    Builtin {
        id: "0193a6f0-0000-7000-8000-000000000502",
        role: ContactRole::Finance,
        language: Language::En,
        name: "Payment reminder",
        subject: "Reminder: invoice {{ contact.metadata.invoice_number }} — {{ artist.name }}",
        body: include_str!("builtin/payment-reminder.en.html"),
    },
];

/// The footer: who sends and where they are; lists (not invoices) also say how to leave.
fn footer(role: ContactRole, language: Language) -> String {
    let address =
        "{{ artist.name }}{% if artist.postal_address %} · {{ artist.postal_address }}{% endif %}";
    if role == ContactRole::Finance {
        return address.to_owned();
    }
    let leave = match language {
        Language::Fr => {
            "Vous recevez ce message en tant que contact de l'équipe de {{ artist.name }}. \
             <a href=\"{{ unsubscribe_url }}\" style=\"color:#7b8794\">Se désabonner</a>"
        }
        Language::En => {
            "You receive this message as a contact of {{ artist.name }}'s team. \
             <a href=\"{{ unsubscribe_url }}\" style=\"color:#7b8794\">Unsubscribe</a>"
        }
    };
    format!("{address}<br>\n{leave}")
}

fn content(builtin: &Builtin) -> String {
    let view = match builtin.language {
        Language::Fr => "Voir dans le navigateur",
        Language::En => "View in your browser",
    };
    LAYOUT
        .replace("@@LANG@@", builtin.language.as_str())
        .replace("@@TITLE@@", "{{ artist.name }}")
        .replace("@@VIEW@@", view)
        .replace("@@BODY@@", builtin.body.trim_end())
        .replace("@@FOOTER@@", &footer(builtin.role, builtin.language))
}

/// A built-in as stored, with a revision naming its content: installing writes only what changed.
pub struct Installed {
    pub template: EmailTemplate,
    pub revision: String,
}

/// Every built-in, compiled for its variables (a built-in that does not compile fails the tests).
pub fn all(now: DateTime<Utc>) -> Vec<Installed> {
    BUILTINS
        .iter()
        .map(|builtin| {
            let content = content(builtin);
            let variables = language::check_fields(&[
                ("subject_template", Some(builtin.subject)),
                ("content_template", Some(&content)),
            ])
            .expect("built-ins compile (a test holds them)");
            let revision = {
                let mut hash = Sha256::new();
                for part in [builtin.name, builtin.subject, &content] {
                    hash.update(part.as_bytes());
                    hash.update([0]);
                }
                data_encoding::HEXLOWER.encode(&hash.finalize()[..8])
            };
            Installed {
                template: EmailTemplate {
                    id: builtin
                        .id
                        .parse::<TemplateId>()
                        .expect("built-in ids are UUIDs"),
                    artist_id: None,
                    contact_role: builtin.role,
                    name: builtin.name.to_owned(),
                    language: builtin.language,
                    subject_template: builtin.subject.to_owned(),
                    content_template: content,
                    text_template: None,
                    append_signature: true,
                    variables,
                    is_default: true,
                    built_in: true,
                    based_on: None,
                    created_by: UserId::new(AUTHOR),
                    created_at: now,
                    updated_at: now,
                    version: 1,
                },
                revision,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SigningKey;
    use crate::render::checks::Severity;
    use crate::render::{
        ArtistVars, CampaignVars, ContactVars, Mailbox, MessageIds, PreviewInput, Shared,
        TemplateSource, TokenSigner, preview,
    };

    #[test]
    fn every_team_has_a_default_in_french_and_in_english() {
        let all = all(Utc::now());
        for role in ContactRole::ALL {
            for language in Language::ALL {
                let found = all
                    .iter()
                    .filter(|b| b.template.contact_role == role && b.template.language == language)
                    .count();
                assert_eq!(found, 1, "{role} {language}");
            }
        }
        let mut ids: Vec<_> = all.iter().map(|b| b.template.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn every_default_renders_with_a_signature_and_passes_the_sending_checks() {
        let signer = TokenSigner::new(&SigningKey::new(vec![3u8; 32]).unwrap());
        let shared = Shared {
            artist: ArtistVars {
                name: Some("Lou Doillon".into()),
                postal_address: Some("12 rue des Lilas, 75011 Paris".into()),
            },
            campaign: CampaignVars {
                name: Some("Nouvel album".into()),
                subject: None,
            },
            ..Shared::default()
        };
        let contact = ContactVars {
            email: "zoe@radio.example".into(),
            full_name: "zoe@radio.example".into(),
            ..ContactVars::default()
        };
        for installed in all(Utc::now()) {
            let t = &installed.template;
            let shown = preview(&PreviewInput {
                role: t.contact_role,
                source: TemplateSource {
                    subject: &t.subject_template,
                    html: &t.content_template,
                    text: None,
                },
                signature: Some("<p>Léa Martin<br><a href=\"https://label.example\">Label</a></p>"),
                shared: &shared,
                contact: &contact,
                to: Mailbox {
                    name: None,
                    address: "zoe@radio.example",
                },
                from: Mailbox {
                    name: Some("Label"),
                    address: "news@label.example",
                },
                reply_domain: "reply.label.example",
                ids: MessageIds {
                    artist: crate::domain::ArtistId::new(),
                    role: t.contact_role,
                    campaign: None,
                    contact: None,
                    send: uuid::Uuid::now_v7(),
                },
                base_url: "https://t.example",
                signer: &signer,
            })
            .unwrap_or_else(|e| panic!("{} {}: {e:?}", t.contact_role, t.language));
            let name = format!("{} {}", t.contact_role, t.language);
            assert!(
                shown.subject.contains("Lou Doillon"),
                "{name}: {}",
                shown.subject
            );
            assert!(
                shown.html.contains("Léa Martin") || shown.html.contains("L&#233;a Martin"),
                "{name}"
            );
            assert!(shown.text.contains("Léa Martin"), "{name}");
            assert!(!shown.html.contains("@@"), "{name}: a layout slot left");
            assert!(
                shown.text.contains("Bonjour,")
                    || shown.text.contains("Hi,")
                    || shown.text.contains("Hello,"),
                "{name}: {}",
                shown.text
            );
            let blocking: Vec<_> = shown
                .warnings
                .iter()
                .filter(|w| w.severity != Severity::Info)
                .collect();
            assert!(blocking.is_empty(), "{name}: {blocking:?}");
            assert!(!shown.links.is_empty(), "{name}: links are tracked");
        }
    }

    #[test]
    fn a_changed_default_gets_a_new_revision_and_an_unchanged_one_keeps_it() {
        let first = all(Utc::now());
        let again = all(Utc::now());
        for (a, b) in first.iter().zip(&again) {
            assert_eq!(a.revision, b.revision);
        }
        let revisions: std::collections::BTreeSet<_> = first.iter().map(|b| &b.revision).collect();
        assert_eq!(revisions.len(), first.len());
    }
}
