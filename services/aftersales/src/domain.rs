//! After-sales deciders: returns, claims, complaints, and each order's ledger of money paid
//! back. Pure: no I/O, no clock, no randomness; time comes in as `now`, facts about the
//! order (what was charged, declared, delivered) come in through the command.
//!
//! Four aggregates, each `decide(state, command, now, policy) -> events | rejection` and
//! `evolve(state, event, at) -> state`:
//! - a [`ReturnCase`] (`waybill.aftersales.return.<id>`): requested within the return window
//!   after delivery → approved (and a reverse pickup asked of dispatch) or rejected →
//!   received → refunded (once or more) → closed;
//! - a [`Claim`] (`waybill.aftersales.claim.<id>`): opened (by delivery's damage or loss
//!   exception, or by an agent) → assessed → approved (never above the declared value) →
//!   paid, or rejected → closed;
//! - a [`Complaint`] (`waybill.aftersales.complaint.<id>`): filed with acknowledge and
//!   resolve deadlines from its severity → acknowledged → escalated (by hand, or by the SLA
//!   clock once per missed deadline) → resolved → closed;
//! - a [`Ledger`] (`waybill.aftersales.order.<order id>`): the refunds and claim payments of
//!   one order. A refund (or a claim payment) is decided on the case and the ledger together
//!   and written to both in one atomic append, so two racing refunds cannot together exceed
//!   what the customer was charged, nor claim payments the declared value.
//!
//! Closing any case requests a satisfaction survey (same append); the customer's answer is
//! recorded once, on the case. That end of a case's life is one [`CaseEvent`] for all three
//! kinds, with one `require` for every case's status rules (`case.rs`).

mod case;
mod claims;
mod complaints;
mod ledger;
mod rejection;
mod returns;

use std::fmt;

use uuid::Uuid;
use waybill_types::{Address, CargoLine, Money, OrderId, ServiceLevel, Timestamp};

pub use case::{CaseEvent, CaseStatus};
pub use claims::{Claim, ClaimCommand, ClaimEvent, ClaimKind, ClaimStatus, decide_claim, evolve_claim};
pub use complaints::{
    Complaint, ComplaintCategory, ComplaintCommand, ComplaintEvent, ComplaintStatus, Escalation, Severity,
    SlaBreach, decide_complaint, evolve_complaint,
};
pub use ledger::{
    Ledger, LedgerEvent, decide_claim_approval, decide_claim_payment, decide_claim_rejection, decide_refund,
    evolve_ledger,
};
pub use rejection::Rejection;
pub use returns::{ReturnCase, ReturnCommand, ReturnEvent, ReturnStatus, decide_return, evolve_return};

/// Namespace of the UUIDv5 ids derived from request ids and causing events' ids.
pub const ID_NAMESPACE: Uuid = Uuid::from_u128(0x7c1e_55a0_2f4b_4d7e_9a0c_5e3f_a1b2_c3d4);

/// The id of a return, a claim or a complaint: a UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId(pub Uuid);

impl CaseId {
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::parse_str(text).ok().map(Self)
    }

    /// The id a creating command gets when the caller names none: derived from what
    /// `kind` it creates and the request id (or the causing event's id), so a retry, even
    /// after the duplicate window, lands on the same case.
    pub fn derived(kind: CaseKind, request_id: &str) -> Self {
        Self(Uuid::new_v5(&ID_NAMESPACE, format!("{}:{request_id}", kind.as_str()).as_bytes()))
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseKind {
    Return,
    Claim,
    Complaint,
}

impl CaseKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            CaseKind::Return => "return",
            CaseKind::Claim => "claim",
            CaseKind::Complaint => "complaint",
        }
    }
}

waybill_types::display_as_str!(CaseKind);

/// The satisfaction survey of a closed case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Survey {
    pub requested_at: Timestamp,
    pub answer: Option<SurveyAnswer>,
}

/// The customer's answer: CSAT 1–5, NPS 0–10 (checked at the edge), a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub csat: u32,
    pub nps: u32,
    pub comment: String,
    pub answered_at: Timestamp,
}

/// Part of an order's cargo coming back: `quantity` pieces of cargo line `cargo_index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnLine {
    pub cargo_index: u32,
    pub quantity: u32,
    pub description: String,
}

/// Weight and volume of goods moved, for dispatch's capacity planning.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Load {
    pub weight_grams: u64,
    pub volume_cm3: u64,
}

/// What intake and delivery said about an order that after-sales needs (from the log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub customer_id: String,
    pub shipper: Address,
    pub consignee: Address,
    pub service_level: ServiceLevel,
    pub cargo: Vec<CargoLine>,
    /// What the customer was charged: the latest quote's total.
    pub charged: Option<Money>,
    /// When the goods were handed over; the return window starts then.
    pub delivered_at: Option<Timestamp>,
}

impl OrderFacts {
    /// The sum of the cargo lines' declared values; `None` if the lines mix currencies.
    pub fn declared_value(&self) -> Option<Money> {
        let mut lines = self.cargo.iter();
        let first = lines.next()?.declared_value;
        lines.try_fold(first, |sum, line| sum.checked_add(line.declared_value).ok())
    }

    /// What the given lines weigh and take up.
    pub fn load_of(&self, lines: &[ReturnLine]) -> Load {
        lines.iter().fold(Load::default(), |load, line| {
            let Some(cargo) = usize::try_from(line.cargo_index).ok().and_then(|index| self.cargo.get(index))
            else {
                return load;
            };
            let pieces = u64::from(line.quantity);
            let volume = u64::from(cargo.length_cm)
                .saturating_mul(u64::from(cargo.width_cm))
                .saturating_mul(u64::from(cargo.height_cm));
            Load {
                weight_grams: load.weight_grams.saturating_add(cargo.weight_grams.saturating_mul(pieces)),
                volume_cm3: load.volume_cm3.saturating_add(volume.saturating_mul(pieces)),
            }
        })
    }
}

/// How long a complaint of one severity may wait for an acknowledgement and a resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComplaintSla {
    pub acknowledge_within: chrono::Duration,
    pub resolve_within: chrono::Duration,
}

impl ComplaintSla {
    pub fn hours(acknowledge: i64, resolve: i64) -> Self {
        Self {
            acknowledge_within: chrono::Duration::hours(acknowledge),
            resolve_within: chrono::Duration::hours(resolve),
        }
    }
}

/// What a decision needs from outside: the time it is taken at and the rules (the shape
/// every service's deciders share).
pub type Context<'a> = waybill_command::Context<'a, Policy>;

/// The business's adjustable after-sales rules.
#[derive(Clone, Debug, PartialEq, Eq)]

pub struct Policy {
    /// How long after delivery a return may be requested.
    pub return_window: chrono::Duration,
    pub low: ComplaintSla,
    pub medium: ComplaintSla,
    pub high: ComplaintSla,
    pub critical: ComplaintSla,
    /// "Simple ones the same day": a LOW complaint is due by the end of its filing day
    /// (UTC) when that is sooner than `low.resolve_within`; filed less than
    /// `same_day_cutoff` before midnight, by the end of the next day.
    pub same_day_low: bool,
    pub same_day_cutoff: chrono::Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            return_window: chrono::Duration::days(14),
            low: ComplaintSla::hours(24, 72),
            medium: ComplaintSla::hours(8, 48),
            high: ComplaintSla::hours(2, 24),
            critical: ComplaintSla::hours(1, 8),
            same_day_low: true,
            same_day_cutoff: chrono::Duration::hours(4),
        }
    }
}

impl Policy {
    pub fn sla(&self, severity: Severity) -> ComplaintSla {
        match severity {
            Severity::Low => self.low,
            Severity::Medium => self.medium,
            Severity::High => self.high,
            Severity::Critical => self.critical,
        }
    }

    /// A complaint's (acknowledge by, resolve by), filed at `filed_at`. The acknowledgement
    /// is never due after the resolution.
    pub fn deadlines(&self, severity: Severity, filed_at: Timestamp) -> (Timestamp, Timestamp) {
        let sla = self.sla(severity);
        let mut resolve_by = filed_at + sla.resolve_within;
        if severity == Severity::Low && self.same_day_low {
            let mut end_of_day =
                (filed_at.date_naive() + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN).and_utc();
            if end_of_day - filed_at < self.same_day_cutoff {
                end_of_day += chrono::Duration::days(1);
            }
            resolve_by = resolve_by.min(end_of_day);
        }
        let acknowledge_by = (filed_at + sla.acknowledge_within).min(resolve_by);
        (acknowledge_by, resolve_by)
    }
}
