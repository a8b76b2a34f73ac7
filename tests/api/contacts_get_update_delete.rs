use serde_json::json;

use crate::support::TestStack;

#[tokio::test]
async fn unknown_or_malformed_contact_ids_answer_404() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    for id in [
        uuid::Uuid::now_v7().to_string(),
        "not-a-uuid".to_owned(),
        "%00".to_owned(),
    ] {
        for reply in [
            owner.get(&format!("{url}/{id}")).await,
            owner
                .put(&format!("{url}/{id}"), &json!({ "first_name": "x" }))
                .await,
            owner.delete(&format!("{url}/{id}")).await,
        ] {
            assert_eq!(reply.status, 404, "{id}: {:?}", reply.body);
            assert_eq!(reply.error_code(), "not_found");
        }
    }
    let malformed_artist = owner.get("/api/artists/nope/contacts").await;
    assert_eq!(malformed_artist.status, 404);
}

#[tokio::test]
async fn an_update_changes_given_fields_clears_nulls_and_keeps_the_rest() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "a@press.example", "contact_role": "press", "first_name": "Ana", "company": "Le Monde", "tags": ["daily"] }),
        )
        .await;
    let reply = owner
        .put(
            &format!("{url}/{id}"),
            &json!({ "last_name": "Silva", "company": null, "tags": ["Weekly", "culture"] }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["first_name"], "Ana");
    assert_eq!(reply.body["last_name"], "Silva");
    assert_eq!(reply.body["company"], json!(null));
    assert_eq!(reply.body["tags"], json!(["weekly", "culture"]));
    assert_eq!(reply.body["version"], 2);
    let mut read = owner.get(&format!("{url}/{id}")).await.body;
    read.as_object_mut().unwrap().remove("best_send_time");
    assert_eq!(read, reply.body);
}

#[tokio::test]
async fn an_email_change_keeps_addresses_unique_in_the_team() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let first = owner
        .create_contact(
            &url,
            json!({ "email": "one@label.example", "contact_role": "label" }),
        )
        .await;
    let second = owner
        .create_contact(
            &url,
            json!({ "email": "two@label.example", "contact_role": "label" }),
        )
        .await;

    let taken = owner
        .put(
            &format!("{url}/{second}"),
            &json!({ "email": "ONE@label.example" }),
        )
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.error_code(), "contact_exists");
    assert_eq!(
        taken.body["error"]["details"]["existing_id"],
        first.as_str()
    );
    assert_eq!(
        owner.get(&format!("{url}/{second}")).await.body["email"],
        "two@label.example"
    );

    let moved = owner
        .put(
            &format!("{url}/{second}"),
            &json!({ "email": "three@label.example" }),
        )
        .await;
    assert_eq!(moved.status, 200);
    let reused = owner
        .post(
            &url,
            &json!({ "email": "two@label.example", "contact_role": "label" }),
        )
        .await;
    assert_eq!(reused.status, 201, "the old address is free again");
    let clash = owner
        .post(
            &url,
            &json!({ "email": "three@label.example", "contact_role": "label" }),
        )
        .await;
    assert_eq!(clash.status, 409);
    assert_eq!(
        clash.body["error"]["details"]["existing_id"],
        second.as_str()
    );
}

#[tokio::test]
async fn a_case_only_email_change_keeps_the_contact_and_its_address() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "jo@tour.example", "contact_role": "tour" }),
        )
        .await;
    let reply = owner
        .put(
            &format!("{url}/{id}"),
            &json!({ "email": "Jo@tour.example" }),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.body["email"], "Jo@tour.example");
    let again = owner
        .post(
            &url,
            &json!({ "email": "JO@tour.example", "contact_role": "tour" }),
        )
        .await;
    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn nobody_is_resubscribed_by_an_edit() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "fan@mail.example", "contact_role": "marketing" }),
        )
        .await;
    let out = owner
        .put(&format!("{url}/{id}"), &json!({ "status": "unsubscribed" }))
        .await;
    assert_eq!(out.status, 200);
    assert_eq!(out.body["status"], "unsubscribed");
    let back = owner
        .put(&format!("{url}/{id}"), &json!({ "status": "active" }))
        .await;
    assert_eq!(back.status, 422);
    assert_eq!(
        back.body["error"]["details"]["fields"][0]["field"],
        "status"
    );
    let bounced = owner
        .put(&format!("{url}/{id}"), &json!({ "status": "bounced" }))
        .await;
    assert_eq!(bounced.status, 422);
    assert_eq!(
        owner.get(&format!("{url}/{id}")).await.body["status"],
        "unsubscribed"
    );
}

#[tokio::test]
async fn bad_updates_are_refused_and_change_nothing() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "f@finance.example", "contact_role": "finance" }),
        )
        .await;
    let target = format!("{url}/{id}");
    let cases = [
        ("broken JSON", "{".to_owned(), 400),
        ("invalid email", r#"{"email":"f@"}"#.to_owned(), 422),
        ("role change", r#"{"contact_role":"press"}"#.to_owned(), 422),
        ("unknown status", r#"{"status":"gone"}"#.to_owned(), 422),
        ("unknown field", r#"{"id":"x"}"#.to_owned(), 422),
        (
            "metadata not an object",
            r#"{"metadata":[1]}"#.to_owned(),
            422,
        ),
        (
            "phone too long",
            format!(r#"{{"phone":"{}"}}"#, "9".repeat(51)),
            422,
        ),
    ];
    for (case, body, status) in cases {
        let reply = owner.send("PUT", &target, Some(&body)).await;
        assert_eq!(reply.status, status, "{case}: {:?}", reply.body);
    }
    let read = owner.get(&target).await;
    assert_eq!(read.body["version"], 1);
    assert_eq!(read.body["email"], "f@finance.example");

    let same_team = owner
        .put(
            &target,
            &json!({ "contact_role": "finance", "first_name": "Fanny" }),
        )
        .await;
    assert_eq!(
        same_team.status, 200,
        "naming the current team is not a change: {:?}",
        same_team.body
    );
}

#[tokio::test]
async fn deleting_a_contact_answers_204_and_frees_its_address() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "gone@press.example", "contact_role": "press" }),
        )
        .await;
    let deleted = owner.delete(&format!("{url}/{id}")).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, serde_json::Value::Null);
    assert_eq!(owner.get(&format!("{url}/{id}")).await.status, 404);
    assert_eq!(owner.delete(&format!("{url}/{id}")).await.status, 404);
    let again = owner
        .post(
            &url,
            &json!({ "email": "gone@press.example", "contact_role": "press" }),
        )
        .await;
    assert_eq!(again.status, 201);
}
