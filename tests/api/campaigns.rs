//! Campaign drafts through the gateway: creating, reading, listing, editing, deleting.

use chrono::{Duration, Utc};
use mailing::domain::{CampaignId, CampaignStatus};
use serde_json::{Value, json};

use crate::support::TestStack;

const PRESS_FR: &str = "0193a6f0-0000-7000-8000-000000000201";
const FINANCE_FR: &str = "0193a6f0-0000-7000-8000-000000000501";

fn campaigns_url(stack: &TestStack) -> String {
    format!("/api/artists/{}/campaigns", stack.artist)
}

fn press_campaign(name: &str) -> Value {
    json!({
        "contact_role": "press",
        "name": name,
        "template_id": PRESS_FR,
        "recipients": {
            "tags_any": ["Radio", "presse-ecrite"],
            "conditions": [{ "field": "metadata.country", "op": "in", "value": ["FR", "BE"] }]
        },
        "from_name": "Léa Martin",
        "from_email": "lea@label.example",
    })
}

async fn create(stack: &TestStack, role_scope: &str, body: &Value) -> Value {
    let reply = stack
        .team(role_scope)
        .post(&campaigns_url(stack), body)
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    reply.body
}

/// Puts a campaign in `status` as sending and scheduling will (they are not endpoints yet).
async fn force_status(
    stack: &TestStack,
    id: &str,
    status: CampaignStatus,
    at: Option<chrono::DateTime<Utc>>,
) {
    let app = stack.app();
    let id: CampaignId = id.parse().unwrap();
    let mut campaign = mailing::store::campaigns::get(app, stack.artist, id)
        .await
        .unwrap()
        .unwrap();
    let version = campaign.version;
    campaign.status = status;
    campaign.scheduled_at = at;
    campaign.version += 1;
    let write = mailing::store::campaigns::put_existing(app, &campaign, version).unwrap();
    assert_eq!(
        mailing::store::transact(app, vec![write]).await.unwrap(),
        mailing::store::TransactOutcome::Written
    );
}

#[tokio::test]
async fn a_press_officer_drafts_a_campaign_from_the_communique_and_finds_it_again() {
    let stack = TestStack::new().await;
    let created = create(&stack, "press", &press_campaign("Soliloquy")).await;
    assert_eq!(created["status"], "draft");
    assert_eq!(created["template_id"], PRESS_FR);
    assert_eq!(
        created["recipients"]["tags_any"],
        json!(["radio", "presse-ecrite"]),
        "tags are normalized"
    );
    assert_eq!(created["from_email"], "lea@label.example");
    assert_eq!(created["track_opens"], true);
    assert_eq!(created["recipient_count"], 0);
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().unwrap();

    let read = stack
        .team("press")
        .get(&format!("{}/{id}", campaigns_url(&stack)))
        .await;
    assert_eq!(read.status, 200);
    let mut read = read.body;
    let engagement = read.as_object_mut().unwrap().remove("engagement").unwrap();
    assert_eq!(
        read, created,
        "the campaign as created, with its engagement beside it"
    );
    let mut counters = engagement.as_object().unwrap().clone();
    assert_eq!(counters.remove("links"), Some(json!([])), "no link clicked");
    assert_eq!(counters.remove("revenue"), Some(json!([])), "nothing sold");
    assert!(counters.values().all(|n| n == 0), "{engagement}");

    let second = create(&stack, "press", &press_campaign("Relance")).await;
    let listing = stack
        .team("press")
        .get(&format!("{}?status=draft", campaigns_url(&stack)))
        .await;
    let ids: Vec<&str> = listing.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second["id"].as_str().unwrap(), id], "newest first");
    let none = stack
        .team("press")
        .get(&format!("{}?status=sending", campaigns_url(&stack)))
        .await;
    assert_eq!(none.body["items"], json!([]));
}

#[tokio::test]
async fn campaign_lists_page_with_a_cursor_bound_to_their_listing() {
    let stack = TestStack::new().await;
    for i in 0..3 {
        create(&stack, "press", &press_campaign(&format!("C{i}"))).await;
    }
    let owner = stack.owner();
    let url = campaigns_url(&stack);
    let first = owner.get(&format!("{url}?limit=2")).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = owner.get(&format!("{url}?limit=2&cursor={cursor}")).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let replayed = owner
        .get(&format!("{url}?limit=2&status=draft&cursor={cursor}"))
        .await;
    assert_eq!(replayed.status, 400);
    assert_eq!(replayed.error_code(), "invalid_cursor");
    let bad = owner.get(&format!("{url}?status=finished")).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_campaign_needs_its_team_template_or_its_own_content_and_valid_fields() {
    let stack = TestStack::new().await;
    let url = campaigns_url(&stack);
    let owner = stack.owner();
    for (change, field) in [
        (json!({ "template_id": FINANCE_FR }), "template_id"),
        (
            json!({ "template_id": "0193a6f0-0000-7000-8000-00000000ffff" }),
            "template_id",
        ),
        (json!({ "template_id": null }), "subject"),
        (
            json!({ "template_id": null, "subject": "Bonjour" }),
            "content",
        ),
        (json!({ "content": "<p>x</p>" }), "content"),
        (json!({ "from_email": "not-an-address" }), "from_email"),
        (json!({ "from_name": " " }), "from_name"),
        (json!({ "contact_role": "booking" }), "contact_role"),
        (
            json!({ "recipients": { "conditions": [{ "field": "email", "op": "eq", "value": "x" }] } }),
            "recipients.conditions[0]",
        ),
        (
            json!({ "recipients": { "conditions": [{ "field": "company", "op": "exists", "value": "x" }] } }),
            "recipients.conditions[0]",
        ),
        (
            json!({ "recipients": { "tags_all": ["x".repeat(80)] } }),
            "recipients.tags_all",
        ),
        (json!({ "status": "sending" }), "status"),
    ] {
        let mut body = press_campaign("C");
        for (key, value) in change.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        let reply = owner.post(&url, &body).await;
        assert_eq!(reply.status, 422, "{change}: {:?}", reply.body);
        assert_eq!(
            reply.body["error"]["details"]["fields"][0]["field"], field,
            "{change}: {:?}",
            reply.body
        );
    }
    let mut own = press_campaign("Own content");
    own.as_object_mut().unwrap().remove("template_id");
    own["subject"] = json!("Bonjour {{ contact.first_name }}");
    own["content"] = json!("<p>{{ contact.surnom }}</p>");
    let refused = owner.post(&url, &own).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error_code(), "template_invalid");
    own["content"] = json!("<p>Bonjour {{ contact.first_name }}</p>");
    assert_eq!(owner.post(&url, &own).await.status, 201);
}

#[tokio::test]
async fn drafts_are_edited_and_campaigns_with_sends_are_neither_edited_nor_deleted() {
    let stack = TestStack::new().await;
    let url = campaigns_url(&stack);
    let press = stack.team("press");
    let created = create(&stack, "press", &press_campaign("Soliloquy")).await;
    let id = created["id"].as_str().unwrap();
    let edited = press
        .put(&format!("{url}/{id}"), &json!({ "name": "Soliloquy — presse", "subject": "Communiqué : {{ artist.name }}", "track_opens": false }))
        .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(edited.body["subject"], "Communiqué : {{ artist.name }}");
    assert_eq!(edited.body["track_opens"], false);
    assert_eq!(edited.body["version"], 2);
    let partial_sender = press
        .put(
            &format!("{url}/{id}"),
            &json!({ "from_email": "x@label.example" }),
        )
        .await;
    assert_eq!(partial_sender.status, 422);

    force_status(&stack, id, CampaignStatus::Sending, None).await;
    let refused = press
        .put(&format!("{url}/{id}"), &json!({ "name": "x" }))
        .await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.error_code(), "campaign_not_editable");
    assert_eq!(refused.body["error"]["details"]["status"], "sending");
    let kept = press.delete(&format!("{url}/{id}")).await;
    assert_eq!(kept.status, 409);
    assert_eq!(kept.error_code(), "campaign_not_deletable");

    let draft = create(&stack, "press", &press_campaign("Brouillon")).await;
    let draft_id = draft["id"].as_str().unwrap();
    assert_eq!(press.delete(&format!("{url}/{draft_id}")).await.status, 204);
    assert_eq!(press.get(&format!("{url}/{draft_id}")).await.status, 404);
    let trail = mailing::store::audit::for_target(stack.app(), &format!("campaign#{id}"), 10)
        .await
        .unwrap();
    assert_eq!(trail.len(), 2, "created and updated");
}

#[tokio::test]
async fn callers_without_the_team_grant_neither_see_nor_change_campaigns() {
    let stack = TestStack::new().await;
    let url = campaigns_url(&stack);
    let mut finance_body = press_campaign("Relance factures");
    finance_body["contact_role"] = json!("finance");
    finance_body["template_id"] = json!(FINANCE_FR);
    let finance = create(&stack, "finance", &finance_body).await;
    let id = finance["id"].as_str().unwrap();
    let press = stack.team("press");
    for reply in [
        press.get(&format!("{url}/{id}")).await,
        press
            .put(&format!("{url}/{id}"), &json!({ "name": "x" }))
            .await,
        press.delete(&format!("{url}/{id}")).await,
    ] {
        assert_eq!(reply.status, 404, "{:?}", reply.body);
    }
    // Every sending action, the same.
    let actions = [
        ("send", json!({})),
        (
            "schedule",
            json!({ "at": (Utc::now() + Duration::days(1)).to_rfc3339() }),
        ),
        ("pause", json!({})),
        ("resume", json!({})),
        ("cancel", json!({})),
        ("test", json!({ "to": ["lea@label.example"] })),
    ];
    for (action, body) in &actions {
        let reply = press.post(&format!("{url}/{id}/{action}"), body).await;
        assert_eq!(reply.status, 404, "{action}: {:?}", reply.body);
    }
    assert_eq!(press.post(&url, &finance_body).await.status, 403);
    assert_eq!(
        press
            .get(&format!("{url}?contact_role=finance"))
            .await
            .status,
        403
    );
    assert_eq!(
        press.get(&url).await.body["items"],
        json!([]),
        "finance's campaign does not leak"
    );
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    for reply in [
        stranger.get(&url).await,
        stranger.post(&url, &press_campaign("x")).await,
        stranger.get(&format!("{url}/{id}")).await,
        stranger
            .put(&format!("{url}/{id}"), &json!({ "name": "x" }))
            .await,
        stranger.delete(&format!("{url}/{id}")).await,
    ] {
        assert_eq!(reply.status, 403, "{:?}", reply.body);
    }
    for (action, body) in &actions {
        let reply = stranger.post(&format!("{url}/{id}/{action}"), body).await;
        assert_eq!(reply.status, 403, "{action}: {:?}", reply.body);
    }
    assert_eq!(
        stack.owner().get(&format!("{url}/{id}")).await.body["version"],
        1
    );
}

#[tokio::test]
async fn only_scheduled_campaigns_due_by_now_are_found_by_the_due_index() {
    let stack = TestStack::new().await;
    let now = Utc::now();
    let mut ids = Vec::new();
    for (name, status, at) in [
        (
            "due",
            CampaignStatus::Scheduled,
            Some(now - Duration::minutes(1)),
        ),
        (
            "later",
            CampaignStatus::Scheduled,
            Some(now + Duration::hours(1)),
        ),
        ("draft", CampaignStatus::Draft, None),
        (
            "sending",
            CampaignStatus::Sending,
            Some(now - Duration::minutes(5)),
        ),
    ] {
        let created = create(&stack, "press", &press_campaign(name)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        if status != CampaignStatus::Draft {
            force_status(&stack, &id, status, at).await;
        }
        ids.push(id);
    }
    let due = mailing::store::campaigns::due(
        stack.app(),
        mailing::store::campaigns::Due::Start,
        now,
        100,
    )
    .await
    .unwrap();
    let mine: Vec<String> = due
        .iter()
        .filter(|c| c.artist_id == stack.artist)
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(mine, [ids[0].clone()]);
}
