//! CRM: customers (profile, credit rating, credit hold) and what the whole log says about
//! them: revenue, profit contribution, ABC and lifecycle classes, service-quality KPIs.
//!
//! - `domain`: the Customer decider (commands, events, state, rules); pure.
//! - `codec`: domain events to and from the log's wire envelope.
//! - `commands`: the Customer on the shared command loop (idempotency, concurrency).
//! - `read_model`: customers plus the facts of orders, deliveries and after-sales cases,
//!   folded from every service's events on the wire; the queries over them.
//! - `analytics`: the pure functions: profit, ABC, lifecycle, KPIs (docs/KPIS.md).
//! - `api`: the gRPC adapter; `error`: rejections to statuses.
//! - `server`: what the service has, declared for `waybill_runtime::Host`; `server::run` is
//!   the one entry point (used by `main.rs` and by the tests).
//!
//! CRM has no durable consumer: it reacts to nothing, it only projects. Intake reacts to
//! CRM's credit holds through its own read model.

pub mod analytics;
pub mod api;
pub mod codec;
pub mod commands;
pub mod domain;
pub mod error;
pub mod read_model;
pub mod server;
