//! Couriers and deliveries on the shared command loop (`waybill_command`, whose docs
//! describe the loop): here is only what is delivery's own, the two [`Aggregate`]s.

use waybill_command::{Aggregate, Context, Decider, EventMeta};
use waybill_eventlog::{NewEvent, subject};
use waybill_types::{OrderId, Timestamp};

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

pub fn delivery_subject(id: &OrderId) -> String {
    subject::aggregate("delivery", "task", &id.to_string())
}

pub fn courier_subject(id: &CourierId) -> String {
    subject::aggregate("delivery", "courier", &id.to_string())
}

impl Aggregate for Delivery {
    type Id = OrderId;
    type Event = DeliveryEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &OrderId) -> String {
        delivery_subject(id)
    }

    fn evolve(state: Option<Delivery>, event: &DeliveryEvent, at: Timestamp) -> Option<Delivery> {
        domain::evolve(state, event, at)
    }

    fn encode(id: &OrderId, _state: Option<&Delivery>, event: &DeliveryEvent, meta: &EventMeta) -> NewEvent {
        codec::encode_delivery(*id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, DeliveryEvent), String> {
        match codec::decode(payload).map_err(|error| error.to_string())? {
            Decoded::Delivery { meta, event, .. } => Ok((meta, event)),
            Decoded::Courier { .. } => Err("a courier event on a delivery's subject".to_owned()),
        }
    }
}

impl Decider for Delivery {
    type Command = DeliveryCommand;

    fn decide(
        state: Option<&Delivery>,
        command: &DeliveryCommand,
        context: &Context<'_, Policy>,
    ) -> Result<Vec<DeliveryEvent>, Rejection> {
        domain::decide(state, command.clone(), context)
    }

    fn not_found(_id: &OrderId) -> Rejection {
        Rejection::DeliveryNotFound
    }
}

impl Aggregate for Courier {
    type Id = CourierId;
    type Event = CourierEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CourierId) -> String {
        courier_subject(id)
    }

    fn evolve(state: Option<Courier>, event: &CourierEvent, at: Timestamp) -> Option<Courier> {
        domain::evolve_courier(state, event, at)
    }

    fn encode(id: &CourierId, _state: Option<&Courier>, event: &CourierEvent, meta: &EventMeta) -> NewEvent {
        codec::encode_courier(*id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, CourierEvent), String> {
        match codec::decode(payload).map_err(|error| error.to_string())? {
            Decoded::Courier { meta, event, .. } => Ok((meta, event)),
            Decoded::Delivery { .. } => Err("a delivery event on a courier's subject".to_owned()),
        }
    }
}

impl Decider for Courier {
    type Command = CourierCommand;

    fn decide(
        state: Option<&Courier>,
        command: &CourierCommand,
        context: &Context<'_, Policy>,
    ) -> Result<Vec<CourierEvent>, Rejection> {
        domain::decide_courier(state, command.clone(), context)
    }

    fn not_found(_id: &CourierId) -> Rejection {
        Rejection::CourierNotFound
    }
}
