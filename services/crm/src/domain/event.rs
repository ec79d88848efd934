//! What happened to a customer. Event type strings are `waybill.crm.<event>.v1`.

use waybill_types::{CustomerId, Money};

use super::{CreditRating, Profile};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Registered { customer_id: CustomerId, profile: Profile },
    Updated { profile: Profile },
    CreditRatingSet { rating: CreditRating, credit_limit: Money },
    CreditHoldPlaced { reason: String },
    CreditHoldReleased { note: String },
}

impl Event {
    pub fn event_type(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "waybill.crm.customer_registered.v1",
            Event::Updated { .. } => "waybill.crm.customer_updated.v1",
            Event::CreditRatingSet { .. } => "waybill.crm.credit_rating_set.v1",
            Event::CreditHoldPlaced { .. } => "waybill.crm.credit_hold_placed.v1",
            Event::CreditHoldReleased { .. } => "waybill.crm.credit_hold_released.v1",
        }
    }
}
