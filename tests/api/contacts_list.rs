use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{Caller, TestStack};

async fn all_pages(caller: &Caller<'_>, url: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let target = match &cursor {
            Some(c) => format!("{url}&cursor={c}"),
            None => url.to_owned(),
        };
        let reply = caller.get(&target).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        pages += 1;
        items.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (items, pages),
        }
        assert!(pages < 50, "pagination does not end");
    }
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_team_listing_pages_through_every_contact_newest_first_without_repeats() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            owner
                .create_contact(
                    &url,
                    json!({ "email": format!("p{i}@press.example"), "contact_role": "press" }),
                )
                .await,
        );
    }
    owner
        .create_contact(
            &url,
            json!({ "email": "t@tour.example", "contact_role": "tour" }),
        )
        .await;

    let (items, pages) = all_pages(&owner, &format!("{url}?contact_role=press&limit=3")).await;
    assert_eq!(pages, 3);
    created.reverse();
    assert_eq!(ids(&items), created, "newest first, each once");

    let (everything, _) = all_pages(&owner, &format!("{url}?limit=2")).await;
    assert_eq!(
        everything.len(),
        8,
        "without a role, every team the caller may see"
    );
}

#[tokio::test]
async fn filters_by_status_and_tag_hold_across_pages() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let mut vip_active = BTreeSet::new();
    for i in 0..12 {
        let tags = if i % 3 == 0 {
            json!(["VIP"])
        } else {
            json!(["other"])
        };
        let id = owner
            .create_contact(&url, json!({ "email": format!("m{i}@fans.example"), "contact_role": "marketing", "tags": tags }))
            .await;
        if i % 4 == 0 {
            owner
                .put(&format!("{url}/{id}"), &json!({ "status": "unsubscribed" }))
                .await;
        } else if i % 3 == 0 {
            vip_active.insert(id);
        }
    }
    let (items, _) = all_pages(
        &owner,
        &format!("{url}?contact_role=marketing&status=active&tag=vip&limit=1"),
    )
    .await;
    assert_eq!(ids(&items).into_iter().collect::<BTreeSet<_>>(), vip_active);
    let (unsubscribed, _) = all_pages(
        &owner,
        &format!("{url}?contact_role=marketing&status=unsubscribed&limit=2"),
    )
    .await;
    assert_eq!(unsubscribed.len(), 3);
    assert!(unsubscribed.iter().all(|c| c["status"] == "unsubscribed"));
}

#[tokio::test]
async fn a_cursor_cannot_be_replayed_against_another_listing() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    for i in 0..3 {
        owner
            .create_contact(
                &url,
                json!({ "email": format!("c{i}@press.example"), "contact_role": "press" }),
            )
            .await;
    }
    let first = owner
        .get(&format!("{url}?contact_role=press&limit=1"))
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let other_artist = format!("/api/artists/{}/contacts", mailing::domain::ArtistId::new());
    let admin = stack.caller(&["mailing:admin".to_owned()]);
    let replays = [
        owner
            .get(&format!("{url}?contact_role=tour&limit=1&cursor={cursor}"))
            .await,
        owner
            .get(&format!(
                "{url}?contact_role=press&status=active&limit=1&cursor={cursor}"
            ))
            .await,
        owner.get(&format!("{url}?limit=1&cursor={cursor}")).await,
        admin
            .get(&format!(
                "{other_artist}?contact_role=press&limit=1&cursor={cursor}"
            ))
            .await,
        owner
            .get(&format!(
                "{url}?contact_role=press&limit=1&cursor=x{cursor}"
            ))
            .await,
    ];
    for reply in replays {
        assert_eq!(reply.status, 400, "{:?}", reply.body);
        assert_eq!(reply.error_code(), "invalid_cursor");
    }
    let resumed = owner
        .get(&format!("{url}?contact_role=press&limit=5&cursor={cursor}"))
        .await;
    assert_eq!(resumed.status, 200);
    assert_eq!(resumed.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_query_parameters_answer_400_naming_the_parameter() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    for query in [
        "limit=0",
        "limit=201",
        "limit=ten",
        "limit=-1",
        "contact_role=booking",
        "status=gone",
        "tag=%20",
    ] {
        let reply = owner.get(&format!("{url}?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {:?}", reply.body);
        assert_eq!(reply.error_code(), "invalid_query", "{query}");
        let parameter = query.split('=').next().unwrap();
        assert_eq!(reply.body["error"]["details"]["parameter"], parameter);
    }
}
