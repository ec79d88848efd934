//! `evolve`: what an event means for a customer; the same on replay and live. `None` means
//! the event does not apply (the projection stops loudly on it).

use waybill_types::Timestamp;

use super::{CreditHold, Customer, Event};

pub fn evolve(state: Option<Customer>, event: &Event, at: Timestamp) -> Option<Customer> {
    match (state, event) {
        (None, Event::Registered { customer_id, profile }) => Some(Customer {
            id: customer_id.clone(),
            profile: profile.clone(),
            credit_rating: None,
            credit_limit: None,
            hold: None,
            registered_at: at,
            updated_at: at,
        }),
        (None, _) | (Some(_), Event::Registered { .. }) => None,
        (Some(mut customer), event) => {
            match event {
                Event::Registered { .. } => return None,
                Event::Updated { profile } => customer.profile = profile.clone(),
                Event::CreditRatingSet { rating, credit_limit } => {
                    customer.credit_rating = Some(*rating);
                    customer.credit_limit = Some(*credit_limit);
                }
                Event::CreditHoldPlaced { reason } => {
                    customer.hold = Some(CreditHold { reason: reason.clone(), since: at })
                }
                Event::CreditHoldReleased { .. } => customer.hold = None,
            }
            customer.updated_at = at;
            Some(customer)
        }
    }
}
