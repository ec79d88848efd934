//! Orders on the shared command loop (`waybill_command`, whose docs describe the loop):
//! here is only what is intake's own, the Order as an [`Aggregate`](waybill_command::Aggregate).

use waybill_command::EventMeta;
use waybill_types::OrderId;

use crate::codec;
use crate::domain::{self, Command, Event, Order, Policy, Rejection};
use crate::read_model::OrderBook;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type CommandRunner = waybill_command::CommandRunner<Order, OrderBook>;
pub type CommandError = waybill_command::CommandError<Rejection>;
pub type Outcome = waybill_command::Outcome<Order>;

/// `waybill.intake.order.<order id>.<order id>`.
pub fn order_subject(order_id: &OrderId) -> String {
    let id = order_id.to_string();
    waybill_eventlog::subject::in_order("intake", "order", &id, &id)
}

waybill_command::aggregate! {
    Order("intake", "order"): OrderId => Event, Rejection, Policy;
    order: waybill_command::declare::the_order;
    evolve: domain::evolve;
    encode: |id, _, event, meta| codec::encode(*id, event, meta);
    decode: codec::decode => |decoded| Some((decoded.meta, decoded.event));
    decide: Command => |state, command, context| domain::decide(state, command.clone(), context);
    not_found: |_| Rejection::NotFound;
}

/// The order folded from `history` up to and including `position`.
pub fn fold_until(
    history: Vec<(waybill_eventlog::Position, EventMeta, Event)>,
    position: u64,
) -> Option<Outcome> {
    waybill_command::fold_until::<Order>(history, position)
}
