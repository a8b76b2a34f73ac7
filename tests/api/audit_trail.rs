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
    let serialized = serde_json::to_string(&records).unwrap();
    assert!(
        !serialized.contains("a@tour.example") && !serialized.contains("Ada"),
        "no personal data in the trail"
    );
}
