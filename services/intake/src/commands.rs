//! Orders on the shared command loop (`waybill_command`, whose docs describe the loop):
//! here is only what is intake's own, the Order as an [`Aggregate`].

use waybill_command::{Aggregate, Context, Decider, EventMeta};
use waybill_eventlog::{NewEvent, subject};
use waybill_types::{OrderId, Timestamp};

use crate::codec;
use crate::domain::{self, Command, Event, Order, Policy, Rejection};
use crate::read_model::OrderBook;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type CommandRunner = waybill_command::CommandRunner<Order, OrderBook>;
pub type CommandError = waybill_command::CommandError<Rejection>;
pub type Outcome = waybill_command::Outcome<Order>;

pub fn order_subject(order_id: &OrderId) -> String {
    subject::aggregate("intake", "order", &order_id.to_string())
}

impl Aggregate for Order {
    type Id = OrderId;
    type Event = Event;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &OrderId) -> String {
        order_subject(id)
    }

    fn evolve(state: Option<Order>, event: &Event, at: Timestamp) -> Option<Order> {
        domain::evolve(state, event, at)
    }

    fn encode(id: &OrderId, _state: Option<&Order>, event: &Event, meta: &EventMeta) -> NewEvent {
        codec::encode(*id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, Event), String> {
        codec::decode(payload).map(|decoded| (decoded.meta, decoded.event)).map_err(|error| error.to_string())
    }
}

impl Decider for Order {
    type Command = Command;

    fn decide(
        state: Option<&Order>,
        command: &Command,
        context: &Context<'_, Policy>,
    ) -> Result<Vec<Event>, Rejection> {
        domain::decide(state, command.clone(), context)
    }

    fn not_found(_id: &OrderId) -> Rejection {
        Rejection::NotFound
    }
}

/// The order folded from `history` up to and including `position`.
pub fn fold_until(
    history: Vec<(waybill_eventlog::Position, EventMeta, Event)>,
    position: u64,
) -> Option<Outcome> {
    waybill_command::fold_until::<Order>(history, position)
}
