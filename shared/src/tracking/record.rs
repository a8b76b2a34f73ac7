//! Recording a batch of events, exactly once.
//!
//! 1. The sends the events name are read together (BatchGetItem); an event naming no send we
//!    hold is dropped and logged (a message of another system on the same configuration set,
//!    a contact erased since).
//! 2. Opens and clicks are classified, person or machine (`machine`), against what the send's
//!    row said and the batch's earlier events.
//! 3. The effects that are the same however often they run go first: the send's engagement
//!    times, the contact's latest activity, suppression of hard bounces and complaints, the
//!    contact's status. A crash after them loses nothing: the redelivered batch runs them again
//!    to the same result.
//! 4. Then what must happen once: in one transaction per up to a hundred items, each event's
//!    interaction (a conditional put on an id derived from the event: it fails for an event
//!    recorded before), the "first time" marks that make unique counts exact, and every
//!    counter the surviving events change, added up per item. A failed condition drops that
//!    event or mark and the transaction is retried without it; a redelivered batch finds every
//!    interaction written and adds nothing.
//! 5. Then what depends on the counters: contacts with repeated soft bounces are marked
//!    bounced, and campaigns past a guardrail are paused (`guardrails`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use aws_sdk_dynamodb::types::TransactWriteItem;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, json};

use super::event::{BounceType, EmailEvent, EventKind};
use super::machine::{self, Seen};
use super::{guardrails, score, unsubscribe};
use crate::domain::{
    ArtistId, CampaignId, ContactId, ContactStatus, Counter, EmailAddress, Interaction,
    InteractionType, MachineReason, UserId,
};
use crate::domain::{AuditAction, AuditRecord};
use crate::domain::{ConsentEntry, RECIPIENT};
use crate::send_time::HourOfWeek;
use crate::sending::SERVICE_ACTOR;
use crate::store::sends::{self, Send, SendEngagement};
use crate::store::stats::{BucketMove, Changes, StatsKey};
use crate::store::suppression::{self, SuppressionReason};
use crate::store::{self, TransactOutcome, interactions};
use crate::{ApiError, App};

/// A contact whose messages soft-bounced this many times in a row (no delivery between) is
/// marked bounced: the address is most likely gone.
pub const SOFT_BOUNCES_IN_A_ROW: u64 = 3;

/// A campaign's time series counts per hour for this long after its start, then per day.
pub const SERIES_HOURS: i64 = 72;

/// The hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{DurationRound, TimeDelta};
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

/// Engagement times written at once per batch.
const CONCURRENT_WRITES: usize = 8;

/// DynamoDB's limit on items per transaction.
const MAX_ITEMS: usize = 100;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Events recorded now.
    pub new: usize,
    /// Events recorded before (redeliveries, repeats).
    pub duplicates: usize,
    /// Events naming no send we hold.
    pub unattributed: usize,
}

type SendKey = (CampaignId, ContactId);

/// An event with what its send tells about it.
struct Classified {
    event: EmailEvent,
    row: Send,
    machine: Option<MachineReason>,
    /// The clicked link's id in the message.
    link: Option<u16>,
}

pub async fn record(app: &App, mut events: Vec<EmailEvent>) -> Result<Recorded, ApiError> {
    events.sort_by_key(|event| event.at);
    // The same event twice in one batch (SQS handing a message over twice) is one: a
    // transaction may not write an item twice.
    let told = events.len();
    let mut ids = HashSet::new();
    events.retain(|event| ids.insert(event.id()));
    let repeated_in_batch = told - events.len();
    let keys: Vec<SendKey> = events
        .iter()
        .map(|e| (e.send.campaign, e.send.contact))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rows: HashMap<SendKey, Send> = sends::get_many(app, &keys)
        .await?
        .into_iter()
        .map(|row| ((row.campaign_id, row.contact_id), row))
        .collect();
    let mut recorded = Recorded::default();
    let classified = classify(events, &rows, &mut recorded);
    apply_effects(app, &classified).await?;
    let counted = count_once(app, &classified).await?;
    recorded.new = counted.len();
    recorded.duplicates = classified.len() - counted.len() + repeated_in_batch;
    let new: Vec<&Classified> = counted.iter().map(|&i| &classified[i]).collect();
    mark_repeated_soft_bounces(app, &new).await?;
    move_score_buckets(app, &new).await?;
    let watched: BTreeSet<_> = new
        .iter()
        .filter(|c| {
            matches!(
                c.event.kind,
                EventKind::Bounce { .. } | EventKind::Complaint { .. }
            )
        })
        .map(|c| (c.row.artist_id, c.row.campaign_id))
        .collect();
    for (artist, campaign) in watched {
        guardrails::check(app, artist, campaign).await?;
    }
    Ok(recorded)
}

fn classify(
    events: Vec<EmailEvent>,
    rows: &HashMap<SendKey, Send>,
    recorded: &mut Recorded,
) -> Vec<Classified> {
    let mut seen: HashMap<SendKey, Seen> = HashMap::new();
    let mut classified = Vec::with_capacity(events.len());
    for event in events {
        let key = (event.send.campaign, event.send.contact);
        let Some(row) = rows
            .get(&key)
            .filter(|row| row.artist_id == event.send.artist)
        else {
            tracing::warn!(campaign = %event.send.campaign, contact = %event.send.contact, kind = event.kind.name(), "an event for no send we hold");
            recorded.unattributed += 1;
            continue;
        };
        let state = seen.entry(key).or_insert_with(|| Seen {
            arrived_at: row.engagement.delivered_at.or(row.sent_at),
            last_click: row
                .engagement
                .last_click_at
                .zip(row.engagement.last_click_link),
        });
        let (machine, link) = match &event.kind {
            EventKind::Delivery => {
                state.arrived_at = Some(event.at);
                (None, None)
            }
            EventKind::Open { user_agent } => {
                (machine::open(event.at, user_agent.as_deref(), state), None)
            }
            EventKind::Click {
                link,
                url,
                user_agent,
            } => {
                let link = link.or_else(|| {
                    let url = url.as_deref()?;
                    row.links.iter().find(|l| l.url == url).map(|l| l.id)
                });
                let machine = machine::click(event.at, link, user_agent.as_deref(), state);
                if let Some(link) = link {
                    state.last_click = Some((event.at, link));
                }
                (machine, link)
            }
            _ => (None, None),
        };
        classified.push(Classified {
            event,
            row: row.clone(),
            machine,
            link,
        });
    }
    classified
}

/// Step 3: what is the same however often it runs.
async fn apply_effects(app: &App, classified: &[Classified]) -> Result<(), ApiError> {
    let mut engagement: HashMap<SendKey, SendEngagement> = HashMap::new();
    let mut activity: HashMap<ContactId, DateTime<Utc>> = HashMap::new();
    for c in classified {
        let at = Some(c.event.at);
        let person = c.machine.is_none();
        if person
            && matches!(
                c.event.kind,
                EventKind::Open { .. } | EventKind::Click { .. } | EventKind::Reply { .. }
            )
        {
            let latest = activity.entry(c.row.contact_id).or_insert(c.event.at);
            *latest = (*latest).max(c.event.at);
        }
        let first = engagement
            .entry((c.row.campaign_id, c.row.contact_id))
            .or_default();
        match &c.event.kind {
            EventKind::Delivery => first.delivered_at = first.delivered_at.or(at),
            EventKind::Open { .. } if person => first.opened_at = first.opened_at.or(at),
            EventKind::Click { .. } => {
                if person {
                    first.opened_at = first.opened_at.or(at);
                    first.clicked_at = first.clicked_at.or(at);
                }
                if let Some(link) = c.link {
                    first.last_click_at = at;
                    first.last_click_link = Some(link);
                }
            }
            EventKind::Bounce { .. } => first.bounced_at = first.bounced_at.or(at),
            EventKind::Complaint { .. } => first.complained_at = first.complained_at.or(at),
            EventKind::Unsubscribe { .. } => {
                first.unsubscribed_at = first.unsubscribed_at.or(at);
            }
            EventKind::Reply { .. } => first.replied_at = first.replied_at.or(at),
            _ => {}
        }
        match &c.event.kind {
            EventKind::Bounce {
                bounce_type: BounceType::Permanent,
                ..
            } => {
                suppress(app, c, SuppressionReason::HardBounce).await?;
                change_status(
                    app,
                    c.row.artist_id,
                    c.row.contact_id,
                    ContactStatus::Bounced,
                    None,
                )
                .await?;
            }
            EventKind::Complaint { .. } => {
                suppress(app, c, SuppressionReason::Complaint).await?;
                change_status(
                    app,
                    c.row.artist_id,
                    c.row.contact_id,
                    ContactStatus::Unsubscribed,
                    Some("the person marked a message as spam"),
                )
                .await?;
            }
            EventKind::Unsubscribe { scope } => {
                unsubscribe::apply(app, &c.row, *scope).await?;
            }
            _ => {}
        }
    }
    // One write per message, and one per contact a person engaged with, to as many items: a
    // few at a time rather than one after another.
    futures::stream::iter(engagement)
        .map(|((campaign, contact), first)| async move {
            sends::note_engagement(app, campaign, contact, &first).await
        })
        .buffer_unordered(CONCURRENT_WRITES)
        .try_collect::<()>()
        .await?;
    futures::stream::iter(activity)
        .map(|(contact, at)| store::stats::note_activity(app, contact, at))
        .buffer_unordered(CONCURRENT_WRITES)
        .try_collect::<()>()
        .await
}

async fn suppress(app: &App, c: &Classified, reason: SuppressionReason) -> Result<(), ApiError> {
    let service = UserId::new(SERVICE_ACTOR);
    let recorder = Some((c.row.artist_id, &service));
    let address = c.event.address.as_deref().map(EmailAddress::parse);
    match address {
        Some(Ok(address)) => suppression::suppress(app, recorder, &address, reason).await,
        _ => {
            // The contact's own address: the event did not name a usable one.
            match store::contacts::get(app, c.row.artist_id, c.row.contact_id).await? {
                Some(contact) => suppression::suppress(app, recorder, &contact.email, reason).await,
                None => Ok(()),
            }
        }
    }
}

/// Moves an active contact to `to`, with its audit record; a contact no longer active (or
/// gone) is left as it is.
/// Moves an active contact to `to`, with its audit record and, when the person withdrew
/// (`withdrawn` says how), the entry of their consent ledger: all or nothing, once.
pub(super) async fn change_status(
    app: &App,
    artist: ArtistId,
    contact: ContactId,
    to: ContactStatus,
    withdrawn: Option<&str>,
) -> Result<(), ApiError> {
    let now = chrono::Utc::now();
    let update =
        store::contacts::set_status(app, artist, contact, &[ContactStatus::Active], to, now)?;
    let withdrawal = withdrawn
        .map(|how| {
            let entry = ConsentEntry::withdrawn(contact, how, RECIPIENT, now);
            store::consent::append(app, artist, &entry)
        })
        .transpose()?;
    let audit = store::audit::put(
        app,
        AuditRecord::contact(
            artist,
            &UserId::new(SERVICE_ACTOR),
            AuditAction::ContactUpdated,
            contact,
            vec!["status".to_owned()],
            now,
        ),
    )?;
    let writes = [update, audit].into_iter().chain(withdrawal).collect();
    match store::transact(app, writes).await? {
        TransactOutcome::Written => {
            tracing::info!(%artist, %contact, status = to.as_str(), "contact status changed by a delivery event");
        }
        TransactOutcome::ConditionFailed(_) => {}
    }
    Ok(())
}

/// What one event writes once: its interaction, its first-time marks with the counters they
/// carry, and the counters it changes in any case.
struct Plan {
    interaction: Interaction,
    marks: Vec<(String, Changes)>,
    changes: Changes,
}

fn plan(c: &Classified, taken: &mut HashSet<(uuid::Uuid, String)>) -> Plan {
    let row = &c.row;
    let at = c.event.at;
    let campaign = StatsKey::Campaign(row.campaign_id);
    let started = row.sent_at.unwrap_or(row.created_at);
    // The campaign's time series: hours for its first three days, days after.
    let campaign_period = if at < started + chrono::Duration::hours(SERIES_HOURS) {
        StatsKey::CampaignHour(row.campaign_id, hour_of(at))
    } else {
        StatsKey::CampaignDay(row.campaign_id, at.date_naive())
    };
    let team_day = StatsKey::TeamDay(row.artist_id, row.contact_role, at.date_naive());
    let team_hour = StatsKey::TeamHour(row.artist_id, row.contact_role, hour_of(at));
    let contact = StatsKey::Contact(row.contact_id);
    // An A/B campaign's message counts in its cohort too: its variant's test, or the winner's
    // send to the rest.
    let cohort = row
        .variant
        .map(|variant| StatsKey::Cohort(row.campaign_id, (!row.winner_send).then_some(variant)));
    // Everything a campaign and a team count, over all time and per period.
    let broad: Vec<StatsKey> = [campaign, campaign_period, team_day, team_hour]
        .into_iter()
        .chain(cohort)
        .collect();
    let everywhere = |counter: Counter| -> Vec<(StatsKey, Counter)> {
        broad.iter().map(|key| (*key, counter)).collect()
    };
    let mut changes = Changes::default();
    let mut marks: Vec<(String, Changes)> = Vec::new();
    // A first-time mark: its counters (and the contact's score points) count once per send.
    let mut mark = |name: String, counts: Vec<(StatsKey, Counter)>, points: f64| {
        if taken.insert((row.send_id, name.clone())) {
            let mut changes = Changes::default();
            for (key, counter) in counts {
                changes.add(key, counter, 1);
            }
            if points > 0.0 {
                changes.add_points(contact, score::points(points, at));
            }
            marks.push((name, changes));
        }
    };
    let with_contact = |mut counts: Vec<(StatsKey, Counter)>, counter: Counter| {
        counts.push((contact, counter));
        counts
    };
    let mut details = Map::new();
    let person = c.machine.is_none();
    if person
        && matches!(
            c.event.kind,
            EventKind::Open { .. } | EventKind::Click { .. } | EventKind::Reply { .. }
        )
    {
        changes.reset(contact, Counter::SendsSinceEngagement);
    }
    let interaction_type = match &c.event.kind {
        EventKind::Send => {
            for key in broad.iter().copied().chain([contact]) {
                changes.add(key, Counter::Sent, 1);
            }
            changes.add(contact, Counter::SendsSinceEngagement, 1);
            InteractionType::EmailSent
        }
        EventKind::Delivery => {
            for key in broad.iter().copied().chain([contact]) {
                changes.add(key, Counter::Delivered, 1);
            }
            changes.reset(contact, Counter::SoftBounceStreak);
            InteractionType::EmailDelivered
        }
        EventKind::Bounce {
            bounce_type,
            sub_type,
            status,
        } => {
            details.insert("bounce_type".into(), json!(bounce_type));
            details.insert("bounce_sub_type".into(), json!(sub_type));
            if let Some(status) = status {
                details.insert("status".into(), json!(status));
            }
            if *bounce_type == BounceType::Permanent {
                let counts = with_contact(everywhere(Counter::Bounces), Counter::Bounces);
                mark("bounce".into(), counts, 0.0);
            } else {
                let counts =
                    with_contact(everywhere(Counter::SoftBounces), Counter::SoftBounceStreak);
                mark("soft_bounce".into(), counts, 0.0);
            }
            InteractionType::Bounced
        }
        EventKind::Complaint { feedback_type } => {
            if let Some(feedback_type) = feedback_type {
                details.insert("feedback_type".into(), json!(feedback_type));
            }
            let counts = with_contact(everywhere(Counter::Complaints), Counter::Complaints);
            mark("complaint".into(), counts, 0.0);
            InteractionType::Complained
        }
        EventKind::Reject { reason } => {
            details.insert("reason".into(), json!(reason));
            for key in broad.iter().copied() {
                changes.add(key, Counter::Rejects, 1);
            }
            InteractionType::Rejected
        }
        EventKind::DeliveryDelay { delay_type } => {
            details.insert("delay_type".into(), json!(delay_type));
            changes.add(campaign, Counter::DeliveryDelays, 1);
            InteractionType::DeliveryDelayed
        }
        EventKind::RenderingFailure { error } => {
            details.insert("error".into(), json!(error));
            changes.add(campaign, Counter::RenderingFailures, 1);
            InteractionType::RenderingFailed
        }
        EventKind::Open { user_agent } => {
            if let Some(user_agent) = user_agent {
                details.insert("user_agent".into(), json!(user_agent));
            }
            if person {
                for key in broad.iter().copied() {
                    changes.add(key, Counter::Opens, 1);
                }
                changes.add_named(contact, HourOfWeek::of(at).attribute(), 1);
                let counts = with_contact(everywhere(Counter::UniqueOpens), Counter::Opened);
                mark("open".into(), counts, score::OPEN);
            } else {
                for key in broad.iter().copied() {
                    changes.add(key, Counter::MachineOpens, 1);
                }
            }
            InteractionType::EmailOpened
        }
        EventKind::Click {
            user_agent, url, ..
        } => {
            let url = c
                .link
                .and_then(|id| row.links.iter().find(|l| l.id == id))
                .map(|l| l.url.clone())
                .or_else(|| url.clone());
            if let Some(link) = c.link {
                details.insert("link_id".into(), json!(link));
            }
            let link = c.link.map(|id| StatsKey::Link(row.campaign_id, id));
            if let Some(url) = url {
                if let Some(link) = link {
                    changes.keep(link, "url", &url);
                }
                details.insert("url".into(), json!(url));
            }
            if let Some(user_agent) = user_agent {
                details.insert("user_agent".into(), json!(user_agent));
            }
            if person {
                for key in broad.iter().copied().chain(link) {
                    changes.add(key, Counter::Clicks, 1);
                }
                changes.add_named(contact, HourOfWeek::of(at).attribute(), 1);
                // A click is the surest open there is: images may have been blocked.
                let counts = with_contact(everywhere(Counter::UniqueOpens), Counter::Opened);
                mark("open".into(), counts, score::OPEN);
                let counts = with_contact(everywhere(Counter::UniqueClicks), Counter::Clicked);
                mark("click".into(), counts, score::CLICK);
                if let (Some(id), Some(link)) = (c.link, link) {
                    mark(
                        format!("click#{id}"),
                        vec![(link, Counter::UniqueClicks)],
                        0.0,
                    );
                }
            } else {
                for key in broad.iter().copied().chain(link) {
                    changes.add(key, Counter::MachineClicks, 1);
                }
            }
            InteractionType::EmailClicked
        }
        EventKind::Unsubscribe { scope } => {
            details.insert("scope".into(), json!(scope));
            mark("unsubscribe".into(), everywhere(Counter::Unsubscribes), 0.0);
            InteractionType::Unsubscribed
        }
        EventKind::Reply {
            reply,
            matched_by,
            from_other_address,
        } => {
            details.insert("reply_id".into(), json!(reply));
            details.insert("matched_by".into(), json!(matched_by));
            if *from_other_address {
                details.insert("from_other_address".into(), json!(true));
            }
            for key in broad.iter().copied() {
                changes.add(key, Counter::Replies, 1);
            }
            let counts = with_contact(everywhere(Counter::Replied), Counter::Replied);
            mark("reply".into(), counts, score::REPLY);
            InteractionType::ReplyReceived
        }
        EventKind::AutoReply { reply } => {
            details.insert("reply_id".into(), json!(reply));
            for key in [campaign, team_day] {
                changes.add(key, Counter::AutoReplies, 1);
            }
            InteractionType::AutoReplyReceived
        }
    };
    Plan {
        interaction: Interaction {
            id: c.event.id(),
            artist_id: row.artist_id,
            contact_id: row.contact_id,
            contact_role: row.contact_role,
            interaction_type,
            campaign_id: row.campaign_id,
            send_id: row.send_id,
            machine: c.machine,
            details,
            created_at: c.event.at,
        },
        marks,
        changes,
    }
}

/// Step 4: the indexes (into `classified`) of the events recorded now.
async fn count_once(app: &App, classified: &[Classified]) -> Result<Vec<usize>, ApiError> {
    let mut taken = HashSet::new();
    let plans: Vec<Plan> = classified.iter().map(|c| plan(c, &mut taken)).collect();
    let mut recorded = Vec::new();
    let mut chunk: Vec<usize> = Vec::new();
    let mut chunk_changes = Changes::default();
    for (index, plan) in plans.iter().enumerate() {
        let mut with = chunk_changes.clone();
        with.merge(&plan.changes);
        for (_, changes) in &plan.marks {
            with.merge(changes);
        }
        let puts: usize = chunk
            .iter()
            .chain([&index])
            .map(|&i| 1 + plans[i].marks.len())
            .sum();
        if !chunk.is_empty() && puts + with.items() > MAX_ITEMS {
            recorded.extend(write_chunk(app, &plans, &chunk).await?);
            chunk.clear();
            with = Changes::default();
            with.merge(&plan.changes);
            for (_, changes) in &plan.marks {
                with.merge(changes);
            }
        }
        chunk.push(index);
        chunk_changes = with;
    }
    if !chunk.is_empty() {
        recorded.extend(write_chunk(app, &plans, &chunk).await?);
    }
    Ok(recorded)
}

/// One transaction for the events of `chunk`, retried without the conditions that failed.
async fn write_chunk(app: &App, plans: &[Plan], chunk: &[usize]) -> Result<Vec<usize>, ApiError> {
    // Which events and marks are still in: (event index, marks kept).
    let mut live: Vec<(usize, Vec<usize>)> = chunk
        .iter()
        .map(|&i| (i, (0..plans[i].marks.len()).collect()))
        .collect();
    loop {
        if live.is_empty() {
            return Ok(Vec::new());
        }
        let mut items: Vec<TransactWriteItem> = Vec::new();
        // What each conditional item stands for: (position in `live`, mark or the event).
        let mut meaning: Vec<(usize, Option<usize>)> = Vec::new();
        let mut changes = Changes::default();
        for (position, (index, marks)) in live.iter().enumerate() {
            let plan = &plans[*index];
            items.push(interactions::put_new(app, &plan.interaction)?);
            meaning.push((position, None));
            changes.merge(&plan.changes);
            for &m in marks {
                let (name, mark_changes) = &plan.marks[m];
                items.push(interactions::first_mark(
                    app,
                    plan.interaction.send_id,
                    name,
                )?);
                meaning.push((position, Some(m)));
                changes.merge(mark_changes);
            }
        }
        items.extend(changes.updates(app)?);
        match store::transact(app, items).await? {
            TransactOutcome::Written => return Ok(live.into_iter().map(|(i, _)| i).collect()),
            TransactOutcome::ConditionFailed(failed) => {
                let mut dropped_events = HashSet::new();
                let mut dropped_marks = HashSet::new();
                for at in failed {
                    match meaning.get(at) {
                        Some((position, None)) => {
                            dropped_events.insert(*position);
                        }
                        Some((position, Some(mark))) => {
                            dropped_marks.insert((*position, *mark));
                        }
                        None => {}
                    }
                }
                live = live
                    .into_iter()
                    .enumerate()
                    .filter(|(position, _)| !dropped_events.contains(position))
                    .map(|(position, (index, marks))| {
                        let marks = marks
                            .into_iter()
                            .filter(|m| !dropped_marks.contains(&(position, *m)))
                            .collect();
                        (index, marks)
                    })
                    .collect();
            }
        }
    }
}

/// Step 6: contacts whose score points rose, or who were lost (a hard bounce, a complaint),
/// take their new place in their team's score distribution (`score::bucket`): one
/// BatchGetItem and one transaction per batch (`stats::move_buckets`).
async fn move_score_buckets(app: &App, new: &[&Classified]) -> Result<(), ApiError> {
    let moved: BTreeMap<ContactId, &Send> = new
        .iter()
        .filter(|c| match c.event.kind {
            EventKind::Open { .. } | EventKind::Click { .. } | EventKind::Reply { .. } => {
                c.machine.is_none()
            }
            EventKind::Bounce {
                bounce_type: BounceType::Permanent,
                ..
            }
            | EventKind::Complaint { .. } => true,
            _ => false,
        })
        .map(|c| (c.row.contact_id, &c.row))
        .collect();
    if moved.is_empty() {
        return Ok(());
    }
    let keys: Vec<StatsKey> = moved.keys().map(|id| StatsKey::Contact(*id)).collect();
    let counters = store::stats::get_many(app, &keys).await?;
    let moves: Vec<BucketMove> = moved
        .into_values()
        .zip(counters)
        .filter_map(|(row, counters)| {
            let lost = counters.get(Counter::Bounces) > 0 || counters.get(Counter::Complaints) > 0;
            let from = counters.score_bucket();
            let to = score::bucket(counters.score_points(), lost)?;
            (from != Some(to)).then_some(BucketMove {
                artist: row.artist_id,
                role: row.contact_role,
                contact: row.contact_id,
                from,
                to,
            })
        })
        .collect();
    store::stats::move_buckets(app, &moves).await
}

/// Whether a contact's soft bounces in a row reached [`SOFT_BOUNCES_IN_A_ROW`].
fn streak_reached(counters: &store::stats::Counters) -> bool {
    counters.get(Counter::SoftBounceStreak) >= SOFT_BOUNCES_IN_A_ROW
}

/// Step 5: contacts whose soft-bounce streak reached the limit are marked bounced.
async fn mark_repeated_soft_bounces(app: &App, new: &[&Classified]) -> Result<(), ApiError> {
    // One contact may soft-bounce twice in a batch; it is looked at once.
    let soft: BTreeMap<ContactId, &Send> = new
        .iter()
        .filter(|c| {
            matches!(
                c.event.kind,
                EventKind::Bounce {
                    bounce_type: BounceType::Transient | BounceType::Undetermined,
                    ..
                }
            )
        })
        .map(|c| (c.row.contact_id, &c.row))
        .collect();
    if soft.is_empty() {
        return Ok(());
    }
    let keys: Vec<StatsKey> = soft.keys().map(|id| StatsKey::Contact(*id)).collect();
    let counters = store::stats::get_many(app, &keys).await?;
    for (row, counters) in soft.into_values().zip(counters) {
        if streak_reached(&counters) {
            change_status(
                app,
                row.artist_id,
                row.contact_id,
                ContactStatus::Bounced,
                None,
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::domain::{ContactRole, MatchedBy, ReplyId};
    use crate::store::stats::{Counters, READ};
    use crate::store::suppression::OptOutKeys;
    use crate::tracking::event::{SendRef, UnsubscribeScope};

    fn every_kind() -> Vec<EventKind> {
        vec![
            EventKind::Send,
            EventKind::Delivery,
            EventKind::Bounce {
                bounce_type: BounceType::Permanent,
                sub_type: "General".into(),
                status: None,
            },
            EventKind::Bounce {
                bounce_type: BounceType::Transient,
                sub_type: "MailboxFull".into(),
                status: None,
            },
            EventKind::Complaint {
                feedback_type: None,
            },
            EventKind::Reject { reason: "x".into() },
            EventKind::DeliveryDelay {
                delay_type: "x".into(),
            },
            EventKind::RenderingFailure { error: "x".into() },
            EventKind::Open { user_agent: None },
            EventKind::Click {
                link: Some(0),
                url: None,
                user_agent: None,
            },
            EventKind::Unsubscribe {
                scope: UnsubscribeScope::Team,
            },
            EventKind::Reply {
                reply: ReplyId::new(),
                matched_by: MatchedBy::Token,
                from_other_address: false,
            },
            EventKind::AutoReply {
                reply: ReplyId::new(),
            },
        ]
    }

    /// Every counter some event writes, person's or machine's.
    fn written() -> BTreeSet<Counter> {
        let row = Send::pending(
            (ArtistId::new(), ContactRole::Press),
            CampaignId::new(),
            ContactId::new(),
            OptOutKeys {
                team: "t".into(),
                artist: "a".into(),
                address: "h".into(),
            },
            Utc::now(),
        );
        let mut counters = BTreeSet::new();
        for kind in every_kind() {
            for machine in [None, Some(MachineReason::KnownAgent)] {
                let event = EmailEvent {
                    send: SendRef {
                        artist: row.artist_id,
                        role: row.contact_role,
                        campaign: row.campaign_id,
                        contact: row.contact_id,
                    },
                    kind: kind.clone(),
                    at: Utc::now(),
                    address: None,
                };
                let classified = Classified {
                    event,
                    row: row.clone(),
                    machine,
                    link: Some(0),
                };
                let plan = plan(&classified, &mut HashSet::new());
                counters.extend(plan.changes.counters());
                for (_, changes) in &plan.marks {
                    counters.extend(changes.counters());
                }
            }
        }
        let conversion = crate::domain::Conversion {
            id: crate::domain::ConversionId::parse("order-1").unwrap(),
            artist_id: row.artist_id,
            kind: crate::domain::ConversionKind::parse("ticket_sale").unwrap(),
            value: crate::domain::Money {
                minor: 4990,
                currency: crate::domain::Currency::parse("EUR").unwrap(),
            },
            at: Utc::now(),
            attribution: crate::domain::Attribution {
                by: crate::domain::AttributedBy::ClickToken,
                campaign_id: row.campaign_id,
                contact_role: row.contact_role,
                send_id: Some(row.send_id),
                contact_id: Some(row.contact_id),
                variant: None,
                winner_send: false,
            },
            recorded_at: Utc::now(),
        };
        counters.extend(crate::conversions::changes(&conversion, true).counters());
        counters.extend(
            crate::store::stats::contacts_created(
                row.artist_id,
                row.contact_role,
                Utc::now().date_naive(),
                1,
            )
            .counters(),
        );
        counters
    }

    #[test]
    fn every_counter_written_is_read_somewhere_and_every_counter_read_is_written() {
        READ.with(|read| read.borrow_mut().clear());
        let empty = Counters::default();
        crate::tracking::engagement::campaign_engagement(&empty, Vec::new());
        crate::tracking::engagement::contact_summary(&empty, Utc::now());
        streak_reached(&empty);
        crate::analytics::read_every_counter(&empty);
        let read: BTreeSet<Counter> = READ.with(|read| read.borrow().clone());
        let written = written();
        let all: BTreeSet<Counter> = Counter::ALL.into_iter().collect();
        assert_eq!(
            written.difference(&read).collect::<Vec<_>>(),
            Vec::<&Counter>::new(),
            "written, never read"
        );
        assert_eq!(
            read.difference(&written).collect::<Vec<_>>(),
            Vec::<&Counter>::new(),
            "read, never written"
        );
        assert_eq!(written, all, "a counter of the list nobody writes");
    }
}
