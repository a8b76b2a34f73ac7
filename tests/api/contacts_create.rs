use serde_json::json;

use crate::support::TestStack;

#[tokio::test]
async fn creating_a_contact_answers_201_with_the_normalized_contact() {
    let stack = TestStack::new().await;
    let reply = stack
        .owner()
        .post(
            &stack.contacts_url(),
            &json!({
                "email": "  Zoe.Martin@Radio-Nova.example ",
                "contact_role": "press",
                "first_name": " Zoé ",
                "last_name": "Martin",
                "company": "Radio Nova",
                "position": "Programmatrice",
                "phone": "+33 1 23 45 67 89",
                "tags": ["Radio", "VIP", "radio"],
                "metadata": { "city": "Paris", "audience": 120000 },
                "consent": { "basis": "legitimate_interest", "source": "Salon MaMA 2026" }
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let contact = &reply.body;
    assert_eq!(contact["email"], "Zoe.Martin@radio-nova.example");
    assert_eq!(contact["contact_role"], "press");
    assert_eq!(contact["first_name"], "Zoé");
    assert_eq!(contact["tags"], json!(["radio", "vip"]));
    assert_eq!(contact["metadata"]["city"], "Paris");
    assert_eq!(contact["status"], "active");
    assert_eq!(contact["source"], "manual");
    assert_eq!(contact["consent"]["basis"], "legitimate_interest");
    assert_eq!(contact["consent"]["source"], "Salon MaMA 2026");
    assert_eq!(contact["created_by"], "user-test");
    let id: uuid::Uuid = contact["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(id.get_version_num(), 7);

    let read = stack
        .owner()
        .get(&format!("{}/{id}", stack.contacts_url()))
        .await;
    assert_eq!(read.status, 200);
    let mut read = read.body;
    // A contact's own page adds when to write to them.
    let best = read
        .as_object_mut()
        .unwrap()
        .remove("best_send_time")
        .unwrap();
    assert_eq!(best["source"], "campaign", "no history yet: {best}");
    assert_eq!(&read, contact);
}

#[tokio::test]
async fn the_same_address_in_the_same_team_answers_409_with_the_existing_id() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "booking@venue.example", "contact_role": "tour" }),
        )
        .await;
    let again = owner
        .post(
            &url,
            &json!({ "email": "BOOKING@Venue.Example", "contact_role": "tour" }),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.error_code(), "contact_exists");
    assert_eq!(again.body["error"]["details"]["existing_id"], id.as_str());

    let other_team = owner
        .post(
            &url,
            &json!({ "email": "booking@venue.example", "contact_role": "finance" }),
        )
        .await;
    assert_eq!(
        other_team.status, 201,
        "another team may hold the same person"
    );
}

#[tokio::test]
async fn concurrent_creations_of_one_address_make_exactly_one_contact() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let body = json!({ "email": "race@label.example", "contact_role": "label" });
    let replies = futures::future::join_all((0..12).map(|_| owner.post(&url, &body))).await;
    let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "{replies:?}");
    let id = &created[0].body["id"];
    for reply in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(reply.status, 409, "{reply:?}");
        assert_eq!(&reply.body["error"]["details"]["existing_id"], id);
    }
    let listed = owner.get(&format!("{url}?contact_role=label")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_bodies_are_refused_with_a_clear_4xx() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let long = "x".repeat(101);
    let cases: Vec<(&str, String, u16, &str, Option<&str>)> = vec![
        ("empty body", String::new(), 400, "missing_body", None),
        ("broken JSON", r#"{"email": "#.into(), 400, "malformed_json", None),
        ("trailing garbage", r#"{"email":"a@b.example","contact_role":"press"} x"#.into(), 400, "malformed_json", None),
        ("not an object", "[1,2]".into(), 422, "validation_failed", Some("body")),
        ("missing email", r#"{"contact_role":"press"}"#.into(), 422, "validation_failed", Some("email")),
        ("invalid email", r#"{"email":"not-an-address","contact_role":"press"}"#.into(), 422, "validation_failed", Some("email")),
        ("header injection", r#"{"email":"a@b.example\r\nBcc: x@evil.example","contact_role":"press"}"#.into(), 422, "validation_failed", Some("email")),
        ("unknown role", r#"{"email":"a@b.example","contact_role":"booking"}"#.into(), 422, "validation_failed", Some("contact_role")),
        ("wrong type", r#"{"email":"a@b.example","contact_role":"press","tags":"vip"}"#.into(), 422, "validation_failed", Some("tags")),
        ("unknown field", r#"{"email":"a@b.example","contact_role":"press","nickname":"z"}"#.into(), 422, "validation_failed", Some("nickname")),
        ("unknown consent field", r#"{"email":"a@b.example","contact_role":"press","consent":{"basis":"consent","ip":"1"}}"#.into(), 422, "validation_failed", Some("consent.ip")),
        ("name too long", format!(r#"{{"email":"a@b.example","contact_role":"press","first_name":"{long}"}}"#), 422, "validation_failed", Some("first_name")),
        ("line break in a name", r#"{"email":"a@b.example","contact_role":"press","last_name":"a\nb"}"#.into(), 422, "validation_failed", Some("last_name")),
        ("imported source", r#"{"email":"a@b.example","contact_role":"press","source":"imported"}"#.into(), 422, "validation_failed", Some("source")),
        ("unknown consent basis", r#"{"email":"a@b.example","contact_role":"press","consent":{"basis":"vibes"}}"#.into(), 422, "validation_failed", Some("consent.basis")),
        ("too large", format!(r#"{{"email":"a@b.example","contact_role":"press","metadata":{{"x":"{}"}}}}"#, "y".repeat(70_000)), 413, "payload_too_large", None),
        // Found by infra/dev fuzz api: numbers and nesting DynamoDB cannot store were a 500.
        ("a proof number DynamoDB cannot store", r#"{"email":"a@b.example","contact_role":"press","consent":{"basis":"consent","proof":{"n":2.44e161}}}"#.into(), 422, "validation_failed", Some("consent.proof")),
        ("a metadata number DynamoDB cannot store", r#"{"email":"a@b.example","contact_role":"press","metadata":{"n":[1e-200]}}"#.into(), 422, "validation_failed", Some("metadata")),
        ("metadata nested past DynamoDB's depth", format!(r#"{{"email":"a@b.example","contact_role":"press","metadata":{{"n":{}1{}}}}}"#, "[".repeat(40), "]".repeat(40)), 422, "validation_failed", Some("metadata")),
    ];
    for (case, body, status, code, field) in cases {
        let reply = owner.send("POST", &url, Some(&body)).await;
        assert_eq!(reply.status, status, "{case}: {:?}", reply.body);
        assert_eq!(reply.error_code(), code, "{case}");
        assert!(
            !reply.body["error"]["message"].as_str().unwrap().is_empty(),
            "{case}"
        );
        if let Some(field) = field {
            let fields = &reply.body["error"]["details"]["fields"];
            assert!(
                fields
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["field"] == field),
                "{case}: expected an error on {field}, got {fields}"
            );
        }
    }
    let listed = owner.get(&url).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was written");
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let stack = TestStack::new().await;
    let reply = stack
        .owner()
        .post(
            &stack.contacts_url(),
            &json!({ "email": "nope", "contact_role": "nope", "phone": "1".repeat(51), "tags": ["x".repeat(51)] }),
        )
        .await;
    assert_eq!(reply.status, 422);
    let fields: Vec<&str> = reply.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "contact_role", "phone", "tags"]);
}
