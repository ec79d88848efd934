//! Operations on the NATS side of Waybill: who may do what, and the streams.
//!
//! - [`users`] is the one source of truth for NATS permissions: one user per service that
//!   publishes only its own subjects and consumes only through its own durables, an `ops`
//!   user that bootstraps the streams, an `integrator` that reads the log, and the system
//!   account's `sys`. Nothing else grants NATS rights.
//! - [`accounts`] renders those users as nats-server configuration: with `$VARIABLE`
//!   passwords for deploy/nats/accounts.conf (a test keeps that file equal to the code),
//!   with literal passwords for the test servers and `make run`.
//! - [`bootstrap`]: creating and updating the streams, as the `ops` user, before services
//!   start; services only look their streams up.
//!
//! - the operator's view and hands on the log, behind the `waybill` command line:
//!   [`status`] (streams, consumers and their lag, dead letters), [`events`] (get and tail,
//!   decoded to JSON by [`decode`]), [`dead_letters`] (list, show, redrive), [`backup`]
//!   (backup, restore, verify), [`read_models`] (verify's comparison of the services run on
//!   the source and on the restored copy), [`scratch`] (the restored copy `verify --scratch`
//!   starts itself: a nats-server and the five services, in [`process`] groups) and [`migrate`] (a backup taken before subjects
//!   carried the order's id, rewritten for the current scheme).
//!
//! docs/NATS-SECURITY.md explains the model, TLS and rotation; docs/OPERATIONS.md the CLI.

pub mod accounts;
pub mod backup;
pub mod bootstrap;
pub mod dead_letters;
pub mod decode;
pub mod events;
pub mod migrate;
pub mod process;
pub mod read_models;
pub mod scratch;
pub mod status;
pub mod table;
pub mod users;

pub use accounts::{Passwords, render_accounts};
pub use users::{Permissions, Service, User};
