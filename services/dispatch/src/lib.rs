//! Dispatch: the fleet, transport tasks from the origin depot to the destination hub,
//! capacity-aware assignment, progress, transport exceptions and reverse shipments.
//!
//! - `domain`: the deciders (vehicles, drivers, tasks), the mode rules, the vehicle choice; pure.
//! - `codec`: domain events to and from the log's wire envelope.
//! - `order_facts`: what dispatch learns about orders from intake's events.
//! - `read_model`: tasks, vehicles, drivers and order facts, rebuilt from the log.
//! - `commands`: running commands (the shared loop for the fleet, a multi-aggregate loop
//!   for tasks, whose assignments load vehicles in the same atomic append).
//! - `api`: the gRPC adapter; `error`: rejections to statuses.
//! - `reactions`: the `dispatch-orders` consumer (intake's orders → tasks).
//! - `upkeep_clock`: the timer that reminds of vehicles' upkeep and drivers' licences ahead
//!   of their due dates.
//! - `server`: what the service has, declared for `waybill_runtime::Host`; `server::run` is
//!   the one entry point (used by `main.rs` and by the tests).

pub mod api;
pub mod codec;
pub mod commands;
pub mod domain;
pub mod error;
pub mod order_facts;
pub mod reactions;
pub mod read_model;
pub mod server;
pub mod upkeep_clock;
