//! CRM's facts about customers, as intake reads them (its automatic review refuses
//! customers on credit hold). The customer's id is the envelope's aggregate id.

use crate::envelope::{DecodeError, Envelope};
use crate::v1::crm_event::Event as Wire;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerFact {
    CreditHoldPlaced,
    CreditHoldReleased,
}

/// One of CRM's events, if it is one other services read.
pub fn read(payload: &[u8]) -> Result<Option<Envelope<CustomerFact>>, DecodeError> {
    super::read(payload, |event: Wire, _| match event {
        Wire::CreditHoldPlaced(_) => Some(CustomerFact::CreditHoldPlaced),
        Wire::CreditHoldReleased(_) => Some(CustomerFact::CreditHoldReleased),
        _ => None,
    })
}
