use mailing::domain::{AuditAction, contact_target};
use mailing::store::audit;
use serde_json::json;

use crate::support::TestStack;

#[tokio::test]
async fn every_contact_mutation_leaves_an_audit_record_and_a_refused_one_does_not() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "a@tour.example", "contact_role": "tour" }),
        )
        .await;
    owner
        .put(
            &format!("{url}/{id}"),
            &json!({ "first_name": "Ada", "phone": "+33 6 00 00 00 00" }),
        )
        .await;
    owner
        .put(&format!("{url}/{id}"), &json!({ "first_name": "Ada" }))
        .await;
    owner
        .post(
            &url,
            &json!({ "email": "A@tour.example", "contact_role": "tour" }),
        )
        .await;
    owner.delete(&format!("{url}/{id}")).await;

    let records = audit::for_target(stack.app(), &contact_target(id.parse().unwrap()), 10)
        .await
        .unwrap();
    let actions: Vec<AuditAction> = records.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::ContactDeleted,
            AuditAction::ContactUpdated,
            AuditAction::ContactCreated
        ],
        "newest first; the no-op update and the refused duplicate wrote nothing"
    );
    assert!(
        records
            .iter()
            .all(|r| r.actor.as_str() == "user-test" && r.artist_id == stack.artist)
    );
    assert_eq!(records[1].changed, ["first_name", "phone"]);
    // Each names the API request that made it, one request each.
    let ids: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r.request_id.as_deref().expect("a request id"))
        .collect();
    assert_eq!(ids.len(), 3);
    let serialized = serde_json::to_string(&records).unwrap();
    assert!(
        !serialized.contains("a@tour.example") && !serialized.contains("Ada"),
        "no personal data in the trail"
    );
}

#[tokio::test]
async fn the_audit_trail_lists_a_days_work_newest_first_by_actor_action_target_and_time() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let contacts = stack.contacts_url();
    let started = chrono::Utc::now();
    let kept = owner
        .create_contact(
            &contacts,
            json!({ "email": "kept@label.example", "contact_role": "label" }),
        )
        .await;
    owner
        .put(
            &format!("{contacts}/{kept}"),
            &json!({ "first_name": "Lou" }),
        )
        .await;
    let gone = owner
        .create_contact(
            &contacts,
            json!({ "email": "gone@label.example", "contact_role": "label" }),
        )
        .await;
    owner.delete(&format!("{contacts}/{gone}")).await;
    let trail = format!("/api/artists/{}/audit", stack.artist);

    let all = owner.get(&trail).await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    let actions = |reply: &crate::support::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        actions(&all),
        [
            "contact.deleted",
            "contact.created",
            "contact.updated",
            "contact.created"
        ]
    );
    assert!(
        !all.body.to_string().contains("@label.example"),
        "no address in the trail"
    );
    for (query, expected) in [
        ("action=contact.created", 2),
        (&*format!("target=contact%23{kept}"), 2),
        ("actor=user-test", 4),
        ("actor=someone-else", 0),
        (
            &*format!(
                "from={}",
                (started - chrono::Duration::minutes(1))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            4,
        ),
        (
            &*format!(
                "to={}",
                (started - chrono::Duration::minutes(1))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            0,
        ),
    ] {
        let filtered = owner.get(&format!("{trail}?{query}")).await;
        assert_eq!(filtered.status, 200, "{query}: {:?}", filtered.body);
        assert_eq!(actions(&filtered).len(), expected, "{query}");
    }

    // Two pages of three, then one: nothing twice, nothing missed.
    let first = owner.get(&format!("{trail}?limit=3")).await;
    assert_eq!(actions(&first).len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = owner.get(&format!("{trail}?limit=3&cursor={cursor}")).await;
    assert_eq!(actions(&second), ["contact.created"]);
    assert!(second.body["next_cursor"].is_null());
    let elsewhere = owner
        .get(&format!(
            "{trail}?limit=3&action=contact.created&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        elsewhere.status, 400,
        "a cursor resumes its own listing only: {:?}",
        elsewhere.body
    );

    for (query, field) in [
        ("action=contact.exploded", "action"),
        ("from=yesterday", "from"),
        ("from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "from"),
        ("limit=0", "limit"),
    ] {
        let refused = owner.get(&format!("{trail}?{query}")).await;
        assert!(
            [400, 422].contains(&refused.status),
            "{query}: {:?}",
            refused.body
        );
        assert!(
            refused.body.to_string().contains(field),
            "{query}: {:?}",
            refused.body
        );
    }
    let team = stack.team("label").get(&trail).await;
    assert_eq!(team.status, 403, "{:?}", team.body);
    let other = mailing::domain::ArtistId::new();
    let stranger = stack
        .caller(&[format!("artist:{other}:*")])
        .get(&trail)
        .await;
    assert_eq!(stranger.status, 403);
    assert_eq!(stack.anonymous().get(&trail).await.status, 401);
}

#[tokio::test]
async fn records_keep_the_before_and_after_of_fields_that_name_nobody_and_never_a_persons() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let contacts = stack.contacts_url();
    let id = owner
        .create_contact(
            &contacts,
            json!({ "email": "ines@radio.example", "contact_role": "press", "first_name": "Inès" }),
        )
        .await;
    owner
        .put(
            &format!("{contacts}/{id}"),
            &json!({ "first_name": "Agnès", "status": "unsubscribed" }),
        )
        .await;
    let mut body = crate::support::profile_body(&stack.sender_profile().await.body);
    body["time_zone"] = json!("America/Montreal");
    let changed = owner
        .put(
            &format!("/api/artists/{}/sender-profile", stack.artist),
            &body,
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);

    let campaign = stack
        .campaign(json!({
            "contact_role": "press", "name": "Avant", "subject": "Sujet A",
            "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p>",
            "from_name": "Label Nova", "from_email": "news@label.example",
        }))
        .await;
    let renamed = owner
        .put(&campaign, &json!({ "name": "Après", "subject": "Sujet B" }))
        .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.body);

    let trail = owner
        .get(&format!("/api/artists/{}/audit?limit=50", stack.artist))
        .await;
    assert_eq!(trail.status, 200, "{:?}", trail.body);
    let items = trail.body["items"].as_array().unwrap();
    let of = |action: &str| {
        items
            .iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("{action} in {items:?}"))
            .clone()
    };
    let contact = of("contact.updated");
    assert_eq!(contact["changed"], json!(["first_name", "status"]));
    assert_eq!(
        contact["values"],
        json!([{ "field": "status", "before": "active", "after": "unsubscribed" }]),
        "the status, not the name"
    );
    let text = trail.body.to_string();
    assert!(
        !text.contains("Agnès") && !text.contains("Inès") && !text.contains("ines@"),
        "{text}"
    );
    assert_eq!(
        of("campaign.updated")["values"],
        json!([
            { "field": "name", "before": "Avant", "after": "Après" },
            { "field": "subject", "before": "Sujet A", "after": "Sujet B" },
        ])
    );
    let profile = of("sender_profile.updated");
    assert_eq!(
        profile["values"],
        json!([{ "field": "time_zone", "before": "Europe/Paris", "after": "America/Montreal" }])
    );
}
