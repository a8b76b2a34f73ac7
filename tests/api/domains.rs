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
        created.body["status"], "pending_verification",
        "SES verifies at once locally, but the artist has not proven the domain is theirs"
    );
    let records = created.body["dns_records"].as_array().unwrap();
    let proof = &records[0];
    assert_eq!(proof["type"], "TXT");
    assert_eq!(proof["name"], format!("_artisthub-challenge.{ascii}"));
    assert_eq!(proof["required"], true);
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

    // Verifying before the record is published says what to publish; after, it is verified.
    let verify = format!("{URL}/{ascii}/verify");
    let artist = json!({ "artist_id": stack.artist.to_string() });
    for (caller, why) in [
        (stack.team("press"), "one team of the artist"),
        (
            stack.caller(&[format!("artist:{}:*", mailing::domain::ArtistId::new())]),
            "another artist",
        ),
        (stack.caller(&[]), "no grant"),
    ] {
        assert_eq!(caller.post(&verify, &artist).await.status, 403, "{why}");
    }
    let early = owner.post(&verify, &artist).await;
    assert_eq!(early.status, 422, "{:?}", early.body);
    assert_eq!(early.error_code(), "domain_proof_missing");
    assert_eq!(early.body["error"]["details"]["record"], *proof);
    devstack::dns::publish_txt(
        proof["name"].as_str().unwrap(),
        proof["value"].as_str().unwrap(),
    )
    .await
    .unwrap();
    let proven = owner.post(&verify, &artist).await;
    assert_eq!(proven.status, 200, "{:?}", proven.body);
    assert_eq!(proven.body["status"], "verified");
    assert_eq!(proven.body["ownership"]["method"], "dns");

    // Again, and by a second artist of the same label: the identity is shared, the claims are
    // not. The first artist's record proves nothing for the second.
    assert_eq!(owner.post(URL, &body).await.status, 201);
    let other_artist = mailing::domain::ArtistId::new();
    let other = stack.caller(&[format!("artist:{other_artist}:*")]);
    let claim = json!({ "artist_id": other_artist.to_string(), "domain": ascii });
    let shared = other.post(URL, &claim).await;
    assert_eq!(shared.status, 201);
    assert_eq!(shared.body["status"], "pending_verification");
    assert_ne!(shared.body["dns_records"][0]["value"], proof["value"]);
    let listing = stack
        .team("press")
        .get(&format!("{URL}?artist_id={}", stack.artist))
        .await;
    assert_eq!(listing.status, 200);
    let items = listing.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["domain"], ascii);
    assert_eq!(items[0]["status"], "verified");
    let trail = mailing::store::audit::for_target(stack.app(), &format!("domain#{ascii}"), 10)
        .await
        .unwrap();
    let mine: Vec<_> = trail
        .iter()
        .filter(|r| r.artist_id == stack.artist)
        .map(|r| r.action)
        .collect();
    assert_eq!(
        mine,
        [
            mailing::domain::AuditAction::DomainVerified,
            mailing::domain::AuditAction::DomainRegistered
        ]
    );
}

#[tokio::test]
async fn a_domain_another_artist_verified_cannot_be_sent_from_until_proven_or_approved() {
    let stack = TestStack::new().await;
    // Artist A proves the label's domain and sends from it.
    let domain = unique_domain().to_ascii_lowercase();
    stack.sending_domain(&domain).await;
    // Artist B's marketing team claims it too: pending, whatever SES says.
    let b = mailing::domain::ArtistId::new();
    let b_all = stack.caller(&[format!("artist:{b}:*")]);
    let claimed = b_all
        .post(
            URL,
            &json!({ "artist_id": b.to_string(), "domain": domain }),
        )
        .await;
    assert_eq!(claimed.body["status"], "pending_verification");
    let b_marketing = stack.caller(&[format!("artist:{b}:marketing")]);
    let contacts = format!("/api/artists/{b}/contacts");
    b_marketing
        .create_contact(
            &contacts,
            json!({ "email": format!("fan@fans-{domain}"), "contact_role": "marketing" }),
        )
        .await;
    let created = b_marketing
        .post(
            &format!("/api/artists/{b}/campaigns"),
            &json!({
                "contact_role": "marketing", "name": "Hijack", "subject": "Hello",
                "content": "<p>Hi</p><p><a href=\"{{ unsubscribe_url }}\">stop</a></p><p>{{ artist.postal_address }}</p>",
                "from_name": "CEO", "from_email": format!("ceo@{domain}"),
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let send = format!("/api/artists/{b}/campaigns/{id}/send");
    let refused = b_marketing.post(&send, &json!({})).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert_eq!(refused.error_code(), "sender_domain_unverified");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("_artisthub-challenge"),
        "{:?}",
        refused.body
    );
    // Only an administrator may approve a claim without its DNS proof.
    let verify = format!("{URL}/{domain}/verify");
    let approve = json!({ "artist_id": b.to_string(), "approve": true });
    assert_eq!(b_all.post(&verify, &approve).await.status, 403);
    let admin = stack.caller(&["mailing:admin".to_owned()]);
    let approved = admin.post(&verify, &approve).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    assert_eq!(approved.body["ownership"]["method"], "admin");
    assert_eq!(approved.body["status"], "verified");
    let unknown = admin
        .post(
            &format!("{URL}/unclaimed-{domain}/verify"),
            &json!({ "artist_id": b.to_string() }),
        )
        .await;
    assert_eq!(unknown.status, 404);
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
