//! The Customer decider: CRM's commands, events, state and rules. Pure: no I/O, no clock;
//! time comes in through `decide`'s `now` and `evolve`'s `at`.
//!
//! A customer is registered once (its id is the one its orders carry), its profile may be
//! replaced, it gets a credit rating with a credit limit, and it may be put on credit
//! hold and released. While it is on hold, intake sends its new orders to manual review
//! (intake projects CRM's events; see intake's `read_model.rs`).
//!
//! # Rules
//!
//! - Every command but `Register` on a customer never registered is `NotFound`;
//!   `Register` on a registered one is `AlreadyRegistered`.
//! - `Update` with the profile the customer already has writes nothing.
//! - `SetCreditRating` always writes (a re-rating is a fact worth keeping, even unchanged).
//! - `PlaceCreditHold` on a customer already on hold, and `ReleaseCreditHold` on one that
//!   is not, are `InvalidState` (FAILED_PRECONDITION): the hold has one owner at a time.
//!
//! The shape of a profile (a name, valid contacts and addresses) is checked at the edge
//! (`api.rs`), as for every service.

mod command;
mod customer;
mod decide;
mod event;
mod evolve;
mod rejection;

pub use command::Command;

/// What a decision needs from outside: the time it is taken at (the customer has no rules
/// of its own yet: credit limits come with the command).
pub type Context<'a> = waybill_command::Context<'a, ()>;
pub use customer::{CreditHold, CreditRating, Customer, CustomerKind, Profile};
pub use decide::decide;
pub use event::Event;
pub use evolve::evolve;
pub use rejection::Rejection;
