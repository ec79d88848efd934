//! Delivery: the last mile, from the destination hub to a signed handover.
//!
//! - `domain`: the Courier and Delivery deciders (commands, events, state, rules); pure.
//! - `codec`: domain events to and from the log's wire envelope.
//! - `read_model`: the delivery book (deliveries, couriers, the order facts the last mile
//!   needs), rebuilt from the log and followed live.
//! - `route`: couriers' runs for a day: the plan decision, the solver (`vrp-core`), the
//!   distances from coordinates.
//! - `commands`: couriers, deliveries and routes on the shared command loop.
//! - `api`: the gRPC adapter; `error`: rejections to statuses.
//! - `reactions`: scheduling on arrival at the hub, following address changes.
//! - `sla`: the SLA clock's tick (run by a `waybill_runtime::Timer`): raises a delay once
//!   per missed window.
//! - `server`: what the service has, declared for `waybill_runtime::Host`; `server::run` is
//!   the one entry point (used by `main.rs` and by the tests).

pub mod api;
pub mod codec;
pub mod commands;
pub mod domain;
pub mod error;
pub mod reactions;
pub mod read_model;
pub mod route;
pub mod server;
pub mod sla;
