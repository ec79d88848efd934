//! The Order decider: intake's commands, events, state and business rules. Pure: no I/O,
//! no clock, no randomness; time and ids come in through the command and the [`Context`].
//!
//! `decide(state, command, context) -> events | rejection` says what happens;
//! `evolve(state, event, at) -> state` says what it means for the order. The same `evolve`
//! rebuilds an order from the log and applies live events, so the two can never disagree.
//!
//! What lives where:
//! - `quote`: the price of an order (chargeable weight, zones, tariff, insurance, surcharges).
//! - `review`: the service levels' limits and the automatic review rules.
//! - `command`, `event`, `rejection`: the decider's vocabulary.
//! - `decide`, `evolve`: the state machine itself.
//!
//! # The lifecycle
//!
//! ```text
//! Place ─► Placed ──auto review──► Accepted ─pickup─► PickedUp ─► OutForDelivery ─► Delivered
//!             │  └──────────────► InReview ─human─► Accepted / Rejected      │    ▲
//!             └──auto review────► Rejected (terminal)        attempt failed ▼    │ next departure
//!                                                                     AttemptFailed
//!                                                 last allowed attempt ─► ReturnedToSender (terminal)
//! Placed, InReview, Accepted ─cancel─► Cancelled ─restore (within the window)─► status before
//! ```
//!
//! What each status allows (amend, redirect, cancel, return) is one table: [`Allowed`].
//!
//! # Rules
//!
//! Every command but `Place` on an order that does not exist is `NotFound`; `Place` on an
//! existing one is `AlreadyPlaced`. The state is checked before the command's data, so a
//! rejection names the most fundamental problem first.
//!
//! - **Place** prices the order ([`price`]); cargo that cannot be priced (no lines, mixed
//!   currencies, negative declared values, a price that would overflow) is `Invalid`.
//! - **ReviewAutomatically** (intake's own reaction to a placement) applies [`auto_review`]
//!   to an order that is still `Placed`; on any other order it does nothing (`Ok(vec![])`),
//!   because a human or an earlier run got there first.
//! - **Review** (a human) works on `InReview` and on `Placed` orders (a reviewer may beat the
//!   automatic rules). Rejecting needs a non-blank reason. Accepting an order that breaks
//!   its service level's limits is `LimitsExceeded`: nobody can promise what the fleet
//!   cannot carry, so every accepted order is within its limits.
//! - **Amend** (`Placed`, `InReview`, `Accepted`): at least one of cargo and service level,
//!   else `Invalid`; values identical to the order's are a no-op. The order is re-quoted; an
//!   amended order that breaks its service level's limits is `LimitsExceeded`. If the
//!   amendment brings review reasons the order did not have before (e.g. an undeclared
//!   hazardous line), an `Accepted` order goes back to review (`Amended` + `SentToReview` in
//!   one decision) and an `InReview` order gets the new reasons added to its list. Reasons
//!   name their line by position, so reordering lines may send an order back to review:
//!   a false alarm a person clears in a minute beats dangerous goods nobody looked at.
//! - **ChangeConsigneeAddress** (`Placed`, `InReview`, `Accepted`, `PickedUp`, and
//!   `AttemptFailed` until the next departure): re-quoted for the new zone; a destination the service level does not serve is `LimitsExceeded`; the
//!   same address again is a no-op.
//! - **Cancel** (`Placed`, `InReview`, `Accepted`), with any reason, even an empty one.
//! - **Restore** (`Cancelled` only) within `policy.restore_window` of the cancellation
//!   (inclusive), back to the status the order had; later is `RestoreWindowPassed`.
//! - **RecordPickup** (`Accepted`), **RecordOutForDelivery** (`Accepted`, `PickedUp`, and
//!   `AttemptFailed`: every departure is recorded), **RecordAttemptFailed** (`Accepted`,
//!   `PickedUp`, `OutForDelivery`), **RecordReturnedToSender** (`Accepted`, `PickedUp`,
//!   `OutForDelivery`, `AttemptFailed`) and **RecordDelivery** (`Accepted`, `PickedUp`,
//!   `OutForDelivery`, `AttemptFailed`) record facts other services report; facts arrive at least once and possibly out of order, so a fact the
//!   order already reflects (pickup of an order out for delivery) yields no events, and a
//!   fact that contradicts the order (pickup of a cancelled order) is `InvalidState`. The
//!   source event id must not be blank.
//! - `Cancelled` accepts nothing but `Restore`; `Rejected`, `ReturnedToSender` and
//!   `Delivered` are terminal.
//!
//! Invariants (debug-asserted here, property-tested in `tests/properties.rs`): a quote's
//! total is never negative and is the sum of its lines; an order's `cancellation` is set
//! exactly when it is `Cancelled`; `evolve` applies every event `decide` produced.

mod command;
mod decide;
mod event;
mod evolve;
mod quote;
mod rejection;
mod review;
#[cfg(test)]
mod tests;

use waybill_types::{Address, CargoLine, CustomerId, OrderId, Party, ServiceLevel, Timestamp};

pub use command::{Command, ReviewDecision};
pub use decide::decide;
pub use event::Event;
pub use evolve::evolve;
pub use quote::{CategorySurcharge, Quote, QuoteLine, Rate, RateTable, Tariff, Zone, price, zone_between};
pub use rejection::Rejection;
pub use review::{
    AutoReview, CustomerStanding, LevelLimits, ServiceLimits, auto_review, cargo_review_reasons,
    limit_violations,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Placed,
    InReview,
    Accepted,
    Rejected,
    Cancelled,
    PickedUp,
    OutForDelivery,
    /// An attempt failed; the courier tries again in a new window.
    AttemptFailed,
    /// The last allowed attempt failed; the goods go back to the shipper.
    ReturnedToSender,
    Delivered,
}

/// What a desk may do with an order, by status: the one table the decider (and, for
/// returns, after-sales) follows. docs/ARCHITECTURE.md repeats it.
///
/// | status             | amend | redirect | cancel | return |
/// |--------------------|-------|----------|--------|--------|
/// | placed             | yes   | yes      | yes    | no     |
/// | in_review          | yes   | yes      | yes    | no     |
/// | accepted           | yes   | yes      | yes    | no     |
/// | picked_up          | no    | yes      | no     | no     |
/// | out_for_delivery   | no    | no       | no     | no     |
/// | attempt_failed     | no    | yes      | no     | no     |
/// | returned_to_sender | no    | no       | no     | no     |
/// | delivered          | no    | no       | no     | yes    |
/// | rejected           | no    | no       | no     | no     |
/// | cancelled          | no    | no       | no     | no     |
///
/// A redirect after a failed attempt is how a wrong address is fixed: delivery takes the new
/// address for the next departure. Out for delivery, the courier is already on the way.
/// A return is after-sales' (`RequestReturn`, within its return window after delivery);
/// a cancelled order can only be restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub amend: bool,
    pub redirect: bool,
    pub cancel: bool,
    pub request_return: bool,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::Placed,
        OrderStatus::InReview,
        OrderStatus::Accepted,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
        OrderStatus::PickedUp,
        OrderStatus::OutForDelivery,
        OrderStatus::AttemptFailed,
        OrderStatus::ReturnedToSender,
        OrderStatus::Delivered,
    ];

    /// The status as rejection messages and logs spell it.
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::InReview => "in_review",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::PickedUp => "picked_up",
            OrderStatus::OutForDelivery => "out_for_delivery",
            OrderStatus::AttemptFailed => "attempt_failed",
            OrderStatus::ReturnedToSender => "returned_to_sender",
            OrderStatus::Delivered => "delivered",
        }
    }

    /// What this status allows (the table above).
    pub fn allows(&self) -> Allowed {
        let allowed =
            |amend, redirect, cancel, request_return| Allowed { amend, redirect, cancel, request_return };
        match self {
            OrderStatus::Placed | OrderStatus::InReview | OrderStatus::Accepted => {
                allowed(true, true, true, false)
            }
            OrderStatus::PickedUp | OrderStatus::AttemptFailed => allowed(false, true, false, false),
            OrderStatus::Delivered => allowed(false, false, false, true),
            OrderStatus::OutForDelivery
            | OrderStatus::ReturnedToSender
            | OrderStatus::Rejected
            | OrderStatus::Cancelled => allowed(false, false, false, false),
        }
    }

    /// True for statuses nothing can leave.
    pub fn is_terminal(&self) -> bool {
        matches!(self, OrderStatus::Rejected | OrderStatus::Delivered | OrderStatus::ReturnedToSender)
    }

    /// True once the carrier has the goods (amending and cancelling are over).
    pub fn is_picked_up(&self) -> bool {
        matches!(
            self,
            OrderStatus::PickedUp
                | OrderStatus::OutForDelivery
                | OrderStatus::AttemptFailed
                | OrderStatus::ReturnedToSender
                | OrderStatus::Delivered
        )
    }
}

waybill_types::display_as_str!(OrderStatus);

/// What the customer asked for: who, what, from where to where, how fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderDetails {
    pub customer_id: CustomerId,
    pub shipper: Party,
    pub consignee: Party,
    pub cargo: Vec<CargoLine>,
    pub service_level: ServiceLevel,
}

impl OrderDetails {
    /// Where the goods are collected.
    pub fn origin(&self) -> &Address {
        &self.shipper.address
    }

    /// Where the goods go.
    pub fn destination(&self) -> &Address {
        &self.consignee.address
    }
}

/// Why and when an order was cancelled, and what it was before (for a restore).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cancellation {
    pub reason: String,
    pub cancelled_at: Timestamp,
    pub previous_status: OrderStatus,
}

/// The aggregate's state once placed. `None` (no Order) = never placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub details: OrderDetails,
    pub quote: Quote,
    pub status: OrderStatus,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
    /// Why the automatic rules wanted a human (kept after the decision, as history).
    pub review_reasons: Vec<String>,
    pub rejection_reason: Option<String>,
    /// Set exactly while the order is `Cancelled`.
    pub cancellation: Option<Cancellation>,
    /// The latest failed delivery attempt delivery reported (kept as history).
    pub last_failed_attempt: Option<FailedAttempt>,
}

/// Why a delivery attempt failed, as delivery reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttemptFailure {
    RecipientAbsent,
    Refused,
    AddressWrong,
}

impl AttemptFailure {
    pub fn as_str(&self) -> &'static str {
        match self {
            AttemptFailure::RecipientAbsent => "recipient absent",
            AttemptFailure::Refused => "refused",
            AttemptFailure::AddressWrong => "address wrong",
        }
    }
}

/// A window promised to the consignee, start to end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeliveryWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A failed delivery attempt: which, why, and when the courier tries again (`None` after
/// the last allowed attempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAttempt {
    pub attempt: u32,
    pub reason: AttemptFailure,
    pub next_window: Option<DeliveryWindow>,
}

/// The business's adjustable rules: prices, what each service level can carry, and how
/// long a cancelled order can be brought back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub tariff: Tariff,
    pub limits: ServiceLimits,
    pub restore_window: chrono::Duration,
    /// How many WatchOrder streams stay open (not a rule of the business: a limit of the
    /// service, carried here with the rest of its settings).
    pub watches: crate::watch::WatchLimits,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            tariff: Tariff::default(),
            limits: ServiceLimits::default(),
            restore_window: chrono::Duration::hours(24),
            watches: crate::watch::WatchLimits::default(),
        }
    }
}

/// What a decision needs from outside: the time it is taken at and the rules (the shape
/// every service's deciders share).
pub type Context<'a> = waybill_command::Context<'a, Policy>;
