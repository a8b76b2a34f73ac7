//! Contacts written straight to the tables, fifty to a transaction as imports write them, for
//! request-budget tests and the send benchmark (one at a time, the emulator would copy the
//! table once per contact).

use mailing::App;
use mailing::domain::{
    ArtistId, Consent, ConsentBasis, ConsentEntry, Contact, ContactFields, ContactId, ContactRole,
    ContactSource, ContactStatus, EmailAddress, UserId,
};
use mailing::store::{self, TransactOutcome};

/// `count` active contacts of `role`, `fan{i}@{domain}`, with first and last names.
pub async fn contacts(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    count: usize,
    domain: &str,
) -> anyhow::Result<Vec<ContactId>> {
    const NAMES: [&str; 8] = [
        "Zoé", "Lucas", "Chloé", "Hugo", "Léa", "Noah", "Inès", "Jules",
    ];
    let now = chrono::Utc::now();
    let mut ids = Vec::with_capacity(count);
    let all: Vec<usize> = (0..count).collect();
    // Contact, guard and consent ledger entry each: 33 to a transaction.
    for chunk in all.chunks(33) {
        let mut writes = Vec::new();
        for &i in chunk {
            let contact = Contact {
                id: ContactId::new(),
                artist_id: artist,
                contact_role: role,
                email: EmailAddress::parse(&format!("fan{i}@{domain}"))
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                fields: ContactFields {
                    first_name: Some(NAMES[i % NAMES.len()].to_owned()),
                    last_name: Some(format!("Martin-{i}")),
                    ..ContactFields::default()
                },
                status: ContactStatus::Active,
                source: ContactSource::Api,
                // People who signed up: marketing's policy lets them in.
                consent: Some(Consent {
                    basis: ConsentBasis::Consent,
                    source: "seeded for the local stack".to_owned(),
                    recorded_at: now,
                    proof: None,
                    wording_version: None,
                }),
                engagement: Default::default(),
                created_by: UserId::new("seed"),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            ids.push(contact.id);
            writes.extend(store::contacts::put_new(app, &contact)?);
            let consent = contact.consent.as_ref().expect("just set");
            let entry = ConsentEntry::given(contact.id, consent, "seed");
            writes.push(store::consent::append(app, artist, &entry)?);
        }
        match store::transact(app, writes).await? {
            TransactOutcome::Written => {}
            TransactOutcome::ConditionFailed(items) => {
                anyhow::bail!("seeding contacts: conditions failed on {items:?}")
            }
        }
    }
    Ok(ids)
}
