//! What the read model knows about each order, complaint and survey, folded from intake's,
//! delivery's and after-sales' events (see `read_model/`). Plain data.

use waybill_types::{CustomerId, Money, OrderId, Timestamp};

/// One order, as far as CRM cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub placed_at: Timestamp,
    /// The latest quote's total (placed, amended, redirected).
    pub charged: Money,
    pub chargeable_weight_grams: u64,
    /// Cancelled and not restored since.
    pub cancelled: bool,
    /// When it was handed over (the proof of delivery's time).
    pub delivered_at: Option<Timestamp>,
    /// Delivered within the promised window (delivery's verdict).
    pub on_time: bool,
    /// Delivered at the first attempt (delivery's verdict).
    pub first_attempt: bool,
    pub damaged: bool,
    pub lost: bool,
    pub handover_dispute: bool,
    pub returned_to_sender: bool,
    /// Refunds paid on this order, as after-sales reported them.
    pub refunds: Vec<Money>,
    /// Claim payments on this order.
    pub claims_paid: Vec<Money>,
    /// Complaints about the bill filed on this order.
    pub billing_complaints: u32,
    /// Its place on its courier's latest planned run, if it was on one.
    pub planned_stop: Option<super::PlannedStopFacts>,
}

impl OrderFacts {
    /// A freshly placed order.
    pub fn placed(
        order_id: OrderId,
        customer_id: CustomerId,
        placed_at: Timestamp,
        charged: Money,
        chargeable_weight_grams: u64,
    ) -> Self {
        OrderFacts {
            order_id,
            customer_id,
            placed_at,
            charged,
            chargeable_weight_grams,
            cancelled: false,
            delivered_at: None,
            on_time: false,
            first_attempt: false,
            damaged: false,
            lost: false,
            handover_dispute: false,
            returned_to_sender: false,
            refunds: Vec::new(),
            claims_paid: Vec::new(),
            billing_complaints: 0,
            planned_stop: None,
        }
    }

    /// Delivered or lost: the order reached an end where its quality can be judged
    /// (docs/KPIS.md, "completed orders").
    pub fn is_completed(&self) -> bool {
        !self.cancelled && (self.delivered_at.is_some() || self.lost)
    }
}

/// One complaint, from after-sales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComplaintFacts {
    pub complaint_id: String,
    pub customer_id: Option<CustomerId>,
    pub order_id: Option<OrderId>,
    pub filed_at: Timestamp,
    /// The complaint is about the bill (category billing).
    pub billing: bool,
    /// Resolved (or closed after a resolution).
    pub resolved: bool,
    /// Resolved within its SLA, as after-sales judged it; `None` while unresolved.
    pub resolved_within_sla: Option<bool>,
}

/// One survey answer, from after-sales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurveyFacts {
    pub customer_id: Option<CustomerId>,
    pub order_id: Option<OrderId>,
    pub at: Timestamp,
    /// Customer satisfaction, 1-5.
    pub csat: Option<u32>,
    /// Likelihood to recommend, 0-10.
    pub nps: Option<u32>,
}
