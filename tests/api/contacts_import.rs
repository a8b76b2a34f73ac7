//! The write side of imports against the emulator: contacts land once, re-imports are
//! idempotent, nobody is resubscribed, consent is kept, and the request budget holds.

use std::io::Cursor;

use mailing::contacts_import::{ImportTarget, Progress, RunEnd, run};
use mailing::domain::{Consent, ConsentBasis, ContactRole, UserId};
use mailing::import::{ImportOptions, ImportReport, RowError};
use serde_json::{Value, json};

use crate::support::{TestStack, repo_root};

fn target(stack: &TestStack, role: ContactRole) -> ImportTarget {
    ImportTarget {
        artist: stack.artist,
        role,
        actor: UserId::new("importer"),
        consent: Consent {
            basis: ConsentBasis::LegitimateInterest,
            source: "import test (equipe-presse.csv)".into(),
            recorded_at: chrono::Utc::now(),
            proof: None,
            wording_version: None,
        },
        dry_run: false,
    }
}

async fn import(
    stack: &TestStack,
    target: &ImportTarget,
    bytes: Vec<u8>,
) -> (ImportReport, Vec<RowError>) {
    let mut progress = Progress::default();
    let input = Box::new(Cursor::new(bytes));
    let end = run(
        stack.app(),
        target,
        input,
        ImportOptions::default(),
        None,
        &mut progress,
    )
    .await
    .expect("the import runs");
    assert_eq!(end, RunEnd::Finished);
    (progress.report, progress.errors)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/fixtures/import").join(name)).unwrap()
}

async fn press_contacts(stack: &TestStack) -> Vec<Value> {
    let reply = stack
        .owner()
        .get(&format!(
            "{}?contact_role=press&limit=200",
            stack.contacts_url()
        ))
        .await;
    reply.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_import_creates_each_contact_once_and_a_reimport_changes_nothing() {
    let stack = TestStack::new().await;
    let target = target(&stack, ContactRole::Press);
    let (report, errors) = import(&stack, &target, fixture("equipe-presse.xlsx")).await;
    assert_eq!(
        (report.rows, report.valid, report.invalid, report.duplicates),
        (6, 4, 2, 1)
    );
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (3, 0, 0)
    );
    assert!(report.compared_with_existing);
    assert_eq!(errors.len(), 2);

    let contacts = press_contacts(&stack).await;
    assert_eq!(contacts.len(), 3);
    let amelie = contacts
        .iter()
        .find(|c| c["email"] == "amelie.durand@ouest-presse.example")
        .unwrap();
    assert_eq!(amelie["first_name"], "Amélie");
    assert_eq!(amelie["source"], "imported");
    assert_eq!(amelie["consent"]["basis"], "legitimate_interest");
    assert_eq!(
        amelie["consent"]["source"],
        "import test (equipe-presse.csv)"
    );
    assert_eq!(amelie["created_by"], "importer");

    let (again, _) = import(&stack, &target, fixture("equipe-presse.csv")).await;
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, 3),
        "the CSV holds the same people"
    );
    assert_eq!(
        press_contacts(&stack).await,
        contacts,
        "nothing changed, not even a version"
    );
}

#[tokio::test]
async fn an_unsubscribed_contact_stays_unsubscribed_and_keeps_its_consent() {
    let stack = TestStack::new().await;
    let owner = stack.owner();
    let url = stack.contacts_url();
    let id = owner
        .create_contact(
            &url,
            json!({ "email": "luc.moreau@radio-bleue.example", "contact_role": "press", "tags": ["historique"],
                    "consent": { "basis": "consent", "source": "signed form 2024" } }),
        )
        .await;
    owner
        .put(&format!("{url}/{id}"), &json!({ "status": "unsubscribed" }))
        .await;

    let (report, _) = import(
        &stack,
        &target(&stack, ContactRole::Press),
        fixture("equipe-presse.csv"),
    )
    .await;
    assert_eq!((report.created, report.updated), (2, 1));
    let luc = owner.get(&format!("{url}/{id}")).await.body;
    assert_eq!(luc["status"], "unsubscribed");
    assert_eq!(
        luc["company"], "Radio Bleue",
        "fields the file carries are updated"
    );
    assert_eq!(
        luc["tags"],
        json!(["historique", "radio"]),
        "tags are added, never removed"
    );
    assert_eq!(luc["consent"]["basis"], "consent");
    assert_eq!(luc["consent"]["source"], "signed form 2024");
    assert_eq!(luc["source"], "manual");
}

#[tokio::test]
async fn another_team_gets_its_own_contacts_from_the_same_file() {
    let stack = TestStack::new().await;
    import(
        &stack,
        &target(&stack, ContactRole::Press),
        fixture("equipe-presse.csv"),
    )
    .await;
    let (tour, _) = import(
        &stack,
        &target(&stack, ContactRole::Tour),
        fixture("equipe-presse.csv"),
    )
    .await;
    assert_eq!(tour.created, 3, "teams keep separate lists");
}

#[tokio::test]
async fn mailchimp_consent_proof_lands_on_the_contact() {
    let stack = TestStack::new().await;
    import(
        &stack,
        &target(&stack, ContactRole::Marketing),
        fixture("mailchimp.csv"),
    )
    .await;
    let reply = stack
        .owner()
        .get(&format!("{}?contact_role=marketing", stack.contacts_url()))
        .await;
    let lea = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["email"] == "fan.one@mail.example")
        .unwrap()
        .clone();
    assert_eq!(lea["consent"]["proof"]["optin_ip"], "203.0.113.7");
    assert_eq!(
        lea["consent"]["proof"]["confirm_time"],
        "2024-03-01 10:02:11"
    );
}

fn generated(rows: usize) -> Vec<u8> {
    let mut csv = String::from("Email,Prénom\n");
    for i in 0..rows {
        csv.push_str(&format!("person{i}@fans.example,P{i}\n"));
    }
    csv.into_bytes()
}

#[tokio::test]
async fn a_fresh_import_stays_within_its_dynamodb_request_budget() {
    let stack = TestStack::new().await;
    let target = target(&stack, ContactRole::Marketing);
    let n: u64 = 250;
    let before = stack.requests.dynamodb();
    let (report, _) = import(&stack, &target, generated(n as usize)).await;
    let fresh = stack.requests.dynamodb() - before;
    assert_eq!(report.created, n);
    // New contacts 33 per transaction (contact, guard and consent ledger entry), guards read
    // and the list's growth counted once per batch of 100 rows, the suppression list 33
    // addresses per request (each checked for everyone, for this artist and for this team:
    // three keys of the 100 a BatchGetItem takes).
    let budget = n.div_ceil(33) + 2 * n.div_ceil(100) + n.div_ceil(33) + 3;
    assert!(
        fresh <= budget,
        "{fresh} requests for {n} new contacts, budget {budget}"
    );

    let before = stack.requests.dynamodb();
    let (again, _) = import(&stack, &target, generated(n as usize)).await;
    let repeat = stack.requests.dynamodb() - before;
    assert_eq!(again.unchanged, n);
    assert!(
        repeat <= n.div_ceil(100) + n.div_ceil(33) + 3,
        "{repeat} requests to find nothing changed"
    );
}

#[tokio::test]
async fn a_paused_import_resumes_from_its_checkpoint_to_the_same_result() {
    let stack = TestStack::new().await;
    let target = target(&stack, ContactRole::Label);
    let mut csv = String::from("email\n");
    for i in 0..340 {
        csv.push_str(&format!("label{i}@distrib.example\n"));
    }
    // Repeats of addresses seen in earlier runs must still count as duplicates.
    csv.push_str("LABEL3@distrib.example\nlabel150@distrib.example\nnot-an-address\n");
    let bytes = csv.into_bytes();

    let mut progress = Progress::default();
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs < 20, "the import does not finish");
        let checkpoint = progress.records_read;
        let already_past = Some(tokio::time::Instant::now());
        let input = Box::new(Cursor::new(bytes.clone()));
        let end = run(
            stack.app(),
            &target,
            input,
            ImportOptions::default(),
            already_past,
            &mut progress,
        )
        .await
        .unwrap();
        match end {
            RunEnd::Paused => assert!(progress.records_read > checkpoint, "each run moves on"),
            RunEnd::Finished => break,
        }
    }
    let Progress { report, errors, .. } = progress;
    assert!(runs >= 4, "each run stopped after one batch: {runs}");
    assert_eq!(
        (report.rows, report.valid, report.invalid, report.duplicates),
        (343, 342, 1, 2)
    );
    assert_eq!(report.created, 340);
    assert_eq!(errors.len(), 1);
    let listed = stack
        .owner()
        .get(&format!(
            "{}?contact_role=label&limit=200",
            stack.contacts_url()
        ))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn a_suppressed_address_is_neither_created_nor_touched() {
    use mailing::domain::EmailAddress;
    use mailing::store::suppression::{SuppressionReason, suppress};
    let stack = TestStack::new().await;
    let complained = EmailAddress::parse("Luc.Moreau@Radio-Bleue.example").unwrap();
    suppress(stack.app(), None, &complained, SuppressionReason::Complaint)
        .await
        .unwrap();
    suppress(
        stack.app(),
        None,
        &complained,
        SuppressionReason::HardBounce,
    )
    .await
    .unwrap();
    let (report, _) = import(
        &stack,
        &target(&stack, ContactRole::Press),
        fixture("equipe-presse.csv"),
    )
    .await;
    assert_eq!((report.created, report.skipped_suppressed), (2, 1));
    let emails: Vec<Value> = press_contacts(&stack)
        .await
        .iter()
        .map(|c| c["email"].clone())
        .collect();
    assert!(
        !emails.contains(&json!("luc.moreau@radio-bleue.example")),
        "{emails:?}"
    );
}
