//! Customers on the shared command loop (`waybill_command`): here is only what is CRM's
//! own, the Customer as an [`Aggregate`].

use waybill_command::{Aggregate, Context, Decider, EventMeta};
use waybill_eventlog::{NewEvent, subject};
use waybill_types::{CustomerId, Timestamp};

use crate::codec;
use crate::domain::{self, Command, Customer, Event, Rejection};
use crate::read_model::CrmModel;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type CommandRunner = waybill_command::CommandRunner<Customer, CrmModel>;
pub type CommandError = waybill_command::CommandError<Rejection>;
pub type Outcome = waybill_command::Outcome<Customer>;

/// `waybill.crm.customer.<customer id>`: the id is `[A-Za-z0-9_-]`, never personal data.
pub fn customer_subject(customer_id: &CustomerId) -> String {
    subject::aggregate("crm", "customer", customer_id.as_str())
}

impl Aggregate for Customer {
    type Id = CustomerId;
    type Event = Event;
    type Rejection = Rejection;
    type Policy = ();

    fn subject(id: &CustomerId) -> String {
        customer_subject(id)
    }

    fn evolve(state: Option<Customer>, event: &Event, at: Timestamp) -> Option<Customer> {
        domain::evolve(state, event, at)
    }

    fn encode(id: &CustomerId, _state: Option<&Customer>, event: &Event, meta: &EventMeta) -> NewEvent {
        codec::encode(id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, Event), String> {
        codec::decode(payload).map(|decoded| (decoded.meta, decoded.event)).map_err(|error| error.to_string())
    }
}

impl Decider for Customer {
    type Command = Command;

    fn decide(
        state: Option<&Customer>,
        command: &Command,
        context: &Context<'_, ()>,
    ) -> Result<Vec<Event>, Rejection> {
        domain::decide(state, command, context)
    }

    fn not_found(_id: &CustomerId) -> Rejection {
        Rejection::NotFound
    }
}
