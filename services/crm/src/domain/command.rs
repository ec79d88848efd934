//! What a caller may ask of a customer.

use waybill_types::{CustomerId, Money};

use super::{CreditRating, Profile};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Register { customer_id: CustomerId, profile: Profile },
    Update { profile: Profile },
    SetCreditRating { rating: CreditRating, credit_limit: Money },
    PlaceCreditHold { reason: String },
    ReleaseCreditHold { note: String },
}

impl Command {
    /// The verb a rejection names.
    pub fn action(&self) -> &'static str {
        match self {
            Command::Register { .. } => "register",
            Command::Update { .. } => "update",
            Command::SetCreditRating { .. } => "rate",
            Command::PlaceCreditHold { .. } => "place a credit hold on",
            Command::ReleaseCreditHold { .. } => "release the credit hold of",
        }
    }
}
