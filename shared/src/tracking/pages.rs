//! The pages a person sees: the unsubscribe choice, its confirmation, and the answer to a link
//! that is not (or no longer) valid. French or English, by the contact's metadata (`language`,
//! `locale` or `country`), else the browser's `Accept-Language`, else English.

use std::sync::LazyLock;

use minijinja::{Environment, context};

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
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}button{font:inherit;padding:.6rem 1rem;margin:.3rem 0;width:100%;cursor:pointer}</style>
</head><body><h1>{{ title }}</h1>
{% if t %}{% if already %}<p>{{ t.already }}</p>{% endif %}
<p>{{ t.address }} <strong>{{ address }}</strong></p>
<form method="post">
<button name="scope" value="team">{{ t.team }}</button>
<button name="scope" value="artist">{{ t.artist }}</button>
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

/// The choice: this team's emails, or everything from the artist.
pub fn unsubscribe_choice(contact: &Contact, language: PageLanguage) -> String {
    let team = team_name(contact.contact_role, language);
    let (title, already, address, team_button, artist_button) = match language {
        PageLanguage::French => (
            "Se désabonner",
            "Vous êtes déjà désabonné·e de cette liste.".to_owned(),
            "Adresse :",
            format!("Ne plus recevoir les emails de l'équipe {team}"),
            "Ne plus rien recevoir de cet artiste".to_owned(),
        ),
        PageLanguage::English => (
            "Unsubscribe",
            "You are already unsubscribed from this list.".to_owned(),
            "Address:",
            format!("Stop emails from the {team} team"),
            "Stop everything from this artist".to_owned(),
        ),
    };
    render(context! {
        lang => language.code(),
        title,
        already => contact.status == crate::domain::ContactStatus::Unsubscribed,
        address => masked(&contact.email),
        t => context! { already, address, team => team_button, artist => artist_button },
    })
}

/// After the choice was applied.
pub fn unsubscribed(artist_wide: bool, language: PageLanguage) -> String {
    let (title, message) = match (language, artist_wide) {
        (PageLanguage::French, false) => (
            "Désabonnement confirmé",
            "Vous ne recevrez plus les emails de cette équipe.",
        ),
        (PageLanguage::French, true) => (
            "Désabonnement confirmé",
            "Vous ne recevrez plus aucun email de cet artiste.",
        ),
        (PageLanguage::English, false) => (
            "You are unsubscribed",
            "You will not receive this team's emails any more.",
        ),
        (PageLanguage::English, true) => (
            "You are unsubscribed",
            "You will not receive any email from this artist any more.",
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

    #[test]
    fn the_choice_page_masks_the_address_and_offers_both_scopes() {
        let contact = contact_with(json!({"language": "fr"}));
        let page = unsubscribe_choice(&contact, PageLanguage::French);
        assert!(page.contains("lang=\"fr\""));
        assert!(page.contains("value=\"team\"") && page.contains("value=\"artist\""));
        assert!(!page.contains(contact.email.as_str()));
        assert!(page.contains(&masked(&contact.email)));
    }
}
