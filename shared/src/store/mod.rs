//! DynamoDB adapters. Every request path is a GetItem, a Query or a transaction: no Scan.
//!
//! # Contacts table (`ContactsTable`, env `CONTACTS_TABLE`)
//!
//! | item | `pk` | `sk` | other keys |
//! |---|---|---|---|
//! | contact | `ARTIST#{artist_id}` | `CONTACT#{contact_id}` | `role_pk` = `{artist_id}#{role}`, `role_sk` = `{contact_id}` |
//! | email guard | `ARTIST#{artist_id}` | `EMAIL#{role}#{normalized_email}` | holds `contact_id` |
//!
//! GSI `by_role` (`role_pk`, `role_sk`, projection ALL) holds contact items only (guards have no
//! `role_pk`: a sparse index).
//!
//! | access pattern | served by |
//! |---|---|
//! | get / update / delete a contact by id (`contacts-get`, `-update`, `-delete`) | GetItem `pk`,`sk` strongly consistent; writes conditional on `version` |
//! | list one team's contacts, newest first, status/tag filters (`contacts-list?contact_role=`) | Query `by_role` on `role_pk`, descending (ids are UUID v7) |
//! | list every contact the caller may see (`contacts-list` without role) | Query `pk` with `begins_with(sk, "CONTACT#")`, descending, role filter |
//! | find by (artist, role, normalized email) in O(1) | GetItem on the guard |
//! | uniqueness of (artist, role, normalized email) under concurrency | the guard is written with `attribute_not_exists` in the same TransactWriteItems as the contact |
//!
//! | import job | `ARTIST#{artist_id}` | `IMPORT#{import_id}` | status, checkpoint, counts (`contacts-import`, `contacts-imports-get`, `import-upload`) |
//! | sync cursor | `ARTIST#{artist_id}` | `SYNC#{role}#{provider}` | where the last completed sync of a team from a provider left off (`contacts-sync`, `import-upload`) |
//! | consent ledger entry | `ARTIST#{artist_id}` | `CONSENT#{contact_id}#{entry_id}` | appended with the change it records, never updated (`store::consent`) |
//!
//! An import finds which of 100 rows exist with one BatchGetItem on guards, and writes new
//! contacts in transactions of contact + guard pairs.
//!
//! # Suppression table (`SuppressionTable`, env `SUPPRESSION_TABLE`)
//!
//! One item per suppressed address, `hash` = HMAC-SHA256 of the normalized address under
//! `EMAIL_HASH_KEY`; someone who left everything of one artist has an item whose hash also
//! covers the artist's id. Both are looked up together, 50 addresses per BatchGetItem, by
//! imports and sends; never scanned.
//!
//! # Campaigns table (`CampaignsTable`, env `CAMPAIGNS_TABLE`)
//!
//! | item | `pk` | `sk` | other keys |
//! |---|---|---|---|
//! | campaign | `ARTIST#{artist_id}` | `CAMPAIGN#{campaign_id}` | `role_pk` = `{artist_id}#{role}`, `role_sk` = `{campaign_id}`; while scheduled only: `due_pk` = `SCHEDULED`, `due_at` = `{UTC time, ms}#{campaign_id}` |
//!
//! | access pattern | served by |
//! |---|---|
//! | get / update / delete / move a campaign by (artist, id) | GetItem strongly consistent; every write and status move conditional on `version` |
//! | list an artist's campaigns newest first, by team, by status (`campaigns-list`) | `team_list`: Query `by_role` or `pk` with `begins_with(sk, "CAMPAIGN#")`, descending |
//! | an artist's sending domains (`domains-list`, test-send recipients) | Query `pk` with `begins_with(sk, "DOMAIN#")`; items `sk` = `DOMAIN#{domain}` |
//! | the artist's claim on one domain, its proof (every start, every send batch) | GetItem `sk` = `DOMAIN#{domain}`, strongly consistent |
//! | the artist's sender profile (`sender-profile-get`, `-update`, every start) | GetItem `sk` = `PROFILE`; writes conditional on `version` |
//! | a user's test messages today, against the per-user cap (`campaigns-test`) | conditional UpdateItem `ADD sent` on `sk` = `TESTQUOTA#{UTC date}#{user}` |
//! | an artist's sends today, against `DAILY_SEND_QUOTA` (`email-send`, test sends) | conditional UpdateItem `ADD sent` on `pk`, `sk` = `QUOTA#{UTC date}`, once per batch |
//! | due scheduled campaigns (`campaign-scheduler`, every minute) | Query the sparse GSI `due`: `due_pk = SCHEDULED AND due_at <= now` — only scheduled campaigns are in it |
//!
//! # Sends table (`SendsTable`, env `SENDS_TABLE`)
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | send | `CAMPAIGN#{campaign_id}` | `CONTACT#{contact_id}` |
//!
//! The key is the idempotency key of a send: one row per person per campaign, created with
//! `attribute_not_exists`, claimed with a condition on `pending` before SES is called.
//!
//! GSI `by_send` (`send_id`, projection ALL): tracking tokens carry the send id alone.
//! GSI `by_address` (`address_hash`, `created_at`; the keys and ids only): the messages sent to
//! one address, newest first, for a reply that carries neither token nor thread headers.
//!
//! | access pattern | served by |
//! |---|---|
//! | create a campaign's send for a contact, once (`campaign-dispatch`) | conditional PutItem, 100 per transaction |
//! | claim, mark sent / failed, release (`email-send`) | conditional updates on `status`, one transaction per batch |
//! | the send a tracking token names (`track-open`, `track-click`, `email-unsubscribe`) | Query `by_send`, limit 1 |
//! | the sends a batch of events names (`ses-events`) | BatchGetItem on (campaign, contact) from the message tags |
//! | the latest sends to a reply's sender (`email-inbound`) | Query `by_address`, descending, limit 10 |
//! | every send of an artist to an address, for an erasure (`contacts-erase`, `-erase-address`) | Query `by_address`, filter `artist_id`, every page; then BatchWriteItem deletes |
//! | engagement times, first only (`ses-events`) | UpdateItem `SET x = if_not_exists(x, :at)` |
//! | a campaign's sends, a page at a time (`campaigns-sends`) | Query `pk`, `begins_with(sk, "CONTACT#")`, then BatchGetItem of the page's contacts |
//!
//! # Interactions table (`InteractionsTable`, env `INTERACTIONS_TABLE`)
//!
//! | item | `pk` | `sk` | other keys |
//! |---|---|---|---|
//! | interaction | `CONTACT#{contact_id}` | `T#{time, ms}#{interaction_id}` | `artist_pk` = `ARTIST#{artist_id}` |
//! | first-time mark | `SEND#{send_id}` | `FIRST#{what}` (`open`, `click`, `click#{link}`, `bounce`…) | |
//!
//! Interaction ids derive from the event (UUID v5), so an event told twice is one item: the
//! conditional put that fails is how `ses-events` knows it counted the event already. Marks
//! make unique counts exact the same way. GSI `by_artist` (`artist_pk`, `sk`) is an artist's
//! timeline.
//!
//! | access pattern | served by |
//! |---|---|
//! | a contact's timeline, newest first (`contacts-history`) | Query `pk`, `begins_with(sk, "T#")`, descending |
//! | record an event once, count a first once (`ses-events`) | conditional puts in the transaction that adds the counters |
//! | a person's timeline and their messages' marks, for an erasure | Query `pk` (`CONTACT#`, `SEND#`) every page, BatchWriteItem deletes |
//!
//! # Stats table (`StatsTable`, env `STATS_TABLE`)
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | a campaign's counters | `CAMPAIGN#{campaign_id}` | `TOTAL` |
//! | one link's clicks, and the URL it led to | `CAMPAIGN#{campaign_id}` | `LINK#{link_id, 5 digits}` |
//! | a campaign's hour (its first 72 hours) or day (after) | `CAMPAIGN#{campaign_id}` | `HOUR#{YYYY-MM-DDTHH}` / `DAY#{YYYY-MM-DD}` |
//! | a team's day | `TEAM#{artist_id}#{role}` | `DAY#{YYYY-MM-DD}` |
//! | a team's hour (the heatmap) | `TEAM#{artist_id}#{role}` | `HOUR#{YYYY-MM-DDTHH}` (UTC) |
//! | a contact's counters (and soft-bounce streak) | `CONTACT#{contact_id}` | `TOTAL` |
//! | an A/B campaign's cohort: a variant's test, or the winner's send | `CAMPAIGN#{campaign_id}` | `COHORT#{A–E}` / `COHORT#REST` |
//!
//! Counters are numbers named like the engagement they count (`delivered`, `unique_opens`,
//! `machine_clicks`…: `domain::Counter`), added per batch of events with one `ADD` per item
//! (`stats::Changes`). Analytics read a campaign's hours and days, or a team's days or hours,
//! with one Query each (`sk BETWEEN`), bounded by the range asked for, never by the audience.
//! A contact's item also holds `score_points` (`tracking::score`), a decimal only ever added to.
//! `campaigns-get` reads a campaign's `TOTAL` (GetItem in a BatchGetItem) and its links (Query
//! `pk`, `begins_with(sk, "LINK#")`) together. A link's `url` is set by its first click
//! (`if_not_exists`). A contact's item also holds `last_activity_ms`, moved forward only, by a
//! conditional UpdateItem per contact and batch; contacts' readers fetch their items with one
//! BatchGetItem per page (`contacts-get`, `-list`, `-update`).
//!
//! # Replies table (`RepliesTable`, env `REPLIES_TABLE`)
//!
//! | item | `pk` | `sk` | other keys |
//! |---|---|---|---|
//! | reply | `ARTIST#{artist_id}`, or `UNASSIGNED` | `REPLY#{reply_id}` | `state_pk` = `{pk}#{0 unprocessed, 1 processed}`, `state_sk` = `{received, ms, 13 digits}#{reply_id}` |
//!
//! | access pattern | served by |
//! |---|---|
//! | store a message once, however often its notification comes (`email-inbound`) | PutItem `attribute_not_exists(pk)`; the id derives from the stored object's key |
//! | get / update a reply (`replies-update`) | GetItem strongly consistent; a whole-item Put conditional on `version`, with its audit record |
//! | an artist's replies, unprocessed first then newest (`replies-list`), or the unassigned ones | Query GSI `by_state` on `{pk}#0` then `{pk}#1`, descending; role, campaign, assignee and kind as filters |
//! | a person's replies, for an erasure (`contacts-erase`, `contacts-erase-address`) | Query GSI `by_sender` (`sender_pk` = `ARTIST#{artist_id}#{address hash}`, keys only) and `by_contact` (`contact_pk` = `CONTACT#{contact_id}`), then BatchGetItem |
//!
//! # Conversions table (`ConversionsTable`, env `CONVERSIONS_TABLE`)
//!
//! | item | `pk` | `sk` |
//! |---|---|---|
//! | a conversion the CRM reported | `ARTIST#{artist_id}` | `CONVERSION#{the CRM's id}` |
//!
//! | access pattern | served by |
//! |---|---|
//! | record a conversion once, however often it is posted (`conversions-create`) | one transaction: PutItem `attribute_not_exists(pk)`, the counters it adds (`conversions`, `revenue_{currency}` on the campaign, its cohort and the team's day), and for a message's first conversion `converted_at` set on the send (`attribute_not_exists`) with `converted` added |
//! | the conversion a replay names (to answer it, or refuse a reused id) | GetItem |
//!
//! # Templates table (`TemplatesTable`, env `TEMPLATES_TABLE`)
//!
//! | item | `id` | other keys |
//! |---|---|---|
//! | template | `{template_id}` | `owner` = `BUILTIN` or `ARTIST#{artist_id}`, `listing` = `{role}#{template_id}` |
//! | an artist's default choice | `default#{artist_id}#{role}#{language}` | holds `template_id` |
//! | signature | `signature#{artist_id}#{role}#{user}` | |
//!
//! GSI `by_owner` (`owner`, `listing`, projection ALL) holds templates only.
//!
//! | access pattern | served by |
//! |---|---|
//! | get / update / delete / preview a template by id | GetItem `id` strongly consistent; writes conditional on `version` |
//! | list the built-ins, of one team or all (`templates-list`) | Query `by_owner` on `BUILTIN`, `begins_with(listing, "{role}#")` |
//! | list an artist's own templates, of one team or all | Query `by_owner` on `ARTIST#{artist_id}`, same |
//! | one default per (artist, role, language) under concurrency | the choice item, written with a condition on the previous choice in the same transaction as the flags of both templates |
//! | the caller's signature for a team (`signatures-get`, `templates-preview`) | GetItem |
//!
//! # Audit table (`AuditTable`, env `AUDIT_TABLE`)
//!
//! | item | `pk` | `sk` | other keys |
//! |---|---|---|---|
//! | audit record | `ARTIST#{artist_id}` | `AUDIT#{audit_id}` | `target` = `{type}#{id}` |
//!
//! Audit ids are UUID v7, so `sk` orders records by time: Query `pk` descending gives an
//! artist's trail newest first. GSI `by_target` (`target`, `sk`) gives one record's history.
//! Audit records are written in the same transaction as the mutation they describe: there is no
//! change without its record.

pub mod audit;
mod batch;
pub mod campaigns;
pub mod consent;
pub mod contacts;
pub mod conversions;
pub mod imports;
pub mod interactions;
pub mod page;
pub mod quota;
pub mod replies;
pub mod sender_domains;
pub mod sender_profiles;
pub mod sends;
pub mod stats;
pub mod suppression;
pub mod sync_cursors;
pub mod team_list;
pub mod templates;
mod transact;

pub use transact::{TransactOutcome, transact, write_each};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::ApiError;

/// A single conditional write whose condition failed had nothing left to do (it was done
/// before, or a later write overtook it): done, not an error.
pub(crate) fn done_unless_failed<O, E>(result: Result<O, SdkError<E>>) -> Result<(), ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    written(result).map(|_| ())
}

/// Whether a single conditional write happened (`false`: its condition failed).
pub(crate) fn written<O, E>(result: Result<O, SdkError<E>>) -> Result<bool, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}
