//! Intake: where orders are placed, reviewed, amended, cancelled and tracked.
//!
//! - `domain`: the Order decider (commands, events, state, rules, quote); pure.
//! - `codec`: domain events to and from the log's wire envelope.
//! - `read_model`: the order book, rebuilt from the log and followed live.
//! - `commands`: running a command against the log (idempotency, optimistic concurrency).
//! - `api`: the gRPC adapter; `error`: failures to statuses.
//! - `timeline`: an order's timeline, read from the log for TrackOrder.
//! - `watch`: WatchOrder, one order followed live.
//! - `reactions`: the automatic reviewer.
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
pub mod timeline;
pub mod watch;
