//! Templates, signatures and previews through the gateway, as the CRM calls them.

use serde_json::{Value, json};

use crate::support::{Caller, TestStack};

const TEMPLATES: &str = "/api/templates/email";
const PRESS_FR: &str = "0193a6f0-0000-7000-8000-000000000201";

fn signatures_url(stack: &TestStack, role: &str) -> String {
    format!("/api/artists/{}/signatures/{role}", stack.artist)
}

fn own_template(stack: &TestStack, role: &str) -> Value {
    json!({
        "artist_id": stack.artist.to_string(),
        "contact_role": role,
        "name": "Annonce",
        "language": "fr",
        "subject_template": "Bonjour {{ contact.first_name }}",
        "content_template": "<html><body><p>Bonjour {{ contact.first_name }}</p><p><a href=\"https://label.example/a\">A</a></p></body></html>",
    })
}

async fn create(caller: &Caller<'_>, body: &Value) -> Value {
    let reply = caller.post(TEMPLATES, body).await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body
}

fn items(reply: &Value) -> &Vec<Value> {
    reply["items"].as_array().unwrap()
}

#[tokio::test]
async fn every_team_has_built_in_defaults_in_french_and_english() {
    let stack = TestStack::new().await;
    let all = stack.owner().get(TEMPLATES).await;
    assert_eq!(all.status, 200);
    assert_eq!(items(&all.body).len(), 10);
    for template in items(&all.body) {
        assert_eq!(template["built_in"], true);
        assert_eq!(template["is_default"], true);
        assert_eq!(template["artist_id"], Value::Null);
        assert!(
            template.get("content_template").is_none(),
            "lists carry no content"
        );
    }
    let press = stack
        .owner()
        .get(&format!("{TEMPLATES}?contact_role=press&language=fr"))
        .await;
    let names: Vec<&str> = items(&press.body)
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Communiqué de presse"]);
    let one = stack.owner().get(&format!("{TEMPLATES}/{PRESS_FR}")).await;
    assert_eq!(one.status, 200);
    assert!(
        one.body["content_template"]
            .as_str()
            .unwrap()
            .contains("{{ artist.name }}")
    );
    assert!(
        one.body["variables"]
            .as_array()
            .unwrap()
            .contains(&json!("contact.first_name"))
    );
}

/// The "done when": a press officer picks the French press-release default, adds her
/// signature, previews it for a contact, and sees everything a recipient would.
#[tokio::test]
async fn a_press_officer_previews_the_french_press_release_with_her_signature() {
    let stack = TestStack::new().await;
    let press = stack.team("press");
    let signature = press
        .put(
            &signatures_url(&stack, "press"),
            &json!({ "html": "<p><b>Léa Martin</b><br>Attachée de presse<br><a href=\"https://label.example/presse\">Label Nova</a></p><script>steal()</script>" }),
        )
        .await;
    assert_eq!(signature.status, 200, "{:?}", signature.body);
    assert!(!signature.body["html"].as_str().unwrap().contains("script"));

    let listing = press
        .get(&format!(
            "{TEMPLATES}?artist_id={}&contact_role=press&language=fr",
            stack.artist
        ))
        .await;
    let default = items(&listing.body)
        .iter()
        .find(|t| t["is_default"] == true)
        .expect("a default for the team");
    assert_eq!(default["id"], PRESS_FR);

    let contact = press
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": "zoe.dupont@radio.example", "contact_role": "press", "first_name": "Zoé", "last_name": "Dupont", "company": "Radio <Nova>" }),
        )
        .await;
    let preview = press
        .post(
            &format!("{TEMPLATES}/{PRESS_FR}/preview"),
            &json!({
                "artist_id": stack.artist.to_string(),
                "contact_id": contact,
                "artist": { "name": "Lou Doillon" },
                "campaign": { "name": "Nouvel album « Soliloquy »" },
                "sender": { "name": "Léa Martin", "email": "lea@label.example" },
            }),
        )
        .await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    let body = &preview.body;
    assert_eq!(
        body["subject"],
        "Communiqué de presse — Lou Doillon : Nouvel album « Soliloquy »"
    );
    let html = body["html"].as_str().unwrap();
    assert!(
        html.contains("Bonjour Zo&#233;,") || html.contains("Bonjour Zoé,"),
        "{html}"
    );
    assert!(
        html.contains("L&#233;a Martin") || html.contains("Léa Martin"),
        "the signature is in"
    );
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("Bonjour Zoé,") && text.contains("Léa Martin"),
        "{text}"
    );
    // Every web link goes through tracking; the web view and unsubscribe links are not clicks.
    let hrefs: Vec<&str> = html
        .split("href=\"")
        .skip(1)
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert!(hrefs.len() >= 5, "{hrefs:?}");
    for href in &hrefs {
        assert!(
            href.starts_with("http://127.0.0.1:9/api/email/track/click/")
                || href.starts_with("http://127.0.0.1:9/api/email/view/")
                || href.starts_with("http://127.0.0.1:9/api/email/unsubscribe/"),
            "{href}"
        );
    }
    let links = body["links"].as_array().unwrap();
    assert!(
        links
            .iter()
            .any(|l| l["url"] == "https://label.example/presse"),
        "the signature's link is tracked too"
    );
    assert!(html.contains("/api/email/track/open/"), "the open pixel");
    let header = |name: &str| {
        body["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["value"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let unsubscribe = header("List-Unsubscribe");
    assert!(
        unsubscribe.starts_with("<http://127.0.0.1:9/api/email/unsubscribe/"),
        "{unsubscribe}"
    );
    assert!(
        unsubscribe.contains("<mailto:u-") && unsubscribe.contains("@reply.artisthub.localhost>")
    );
    assert!(
        header("Reply-To").starts_with("r-")
            && header("Reply-To").ends_with("@reply.artisthub.localhost")
    );
    assert_eq!(header("From"), "Léa Martin <lea@label.example>");
    assert_eq!(header("To"), "Zoé Dupont <zoe.dupont@radio.example>");
    assert!(header("Message-ID").ends_with("@label.example>"));
    assert_eq!(
        header("Feedback-ID"),
        format!(
            "individual:press:{}:artisthub",
            stack.artist.as_uuid().simple()
        )
    );
    let tags: Vec<(&str, &str)> = body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tags[..3],
        [
            ("artist", &*stack.artist.to_string()),
            ("role", "press"),
            ("campaign", "individual")
        ]
    );
    // Nothing was sent to the preview but a real value for each variable: no warning blocks.
    let warnings = body["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().all(|w| w["severity"] != "error"),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .all(|w| w["code"].is_string() && w["message"].is_string())
    );
}

#[tokio::test]
async fn a_preview_explains_each_content_warning() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let mut body = own_template(&stack, "marketing");
    body["subject_template"] = json!("GRATUIT !!! OFFRE EXCEPTIONNELLE");
    body["content_template"] = json!(
        "<html><body><img src=\"https://cdn.example/affiche.jpg\"><a href=\"https://bit.ly/x\">https://label.example</a></body></html>"
    );
    let template = create(&owner, &body).await;
    let preview = owner
        .post(
            &format!("{TEMPLATES}/{}/preview", template["id"].as_str().unwrap()),
            &json!({ "artist_id": stack.artist.to_string(), "contact": { "email": "fan@mail.example" } }),
        )
        .await;
    assert_eq!(preview.status, 200, "{:?}", preview.body);
    let codes: Vec<&str> = preview.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    for expected in [
        "missing_unsubscribe_link",
        "image_only",
        "subject_all_caps",
        "link_text_mismatch",
        "url_shortener",
        "missing_postal_address",
    ] {
        assert!(codes.contains(&expected), "{expected} in {codes:?}");
    }
}

#[tokio::test]
async fn saving_a_template_that_does_not_compile_is_refused_with_line_and_column() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    for (field, source, line, column, message) in [
        (
            "subject_template",
            "Bonjour {{ contact.nickname }}",
            1,
            12,
            "unknown variable contact.nickname",
        ),
        (
            "content_template",
            "<p>\n  {{ contact.first_name | safe }}</p>",
            2,
            27,
            "the safe filter is not available",
        ),
        (
            "content_template",
            "<p>\n{{ contact.first_name | shout }}</p>",
            2,
            25,
            "unknown filter shout",
        ),
        (
            "content_template",
            "<p>{% if contact.first_name %}oui</p>",
            1,
            1,
            "",
        ),
        (
            "text_template",
            "Bonjour {{ secret_key }}",
            1,
            12,
            "unknown variable secret_key",
        ),
    ] {
        let mut body = own_template(&stack, "press");
        body[field] = json!(source);
        let reply = owner.post(TEMPLATES, &body).await;
        assert_eq!(reply.status, 422, "{source}: {:?}", reply.body);
        assert_eq!(reply.error_code(), "template_invalid");
        let problem = &reply.body["error"]["details"]["problems"][0];
        assert_eq!(problem["field"], field, "{source}");
        assert_eq!(problem["line"], line, "{source}: {problem}");
        if !message.is_empty() {
            assert_eq!(problem["column"], column, "{source}: {problem}");
            assert!(
                problem["message"].as_str().unwrap().contains(message),
                "{problem}"
            );
        }
    }
}

#[tokio::test]
async fn bad_template_bodies_are_refused_with_the_field_named() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    for (change, field) in [
        (json!({ "name": "  " }), "name"),
        (json!({ "language": "de" }), "language"),
        (json!({ "contact_role": "booking" }), "contact_role"),
        (json!({ "artist_id": "not-an-id" }), "artist_id"),
        (json!({ "content_template": "" }), "content_template"),
        (
            json!({ "subject_template": "Bonjour\r\nBcc: x@evil.example" }),
            "subject_template",
        ),
        (
            json!({ "subject_template": "x".repeat(301) }),
            "subject_template",
        ),
        (
            json!({ "content_template": "a\u{0000}b" }),
            "content_template",
        ),
        (
            json!({ "based_on": "0193a6f0-0000-7000-8000-00000000ffff" }),
            "based_on",
        ),
        (json!({ "colour": "red" }), "colour"),
    ] {
        let mut body = own_template(&stack, "press");
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let reply = owner.post(TEMPLATES, &body).await;
        assert_eq!(reply.status, 422, "{change}: {:?}", reply.body);
        let fields = &reply.body["error"]["details"]["fields"];
        assert_eq!(fields[0]["field"], field, "{change}: {fields}");
    }
    let huge = owner
        .send("POST", TEMPLATES, Some(&"x".repeat(1024 * 1024)))
        .await;
    assert_eq!(huge.status, 413);
    let broken = owner.send("POST", TEMPLATES, Some("{\"name\": ")).await;
    assert_eq!(broken.status, 400);
    assert_eq!(broken.error_code(), "malformed_json");
}

#[tokio::test]
async fn an_artist_default_replaces_the_built_in_one_and_one_default_per_language_holds() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let listing_url = format!("{TEMPLATES}?artist_id={}&contact_role=press", stack.artist);
    let mut body = own_template(&stack, "press");
    body["is_default"] = json!(true);
    body["based_on"] = json!(PRESS_FR);
    let first = create(&owner, &body).await;
    let listing = owner.get(&listing_url).await;
    let defaults: Vec<(&str, &str)> = items(&listing.body)
        .iter()
        .filter(|t| t["is_default"] == true)
        .map(|t| (t["id"].as_str().unwrap(), t["language"].as_str().unwrap()))
        .collect();
    assert_eq!(
        defaults,
        [
            (first["id"].as_str().unwrap(), "fr"),
            ("0193a6f0-0000-7000-8000-000000000202", "en")
        ],
        "the artist's French default first, the English built-in still the English default"
    );

    body["name"] = json!("Annonce 2");
    let second = create(&owner, &body).await;
    let first_now = owner
        .get(&format!("{TEMPLATES}/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(first_now.body["is_default"], false);
    assert_eq!(first_now.body["version"], 2);

    let unset = owner
        .put(
            &format!("{TEMPLATES}/{}", second["id"].as_str().unwrap()),
            &json!({ "is_default": false }),
        )
        .await;
    assert_eq!(unset.status, 200, "{:?}", unset.body);
    let listing = owner.get(&listing_url).await;
    let builtin = items(&listing.body)
        .iter()
        .find(|t| t["id"] == PRESS_FR)
        .unwrap();
    assert_eq!(
        builtin["is_default"], true,
        "with no own default, the built-in is back"
    );

    let again = owner
        .put(
            &format!("{TEMPLATES}/{}", first["id"].as_str().unwrap()),
            &json!({ "is_default": true }),
        )
        .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let deleted = owner
        .delete(&format!("{TEMPLATES}/{}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(deleted.status, 204);
    let listing = owner.get(&listing_url).await;
    assert_eq!(
        items(&listing.body)
            .iter()
            .find(|t| t["id"] == PRESS_FR)
            .unwrap()["is_default"],
        true
    );
    assert_eq!(items(&listing.body).len(), 3);
}

#[tokio::test]
async fn an_update_recompiles_the_variables_and_leaves_an_audit_record() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let template = create(&owner, &own_template(&stack, "tour")).await;
    let id = template["id"].as_str().unwrap();
    assert_eq!(template["variables"], json!(["contact.first_name"]));
    let updated = owner
        .put(
            &format!("{TEMPLATES}/{id}"),
            &json!({ "content_template": "<p>{{ contact.metadata.city }} — {{ artist.name }}</p>", "text_template": "{{ artist.name }}" }),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(
        updated.body["variables"],
        json!(["artist.name", "contact.first_name", "contact.metadata.city"])
    );
    assert_eq!(updated.body["version"], 2);
    let refused = owner
        .put(
            &format!("{TEMPLATES}/{id}"),
            &json!({ "content_template": "{{ contact.password }}" }),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        owner.get(&format!("{TEMPLATES}/{id}")).await.body["version"],
        2,
        "nothing saved"
    );
    let trail = mailing::store::audit::for_target(stack.app(), &format!("template#{id}"), 10)
        .await
        .unwrap();
    let actions: Vec<String> = trail
        .iter()
        .map(|r| {
            serde_json::to_value(r.action)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(actions, ["template.updated", "template.created"]);
    assert_eq!(trail[0].changed, ["content_template", "text_template"]);
}

#[tokio::test]
async fn built_in_templates_are_read_only() {
    let stack = TestStack::new().await;
    let admin = stack.caller(&["mailing:admin".to_owned()]);
    for reply in [
        admin
            .put(
                &format!("{TEMPLATES}/{PRESS_FR}"),
                &json!({ "name": "Mine" }),
            )
            .await,
        admin.delete(&format!("{TEMPLATES}/{PRESS_FR}")).await,
    ] {
        assert_eq!(reply.status, 409, "{:?}", reply.body);
        assert_eq!(reply.error_code(), "built_in_template");
    }
}

#[tokio::test]
async fn callers_without_the_team_grant_neither_see_nor_change_templates_or_signatures() {
    let stack = TestStack::new().await;
    let finance = create(&stack.owner(), &own_template(&stack, "finance")).await;
    let id = finance["id"].as_str().unwrap();
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    let press = stack.team("press");
    let preview_body =
        json!({ "artist_id": stack.artist.to_string(), "contact": { "email": "a@b.example" } });
    for caller in [&stranger, &press] {
        for reply in [
            caller.get(&format!("{TEMPLATES}/{id}")).await,
            caller
                .put(&format!("{TEMPLATES}/{id}"), &json!({ "name": "x" }))
                .await,
            caller.delete(&format!("{TEMPLATES}/{id}")).await,
            caller
                .post(&format!("{TEMPLATES}/{id}/preview"), &preview_body)
                .await,
        ] {
            assert_eq!(
                reply.status, 404,
                "same as a template that does not exist: {:?}",
                reply.body
            );
        }
        for reply in [
            caller
                .post(TEMPLATES, &own_template(&stack, "finance"))
                .await,
            caller
                .get(&format!(
                    "{TEMPLATES}?artist_id={}&contact_role=finance",
                    stack.artist
                ))
                .await,
            caller.get(&signatures_url(&stack, "finance")).await,
            caller
                .put(&signatures_url(&stack, "finance"), &json!({ "html": "x" }))
                .await,
            // A built-in previewed for a team the caller is not in.
            caller
                .post(
                    &format!("{TEMPLATES}/0193a6f0-0000-7000-8000-000000000501/preview"),
                    &preview_body,
                )
                .await,
        ] {
            assert_eq!(reply.status, 403, "{:?}", reply.body);
        }
    }
    let listing = press
        .get(&format!("{TEMPLATES}?artist_id={}", stack.artist))
        .await;
    assert!(
        items(&listing.body)
            .iter()
            .all(|t| t["contact_role"] == "press"),
        "press sees press templates only"
    );
    assert_eq!(
        stack.owner().get(&format!("{TEMPLATES}/{id}")).await.body["version"],
        1
    );
}

#[tokio::test]
async fn signatures_belong_to_their_user_and_templates_can_opt_out() {
    let stack = TestStack::new().await;
    let url = signatures_url(&stack, "press");
    let lea = stack.caller_as("lea", &[format!("artist:{}:press", stack.artist)]);
    let marc = stack.caller_as("marc", &[format!("artist:{}:press", stack.artist)]);
    assert_eq!(lea.get(&url).await.status, 404);
    let saved = lea
        .put(
            &url,
            &json!({ "html": "<p onclick=\"x()\">Léa {{ contact.email }}</p>" }),
        )
        .await;
    assert_eq!(saved.status, 200);
    assert_eq!(
        saved.body["html"],
        "<p>Léa &#123;&#123; contact.email &#125;&#125;</p>"
    );
    assert_eq!(lea.get(&url).await.body["html"], saved.body["html"]);
    assert_eq!(
        marc.get(&url).await.status,
        404,
        "each user signs for themself"
    );
    let too_big = lea
        .put(&url, &json!({ "html": "x".repeat(17 * 1024) }))
        .await;
    assert_eq!(too_big.status, 422);
    assert_eq!(
        lea.get(&format!("/api/artists/{}/signatures/booking", stack.artist))
            .await
            .status,
        404
    );

    let mut body = own_template(&stack, "press");
    body["append_signature"] = json!(false);
    let template = create(&lea, &body).await;
    let preview = |id: String| {
        let lea = &lea;
        let artist = stack.artist.to_string();
        async move {
            lea.post(
                &format!("{TEMPLATES}/{id}/preview"),
                &json!({ "artist_id": artist, "contact": { "email": "a@b.example", "first_name": "Zoé" } }),
            )
            .await
        }
    };
    let without = preview(template["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(without.status, 200, "{:?}", without.body);
    assert!(
        !without.body["text"]
            .as_str()
            .unwrap()
            .contains("contact.email")
    );
    let with = preview(PRESS_FR.to_owned()).await;
    let text = with.body["text"].as_str().unwrap();
    assert!(
        text.contains("Léa {{ contact.email }}"),
        "the signature's braces stay literal: {text}"
    );
    assert!(!text.contains("a@b.example"));
}

#[tokio::test]
async fn a_preview_needs_one_contact_and_valid_values() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = format!("{TEMPLATES}/{PRESS_FR}/preview");
    let artist = stack.artist.to_string();
    for (body, field) in [
        (json!({ "artist_id": artist }), "contact"),
        (
            json!({ "artist_id": artist, "contact": { "email": "a@b.example" }, "contact_id": "0193a6f0-0000-7000-8000-000000000001" }),
            "contact",
        ),
        (
            json!({ "artist_id": artist, "contact": { "first_name": "Zoé" } }),
            "contact.email",
        ),
        (
            json!({ "artist_id": artist, "contact": { "email": "not an address" } }),
            "contact.email",
        ),
        (
            json!({ "artist_id": artist, "contact": { "email": "a@b.example", "tags": "vip" } }),
            "contact.tags",
        ),
        (
            json!({ "artist_id": artist, "contact": { "email": "a@b.example", "nickname": "z" } }),
            "contact.nickname",
        ),
        (
            json!({ "artist_id": artist, "contact": { "email": "a@b.example" }, "sender": { "email": "nope" } }),
            "sender.email",
        ),
    ] {
        let reply = owner.post(&url, &body).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert_eq!(
            reply.body["error"]["details"]["fields"][0]["field"], field,
            "{body}: {:?}",
            reply.body
        );
    }
    let missing = owner
        .post(
            &url,
            &json!({ "artist_id": artist, "contact_id": "0193a6f0-0000-7000-8000-000000000001" }),
        )
        .await;
    assert_eq!(missing.status, 404);
}
