//! Sending domains: registered with SES for an artist, with the DNS records to publish.

use serde_json::json;

use crate::support::TestStack;

const URL: &str = "/api/email/domains";

fn unique_domain() -> String {
    format!(
        "News.Label-{}.example",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

#[tokio::test]
async fn an_artist_registers_its_label_domain_and_gets_the_dkim_records_to_publish() {
    let stack = TestStack::new().await;
    let domain = unique_domain();
    let owner = stack.owner();
    let body = json!({ "artist_id": stack.artist.to_string(), "domain": domain });
    let created = owner.post(URL, &body).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let ascii = domain.to_ascii_lowercase();
    assert_eq!(created.body["domain"], ascii);
    assert_eq!(
        created.body["status"], "verified",
        "the local stack verifies at once"
    );
    let records = created.body["dns_records"].as_array().unwrap();
    let dkim: Vec<_> = records.iter().filter(|r| r["type"] == "CNAME").collect();
    assert_eq!(dkim.len(), 3);
    for record in &dkim {
        let name = record["name"].as_str().unwrap();
        let token = name.split('.').next().unwrap();
        assert!(name.ends_with(&format!("._domainkey.{ascii}")), "{name}");
        assert_eq!(record["value"], format!("{token}.dkim.amazonses.com"));
        assert_eq!(record["required"], true);
    }
    assert!(
        records
            .iter()
            .any(|r| r["type"] == "TXT" && r["name"] == format!("_dmarc.{ascii}"))
    );

    // Again, and by a second artist of the same label: the identity is shared, the claims are not.
    assert_eq!(owner.post(URL, &body).await.status, 201);
    let other_artist = mailing::domain::ArtistId::new();
    let other = stack.caller(&[format!("artist:{other_artist}:*")]);
    let shared = other
        .post(
            URL,
            &json!({ "artist_id": other_artist.to_string(), "domain": ascii }),
        )
        .await;
    assert_eq!(shared.status, 201);
    let listing = stack
        .team("press")
        .get(&format!("{URL}?artist_id={}", stack.artist))
        .await;
    assert_eq!(listing.status, 200);
    let items = listing.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["domain"], ascii);
    let trail = mailing::store::audit::for_target(stack.app(), &format!("domain#{ascii}"), 10)
        .await
        .unwrap();
    assert_eq!(
        trail.iter().filter(|r| r.artist_id == stack.artist).count(),
        2
    );
}

#[tokio::test]
async fn a_domain_must_be_a_registrable_name_and_the_request_complete() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let artist = stack.artist.to_string();
    for (body, field) in [
        (
            json!({ "artist_id": artist, "domain": "localhost" }),
            "domain",
        ),
        (
            json!({ "artist_id": artist, "domain": "not a domain" }),
            "domain",
        ),
        (
            json!({ "artist_id": artist, "domain": "[192.0.2.1]" }),
            "domain",
        ),
        (json!({ "artist_id": artist, "domain": "" }), "domain"),
        (
            json!({ "artist_id": "x", "domain": "label.example" }),
            "artist_id",
        ),
        (json!({ "domain": "label.example" }), "artist_id"),
        (
            json!({ "artist_id": artist, "domain": "label.example", "dkim": "byo" }),
            "dkim",
        ),
    ] {
        let reply = owner.post(URL, &body).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert_eq!(
            reply.body["error"]["details"]["fields"][0]["field"], field,
            "{body}"
        );
    }
    let no_artist = owner.get(URL).await;
    assert_eq!(no_artist.status, 400);
}

#[tokio::test]
async fn only_a_caller_with_every_team_of_the_artist_registers_its_domains() {
    let stack = TestStack::new().await;
    let body = json!({ "artist_id": stack.artist.to_string(), "domain": unique_domain() });
    let press = stack.team("press");
    let refused = press.post(URL, &body).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    let stranger = stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]);
    assert_eq!(stranger.post(URL, &body).await.status, 403);
    assert_eq!(
        stranger
            .get(&format!("{URL}?artist_id={}", stack.artist))
            .await
            .status,
        403
    );
    assert_eq!(
        stack
            .owner()
            .get(&format!("{URL}?artist_id={}", stack.artist))
            .await
            .body["items"],
        json!([]),
        "nothing was registered"
    );
}
