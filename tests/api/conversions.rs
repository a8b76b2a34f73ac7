//! Conversions the CRM reports: attributed by click token or UTM, once per CRM id, as revenue
//! on the right campaign, variant and team, and refused when they name another artist.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::ab_tests::{id_of, replay_dispatch, subjects_test, team};
use crate::support::TestStack;
use crate::tracking::{link, message_to};

/// A split A/B press campaign to 12 contacts, tagged `single-2027` with a cost of 30 EUR,
/// sent. Answers its URL and, per recipient, (address, variant letter, click token).
async fn sent(stack: &TestStack) -> (String, Vec<(String, char, String)>) {
    let team = team(stack, "press", 12).await;
    let url = stack
        .campaign(json!({
            "contact_role": "press", "name": "Single", "subject": "Le single",
            "content": "<html><body><p>Bonjour {{ contact.first_name }},</p><p><a href=\"https://shop.example/single\">Acheter</a></p><p><a href=\"{{ unsubscribe_url }}\">Se désabonner</a></p></body></html>",
            "from_name": "Label Nova", "from_email": format!("news@{}", team.domain),
            "utm_campaign": "single-2027",
            "cost": { "amount": "30.00", "currency": "EUR" },
            "ab_test": subjects_test(json!({ "mode": "split" })),
        }))
        .await;
    let started = stack.owner().post(&format!("{url}/send"), &json!({})).await;
    assert_eq!(started.status, 202, "{:?}", started.body);
    replay_dispatch(stack, id_of(&url), false).await;
    let mut recipients = Vec::new();
    for (_, address) in &team.contacts {
        let message = message_to(address).await;
        let click = link(&message, "/api/email/track/click/");
        let token = click.rsplit('/').next().unwrap().to_owned();
        let letter = message.subject.chars().next().unwrap();
        recipients.push((address.clone(), letter, token));
    }
    (url, recipients)
}

fn conversions_url(stack: &TestStack) -> String {
    format!("/api/artists/{}/email/conversions", stack.artist)
}

fn ticket(id: &str, value: &str, via: Value) -> Value {
    let mut body = json!({
        "id": id, "kind": "ticket_sale", "value": value, "currency": "EUR",
        "at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    body.as_object_mut()
        .unwrap()
        .extend(via.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn conversions_by_click_token_are_revenue_on_their_campaign_variant_and_team_once_each() {
    let stack = TestStack::new().await;
    let (url, recipients) = sent(&stack).await;
    // Assignment hashes the (random) campaign id: the variant with the most readers (at least
    // 4 of 12 among 3) is `b`, any other variant that got someone is `a`.
    let of = |letter: char| -> Vec<&(String, char, String)> {
        recipients.iter().filter(|r| r.1 == letter).collect()
    };
    let mut letters: Vec<char> = vec!['A', 'B', 'C'];
    letters.sort_by_key(|letter| std::cmp::Reverse(of(*letter).len()));
    let (b, a) = (of(letters[0]), of(letters[1]));
    assert!(b.len() >= 4 && !a.is_empty(), "{recipients:?}");
    let index = |letter: char| (letter as u8 - b'A') as usize;
    let conversions = conversions_url(&stack);
    // Two sales to b's first reader, one to b's second, one to a's first.
    let posted = [
        ("order-1", "49.90", &b[0].2),
        ("order-2", "10", &b[0].2),
        ("order-3", "25.5", &b[1].2),
        ("order-4", "12.00", &a[0].2),
    ];
    let bodies: Vec<Value> = posted
        .iter()
        .map(|(id, value, token)| ticket(id, value, json!({ "click_token": token })))
        .collect();
    for body in &bodies {
        let created = stack.owner().post(&conversions, body).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        assert_eq!(created.body["attribution"]["by"], "click_token");
        assert_eq!(
            created.body["attribution"]["campaign_id"],
            url.rsplit('/').next().unwrap()
        );
    }
    // The CRM retries: the same conversion answers unchanged and counts nothing; the same id
    // with another value is a conflict.
    let again = stack.owner().post(&conversions, &bodies[0]).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(again.body["value"]["minor"], 4990);
    assert_eq!(again.body["attribution"]["variant"], letters[0].to_string());
    let reused = stack
        .owner()
        .post(
            &conversions,
            &ticket("order-1", "99", json!({ "click_token": b[0].2 })),
        )
        .await;
    assert_eq!(reused.status, 409, "{:?}", reused.body);
    assert_eq!(reused.error_code(), "conversion_id_reused");

    let analytics = stack.owner().get(&format!("{url}/analytics")).await;
    assert_eq!(analytics.status, 200, "{:?}", analytics.body);
    let volumes = &analytics.body["volumes"];
    assert_eq!(volumes["conversions"], 4);
    assert_eq!(volumes["converted"], 3, "b's first reader counts once");
    assert_eq!(volumes["revenue"][0]["currency"], "EUR");
    assert_eq!(volumes["revenue"][0]["minor"], 4990 + 1000 + 2550 + 1200);
    assert_eq!(volumes["revenue"][0]["amount"], 97.4);
    let rates = &analytics.body["rates"];
    assert_eq!(rates["conversion_rate"]["numerator"], 3);
    assert_eq!(rates["conversion_rate"]["denominator"], 12);
    assert_eq!(
        rates["revenue_per_1000_delivered"][0]["amount"],
        json!(8116.67)
    );
    let roi = &analytics.body["roi"];
    assert_eq!(roi["cost"]["minor"], 3000);
    assert_eq!(roi["return_on_cost"], json!(2.2467));
    // The bill came after the send: the cost changes on a sent campaign, nothing else does.
    let recosted = stack
        .owner()
        .put(
            &url,
            &json!({ "cost": { "amount": 60, "currency": "EUR" } }),
        )
        .await;
    assert_eq!(recosted.status, 200, "{:?}", recosted.body);
    assert_eq!(recosted.body["status"], "sent");
    assert_eq!(recosted.body["recipient_count"], 12);
    let refused = stack
        .owner()
        .put(
            &url,
            &json!({ "subject": "Autre", "cost": { "amount": 60, "currency": "EUR" } }),
        )
        .await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    let roi = stack.owner().get(&format!("{url}/analytics")).await.body["roi"].clone();
    assert_eq!(roi["return_on_cost"], json!(0.6233), "{roi}");
    let variants = analytics.body["ab_test"]["variants"].as_array().unwrap();
    let (b_variant, a_variant) = (&variants[index(letters[0])], &variants[index(letters[1])]);
    assert_eq!(b_variant["volumes"]["conversions"], 3);
    assert_eq!(b_variant["volumes"]["converted"], 2);
    assert_eq!(b_variant["volumes"]["revenue"][0]["minor"], 8540);
    assert_eq!(a_variant["volumes"]["converted"], 1);
    let team = stack
        .owner()
        .get(&format!(
            "/api/artists/{}/email/analytics/press",
            stack.artist
        ))
        .await;
    assert_eq!(team.status, 200, "{:?}", team.body);
    assert_eq!(
        team.body["teams"][0]["volumes"]["conversions"], 4,
        "{:?}",
        team.body
    );
}

#[tokio::test]
async fn conversions_by_utm_name_the_campaign_and_variant_but_nobody() {
    let stack = TestStack::new().await;
    let (url, _) = sent(&stack).await;
    let created = stack
        .owner()
        .post(
            &conversions_url(&stack),
            &ticket(
                "web-77",
                "35",
                json!({ "utm_campaign": "single-2027", "utm_content": "C" }),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let attribution = &created.body["attribution"];
    assert_eq!(attribution["by"], "utm");
    assert_eq!(attribution["variant"], "C");
    assert_eq!(attribution["campaign_id"], url.rsplit('/').next().unwrap());
    assert!(attribution.get("contact_id").is_none() && attribution.get("send_id").is_none());
    let analytics = stack.owner().get(&format!("{url}/analytics")).await;
    assert_eq!(analytics.body["volumes"]["conversions"], 1);
    assert_eq!(
        analytics.body["volumes"]["converted"], 0,
        "no message is named"
    );
    // A CRM that gives no time: its retry is the same conversion still.
    let untimed = json!({ "id": "stream-1", "kind": "stream", "value": "0.99", "currency": "EUR", "utm_campaign": "single-2027" });
    for expected in [201, 200] {
        let posted = stack.owner().post(&conversions_url(&stack), &untimed).await;
        assert_eq!(posted.status, expected, "{:?}", posted.body);
    }
    let unknown = stack
        .owner()
        .post(
            &conversions_url(&stack),
            &ticket("web-78", "35", json!({ "utm_campaign": "another-one" })),
        )
        .await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.body);
    assert_eq!(unknown.error_code(), "conversion_not_attributable");
}

#[tokio::test]
async fn a_conversion_needs_an_artist_wide_grant_and_cannot_name_another_artists_message() {
    let stack = TestStack::new().await;
    let (_, recipients) = sent(&stack).await;
    let token = &recipients[0].2;
    let body = ticket("order-9", "10", json!({ "click_token": token }));
    let press = stack
        .team("press")
        .post(&conversions_url(&stack), &body)
        .await;
    assert_eq!(press.status, 403, "{:?}", press.body);
    let other = mailing::domain::ArtistId::new();
    let thief = stack
        .caller(&[format!("artist:{other}:*")])
        .post(&format!("/api/artists/{other}/email/conversions"), &body)
        .await;
    assert_eq!(thief.status, 403, "{:?}", thief.body);
    assert!(
        thief.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("another artist")
    );
    let anonymous = stack
        .anonymous()
        .post(&conversions_url(&stack), &body)
        .await;
    assert_eq!(anonymous.status, 401);
    // Long after the message: not its doing.
    let late = stack
        .owner()
        .post(
            &conversions_url(&stack),
            &json!({ "id": "order-10", "kind": "stream", "value": 1, "currency": "EUR",
                     "at": (Utc::now() - Duration::days(40)).to_rfc3339(), "click_token": token }),
        )
        .await;
    assert_eq!(late.status, 422, "{:?}", late.body);
    assert_eq!(late.error_code(), "conversion_not_attributable");
}

#[tokio::test]
async fn conversions_that_say_too_little_or_too_much_are_refused_naming_the_field() {
    let stack = TestStack::new().await;
    let token = "a".repeat(20);
    let future = (Utc::now() + Duration::days(1)).to_rfc3339();
    for (body, field) in [
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": 1, "currency": "EUR" }),
            "click_token",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": 1, "currency": "EUR", "click_token": token, "utm_campaign": "a" }),
            "click_token",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": 1, "currency": "EUR", "click_token": token }),
            "click_token",
        ),
        (
            json!({ "id": "x y", "kind": "ticket_sale", "value": 1, "currency": "EUR", "click_token": token }),
            "id",
        ),
        (
            json!({ "id": "x", "kind": "Ticket Sale", "value": 1, "currency": "EUR", "click_token": token }),
            "kind",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": "9.999", "currency": "EUR", "click_token": token }),
            "value",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": -4, "currency": "EUR", "click_token": token }),
            "value",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": 1, "currency": "euro", "click_token": token }),
            "currency",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": 1, "currency": "EUR", "at": "yesterday", "click_token": token }),
            "at",
        ),
        (
            json!({ "id": "x", "kind": "ticket_sale", "value": 1, "currency": "EUR", "at": future, "utm_campaign": "a" }),
            "at",
        ),
    ] {
        let refused = stack.owner().post(&conversions_url(&stack), &body).await;
        assert_eq!(refused.status, 422, "{body}: {:?}", refused.body);
        let fields = refused.invalid_fields();
        assert!(fields.contains(&field), "{body}: {fields:?}");
    }
}
