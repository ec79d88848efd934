//! `decide`: what a command causes on a customer (rules in the module docs of `domain`).

use super::{Command, Context, Customer, Event, Rejection};

pub fn decide(
    state: Option<&Customer>,
    command: &Command,
    _context: &Context<'_>,
) -> Result<Vec<Event>, Rejection> {
    let customer = match (state, command) {
        (None, Command::Register { customer_id, profile }) => {
            return Ok(vec![Event::Registered {
                customer_id: customer_id.clone(),
                profile: profile.clone(),
            }]);
        }
        (Some(_), Command::Register { .. }) => return Err(Rejection::AlreadyRegistered),
        (None, _) => return Err(Rejection::NotFound),
        (Some(customer), _) => customer,
    };
    match command {
        Command::Register { .. } => Err(Rejection::AlreadyRegistered),
        Command::Update { profile } if *profile == customer.profile => Ok(vec![]),
        Command::Update { profile } => Ok(vec![Event::Updated { profile: profile.clone() }]),
        Command::SetCreditRating { rating, credit_limit } => {
            Ok(vec![Event::CreditRatingSet { rating: *rating, credit_limit: *credit_limit }])
        }
        Command::PlaceCreditHold { .. } if customer.is_on_hold() => {
            Err(Rejection::InvalidState { action: command.action(), state: "already on credit hold" })
        }
        Command::PlaceCreditHold { reason } => Ok(vec![Event::CreditHoldPlaced { reason: reason.clone() }]),
        Command::ReleaseCreditHold { .. } if !customer.is_on_hold() => {
            Err(Rejection::InvalidState { action: command.action(), state: "not on credit hold" })
        }
        Command::ReleaseCreditHold { note } => Ok(vec![Event::CreditHoldReleased { note: note.clone() }]),
    }
}
