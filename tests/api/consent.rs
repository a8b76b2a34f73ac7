//! The consent ledger: every basis and withdrawal of a contact, appended by the API, imports
//! and the person's own unsubscribe; and each team's policy on which contacts a campaign may
//! reach, its skips counted and explained.

use serde_json::{Value, json};

use crate::imports_flow::{import_through_s3, press_import};
use crate::support::TestStack;
use crate::tracking::{message_to, send_press_campaign};

async fn history(stack: &TestStack, contact: &str) -> Vec<Value> {
    let export = stack
        .owner()
        .get(&format!("{}/{contact}/export", stack.contacts_url()))
        .await;
    assert_eq!(export.status, 200, "{:?}", export.body);
    export.body["consent_history"].as_array().unwrap().clone()
}

fn changes(entries: &[Value]) -> Vec<(&str, &str)> {
    entries
        .iter()
        .map(|e| {
            (
                e["change"].as_str().unwrap(),
                e["basis"].as_str().unwrap_or("-"),
            )
        })
        .collect()
}

/// The one-click unsubscribe of the newest message to `address`, as a mail client posts it.
async fn unsubscribe(stack: &TestStack, address: &str) {
    let message = message_to(address).await;
    let header = message.headers.get("List-Unsubscribe").unwrap();
    let start = header.find("/api/email/unsubscribe/").unwrap();
    let end = header[start..].find('>').unwrap();
    let reply = stack
        .raw(
            "POST",
            &header[start..start + end],
            &[("content-type", "application/x-www-form-urlencoded")],
            b"List-Unsubscribe=One-Click",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn every_basis_and_withdrawal_is_appended_to_the_contacts_ledger_by_whoever_made_it() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let domain = stack.new_sending_domain("consent").await;
    let email = format!("camille@radio-{domain}");
    let id = owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": email, "contact_role": "press",
                    "consent": { "basis": "legitimate_interest", "source": "salon MaMA 2026", "wording_version": "presse-v1" } }),
        )
        .await;
    let url = format!("{}/{id}", stack.contacts_url());
    let updated = owner
        .put(
            &url,
            &json!({ "consent": { "basis": "consent", "source": "formulaire presse",
                                  "proof": { "ip": "192.0.2.7", "at": "2026-11-30T10:00:00Z" },
                                  "wording_version": "presse-v2" } }),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["consent"]["wording_version"], "presse-v2");
    // Editing anything else adds nothing.
    owner.put(&url, &json!({ "company": "Radio Nova" })).await;
    // An import adds its basis to the contacts it creates, not to those that have one.
    let file = format!("email,first_name\n{email},Camille\nnoe@radio-{domain},Noé\n");
    let job = import_through_s3(&stack, press_import("presse.csv"), file.into_bytes()).await;
    assert_eq!(job["report"]["created"], 1, "{job}");
    send_press_campaign(&stack, &domain).await;
    unsubscribe(&stack, &email).await;
    stack.drain_queues().await;

    let entries = history(&stack, &id).await;
    assert_eq!(
        changes(&entries),
        [
            ("given", "legitimate_interest"),
            ("given", "consent"),
            ("withdrawn", "-")
        ],
        "{entries:#?}"
    );
    assert_eq!(entries[0]["wording_version"], "presse-v1");
    assert_eq!(entries[0]["recorded_by"], "user-test");
    assert_eq!(entries[1]["proof"]["ip"], "192.0.2.7");
    assert_eq!(entries[2]["recorded_by"], "recipient");
    assert!(
        entries[2]["source"]
            .as_str()
            .unwrap()
            .contains("unsubscribed"),
        "{entries:#?}"
    );
    // The person's unsubscribe replayed (the event's own pass) appends nothing more.
    assert_eq!(history(&stack, &id).await, entries, "never rewritten");
    // The opt-out went on the suppression list once, with its audit record, by the service.
    let suppressed = owner
        .get(&format!(
            "/api/artists/{}/audit?action=address.suppressed",
            stack.artist
        ))
        .await;
    let records = suppressed.body["items"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["actor"], "artisthub-mailing");
    assert_eq!(
        records[0]["values"],
        json!([{ "field": "reason", "before": null, "after": "team_unsubscribe" }])
    );
    assert!(!suppressed.body.to_string().contains(&email));

    let listed = owner
        .get(&format!(
            "{}?contact_role=press&limit=200",
            stack.contacts_url()
        ))
        .await;
    let noe = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == format!("noe@radio-{domain}"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let imported = history(&stack, &noe).await;
    assert_eq!(changes(&imported), [("given", "legitimate_interest")]);
    assert_eq!(imported[0]["source"], "fichier presse automne");

    // An objection recorded by hand is a withdrawal too.
    let tour = owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": format!("booker@{domain}"), "contact_role": "tour" }),
        )
        .await;
    owner
        .put(
            &format!("{}/{tour}", stack.contacts_url()),
            &json!({ "status": "unsubscribed" }),
        )
        .await;
    let objected = history(&stack, &tour).await;
    assert_eq!(changes(&objected), [("withdrawn", "-")]);
    assert_eq!(objected[0]["recorded_by"], "user-test");
}

#[tokio::test]
async fn marketing_reaches_only_contacts_who_consented_and_a_team_can_require_a_basis() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let profile = stack.sender_profile().await;
    assert_eq!(profile.status, 200, "{:?}", profile.body);
    let domain = stack.new_sending_domain("policy").await;
    let people = [
        (
            "fan-consent",
            json!({ "basis": "consent", "source": "newsletter" }),
        ),
        (
            "fan-contract",
            json!({ "basis": "contract", "source": "billetterie" }),
        ),
        (
            "fan-interest",
            json!({ "basis": "legitimate_interest", "source": "salon" }),
        ),
        ("fan-none", Value::Null),
    ];
    for role in ["marketing", "press"] {
        for (name, consent) in &people {
            let mut body =
                json!({ "email": format!("{name}.{role}@{domain}"), "contact_role": role });
            if !consent.is_null() {
                body["consent"] = consent.clone();
            }
            owner.create_contact(&stack.contacts_url(), body).await;
        }
    }
    let send = |role: &'static str| {
        let owner = stack.owner();
        let domain = domain.clone();
        let artist = stack.artist;
        async move {
            let created = owner
                .post(
                    &format!("/api/artists/{artist}/campaigns"),
                    &json!({ "contact_role": role, "name": "Tournée", "subject": "La tournée",
                             "content": "<p>Bonjour</p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p>",
                             "from_name": "Lou", "from_email": format!("news@{domain}") }),
                )
                .await;
            assert_eq!(created.status, 201, "{:?}", created.body);
            let url = format!(
                "/api/artists/{artist}/campaigns/{}",
                created.body["id"].as_str().unwrap()
            );
            let started = owner.post(&format!("{url}/send"), &json!({})).await;
            (url, started)
        }
    };

    // Marketing, by default: consent only.
    let (marketing, started) = send("marketing").await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    stack.drain_sending().await;
    stack.drain_sending().await;
    let campaign = owner.get(&marketing).await.body;
    assert_eq!(campaign["status"], "sent", "{campaign}");
    assert_eq!(campaign["recipient_count"], 1, "{campaign}");
    assert_eq!(campaign["skipped_no_basis"], 3, "{campaign}");
    assert_eq!(
        campaign["frozen"]["consent_policy"], "consent",
        "{campaign}"
    );
    let sends = owner.get(&format!("{marketing}/sends?limit=50")).await.body;
    let statuses: Vec<(String, String)> = sends["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["email"]
                    .as_str()
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap()
                    .to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(statuses.len(), 4, "{statuses:?}");
    for (name, status) in &statuses {
        assert_eq!(status == "skipped", name != "fan-consent", "{statuses:?}");
    }
    // A replayed dispatch counts nobody twice.
    crate::ab_tests::replay_dispatch(&stack, crate::ab_tests::id_of(&marketing), false).await;
    assert_eq!(owner.get(&marketing).await.body["skipped_no_basis"], 3);

    // Press needs nothing by default; the artist asks it for a recorded basis of any kind.
    let mut body = crate::support::profile_body(&profile.body);
    body["consent_policies"] = json!({ "press": "any_basis" });
    let changed = owner
        .put(
            &format!("/api/artists/{}/sender-profile", stack.artist),
            &body,
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["consent_policies"]["press"], "any_basis");
    let (press, started) = send("press").await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    stack.drain_sending().await;
    stack.drain_sending().await;
    let campaign = owner.get(&press).await.body;
    assert_eq!(campaign["recipient_count"], 3, "{campaign}");
    assert_eq!(campaign["skipped_no_basis"], 1, "{campaign}");

    // Nobody the policy allows: refused at start, with the reason.
    body["consent_policies"] = json!({ "tour": "consent" });
    owner
        .put(
            &format!("/api/artists/{}/sender-profile", stack.artist),
            &body,
        )
        .await;
    owner
        .create_contact(
            &stack.contacts_url(),
            json!({ "email": format!("booker@{domain}"), "contact_role": "tour" }),
        )
        .await;
    let (_, refused) = send("tour").await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.error_code(), "no_recipients");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("consent"),
        "{:?}",
        refused.body
    );

    for (policies, field) in [
        (json!({ "roadies": "consent" }), "consent_policies.roadies"),
        (json!({ "press": "maybe" }), "consent_policies.press"),
    ] {
        body["consent_policies"] = policies;
        let bad = owner
            .put(
                &format!("/api/artists/{}/sender-profile", stack.artist),
                &body,
            )
            .await;
        assert_eq!(bad.status, 422, "{:?}", bad.body);
        assert_eq!(bad.invalid_fields(), [field]);
    }
}
