use serde_json::json;

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

/// `path` with its parameters filled: this artist, this contact, the press team, a new id for
/// anything else.
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
