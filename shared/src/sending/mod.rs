//! Sending a campaign: `lifecycle` starts it through the one readiness gate (`gate`), which
//! freezes what it sends; `dispatch` creates one send row per recipient and queues them in
//! batches, `sender` claims each row and hands the message, rendered from the frozen copy, to
//! SES. Every step is idempotent: SQS delivers at least once. An A/B campaign's test ends in
//! `winner`, which sends the chosen variant to the rest.
//!
//! # Exactly once per person
//!
//! The send row (campaign, contact) is created only if absent, and claimed (`pending →
//! claimed`) with a conditional write *before* SES is called. A duplicate message, a replayed
//! dispatch or a second sender finds the row claimed or sent and skips it. A crash after SES
//! accepted the message but before the row says `sent` leaves it `claimed`: it is never sent
//! again. So an ambiguous crash falls on the side of *not* sending twice — a person may, rarely,
//! miss a campaign (the row shows it), but never gets it twice: a duplicate is what recipients
//! and spam filters punish, a missing press release is what a follow-up fixes.

mod best_time;
mod compiled;
mod deliver;
mod dispatch;
pub mod gate;
mod individual;
mod lifecycle;
mod messages;
mod sender;
mod test_send;
mod web_view;
mod winner;

pub use best_time::queue_due_slots;
pub use compiled::CompiledTemplates;
pub use dispatch::{DispatchOutcome, dispatch};
pub use individual::{NewEmail, send_email};
pub use lifecycle::{
    SERVICE_ACTOR, cancel, pause, pause_with_reason, resume, schedule, start, start_due,
};
pub use messages::{DispatchMessage, SendBatch, enqueue_batches, enqueue_dispatch, requeue_later};
pub use sender::{BatchOutcome, send_batch};
pub use test_send::{MAX_TEST_RECIPIENTS, TestRequest, TestResult, send_test};
pub use web_view::web_view;
pub use winner::{arm, arms, decide_due, decide_test};
