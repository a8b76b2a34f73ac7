//! A/B tests end to end: variants assigned by hash at dispatch, each recipient reached once
//! under replays, the test decided by the scheduler on human engagement only, the winner sent
//! to the rest once, and the evidence in the campaign's analytics.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, Utc};
use mailing::ab::assign::{Cohort, cohort};
use mailing::domain::{AbTest, CampaignId, ContactId, ContactRole};
use mailing::sending::{DispatchMessage, decide_due, enqueue_dispatch};
use mailing::tracking::{EmailEvent, EventKind, SendRef, record};
use serde_json::{Value, json};

use crate::support::TestStack;

const PERSON: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15";
const PROXY: &str = "Mozilla/5.0 (compatible; BingPreview/1.0b)";

pub(crate) struct Team {
    pub(crate) domain: String,
    /// (contact id, address), in creation order.
    pub(crate) contacts: Vec<(ContactId, String)>,
}

/// `n` contacts of `role`, and a verified sending domain.
pub(crate) async fn team(stack: &TestStack, role: &str, n: usize) -> Team {
    let domain = format!(
        "ab-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    stack.sending_domain(&domain).await;
    let mut contacts = Vec::new();
    for i in 0..n {
        let email = format!("contact{i}@media-{domain}");
        let id = stack
            .owner()
            .create_contact(
                &stack.contacts_url(),
                json!({ "email": email, "contact_role": role, "first_name": format!("Lou{i}") }),
            )
            .await;
        contacts.push((id.parse().unwrap(), email));
    }
    Team { domain, contacts }
}

pub(crate) fn subjects_test(mode: Value) -> Value {
    let mut test = json!({
        "metric": "unique_opens",
        "variants": [
            { "subject": "A : le nouvel album, {{ contact.first_name }}" },
            { "subject": "B : écoutez-le avant tout le monde", "preheader": "Trois titres inédits" },
            { "subject": "C : la tournée passe par chez vous", "from_name": "Lou, de Label Nova" },
        ],
    });
    test.as_object_mut()
        .unwrap()
        .extend(mode.as_object().unwrap().clone());
    test
}

pub(crate) async fn ab_campaign(
    stack: &TestStack,
    team: &Team,
    role: &str,
    ab_test: Value,
) -> String {
    stack
        .campaign(json!({
            "contact_role": role, "name": "Sortie de l'album",
            "subject": "Le nouvel album",
            "content": "<html><body><p>Bonjour {{ contact.first_name }},</p><p><a href=\"https://label.example/album\">Écouter</a></p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
            "from_name": "Label Nova", "from_email": format!("news@{}", team.domain),
            "ab_test": ab_test,
        }))
        .await
}

pub(crate) fn id_of(url: &str) -> CampaignId {
    url.rsplit('/').next().unwrap().parse().unwrap()
}

/// What the emulated SES accepted from `domain`: per recipient, how many messages and the
/// subject and sender of the newest.
pub(crate) async fn received(domain: &str) -> BTreeMap<String, (usize, String, String)> {
    let accepted = devstack::outbox::accepted(&devstack::outbox::Filter {
        from_domain: Some(domain.to_owned()),
        limit: 100_000,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut found = BTreeMap::new();
    for message in accepted {
        let item = devstack::outbox::OutboxItem::from_accepted(message);
        let entry =
            found
                .entry(item.to[0].clone())
                .or_insert((0, item.subject.clone(), item.from.clone()));
        entry.0 += 1;
    }
    found
}

/// Replays the campaign's dispatch (`rest_only` as given) twice, as SQS may, and lets every
/// queue run.
pub(crate) async fn replay_dispatch(stack: &TestStack, campaign: CampaignId, rest_only: bool) {
    let message = DispatchMessage {
        artist_id: stack.artist,
        campaign_id: campaign,
        after: None,
        rest_only,
        slot: None,
    };
    for _ in 0..2 {
        enqueue_dispatch(stack.app(), &message).await.unwrap();
    }
    stack.drain_queues().await;
    stack.drain_queues().await;
}

async fn test_of(stack: &TestStack, url: &str) -> AbTest {
    let campaign = stack.owner().get(url).await;
    serde_json::from_value(campaign.body["ab_test"].clone()).unwrap()
}

/// Opens recorded through `ses-events`' code path: `human` of every `among` recipients of a
/// variant open an hour after the start, and a proxy opens every message of `proxied` at once.
async fn opens(
    stack: &TestStack,
    campaign: CampaignId,
    role: ContactRole,
    by_variant: &BTreeMap<char, Vec<ContactId>>,
    rates: &[(char, usize, usize)],
    proxied: char,
) {
    let mut events = Vec::new();
    for (variant, human, among) in rates {
        for (i, contact) in by_variant[variant].iter().enumerate() {
            let send = SendRef {
                artist: stack.artist,
                role,
                campaign,
                contact: *contact,
            };
            let open = |agent: &str, minutes| EmailEvent {
                send,
                kind: EventKind::Open {
                    user_agent: Some(agent.into()),
                },
                at: Utc::now() + Duration::minutes(minutes),
                address: None,
            };
            if *variant == proxied {
                events.push(open(PROXY, 0));
            }
            if i % among < *human {
                events.push(open(PERSON, 60));
            }
        }
    }
    for _ in 0..2 {
        for batch in events.chunks(100) {
            record(stack.app(), batch.to_vec()).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_test_then_winner_campaign_sends_the_winner_to_the_rest_and_everyone_exactly_once() {
    let stack = TestStack::new().await;
    let team = team(&stack, "label", 300).await;
    let url = ab_campaign(
        &stack,
        &team,
        "label",
        subjects_test(
            json!({ "mode": "test_then_winner", "test_percent": 50, "test_hours": 4, "fallback": "A" }),
        ),
    )
    .await;
    let campaign = id_of(&url);
    let test = test_of(&stack, &url).await;
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let ends: chrono::DateTime<Utc> = started.body["test_ends_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((ends - Utc::now() - Duration::hours(4)).num_seconds().abs() < 60);
    replay_dispatch(&stack, campaign, false).await;

    // The test: the contacts of the test cohort, once each, with their variant.
    let cohorts: BTreeMap<&str, Cohort> = team
        .contacts
        .iter()
        .map(|(id, email)| (email.as_str(), cohort(campaign, *id, Some(&test))))
        .collect();
    let tested: BTreeSet<&str> = cohorts
        .iter()
        .filter(|(_, c)| matches!(c, Cohort::Test(_)))
        .map(|(email, _)| *email)
        .collect();
    assert!((110..190).contains(&tested.len()), "{}", tested.len());
    let got = received(&team.domain).await;
    assert_eq!(
        got.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        tested
    );
    let mut by_variant: BTreeMap<char, Vec<ContactId>> = BTreeMap::new();
    for (id, email) in &team.contacts {
        if let Cohort::Test(variant) = cohorts[email.as_str()] {
            let (count, subject, from) = &got[email];
            assert_eq!(*count, 1, "{email}");
            assert!(
                subject.starts_with(&format!("{} :", variant.letter())),
                "{subject}"
            );
            assert_eq!(
                from.starts_with("Lou, de Label Nova"),
                variant.letter() == 'C'
            );
            by_variant.entry(variant.letter()).or_default().push(*id);
        }
    }
    let waiting = stack.owner().get(&url).await;
    assert_eq!(waiting.body["status"], "sending", "it waits for the winner");
    assert_eq!(waiting.body["dispatched"], false);

    // B is read by two in three, C by one in five, A by one in ten, though a proxy opens
    // every message of A: machines never count.
    opens(
        &stack,
        campaign,
        ContactRole::Label,
        &by_variant,
        &[('A', 1, 10), ('B', 2, 3), ('C', 1, 5)],
        'A',
    )
    .await;
    assert_eq!(
        decide_due(stack.app(), Utc::now()).await.unwrap(),
        0,
        "not before its end"
    );
    let later = Utc::now() + Duration::hours(5);
    assert_eq!(decide_due(stack.app(), later).await.unwrap(), 1);
    assert_eq!(
        decide_due(stack.app(), later).await.unwrap(),
        0,
        "decided once"
    );
    replay_dispatch(&stack, campaign, true).await;
    replay_dispatch(&stack, campaign, false).await;

    // Everyone once: the test's variant, or B for the rest.
    let got = received(&team.domain).await;
    assert_eq!(got.len(), 300);
    for (email, (count, subject, _)) in &got {
        assert_eq!(*count, 1, "{email}");
        if cohorts[email.as_str()] == Cohort::Rest {
            assert!(subject.starts_with("B :"), "{subject}");
        }
    }
    let sent = stack.owner().get(&url).await;
    assert_eq!(sent.body["status"], "sent", "{:?}", sent.body);
    assert_eq!(sent.body["recipient_count"], 300);
    assert_eq!(sent.body["ab_decision"]["chosen"], "B");

    let analytics = stack.owner().get(&format!("{url}/analytics")).await;
    assert_eq!(analytics.status, 200, "{:?}", analytics.body);
    let ab = &analytics.body["ab_test"];
    assert_eq!(ab["state"], "decided");
    assert_eq!(ab["decision"]["outcome"], "winner");
    assert!(
        ab["decision"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("B is best"),
        "{ab}"
    );
    let evidence = ab["decision"]["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 3);
    assert!(evidence[1]["probability_best"].as_f64().unwrap() > 0.99);
    let a = &ab["variants"][0];
    assert_eq!(
        a["volumes"]["unique_opens"].as_u64().unwrap(),
        by_variant[&'A'].len().div_ceil(10) as u64
    );
    assert_eq!(
        a["volumes"]["machine_opens"].as_u64().unwrap(),
        by_variant[&'A'].len() as u64
    );
    assert_eq!(
        a["volumes"]["delivered"].as_u64().unwrap(),
        by_variant[&'A'].len() as u64
    );
    let rest = cohorts.values().filter(|c| **c == Cohort::Rest).count() as u64;
    assert_eq!(ab["winner_send"]["variant"], "B");
    assert_eq!(ab["winner_send"]["volumes"]["sent"].as_u64().unwrap(), rest);
    assert_eq!(analytics.body["volumes"]["sent"].as_u64().unwrap(), 300);
}

#[tokio::test]
async fn a_split_on_a_small_press_list_reports_the_result_and_forces_nothing() {
    let stack = TestStack::new().await;
    let team = team(&stack, "press", 60).await;
    let url = ab_campaign(
        &stack,
        &team,
        "press",
        subjects_test(json!({ "mode": "split" })),
    )
    .await;
    let campaign = id_of(&url);
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    replay_dispatch(&stack, campaign, false).await;
    let got = received(&team.domain).await;
    assert_eq!(got.len(), 60);
    assert!(got.values().all(|(count, _, _)| *count == 1));
    let subjects: BTreeSet<char> = got
        .values()
        .map(|(_, subject, _)| subject.chars().next().unwrap())
        .collect();
    assert_eq!(subjects, BTreeSet::from(['A', 'B', 'C']));
    let sent = stack.owner().get(&url).await;
    assert_eq!(sent.body["status"], "sent", "nothing waits for a winner");
    assert_eq!(
        decide_due(stack.app(), Utc::now() + Duration::days(8))
            .await
            .unwrap(),
        0
    );
    let analytics = stack.owner().get(&format!("{url}/analytics")).await;
    let ab = &analytics.body["ab_test"];
    assert_eq!(ab["state"], "reported");
    assert!(ab.get("decision").is_none() && ab.get("winner_send").is_none());
    let total: u64 = ab["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["volumes"]["delivered"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 60);
    let probabilities: f64 = ab["assessment"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["probability_best"].as_f64().unwrap())
        .sum();
    assert!((probabilities - 1.0).abs() < 1e-3, "{ab}");
    assert_eq!(
        ab["assessment"]["conclusive"], false,
        "no engagement yet: {ab}"
    );
}

#[tokio::test]
async fn a_test_then_winner_below_its_minimum_audience_is_refused_with_the_suggestion_to_split() {
    let stack = TestStack::new().await;
    let team = team(&stack, "press", 60).await;
    let url = ab_campaign(
        &stack,
        &team,
        "press",
        subjects_test(
            json!({ "mode": "test_then_winner", "test_percent": 50, "test_hours": 2, "fallback": "B" }),
        ),
    )
    .await;
    let refused = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.error_code(), "ab_test_audience_too_small");
    let details = &refused.body["error"]["details"];
    assert_eq!(details["minimum"], 150);
    assert_eq!(details["audience"], 60);
    assert_eq!(details["suggestion"], "split");
    assert!(received(&team.domain).await.is_empty());
    let split = stack
        .owner()
        .put(
            &url,
            &json!({ "ab_test": subjects_test(json!({ "mode": "split" })) }),
        )
        .await;
    assert_eq!(split.status, 200, "{:?}", split.body);
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
}

#[tokio::test]
async fn a_paused_test_is_decided_after_its_resume_at_its_original_end() {
    let stack = TestStack::new().await;
    let team = team(&stack, "label", 160).await;
    let url = ab_campaign(
        &stack,
        &team,
        "label",
        subjects_test(
            json!({ "mode": "test_then_winner", "test_percent": 90, "test_hours": 1, "fallback": "C" }),
        ),
    )
    .await;
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    let ends = started.body["test_ends_at"].clone();
    let paused = stack
        .owner()
        .post(&format!("{url}/pause"), &json!({}))
        .await;
    assert_eq!(paused.status, 200, "{:?}", paused.body);
    let later = Utc::now() + Duration::hours(2);
    assert_eq!(
        decide_due(stack.app(), later).await.unwrap(),
        0,
        "nothing is decided while paused"
    );
    let resumed = stack
        .owner()
        .post(&format!("{url}/resume"), &json!({}))
        .await;
    assert_eq!(resumed.status, 202, "{:?}", resumed.body);
    assert_eq!(
        resumed.body["test_ends_at"], ends,
        "a pause does not move it"
    );
    stack.drain_queues().await;
    assert_eq!(decide_due(stack.app(), later).await.unwrap(), 1);
    stack.drain_queues().await;
    let decided = stack.owner().get(&url).await;
    // Nobody engaged: inconclusive, and the declared fallback went to the rest.
    assert_eq!(decided.body["ab_decision"]["outcome"], "inconclusive");
    assert_eq!(decided.body["ab_decision"]["chosen"], "C");
    assert!(
        decided.body["ab_decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("the fallback C goes to the rest")
    );
    assert_eq!(decided.body["status"], "sent", "{:?}", decided.body);
    let got = received(&team.domain).await;
    assert_eq!(got.len(), 160);
    assert!(got.values().all(|(count, _, _)| *count == 1));
}

#[tokio::test]
async fn ab_tests_that_cannot_run_are_refused_naming_the_field() {
    let stack = TestStack::new().await;
    let team = team(&stack, "press", 1).await;
    let variant = |subject: &str| json!({ "subject": subject });
    for (ab_test, field) in [
        (
            json!({ "mode": "split", "metric": "unique_opens", "variants": [variant("Un")] }),
            "ab_test",
        ),
        (
            json!({ "mode": "split", "metric": "unique_opens", "variants": [variant("Un"), variant("Un")] }),
            "ab_test",
        ),
        (
            json!({ "mode": "split", "metric": "unique_opens", "variants": [variant("1"), variant("2"), variant("3"), variant("4"), variant("5"), variant("6")] }),
            "ab_test",
        ),
        (
            json!({ "mode": "shuffle", "metric": "unique_opens", "variants": [variant("Un"), variant("Deux")] }),
            "ab_test.mode",
        ),
        (
            json!({ "mode": "split", "metric": "revenue", "variants": [variant("Un"), variant("Deux")] }),
            "ab_test.metric",
        ),
        (
            json!({ "mode": "split", "test_hours": 4, "metric": "unique_opens", "variants": [variant("Un"), variant("Deux")] }),
            "ab_test.test_hours",
        ),
        (
            json!({ "mode": "test_then_winner", "test_percent": 50, "test_hours": 4, "metric": "unique_opens", "variants": [variant("Un"), variant("Deux")] }),
            "ab_test.fallback",
        ),
        (
            json!({ "mode": "test_then_winner", "test_percent": 95, "test_hours": 4, "fallback": "A", "metric": "unique_opens", "variants": [variant("Un"), variant("Deux")] }),
            "ab_test",
        ),
        (
            json!({ "mode": "test_then_winner", "test_percent": 50, "test_hours": 4, "fallback": "F", "metric": "unique_opens", "variants": [variant("Un"), variant("Deux")] }),
            "ab_test.fallback",
        ),
        (
            json!({ "mode": "split", "metric": "unique_opens", "variants": [variant("Un"), {}] }),
            "ab_test.variants[1]",
        ),
        (
            json!({ "mode": "split", "metric": "unique_opens", "variants": [variant("Un"), { "preheader": "x".repeat(251) }] }),
            "ab_test.variants[1].preheader",
        ),
    ] {
        let refused = stack
            .owner()
            .post(
                &format!("/api/artists/{}/campaigns", stack.artist),
                &json!({
                    "contact_role": "press", "name": "Test", "subject": "Sujet", "content": "<p>Bonjour</p>",
                    "from_name": "Label", "from_email": format!("news@{}", team.domain),
                    "ab_test": ab_test,
                }),
            )
            .await;
        assert_eq!(refused.status, 422, "{ab_test}: {:?}", refused.body);
        let fields = refused.invalid_fields();
        assert!(fields.contains(&field), "{ab_test}: {fields:?}");
    }
    // A variant whose content does not compile is named.
    let broken = stack
        .owner()
        .post(
            &format!("/api/artists/{}/campaigns", stack.artist),
            &json!({
                "contact_role": "press", "name": "Test", "subject": "Sujet", "content": "<p>Bonjour</p>",
                "from_name": "Label", "from_email": format!("news@{}", team.domain),
                "ab_test": { "mode": "split", "metric": "unique_clicks", "variants": [variant("Un"), { "content": "<p>{{ contact.first_name </p>" }] },
            }),
        )
        .await;
    assert_eq!(broken.status, 422, "{:?}", broken.body);
    assert_eq!(broken.error_code(), "template_invalid");
    assert_eq!(broken.body["error"]["details"]["variant"], "B");
    assert!(
        broken.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("variant B: ")
    );
}
