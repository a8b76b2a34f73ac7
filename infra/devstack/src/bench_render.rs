//! `devstack bench-render`: the renderer on the benchmark newsletter (infra/bench/newsletter.html,
//! about 20 KB with 15 tracked links), compiled once, then rendered to MIME bytes for N distinct
//! contacts on the calling thread. Prints one JSON line.

use std::time::Instant;

use anyhow::{Context, bail};
use mailing::config::SigningKey;
use mailing::domain::ContactFields;
use mailing::render::{
    Addressing, ArtistVars, CampaignVars, ContactVars, Mailbox, MessageTemplate, Recipient, Shared,
    TemplateSource, TokenSigner, Tracking,
};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let messages: usize = match args {
        [] => 50_000,
        [flag, n] if flag == "--messages" => n.parse().context("--messages: a number")?,
        _ => bail!("usage: devstack bench-render [--messages N]"),
    };
    println!("{}", measure(messages)?);
    Ok(())
}

/// The benchmark newsletter's HTML.
pub fn newsletter() -> anyhow::Result<String> {
    let path = crate::repo_root().join("infra/bench/newsletter.html");
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// Renders the newsletter to MIME for `messages` contacts; the report as JSON.
pub fn measure(messages: usize) -> anyhow::Result<serde_json::Value> {
    let html = newsletter()?;
    let signer = TokenSigner::new(&SigningKey::new(vec![7u8; 32]).map_err(anyhow::Error::msg)?);
    let compile_started = Instant::now();
    let template = MessageTemplate::compile(
        &TemplateSource {
            subject: "{{ contact.first_name|default('Bonjour') }}, le nouvel album et la tournée 2027",
            html: &html,
            text: None,
        },
        Some("<p>Camille Roux<br>Label Example · <a href=\"https://label.example.com\">label.example.com</a></p>"),
        Tracking {
            base_url: "https://mail.artisthub.example".into(),
            links: true,
            open_pixel: true,
            utm: Some(mailing::render::Utm {
                source: "artisthub".into(),
                medium: "email".into(),
                campaign: "album-2027".into(),
                content: None,
            }),
        },
        signer,
    )
    .map_err(|problems| anyhow::anyhow!("the newsletter does not compile: {problems:?}"))?;
    let compile_micros = compile_started.elapsed().as_secs_f64() * 1e6;
    let shared = MessageTemplate::shared_context(&Shared {
        artist: ArtistVars {
            name: Some("Artiste Example".into()),
            postal_address: Some("12 rue des Lilas, 75011 Paris".into()),
        },
        campaign: CampaignVars {
            name: Some("Nouvel album".into()),
            subject: None,
        },
        ..Shared::default()
    });
    let addressing = Addressing {
        from: Mailbox {
            name: Some("Artiste Example"),
            address: "news@artiste.example.com",
        },
        reply_domain: "reply.artisthub.example",
        feedback_id: "campaign:marketing:artist:artisthub",
    };
    let names = [
        "Zoé", "Lucas", "Chloé", "Hugo", "Léa", "Noah", "Inès", "Jules",
    ];
    let contacts: Vec<(ContactVars, String)> = (0..1000)
        .map(|i| {
            let email = format!("fan.{i}@mail.example");
            let fields = ContactFields {
                first_name: Some(names[i % names.len()].to_owned()),
                last_name: Some(format!("Martin-{i}")),
                ..ContactFields::default()
            };
            (ContactVars::from_contact(&email, &fields), email)
        })
        .collect();
    let date = chrono::Utc::now();
    let (mut bytes, mut links, mut html_bytes, mut text_bytes) = (0usize, 0usize, 0usize, 0usize);
    let started = Instant::now();
    for i in 0..messages {
        let (contact, email) = &contacts[i % contacts.len()];
        let recipient = Recipient {
            send: uuid::Uuid::now_v7(),
            contact,
            to: Mailbox {
                name: contact.first_name.as_deref(),
                address: email,
            },
        };
        let rendered = template.render(&shared, &recipient)?;
        links += rendered.links.len();
        html_bytes += rendered.html.len();
        text_bytes += rendered.text.len();
        bytes += template
            .mime(&rendered, &recipient, &addressing, date)
            .len();
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(serde_json::json!({
            "messages": messages,
            "seconds": seconds,
            "messages_per_second": (messages as f64 / seconds).round(),
            "micros_per_message": (seconds * 1e6 / messages as f64 * 100.0).round() / 100.0,
            "template_bytes": html.len(),
            "links_per_message": links / messages.max(1),
            "mime_bytes_per_message": bytes / messages.max(1),
            "html_bytes_per_message": html_bytes / messages.max(1),
            "text_bytes_per_message": text_bytes / messages.max(1),
            "compile_micros": compile_micros.round(),
    }))
}
