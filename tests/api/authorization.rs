use serde_json::{Value, json};

use crate::support::TestStack;

#[tokio::test]
async fn without_a_valid_token_the_gateway_answers_401() {
    let stack = TestStack::new().await;
    let url = stack.contacts_url();
    let reply = stack.anonymous().get(&url).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, json!({ "message": "Unauthorized" }));
}

#[tokio::test]
async fn a_token_for_another_artist_is_refused_on_every_endpoint() {
    let stack = TestStack::new().await;
    let url = stack.contacts_url();
    let id = stack
        .owner()
        .create_contact(
            &url,
            json!({ "email": "a@press.example", "contact_role": "press" }),
        )
        .await;
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    let no_scope = stack.caller(&[]);
    for caller in [&stranger, &no_scope] {
        let replies = [
            caller.get(&url).await,
            caller.get(&format!("{url}?contact_role=press")).await,
            caller
                .post(
                    &url,
                    &json!({ "email": "b@press.example", "contact_role": "press" }),
                )
                .await,
            caller.get(&format!("{url}/{id}")).await,
            caller
                .put(&format!("{url}/{id}"), &json!({ "first_name": "Mallory" }))
                .await,
            caller.delete(&format!("{url}/{id}")).await,
        ];
        for reply in replies {
            assert_eq!(reply.status, 403, "{:?}", reply.body);
            assert_eq!(reply.error_code(), "forbidden");
            assert!(!reply.body.to_string().contains("a@press.example"));
        }
    }
    let read = stack.owner().get(&format!("{url}/{id}")).await;
    assert_eq!(read.body["first_name"], json!(null));
    assert_eq!(read.body["version"], 1);
}

#[tokio::test]
async fn a_press_token_can_neither_read_nor_change_another_team() {
    let stack = TestStack::new().await;
    let url = stack.contacts_url();
    let finance = stack
        .owner()
        .create_contact(&url, json!({ "email": "cfo@label.example", "contact_role": "finance", "first_name": "Claire" }))
        .await;
    let press = stack.team("press");

    let listing = press.get(&format!("{url}?contact_role=finance")).await;
    assert_eq!(listing.status, 403);
    let own_listing = press.get(&url).await;
    assert_eq!(own_listing.status, 200);
    assert_eq!(
        own_listing.body["items"],
        json!([]),
        "the finance contact does not leak into press's list"
    );

    for reply in [
        press.get(&format!("{url}/{finance}")).await,
        press
            .put(
                &format!("{url}/{finance}"),
                &json!({ "first_name": "Mallory" }),
            )
            .await,
        press.delete(&format!("{url}/{finance}")).await,
    ] {
        assert_eq!(
            reply.status, 404,
            "same answer as a contact that does not exist: {:?}",
            reply.body
        );
        assert!(!reply.body.to_string().contains("cfo@"));
    }
    let create = press
        .post(
            &url,
            &json!({ "email": "x@label.example", "contact_role": "finance" }),
        )
        .await;
    assert_eq!(create.status, 403);
    let dup_probe = press
        .post(
            &url,
            &json!({ "email": "cfo@label.example", "contact_role": "finance" }),
        )
        .await;
    assert_eq!(
        dup_probe.status, 403,
        "no 409 that would reveal the address exists"
    );

    let read = stack.owner().get(&format!("{url}/{finance}")).await;
    assert_eq!(read.body["first_name"], "Claire");
    assert_eq!(read.body["version"], 1);
}

#[tokio::test]
async fn a_caller_with_two_teams_lists_both_and_nothing_else() {
    let stack = TestStack::new().await;
    let url = stack.contacts_url();
    let owner = stack.owner();
    for (i, role) in ["press", "tour", "finance", "press", "label"]
        .iter()
        .enumerate()
    {
        owner
            .create_contact(
                &url,
                json!({ "email": format!("c{i}@x.example"), "contact_role": role }),
            )
            .await;
    }
    let two = stack.caller(&[
        format!("artist:{}:press", stack.artist),
        format!("artist:{}:tour", stack.artist),
    ]);
    let reply = two.get(&format!("{url}?limit=200")).await;
    assert_eq!(reply.status, 200);
    let roles: Vec<&str> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact_role"].as_str().unwrap())
        .collect();
    assert_eq!(roles.len(), 3);
    assert!(
        roles.iter().all(|r| *r == "press" || *r == "tour"),
        "{roles:?}"
    );
}

#[tokio::test]
async fn the_admin_scope_reaches_every_artist() {
    let stack = TestStack::new().await;
    let url = stack.contacts_url();
    let admin = stack.caller(&["mailing:admin".to_owned()]);
    let id = admin
        .create_contact(
            &url,
            json!({ "email": "ops@x.example", "contact_role": "label" }),
        )
        .await;
    assert_eq!(stack.owner().get(&format!("{url}/{id}")).await.status, 200);
}

/// `path` with its parameters filled: this artist, this contact, the press team, Gmail, a new id
/// for anything else.
fn filled(path: &str, artist: mailing::domain::ArtistId, contact: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        out.push_str(&match &rest[start + 1..end] {
            "artistId" => artist.to_string(),
            "contactId" => contact.to_owned(),
            "role" => "press".to_owned(),
            "domain" => "label.example".to_owned(),
            "provider" => "gmail".to_owned(),
            _ => uuid::Uuid::now_v7().to_string(),
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every route of an artist, as a caller would call it here: method, path, an empty body for a
/// write, and whether it names the contact.
fn artist_calls(
    artist: mailing::domain::ArtistId,
    contact: &str,
) -> Vec<(&'static str, String, Option<&'static str>, bool)> {
    functions::routes::ROUTES
        .iter()
        .filter(|route| !route.public && route.path.contains("{artistId}"))
        .map(|route| {
            (
                route.method,
                filled(route.path, artist, contact),
                (!matches!(route.method, "GET" | "DELETE")).then_some("{}"),
                route.path.contains("{contactId}"),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_route_of_an_artist_refuses_strangers_and_other_teams_and_leaks_nothing() {
    let stack = TestStack::new().await;
    let url = stack.contacts_url();
    let id = stack
        .owner()
        .create_contact(
            &url,
            json!({ "email": "secret.source@press.example", "contact_role": "press", "first_name": "Séraphine" }),
        )
        .await;
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    let calls = artist_calls(stack.artist, &id);
    assert!(calls.len() >= 30, "{} routes", calls.len());
    for (method, path, body, _) in &calls {
        let (method, body) = (*method, *body);
        let anonymous = stack.anonymous().send(method, path, body).await;
        assert_eq!(anonymous.status, 401, "{method} {path}");
        let reply = stranger.send(method, path, body).await;
        // A read is refused outright; a write may be refused for its empty body first.
        let refusals: &[u16] = match method {
            "GET" | "DELETE" => &[403],
            _ => &[403, 422],
        };
        assert!(
            refusals.contains(&reply.status),
            "{method} {path}: {} {:?}",
            reply.status,
            reply.body
        );
        let text = reply.body.to_string();
        assert!(
            !text.contains("secret.source") && !text.contains("Séraphine") && !text.contains(&id),
            "{method} {path} leaks: {text}"
        );
    }
    // Another team of the same artist: its own lists answer, without the press contact; the
    // press contact's own routes refuse.
    let finance = stack.team("finance");
    for (method, path, body, names_contact) in &calls {
        let reply = finance.send(method, path, *body).await;
        assert!(reply.status < 500, "{method} {path}: {:?}", reply.body);
        if *names_contact {
            assert!(
                !(200..300).contains(&reply.status),
                "{method} {path}: {} {:?}",
                reply.status,
                reply.body
            );
        }
        let text = reply.body.to_string();
        assert!(
            !text.contains("secret.source") && !text.contains("Séraphine"),
            "{method} {path} leaks to another team: {text}"
        );
    }
    let read = stack.owner().get(&format!("{url}/{id}")).await;
    assert_eq!(read.body["version"], 1, "nothing changed");
}

/// The route pattern a concrete call of this artist matches.
fn pattern_of(method: &str, path: &str) -> (String, String) {
    let target = path.split('?').next().unwrap();
    let (route, _) = devstack::gateway::find_route(method, target).expect("a route");
    (route.method.to_owned(), route.path.to_owned())
}

#[tokio::test]
async fn the_right_grant_succeeds_on_every_route_of_an_artist() {
    use crate::tracking::{link, message_to, sent_campaign};
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let artist = stack.artist;
    let a = format!("/api/artists/{artist}");
    let contacts = stack.contacts_url();
    assert_eq!(stack.sender_profile().await.status, 200);
    // A press team with a sent campaign, its message clicked, a reply to it.
    let sent = sent_campaign(&stack, 2).await;
    stack.drain_queues().await;
    let (contact, address) = sent.contacts[0].clone();
    let click = link(&message_to(&address).await, "/api/email/track/click/");
    crate::replies::deliver(
        &stack,
        devstack::inbound::as_reply_to(
            b"From: <someone@radio.example>\r\nSubject: Re\r\n\r\nMerci\r\n",
            &devstack::inbound::newest_to(&address).await.unwrap(),
            "PASS",
        )
        .unwrap(),
    )
    .await;
    let reply = owner.get(&format!("{a}/email/replies")).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let draft = |name: &str| {
        json!({ "contact_role": "press", "name": name, "subject": "Bonjour",
                "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p>",
                "from_name": "Label Nova", "from_email": format!("presse@{}", sent.domain) })
    };
    let new_contact = |email: String| {
        let owner = stack.owner();
        let contacts = contacts.clone();
        async move {
            owner
                .create_contact(
                    &contacts,
                    json!({ "email": email, "contact_role": "press" }),
                )
                .await
        }
    };
    let gone = new_contact(format!("gone@{}", sent.domain)).await;
    let erased = new_contact(format!("erased@{}", sent.domain)).await;
    let campaign = stack.campaign(draft("Lifecycle")).await;
    let scheduled = stack.campaign(draft("Scheduled")).await;
    let deleted = stack.campaign(draft("Deleted")).await;
    let import = owner
        .post(
            &format!("{contacts}/import"),
            &crate::imports_flow::press_import("presse.csv"),
        )
        .await;
    assert_eq!(import.status, 201, "{:?}", import.body);
    let import = import.body["id"].as_str().unwrap().to_owned();
    let later = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();

    // In an order that leaves each call something to act on: reads, writes, then deletions.
    let calls: Vec<(&str, String, Option<Value>)> = vec![
        (
            "GET",
            format!("{a}/campaigns/{}/analytics", id(&sent.campaign_url)),
            None,
        ),
        ("GET", format!("{a}/email/analytics"), None),
        ("GET", format!("{a}/email/analytics/heatmap"), None),
        ("GET", format!("{a}/email/analytics/press"), None),
        ("GET", format!("{a}/audit"), None),
        ("GET", format!("{a}/email/replies"), None),
        (
            "PUT",
            format!("{a}/email/replies/{reply}"),
            Some(json!({ "processed": true })),
        ),
        (
            "POST",
            format!("{a}/email/conversions"),
            Some(
                json!({ "id": "order-1", "kind": "ticket_sale", "value": "10", "currency": "EUR",
                         "click_token": click.rsplit('/').next().unwrap() }),
            ),
        ),
        (
            "POST",
            format!("{contacts}/import"),
            Some(crate::imports_flow::press_import("autre.csv")),
        ),
        ("GET", format!("{contacts}/imports/{import}"), None),
        (
            "POST",
            format!("{contacts}/sync/gmail"),
            Some(crate::sync::request(
                mailing::domain::SyncProvider::Gmail,
                "press",
            )),
        ),
        ("GET", format!("{contacts}?contact_role=press"), None),
        (
            "POST",
            contacts.clone(),
            Some(json!({ "email": format!("new@{}", sent.domain), "contact_role": "press" })),
        ),
        ("GET", format!("{contacts}/{contact}"), None),
        (
            "PUT",
            format!("{contacts}/{contact}"),
            Some(json!({ "company": "Radio Nova" })),
        ),
        ("GET", format!("{contacts}/{contact}/export"), None),
        ("GET", format!("{contacts}/export?contact_role=press"), None),
        ("GET", format!("{contacts}/{contact}/history"), None),
        (
            "POST",
            format!("{contacts}/{contact}/emails"),
            Some(
                json!({ "from_name": "Léa", "from_email": format!("lea@{}", sent.domain),
                         "subject": "Bonjour", "content": "<p>Bonjour</p>" }),
            ),
        ),
        ("GET", format!("{a}/campaigns"), None),
        ("POST", format!("{a}/campaigns"), Some(draft("Created"))),
        ("GET", campaign.clone(), None),
        (
            "PUT",
            campaign.clone(),
            Some(json!({ "subject": "Bonjour !" })),
        ),
        (
            "POST",
            format!("{campaign}/test"),
            Some(json!({ "to": [format!("lea@{}", sent.domain)] })),
        ),
        ("GET", format!("{campaign}/sends"), None),
        (
            "POST",
            format!("{scheduled}/schedule"),
            Some(json!({ "at": later })),
        ),
        ("POST", format!("{campaign}/send"), Some(json!({}))),
        ("POST", format!("{campaign}/pause"), Some(json!({}))),
        ("POST", format!("{campaign}/resume"), Some(json!({}))),
        ("POST", format!("{campaign}/cancel"), Some(json!({}))),
        ("GET", format!("{a}/sender-profile"), None),
        (
            "PUT",
            format!("{a}/sender-profile"),
            Some(
                json!({ "display_name": "Label Nova", "postal_address": "12 rue des Lilas, 75011 Paris" }),
            ),
        ),
        (
            "PUT",
            format!("{a}/signatures/press"),
            Some(json!({ "html": "<p>Léa, Label Nova</p>" })),
        ),
        ("GET", format!("{a}/signatures/press"), None),
        ("DELETE", deleted.clone(), None),
        ("DELETE", format!("{contacts}/{gone}"), None),
        (
            "POST",
            format!("{contacts}/{erased}/erase"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("{contacts}/erase"),
            Some(json!({ "email": format!("someone@{}", sent.domain) })),
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (method, path, body) in &calls {
        let body = body.as_ref().map(Value::to_string);
        let reply = owner.send(method, path, body.as_deref()).await;
        assert!(
            (200..300).contains(&reply.status),
            "{method} {path}: {} {:?}",
            reply.status,
            reply.body
        );
        covered.insert(pattern_of(method, path));
    }
    let every: std::collections::BTreeSet<(String, String)> = functions::routes::ROUTES
        .iter()
        .filter(|route| !route.public && route.path.contains("{artistId}"))
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    let missing: Vec<_> = every.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes never called with the right grant: {missing:?}"
    );
}

fn id(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}
