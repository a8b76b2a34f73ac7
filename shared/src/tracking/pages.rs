//! The pages a person sees: the unsubscribe choice, its confirmation, and the answer to a link
//! that is not (or no longer) valid. French or English, by the contact's metadata (`language`,
//! `locale` or `country`), else the browser's `Accept-Language`, else English.

use std::sync::LazyLock;

use minijinja::{Environment, context};

use super::event::UnsubscribeScope;
use super::public::UnsubscribeView;
use crate::domain::{Contact, ContactRole, EmailAddress};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLanguage {
    French,
    English,
}

/// Countries where a French page is the better guess.
const FRENCH_COUNTRIES: &[&str] = &[
    "fr",
    "france",
    "be",
    "belgique",
    "lu",
    "luxembourg",
    "mc",
    "monaco",
    "ch",
    "suisse",
    "sn",
    "ci",
    "ma",
    "tn",
    "dz",
    "qc",
    "québec",
];

impl PageLanguage {
    pub fn choose(contact: Option<&Contact>, accept_language: Option<&str>) -> Self {
        let metadata = contact.map(|c| &c.fields.metadata);
        let text = |name: &str| {
            metadata
                .and_then(|m| m.get(name))
                .and_then(|v| v.as_str())
                .map(|v| v.trim().to_lowercase())
        };
        if let Some(language) = text("language").or_else(|| text("locale")) {
            return Self::from_tag(&language);
        }
        if let Some(country) = text("country") {
            if FRENCH_COUNTRIES.contains(&country.as_str()) {
                return Self::French;
            }
            return Self::English;
        }
        accept_language
            .and_then(|header| header.split(',').next())
            .map(|first| Self::from_tag(&first.trim().to_lowercase()))
            .unwrap_or(Self::English)
    }

    fn from_tag(tag: &str) -> Self {
        if tag.starts_with("fr") {
            Self::French
        } else {
            Self::English
        }
    }

    fn code(self) -> &'static str {
        match self {
            Self::French => "fr",
            Self::English => "en",
        }
    }
}

/// One page: a choice form when `t` is given, a message otherwise.
const PAGE: &str = r#"<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.6rem 1rem;margin:.3rem 0;width:100%;cursor:pointer}.help{color:#555;font-size:.9rem;margin-top:0}</style>
</head><body><h1>{{ title }}</h1>
{% if t %}<p>{{ t.from }}</p>{% if already %}<p>{{ t.already }}</p>{% endif %}
{% if address %}<p>{{ t.address }} <strong>{{ address }}</strong></p>{% endif %}
<form method="post">
<button name="scope" value="team">{{ t.team }}</button>
<p class="help">{{ t.team_help }}</p>
<button name="scope" value="artist">{{ t.artist }}</button>
<p class="help">{{ t.artist_help }}</p>
</form>{% else %}<p>{{ message }}</p>{% endif %}
</body></html>"#;

static PAGES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.add_template("page.html", PAGE)
        .expect("the page is a valid template");
    env
});

fn render(context: minijinja::Value) -> String {
    PAGES
        .get_template("page.html")
        .and_then(|template| template.render(context))
        .unwrap_or_else(|error| {
            tracing::error!(%error, "a public page did not render");
            String::from("<!doctype html><title>ArtistHub</title>")
        })
}

/// `j•••@example.org`: enough for the person to recognize the address, not enough for anyone
/// holding a forwarded link to learn it.
pub fn masked(address: &EmailAddress) -> String {
    let text = address.as_str();
    match text.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_owned(),
    }
}

fn team_name(role: ContactRole, language: PageLanguage) -> &'static str {
    match (language, role) {
        (PageLanguage::French, ContactRole::Marketing) => "marketing",
        (PageLanguage::French, ContactRole::Press) => "presse",
        (PageLanguage::French, ContactRole::Tour) => "tournée",
        (PageLanguage::French, ContactRole::Label) => "label",
        (PageLanguage::French, ContactRole::Finance) => "finance",
        (PageLanguage::English, role) => role.as_str(),
    }
}

/// The artist's name as a page says it (a message always names one; an old send may not).
fn artist_of(view: &UnsubscribeView, language: PageLanguage) -> String {
    match (view.artist_name.trim(), language) {
        ("", PageLanguage::French) => "cet artiste".to_owned(),
        ("", PageLanguage::English) => "this artist".to_owned(),
        (name, _) => name.to_owned(),
    }
}

/// The choice: this team's emails, or everything from the artist, each saying what it does.
pub fn unsubscribe_choice(view: &UnsubscribeView, language: PageLanguage) -> String {
    let team = team_name(view.send.contact_role, language);
    let artist = artist_of(view, language);
    let t = match language {
        PageLanguage::French => context! {
            from => format!("Cet email vous a été envoyé par l'équipe {team} de {artist}."),
            already => "Vous êtes déjà désabonné·e de cette liste.",
            address => "Adresse :",
            team => format!("Ne plus recevoir les emails de l'équipe {team}"),
            team_help => format!("Les autres équipes de {artist} pourront encore vous écrire."),
            artist => format!("Ne plus rien recevoir de {artist}"),
            artist_help => format!("Aucune équipe de {artist} ne vous écrira plus."),
        },
        PageLanguage::English => context! {
            from => format!("This email was sent to you by {artist}'s {team} team."),
            already => "You are already unsubscribed from this list.",
            address => "Address:",
            team => format!("Stop emails from the {team} team"),
            team_help => format!("{artist}'s other teams may still write to you."),
            artist => format!("Stop everything from {artist}"),
            artist_help => format!("No team of {artist} will write to you again."),
        },
    };
    let title = match language {
        PageLanguage::French => "Se désabonner",
        PageLanguage::English => "Unsubscribe",
    };
    render(context! {
        lang => language.code(),
        title,
        already => view.already_unsubscribed(),
        address => view.contact.as_ref().map(|c| masked(&c.email)),
        t,
    })
}

/// After the choice was applied: what was, in the person's words.
pub fn unsubscribed(
    view: &UnsubscribeView,
    scope: UnsubscribeScope,
    language: PageLanguage,
) -> String {
    let team = team_name(view.send.contact_role, language);
    let artist = artist_of(view, language);
    let (title, message) = match (language, scope) {
        (PageLanguage::French, UnsubscribeScope::Team) => (
            "Désabonnement confirmé",
            format!("Vous ne recevrez plus les emails de l'équipe {team} de {artist}."),
        ),
        (PageLanguage::French, UnsubscribeScope::Artist) => (
            "Désabonnement confirmé",
            format!("Vous ne recevrez plus aucun email de {artist}, de toutes ses équipes."),
        ),
        (PageLanguage::English, UnsubscribeScope::Team) => (
            "You are unsubscribed",
            format!("You will not receive emails from {artist}'s {team} team any more."),
        ),
        (PageLanguage::English, UnsubscribeScope::Artist) => (
            "You are unsubscribed",
            format!(
                "You will not receive any email from {artist}, from any of its teams, any more."
            ),
        ),
    };
    render(context! { lang => language.code(), title, message })
}

/// A token that is not one of ours, or a link that no longer leads anywhere.
pub fn invalid_link(language: PageLanguage) -> String {
    let (title, message) = match language {
        PageLanguage::French => (
            "Lien non valide",
            "Ce lien n'est pas valide ou n'est plus disponible.",
        ),
        PageLanguage::English => (
            "Link not valid",
            "This link is not valid or is no longer available.",
        ),
    };
    render(context! { lang => language.code(), title, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact_with(metadata: serde_json::Value) -> Contact {
        let mut contact = crate::domain::Contact::example();
        contact.fields.metadata = metadata.as_object().unwrap().clone();
        contact
    }

    #[test]
    fn the_page_language_follows_the_contact_then_the_browser_then_english() {
        for (metadata, accept, expected) in [
            (
                json!({"language": "fr-FR"}),
                Some("en-US"),
                PageLanguage::French,
            ),
            (
                json!({"locale": "en_GB"}),
                Some("fr"),
                PageLanguage::English,
            ),
            (json!({"country": "Belgique"}), None, PageLanguage::French),
            (json!({"country": "DE"}), Some("fr"), PageLanguage::English),
            (
                json!({}),
                Some("fr-CA,fr;q=0.9,en;q=0.8"),
                PageLanguage::French,
            ),
            (json!({}), Some("de-DE"), PageLanguage::English),
            (json!({}), None, PageLanguage::English),
        ] {
            let contact = contact_with(metadata.clone());
            assert_eq!(
                PageLanguage::choose(Some(&contact), accept),
                expected,
                "{metadata} {accept:?}"
            );
        }
    }

    fn view(contact: Option<Contact>) -> UnsubscribeView {
        let send = crate::store::sends::Send::pending(
            (crate::domain::ArtistId::new(), ContactRole::Press),
            crate::domain::CampaignId::new(),
            crate::domain::ContactId::new(),
            crate::store::suppression::OptOutKeys {
                team: "team".into(),
                artist: "artist".into(),
                address: "address".into(),
            },
            chrono::Utc::now(),
        );
        UnsubscribeView {
            send,
            contact,
            artist_name: "Lou & the Nova".into(),
            message_language: Some(crate::domain::Language::Fr),
        }
    }

    #[test]
    fn the_choice_page_names_the_artist_and_team_masks_the_address_and_explains_both_scopes() {
        let contact = contact_with(json!({"language": "en"}));
        let shown = view(Some(contact.clone()));
        let language = shown.language(Some("en-US"));
        assert_eq!(
            language,
            PageLanguage::French,
            "the message's language first"
        );
        let page = unsubscribe_choice(&shown, language);
        assert!(page.contains("lang=\"fr\""));
        assert!(
            page.contains("l&#x27;équipe presse de Lou &amp; the Nova"),
            "{page}"
        );
        assert!(page.contains("value=\"team\"") && page.contains("value=\"artist\""));
        assert!(
            page.contains("Les autres équipes de Lou &amp; the Nova pourront encore vous écrire.")
        );
        assert!(!page.contains(contact.email.as_str()));
        assert!(page.contains(&masked(&contact.email)));
        let gone = unsubscribe_choice(&view(None), PageLanguage::English);
        assert!(
            gone.contains("Lou &amp; the Nova&#x27;s press team") && !gone.contains("Address:")
        );
        let done = unsubscribed(&shown, UnsubscribeScope::Artist, PageLanguage::English);
        assert!(done.contains("any email from Lou &amp; the Nova, from any of its teams"));
    }
}
