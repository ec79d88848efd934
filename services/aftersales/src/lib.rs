//! After-sales: returns, refunds, claims, complaints and satisfaction surveys.
//!
//! - `domain`: the Return, Claim, Complaint and order Ledger deciders; pure.
//! - `codec`: domain events to and from the log's wire envelope.
//! - `read_model`: the case book (cases, ledgers, the order facts after-sales needs),
//!   rebuilt from the log and followed live.
//! - `commands`: the cases on the shared command loop, and the two-aggregate loop for
//!   refunds and claim payments (case + order ledger in one atomic append).
//! - `api`: the gRPC adapter; `error`: rejections to statuses.
//! - `reactions`: a damaged or lost delivery opens a claim by itself.
//! - `sla`: the SLA clock's tick (run by a `waybill_runtime::Timer`): escalates a complaint
//!   once per missed deadline.
//! - `server`: what the service has, declared for `waybill_runtime::Host`; `server::run` is
//!   the one entry point (used by `main.rs` and by the tests).

pub mod api;
pub mod codec;
pub mod commands;
pub mod domain;
pub mod error;
pub mod reactions;
pub mod read_model;
pub mod server;
pub mod sla;
