//! The Customer aggregate's state and its value types.

use waybill_types::{Address, Contact, CustomerId, Money, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CustomerKind {
    Organisation,
    Person,
}

/// CRM's credit rating; A is the best.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CreditRating {
    A,
    B,
    C,
}

/// Who the customer is. Personal data lives here, in payloads, never in subjects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub kind: CustomerKind,
    pub name: String,
    pub industry: String,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditHold {
    pub reason: String,
    pub since: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    pub id: CustomerId,
    pub profile: Profile,
    pub credit_rating: Option<CreditRating>,
    pub credit_limit: Option<Money>,
    pub hold: Option<CreditHold>,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Customer {
    pub fn is_on_hold(&self) -> bool {
        self.hold.is_some()
    }
}
