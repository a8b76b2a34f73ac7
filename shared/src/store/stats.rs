//! Engagement counters (layout in `store`'s docs). A batch of events adds up its changes per
//! item first and writes each item once, in the transaction that records the events: a
//! campaign opened by thousands in a minute is a few writes, and a replayed batch adds nothing.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::page::{Page, PartitionQuery, of_partition};
use crate::domain::{ArtistId, CampaignId, ContactId, ContactRole};
use crate::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatsKey {
    Campaign(CampaignId),
    /// One link of a campaign, by its id in the messages.
    Link(CampaignId, u16),
    /// An artist's team, one UTC day.
    TeamDay(ArtistId, ContactRole, NaiveDate),
    Contact(ContactId),
}

impl StatsKey {
    fn key(&self) -> HashMap<String, AttributeValue> {
        let (pk, sk) = match self {
            Self::Campaign(campaign) => (format!("CAMPAIGN#{campaign}"), "TOTAL".to_owned()),
            Self::Link(campaign, link) => {
                (format!("CAMPAIGN#{campaign}"), format!("LINK#{link:05}"))
            }
            Self::TeamDay(artist, role, day) => {
                (format!("TEAM#{artist}#{role}"), format!("DAY#{day}"))
            }
            Self::Contact(contact) => (format!("CONTACT#{contact}"), "TOTAL".to_owned()),
        };
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk)),
            ("sk".to_owned(), AttributeValue::S(sk)),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Add(u64),
    /// Start again from this value (a streak broken).
    Set(u64),
    /// A text the item keeps once it has one (the URL a link led to).
    Keep(String),
}

/// Changes to counters, per item and counter name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes(BTreeMap<StatsKey, BTreeMap<&'static str, Change>>);

impl Changes {
    pub fn add(&mut self, key: StatsKey, counter: &'static str, amount: u64) {
        let change = self
            .0
            .entry(key)
            .or_default()
            .entry(counter)
            .or_insert(Change::Add(0));
        match change {
            Change::Add(n) | Change::Set(n) => *n += amount,
            // Texts and counters have names of their own: a text is never counted.
            Change::Keep(_) => {}
        }
    }

    /// Gives the item the text `value` under `name` unless it has one already.
    pub fn keep(&mut self, key: StatsKey, name: &'static str, value: &str) {
        self.0
            .entry(key)
            .or_default()
            .entry(name)
            .or_insert_with(|| Change::Keep(value.to_owned()));
    }

    pub fn reset(&mut self, key: StatsKey, counter: &'static str) {
        self.0
            .entry(key)
            .or_default()
            .insert(counter, Change::Set(0));
    }

    pub fn items(&self) -> usize {
        self.0.len()
    }

    pub fn keys(&self) -> impl Iterator<Item = &StatsKey> {
        self.0.keys()
    }

    pub fn merge(&mut self, other: &Changes) {
        for (key, counters) in &other.0 {
            for (counter, change) in counters {
                match change {
                    Change::Add(n) => self.add(*key, counter, *n),
                    Change::Set(n) => {
                        self.reset(*key, counter);
                        self.add(*key, counter, *n);
                    }
                    Change::Keep(value) => self.keep(*key, counter, value),
                }
            }
        }
    }

    /// One update per item, for the transaction.
    pub fn updates(&self, app: &App) -> Result<Vec<TransactWriteItem>, ApiError> {
        self.0
            .iter()
            .map(|(key, counters)| {
                let mut adds = Vec::new();
                let mut sets = Vec::new();
                let mut update = Update::builder()
                    .table_name(&app.config.stats_table)
                    .set_key(Some(key.key()));
                for (i, (name, change)) in counters.iter().enumerate() {
                    let value = match change {
                        Change::Add(n) => {
                            adds.push(format!("#c{i} :v{i}"));
                            AttributeValue::N(n.to_string())
                        }
                        Change::Set(n) => {
                            sets.push(format!("#c{i} = :v{i}"));
                            AttributeValue::N(n.to_string())
                        }
                        Change::Keep(text) => {
                            sets.push(format!("#c{i} = if_not_exists(#c{i}, :v{i})"));
                            AttributeValue::S(text.clone())
                        }
                    };
                    update = update
                        .expression_attribute_names(format!("#c{i}"), *name)
                        .expression_attribute_values(format!(":v{i}"), value);
                }
                let mut expression = Vec::new();
                if !sets.is_empty() {
                    expression.push(format!("SET {}", sets.join(", ")));
                }
                if !adds.is_empty() {
                    expression.push(format!("ADD {}", adds.join(", ")));
                }
                let update = update
                    .update_expression(expression.join(" "))
                    .build()
                    .map_err(ApiError::internal)?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }
}

/// One link of a campaign's messages, as its clicks counted it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LinkStats {
    /// `LINK#{id}`.
    sk: String,
    /// Where the link led, from its first click (the id is the link's place in the message).
    pub url: Option<String>,
    #[serde(default)]
    pub clicks: u64,
    #[serde(default)]
    pub unique_clicks: u64,
    #[serde(default)]
    pub machine_clicks: u64,
}

impl LinkStats {
    pub fn id(&self) -> Option<u16> {
        self.sk.strip_prefix("LINK#")?.parse().ok()
    }
}

/// The campaign's clicked links, by id: one Query (a message has tens of links, not thousands).
pub async fn links(app: &App, campaign: CampaignId) -> Result<Vec<LinkStats>, ApiError> {
    let mut links = Vec::new();
    let mut after = None;
    loop {
        let page: Page<LinkStats> = of_partition(
            app,
            PartitionQuery {
                table: &app.config.stats_table,
                pk: format!("CAMPAIGN#{campaign}"),
                sk_prefix: "LINK#",
                descending: false,
                limit: 1_000,
                after,
            },
        )
        .await?;
        links.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(links),
        }
    }
}

/// Counter values of one item (absent counters are zero).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(HashMap<String, u64>);

impl Counters {
    pub fn get(&self, name: &str) -> u64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    fn from_item(item: HashMap<String, AttributeValue>) -> Self {
        Self(
            item.into_iter()
                .filter_map(|(name, value)| match value {
                    AttributeValue::N(n) => n.parse().ok().map(|n| (name, n)),
                    _ => None,
                })
                .collect(),
        )
    }
}

/// The counter holding a contact's latest activity (a person's open or click), in Unix
/// milliseconds: a number, so that it only ever moves forward with one conditional write.
pub const LAST_ACTIVITY: &str = "last_activity_ms";

/// Moves `contact`'s latest activity to `at` unless a later one is known already; events of
/// several batches can arrive out of order, and repeating this changes nothing.
pub async fn note_activity(
    app: &App,
    contact: ContactId,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let result = app
        .aws
        .dynamodb
        .update_item()
        .table_name(&app.config.stats_table)
        .set_key(Some(StatsKey::Contact(contact).key()))
        .update_expression("SET #at = :at")
        .condition_expression("attribute_not_exists(#at) OR #at < :at")
        .expression_attribute_names("#at", LAST_ACTIVITY)
        .expression_attribute_values(":at", AttributeValue::N(at.timestamp_millis().to_string()))
        .send()
        .await;
    super::done_unless_failed(result)
}

/// The counters of each of `keys` (strongly consistent), in their order; `keys` holds no
/// repeats (BatchGetItem refuses them).
pub async fn get_many(app: &App, keys: &[StatsKey]) -> Result<Vec<Counters>, ApiError> {
    let wanted: Vec<_> = keys.iter().map(StatsKey::key).collect();
    let items = super::batch::get_many(app, &app.config.stats_table, wanted.clone()).await?;
    let mut by_key: HashMap<(String, String), Counters> = items
        .into_iter()
        .map(|item| {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(s)) => s.clone(),
                _ => String::new(),
            };
            ((text("pk"), text("sk")), Counters::from_item(item))
        })
        .collect();
    Ok(wanted
        .iter()
        .map(|key| {
            let text = |name: &str| match key.get(name) {
                Some(AttributeValue::S(s)) => s.clone(),
                _ => String::new(),
            };
            by_key.remove(&(text("pk"), text("sk"))).unwrap_or_default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_to_one_item_add_up_and_a_reset_starts_the_count_again() {
        let contact = StatsKey::Contact(ContactId::new());
        let mut changes = Changes::default();
        changes.add(contact, "soft_bounce_streak", 1);
        changes.add(contact, "delivered", 1);
        changes.reset(contact, "soft_bounce_streak");
        changes.add(contact, "soft_bounce_streak", 1);
        changes.add(contact, "delivered", 2);
        assert_eq!(changes.items(), 1);
        let counters = &changes.0[&contact];
        assert_eq!(counters["soft_bounce_streak"], Change::Set(1));
        assert_eq!(counters["delivered"], Change::Add(3));
    }

    #[test]
    fn a_kept_text_is_the_first_one_given_however_changes_merge() {
        let link = StatsKey::Link(CampaignId::new(), 0);
        let mut first = Changes::default();
        first.keep(link, "url", "https://label.example/a");
        first.add(link, "clicks", 1);
        let mut second = Changes::default();
        second.keep(link, "url", "https://label.example/b");
        second.add(link, "clicks", 1);
        first.merge(&second);
        let item = &first.0[&link];
        assert_eq!(item["url"], Change::Keep("https://label.example/a".into()));
        assert_eq!(item["clicks"], Change::Add(2));
        assert_eq!(first.items(), 1);
    }
}
