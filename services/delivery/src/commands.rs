//! Couriers and deliveries on the shared command loop (`waybill_command`, whose docs
//! describe the loop): here is only what is delivery's own, the two [`Aggregate`]s.

use waybill_types::OrderId;

use crate::codec::{self, Decoded};
use crate::domain::{
    self, Courier, CourierCommand, CourierEvent, CourierId, Delivery, DeliveryCommand, DeliveryEvent, Policy,
    Rejection,
};
use crate::read_model::DeliveryBook;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type DeliveryRunner = waybill_command::CommandRunner<Delivery, DeliveryBook>;
pub type CourierRunner = waybill_command::CommandRunner<Courier, DeliveryBook>;
pub type CommandError = waybill_command::CommandError<Rejection>;

waybill_command::aggregate! {
    Delivery("delivery", "task"): OrderId => DeliveryEvent, Rejection, Policy;
    order: waybill_command::declare::the_order;
    evolve: domain::evolve;
    encode: |id, _, event, meta| codec::encode_delivery(*id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Delivery { meta, event, .. } => Some((meta, event)),
        Decoded::Courier { .. } => None,
    };
    decide: DeliveryCommand => |state, command, context| domain::decide(state, command.clone(), context);
    not_found: |_| Rejection::DeliveryNotFound;
}

waybill_command::aggregate! {
    Courier("delivery", "courier"): CourierId => CourierEvent, Rejection, Policy;
    evolve: domain::evolve_courier;
    encode: |id, _, event, meta| codec::encode_courier(*id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Courier { meta, event, .. } => Some((meta, event)),
        Decoded::Delivery { .. } => None,
    };
    decide: CourierCommand => |state, command, context| domain::decide_courier(state, command.clone(), context);
    not_found: |_| Rejection::CourierNotFound;
}
