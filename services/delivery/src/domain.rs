//! The last mile's deciders: couriers and delivery tasks. Pure: no I/O, no clock, no
//! randomness; time comes in as `now`, facts from other aggregates (which courier, how many
//! open deliveries) come in through the command.
//!
//! Two aggregates, each `decide(state, command, context) -> events | rejection` and
//! `evolve(state, event, at) -> state`:
//! - a [`Courier`] (`waybill.delivery.courier.<courier id>`): registered with the zones it
//!   serves, zones changed, retired;
//! - a [`Delivery`] (`waybill.delivery.task.<order id>`): the order's last mile. Its id is
//!   the order id, so it exists at most once per order by construction.
//!
//! # The delivery's lifecycle
//!
//! ```text
//! (arrival at hub) ─► Scheduled ─assign─► Assigned ─start─► OutForDelivery ─confirm─► Delivered
//!                                            ▲                  │
//!                                            └──assign/start── AttemptFailed ◄─failed attempt
//!                          failed attempt number `max_attempts` ─► ReturnedToSender
//! any open status ─lost─► Lost
//! ```
//!
//! # Rules
//!
//! - **Schedule** (the `delivery-arrivals` reaction) creates the delivery with a promised
//!   window from the arrival time and the service level ([`Policy::window_for`]); on an
//!   existing delivery it does nothing (a redelivered or repeated arrival).
//! - **UpdateAddress** (the `delivery-orders` reaction) while `Scheduled`, `Assigned` or
//!   `AttemptFailed` (a redirect after a failed attempt is used for the next departure);
//!   out for delivery or later, or the same address again, it does nothing (the order's own
//!   rules refuse a change while the courier is on the way).
//! - **Assign** in `Scheduled`, `Assigned` (reassignment) and `AttemptFailed` (next try);
//!   the same courier again does nothing. Who is picked is decided outside (the read model
//!   knows every courier): automatically the active courier serving the zone with the
//!   fewest open deliveries, or a manual override.
//! - **Start** in `Assigned` or `AttemptFailed`, with a courier; a redirect intake wrote that
//!   the delivery does not carry yet (the reaction is behind) is applied in the same
//!   decision (`AddressUpdated`, then `Started`), so a departure never leaves with an
//!   address the order no longer has.
//! - **RecordFailedAttempt** in `OutForDelivery`: the attempt is numbered; below
//!   `max_attempts` the delivery is rescheduled (a window of the same length,
//!   `reschedule_after` later); at `max_attempts` it goes back to the sender.
//! - **Confirm** in `OutForDelivery`, with a proof of delivery whose `delivered_at` is
//!   neither in the future nor before the courier left (beyond the clock skew either way,
//!   `waybill_command::time`);
//!   records whether it was on time (by the promised window's end; early counts as on
//!   time) and at the first attempt.
//! - **ReportException**: damage in any status but `Lost`; loss in an open status (not
//!   delivered, returned or lost); a handover dispute out for delivery or delivered.
//! - **RaiseDelay** (the SLA clock) for a window end: a delay exception once per window,
//!   only while the delivery is open, its window is still that one, and that end has
//!   passed; otherwise nothing. So several replicas raising together write one delay.
//!
//! A departure, a failed attempt and a handover are never before the delivery's facts they
//! follow (its latest event, the departure) beyond the clock skew: FAILED_PRECONDITION
//! naming the field (`waybill_command::time`, the same check in every service).
//!
//! Every milestone (scheduled, out for delivery, failed attempt, returned, delivered,
//! exception) is followed by a `NotificationRequested` for the consignee, so an SMS or
//! e-mail gateway needs nothing but the log. It is not part of the milestone's decision:
//! the `delivery-notifications` reaction writes it on the delivery's [`Notices`], an
//! aggregate of its own (see `notification`).

mod command;
mod courier;
mod decide;
mod event;
mod evolve;
mod notification;
mod rejection;

use std::fmt;

use uuid::Uuid;
use waybill_types::{Contact, OrderId, Party, ServiceLevel, Timestamp};

pub use command::{CourierCommand, DeliveryCommand};
pub use courier::{decide_courier, evolve_courier, normalize_zones};
pub use decide::decide;
pub use event::{CourierEvent, DeliveryEvent};
pub use evolve::evolve;
pub use notification::{
    Notices, Notify, decide_notice, evolve_notices, milestone_of, notice_about, notification_text,
};
pub use rejection::Rejection;
pub use waybill_types::{GeoPoint, HandoverChecklist, MAX_SIGNATURE_IMAGE_BYTES, ProofOfDelivery, Signature};

/// A courier's id: a UUID chosen by whoever registers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CourierId(pub Uuid);

impl CourierId {
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }
}

impl fmt::Display for CourierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A courier once registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Courier {
    pub id: CourierId,
    pub name: String,
    /// The zones (destination cities) served, as given; matched case-insensitively.
    pub zones: Vec<String>,
    pub retired: bool,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Courier {
    /// True if the courier serves `zone` (case-insensitive).
    pub fn serves(&self, zone: &str) -> bool {
        self.zones.iter().any(|served| same_zone(served, zone))
    }
}

/// Zones are city names; "Munich" and "munich" are the same zone.
pub fn same_zone(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Scheduled,
    Assigned,
    OutForDelivery,
    AttemptFailed,
    Delivered,
    ReturnedToSender,
    Lost,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 7] = [
        DeliveryStatus::Scheduled,
        DeliveryStatus::Assigned,
        DeliveryStatus::OutForDelivery,
        DeliveryStatus::AttemptFailed,
        DeliveryStatus::Delivered,
        DeliveryStatus::ReturnedToSender,
        DeliveryStatus::Lost,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Scheduled => "scheduled",
            DeliveryStatus::Assigned => "assigned",
            DeliveryStatus::OutForDelivery => "out_for_delivery",
            DeliveryStatus::AttemptFailed => "attempt_failed",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::ReturnedToSender => "returned_to_sender",
            DeliveryStatus::Lost => "lost",
        }
    }

    /// True while the goods may still reach the consignee.
    pub fn is_open(&self) -> bool {
        !matches!(self, DeliveryStatus::Delivered | DeliveryStatus::ReturnedToSender | DeliveryStatus::Lost)
    }

    /// True while a courier carries the delivery on its books (its "open tasks").
    pub fn occupies_courier(&self) -> bool {
        matches!(
            self,
            DeliveryStatus::Assigned | DeliveryStatus::OutForDelivery | DeliveryStatus::AttemptFailed
        )
    }
}

waybill_types::display_as_str!(DeliveryStatus);

/// The time the consignee was promised, start to end inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
    RecipientAbsent,
    Refused,
    AddressWrong,
}

impl FailureReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureReason::RecipientAbsent => "recipient absent",
            FailureReason::Refused => "refused",
            FailureReason::AddressWrong => "address wrong",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    DamagedPartial,
    DamagedTotal,
    Lost,
    Delayed,
    HandoverDispute,
}

impl ExceptionKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ExceptionKind::DamagedPartial => "damaged_partial",
            ExceptionKind::DamagedTotal => "damaged_total",
            ExceptionKind::Lost => "lost",
            ExceptionKind::Delayed => "delayed",
            ExceptionKind::HandoverDispute => "handover_dispute",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Milestone {
    Scheduled,
    OutForDelivery,
    AttemptFailed,
    Delivered,
    Exception,
    ReturnedToSender,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAttempt {
    pub attempt: u32,
    pub reason: FailureReason,
    pub note: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaisedException {
    pub kind: ExceptionKind,
    pub description: String,
    pub raised_at: Timestamp,
    /// For a delay: the window that passed.
    pub missed_window: Option<TimeWindow>,
}

/// One order's last mile, once scheduled. `None` = not scheduled (yet).
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: OrderId,
    pub status: DeliveryStatus,
    pub service_level: ServiceLevel,
    pub consignee: Party,
    pub zone: String,
    pub hub: String,
    pub window: TimeWindow,
    pub courier: Option<CourierId>,
    /// When the courier last left with it (the latest `Started`): a handover is never
    /// reported before it.
    pub out_since: Option<Timestamp>,
    pub failed_attempts: Vec<FailedAttempt>,
    pub proof: Option<ProofOfDelivery>,
    pub on_time: Option<bool>,
    /// Its place on its courier's latest plan, if any.
    pub eta: Option<crate::route::PlannedEta>,
    pub exceptions: Vec<RaisedException>,
    pub scheduled_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Delivery {
    /// On time means handed over by the end of the promised window (the window in force,
    /// after any rescheduling): the promise is "by then", so a parcel that comes early is on
    /// time and one a second late is not. The same definition stands in delivery.proto
    /// (`DeliveryCompleted.on_time`) and docs/KPIS.md.
    pub fn on_time(&self, delivered_at: Timestamp) -> bool {
        delivered_at <= self.window.end
    }

    /// True if a delay was already raised for a window ending at `end`.
    pub fn delay_raised_for(&self, end: Timestamp) -> bool {
        self.exceptions.iter().any(|exception| {
            exception.kind == ExceptionKind::Delayed
                && exception.missed_window.is_some_and(|window| window.end == end)
        })
    }

    /// The window end the SLA clock watches, if it watches this delivery at all: open, and
    /// no delay raised for the current window yet.
    pub fn sla_deadline(&self) -> Option<Timestamp> {
        (self.status.is_open() && !self.delay_raised_for(self.window.end)).then_some(self.window.end)
    }

    pub fn recipient(&self) -> &Contact {
        &self.consignee.contact
    }
}

/// The business's adjustable rules for the last mile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Promised windows, as offsets from the arrival at the destination hub.
    pub same_day: WindowRule,
    pub express: WindowRule,
    pub standard: WindowRule,
    /// Failed attempts after which the goods go back to the sender.
    pub max_attempts: u32,
    /// How long after a failed attempt the next window starts.
    pub reschedule_after: chrono::Duration,
    /// How couriers' runs are planned.
    pub routes: crate::route::RoutePolicy,
}

/// A promised window: from `arrival + start_after` to `arrival + end_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowRule {
    pub start_after: chrono::Duration,
    pub end_after: chrono::Duration,
}

impl WindowRule {
    pub fn hours(start: i64, end: i64) -> Self {
        Self { start_after: chrono::Duration::hours(start), end_after: chrono::Duration::hours(end) }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            same_day: WindowRule::hours(0, 4),
            express: WindowRule::hours(0, 24),
            standard: WindowRule::hours(24, 72),
            max_attempts: 3,
            reschedule_after: chrono::Duration::hours(24),
            routes: crate::route::RoutePolicy::default(),
        }
    }
}

impl Policy {
    /// The window promised for goods of `service_level` that arrived at the hub at `arrived_at`.
    pub fn window_for(&self, service_level: ServiceLevel, arrived_at: Timestamp) -> TimeWindow {
        let rule = match service_level {
            ServiceLevel::SameDay => self.same_day,
            ServiceLevel::Express => self.express,
            ServiceLevel::Standard => self.standard,
        };
        TimeWindow { start: arrived_at + rule.start_after, end: arrived_at + rule.end_after }
    }
}

/// What a decision needs from outside: the time it is taken at and the rules (the shape
/// every service's deciders share).
pub type Context<'a> = waybill_command::Context<'a, Policy>;
