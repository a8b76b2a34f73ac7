//! Contacts written straight to the tables, fifty to a transaction as imports write them, for
//! request-budget tests and the send benchmark (one at a time, the emulator would copy the
//! table once per contact).

use mailing::App;
use mailing::domain::{
    ArtistId, Contact, ContactFields, ContactId, ContactRole, ContactSource, ContactStatus,
    EmailAddress, UserId,
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
    for chunk in all.chunks(50) {
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
                consent: None,
                engagement: Default::default(),
                created_by: UserId::new("seed"),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            ids.push(contact.id);
            writes.extend(store::contacts::put_new(app, &contact)?);
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
