//! Engagement counters (layout in `store`'s docs). A batch of events adds up its changes per
//! item first and writes each item once, in the transaction that records the events: a
//! campaign opened by thousands in a minute is a few writes, and a replayed batch adds nothing.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::page::{Page, PartitionQuery, of_partition};
use crate::domain::{
    ArtistId, CampaignId, ContactId, ContactRole, Counter, Currency, Money, VariantIndex,
};
use crate::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatsKey {
    Campaign(CampaignId),
    /// One link of a campaign, by its id in the messages.
    Link(CampaignId, u16),
    /// A campaign's counts in one UTC hour (its first three days) or day (after).
    CampaignHour(CampaignId, DateTime<Utc>),
    CampaignDay(CampaignId, NaiveDate),
    /// An artist's team, one UTC day.
    TeamDay(ArtistId, ContactRole, NaiveDate),
    /// An artist's team, one UTC hour (the heatmap's source).
    TeamHour(ArtistId, ContactRole, DateTime<Utc>),
    Contact(ContactId),
    /// A campaign's A/B cohort: one variant's test (or split) sends, or (`None`) the winner's
    /// send to the rest after the test.
    Cohort(CampaignId, Option<VariantIndex>),
}

impl StatsKey {
    fn key(&self) -> HashMap<String, AttributeValue> {
        let (pk, sk) = match self {
            Self::Campaign(campaign) => (campaign_pk(*campaign), "TOTAL".to_owned()),
            Self::Link(campaign, link) => {
                (format!("CAMPAIGN#{campaign}"), format!("LINK#{link:05}"))
            }
            Self::CampaignHour(campaign, hour) => (
                campaign_pk(*campaign),
                format!("HOUR#{}", hour.format(HOUR_FORMAT)),
            ),
            Self::CampaignDay(campaign, day) => (campaign_pk(*campaign), format!("DAY#{day}")),
            Self::TeamDay(artist, role, day) => (team_pk(*artist, *role), format!("DAY#{day}")),
            Self::TeamHour(artist, role, hour) => (
                team_pk(*artist, *role),
                format!("HOUR#{}", hour.format(HOUR_FORMAT)),
            ),
            Self::Contact(contact) => (format!("CONTACT#{contact}"), "TOTAL".to_owned()),
            Self::Cohort(campaign, variant) => (
                campaign_pk(*campaign),
                match variant {
                    Some(variant) => format!("{COHORT_PREFIX}{variant}"),
                    None => format!("{COHORT_PREFIX}REST"),
                },
            ),
        };
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk)),
            ("sk".to_owned(), AttributeValue::S(sk)),
        ])
    }
}

/// How an hour is written in sort keys: sorts as time does.
pub const HOUR_FORMAT: &str = "%Y-%m-%dT%H";

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Add(u64),
    /// Start again from this value (a streak broken).
    Set(u64),
    /// A text the item keeps once it has one (the URL a link led to).
    Keep(String),
    /// Score points (`tracking::score`): a decimal number, added.
    AddPoints(f64),
}

/// Where a contact's item keeps its score points (`tracking::score`).
pub const SCORE_POINTS: &str = "score_points";

/// Changes to counters, per item and counter name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(BTreeMap<StatsKey, BTreeMap<Cow<'static, str>, Change>>);

/// The prefix of a stats item's revenue in one currency (`revenue_EUR`, in minor units).
pub const REVENUE_PREFIX: &str = "revenue_";

impl Changes {
    pub fn add(&mut self, key: StatsKey, counter: Counter, amount: u64) {
        self.add_named(key, counter.name(), amount);
    }

    /// Adds `value` to the item's revenue in its currency.
    pub fn add_revenue(&mut self, key: StatsKey, value: Money) {
        self.add_named(
            key,
            format!("{REVENUE_PREFIX}{}", value.currency),
            value.minor,
        );
    }

    /// Adds to a number of the item that is not one of the [`Counter`]s (an hour of the week's
    /// engagement, a currency's revenue).
    pub fn add_named(&mut self, key: StatsKey, name: impl Into<Cow<'static, str>>, amount: u64) {
        let change = self
            .0
            .entry(key)
            .or_default()
            .entry(name.into())
            .or_insert(Change::Add(0));
        match change {
            Change::Add(n) | Change::Set(n) => *n += amount,
            // Texts, points and counters have names of their own.
            Change::Keep(_) | Change::AddPoints(_) => {}
        }
    }

    /// Adds score points to the item (a contact's).
    pub fn add_points(&mut self, key: StatsKey, points: f64) {
        if let Change::AddPoints(sum) = self
            .0
            .entry(key)
            .or_default()
            .entry(Cow::Borrowed(SCORE_POINTS))
            .or_insert(Change::AddPoints(0.0))
        {
            *sum += points;
        }
    }

    /// Gives the item the text `value` under `name` unless it has one already.
    pub fn keep(&mut self, key: StatsKey, name: impl Into<Cow<'static, str>>, value: &str) {
        self.0
            .entry(key)
            .or_default()
            .entry(name.into())
            .or_insert_with(|| Change::Keep(value.to_owned()));
    }

    pub fn reset(&mut self, key: StatsKey, counter: Counter) {
        self.reset_named(key, counter.name());
    }

    fn reset_named(&mut self, key: StatsKey, name: impl Into<Cow<'static, str>>) {
        self.0
            .entry(key)
            .or_default()
            .insert(name.into(), Change::Set(0));
    }

    /// The counters these changes write, whatever the item.
    pub fn counters(&self) -> impl Iterator<Item = Counter> + '_ {
        self.0
            .values()
            .flat_map(|item| item.keys())
            .filter_map(|name| Counter::ALL.into_iter().find(|c| c.name() == name.as_ref()))
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
                    Change::Add(n) => self.add_named(*key, counter.clone(), *n),
                    Change::Set(n) => {
                        self.reset_named(*key, counter.clone());
                        self.add_named(*key, counter.clone(), *n);
                    }
                    Change::Keep(value) => self.keep(*key, counter.clone(), value),
                    Change::AddPoints(points) => self.add_points(*key, *points),
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
                        Change::AddPoints(points) => {
                            adds.push(format!("#c{i} :v{i}"));
                            // Scientific notation: the sum is large (see `tracking::score`).
                            AttributeValue::N(format!("{points:e}"))
                        }
                    };
                    update = update
                        .expression_attribute_names(format!("#c{i}"), name.as_ref())
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

/// `count` contacts joined a team's list on `day`.
pub fn contacts_created(
    artist: ArtistId,
    role: ContactRole,
    day: NaiveDate,
    count: u64,
) -> Changes {
    let mut changes = Changes::default();
    changes.add(
        StatsKey::TeamDay(artist, role, day),
        Counter::ContactsCreated,
        count,
    );
    changes
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

/// The items of one stats partition whose sort keys run from `from` to `to` (inclusive), in
/// order, with their counters: a campaign's or a team's hours or days. One Query per 1 MB.
pub async fn range(
    app: &App,
    pk: &str,
    (from, to): (&str, &str),
) -> Result<Vec<(String, Counters)>, ApiError> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let output = app
            .aws
            .dynamodb
            .query()
            .table_name(&app.config.stats_table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            .expression_attribute_values(":to", AttributeValue::S(to.to_owned()))
            .set_exclusive_start_key(after)
            .send()
            .await?;
        for item in output.items.unwrap_or_default() {
            let sk = match item.get("sk") {
                Some(AttributeValue::S(sk)) => sk.clone(),
                _ => continue,
            };
            found.push((sk, Counters::from_item(item)));
        }
        match output.last_evaluated_key {
            Some(key) => after = Some(key),
            None => return Ok(found),
        }
    }
}

const COHORT_PREFIX: &str = "COHORT#";

/// A campaign's A/B cohorts with what each counted: its variants' tests, and (`None`) the
/// winner's send. One Query.
pub async fn cohorts(
    app: &App,
    campaign: CampaignId,
) -> Result<Vec<(Option<VariantIndex>, Counters)>, ApiError> {
    let from = COHORT_PREFIX.to_owned();
    let to = format!("{COHORT_PREFIX}~");
    Ok(range(app, &campaign_pk(campaign), (&from, &to))
        .await?
        .into_iter()
        .filter_map(|(sk, counters)| {
            let name = sk.strip_prefix(COHORT_PREFIX)?;
            match name {
                "REST" => Some((None, counters)),
                letter => VariantIndex::parse(letter)
                    .ok()
                    .map(|variant| (Some(variant), counters)),
            }
        })
        .collect())
}

/// The partition key of a campaign's items, and of a team's.
pub fn campaign_pk(campaign: CampaignId) -> String {
    format!("CAMPAIGN#{campaign}")
}

pub fn team_pk(artist: ArtistId, role: ContactRole) -> String {
    format!("TEAM#{artist}#{role}")
}

/// Counter values of one item (absent counters are zero).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters(HashMap<String, f64>);

#[cfg(test)]
thread_local! {
    /// The counters read on this thread: how a test holds every counter written to be read.
    pub static READ: std::cell::RefCell<std::collections::BTreeSet<Counter>> =
        std::cell::RefCell::default();
}

impl Counters {
    pub fn get(&self, counter: Counter) -> u64 {
        #[cfg(test)]
        READ.with(|read| read.borrow_mut().insert(counter));
        self.0.get(counter.name()).map_or(0, |n| *n as u64)
    }

    /// A number the item holds under `name` that is not one of the [`Counter`]s (0 if none).
    pub fn named(&self, name: &str) -> u64 {
        self.0.get(name).map_or(0, |n| *n as u64)
    }

    /// Revenue per currency, in the order of the currencies' codes.
    pub fn revenue(&self) -> Vec<Money> {
        let mut revenue: Vec<Money> = self
            .0
            .iter()
            .filter_map(|(name, minor)| {
                let currency = Currency::parse(name.strip_prefix(REVENUE_PREFIX)?).ok()?;
                Some(Money {
                    minor: *minor as u64,
                    currency,
                })
            })
            .collect();
        revenue.sort_by_key(|money| money.currency);
        revenue
    }

    /// The contact's latest activity, Unix milliseconds (0: none).
    pub fn last_activity_ms(&self) -> u64 {
        self.0.get(LAST_ACTIVITY).map_or(0, |n| *n as u64)
    }

    /// The contact's stored score points (`tracking::score`).
    pub fn score_points(&self) -> f64 {
        self.0.get(SCORE_POINTS).copied().unwrap_or(0.0)
    }

    /// The bucket of its team's score distribution the contact is counted in, if any.
    pub fn score_bucket(&self) -> Option<i64> {
        self.0.get(SCORE_BUCKET).map(|b| *b as i64)
    }

    /// A team's score distribution: contacts per bucket.
    pub fn buckets(&self) -> Vec<(i64, u64)> {
        self.0
            .iter()
            .filter_map(|(name, count)| {
                let bucket = name.strip_prefix(BUCKET_PREFIX)?.parse().ok()?;
                Some((bucket, *count as u64)).filter(|(_, n)| *n > 0)
            })
            .collect()
    }

    /// Counters with these values (tests of readers).
    #[cfg(test)]
    pub fn of_named(values: &[(String, u64)]) -> Self {
        Self(
            values
                .iter()
                .map(|(name, value)| (name.clone(), *value as f64))
                .collect(),
        )
    }

    #[cfg(test)]
    pub fn of(values: &[(Counter, u64)]) -> Self {
        Self(
            values
                .iter()
                .map(|(counter, n)| (counter.name().to_owned(), *n as f64))
                .collect(),
        )
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

/// Where a contact's item says which bucket of its team's distribution counts it.
pub const SCORE_BUCKET: &str = "score_bucket";
/// The team's distribution item counts contacts under `bucket_{n}`.
const BUCKET_PREFIX: &str = "bucket_";

/// A team's score distribution (`TEAM#{artist}#{role}`, `SCORES`).
pub fn scores_key(artist: ArtistId, role: ContactRole) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(team_pk(artist, role))),
        ("sk".to_owned(), AttributeValue::S("SCORES".to_owned())),
    ])
}

/// A contact leaving bucket `from` (none yet) for `to` of its team's score distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketMove {
    pub artist: ArtistId,
    pub role: ContactRole,
    pub contact: ContactId,
    pub from: Option<i64>,
    pub to: i64,
}

/// Contacts a transaction moves at most (one item each, and one per team).
const MOVES_PER_TRANSACTION: usize = 90;

/// Moves contacts between the buckets of their teams' distributions: per transaction, each
/// contact's bucket set on the condition it is still `from`, and each team's histogram changed
/// once by the sum of its moves. A contact another batch moved first is dropped and the rest
/// written again: nobody is counted twice, and a batch costs one transaction, not one per
/// contact.
pub async fn move_buckets(app: &App, moves: &[BucketMove]) -> Result<(), ApiError> {
    for chunk in moves.chunks(MOVES_PER_TRANSACTION) {
        let mut live: Vec<BucketMove> = chunk.to_vec();
        while !live.is_empty() {
            match super::transact(app, bucket_writes(app, &live)?).await? {
                super::TransactOutcome::Written => break,
                super::TransactOutcome::ConditionFailed(failed) => {
                    live = live
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| !failed.contains(i))
                        .map(|(_, m)| m)
                        .collect();
                }
            }
        }
    }
    Ok(())
}

/// The contacts' conditional updates first (their indexes are the moves'), then one update per
/// team.
fn bucket_writes(app: &App, moves: &[BucketMove]) -> Result<Vec<TransactWriteItem>, ApiError> {
    let mut items = Vec::with_capacity(moves.len() + 1);
    let mut teams: BTreeMap<(ArtistId, ContactRole), BTreeMap<i64, i64>> = BTreeMap::new();
    for m in moves {
        let mut mark = Update::builder()
            .table_name(&app.config.stats_table)
            .set_key(Some(StatsKey::Contact(m.contact).key()))
            .update_expression("SET #bucket = :to")
            .expression_attribute_names("#bucket", SCORE_BUCKET)
            .expression_attribute_values(":to", AttributeValue::N(m.to.to_string()));
        mark = match m.from {
            Some(from) => mark
                .condition_expression("#bucket = :from")
                .expression_attribute_values(":from", AttributeValue::N(from.to_string())),
            None => mark.condition_expression("attribute_not_exists(#bucket)"),
        };
        items.push(
            TransactWriteItem::builder()
                .update(mark.build().map_err(ApiError::internal)?)
                .build(),
        );
        let deltas = teams.entry((m.artist, m.role)).or_default();
        *deltas.entry(m.to).or_default() += 1;
        if let Some(from) = m.from {
            *deltas.entry(from).or_default() -= 1;
        }
    }
    for ((artist, role), deltas) in teams {
        let mut update = Update::builder()
            .table_name(&app.config.stats_table)
            .set_key(Some(scores_key(artist, role)));
        let mut adds = Vec::new();
        for (i, (bucket, delta)) in deltas.into_iter().filter(|(_, d)| *d != 0).enumerate() {
            adds.push(format!("#b{i} :d{i}"));
            update = update
                .expression_attribute_names(format!("#b{i}"), format!("{BUCKET_PREFIX}{bucket}"))
                .expression_attribute_values(
                    format!(":d{i}"),
                    AttributeValue::N(delta.to_string()),
                );
        }
        if adds.is_empty() {
            continue;
        }
        let update = update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .build()
            .map_err(ApiError::internal)?;
        items.push(TransactWriteItem::builder().update(update).build());
    }
    Ok(items)
}

/// The score distributions of `roles` of `artist` (one BatchGetItem).
pub async fn distributions(
    app: &App,
    artist: ArtistId,
    roles: &[ContactRole],
) -> Result<Vec<Counters>, ApiError> {
    let keys: Vec<_> = roles.iter().map(|role| scores_key(artist, *role)).collect();
    let items = super::batch::get_many(app, &app.config.stats_table, keys.clone()).await?;
    let mut by_pk: HashMap<String, Counters> = items
        .into_iter()
        .filter_map(|item| match item.get("pk") {
            Some(AttributeValue::S(pk)) => Some((pk.clone(), Counters::from_item(item))),
            _ => None,
        })
        .collect();
    Ok(roles
        .iter()
        .map(|role| by_pk.remove(&team_pk(artist, *role)).unwrap_or_default())
        .collect())
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

/// Deletes the counters that name one person: their contacts' items, and the items of
/// individual emails to them (an erasure). The team's and campaigns' aggregates stay.
pub async fn erase(
    app: &App,
    contacts: &[ContactId],
    individual: &[CampaignId],
) -> Result<usize, ApiError> {
    let table = &app.config.stats_table;
    let partitions: Vec<String> = contacts
        .iter()
        .map(|contact| format!("CONTACT#{contact}"))
        .chain(individual.iter().map(|campaign| campaign_pk(*campaign)))
        .collect();
    super::batch::delete_partitions(app, table, partitions).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_to_one_item_add_up_and_a_reset_starts_the_count_again() {
        let contact = StatsKey::Contact(ContactId::new());
        let mut changes = Changes::default();
        changes.add(contact, Counter::SoftBounceStreak, 1);
        changes.add(contact, Counter::Delivered, 1);
        changes.reset(contact, Counter::SoftBounceStreak);
        changes.add(contact, Counter::SoftBounceStreak, 1);
        changes.add(contact, Counter::Delivered, 2);
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
        first.add(link, Counter::Clicks, 1);
        let mut second = Changes::default();
        second.keep(link, "url", "https://label.example/b");
        second.add(link, Counter::Clicks, 1);
        first.merge(&second);
        let item = &first.0[&link];
        assert_eq!(item["url"], Change::Keep("https://label.example/a".into()));
        assert_eq!(item["clicks"], Change::Add(2));
        assert_eq!(first.items(), 1);
    }
}
