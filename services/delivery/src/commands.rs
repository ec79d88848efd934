//! Couriers, deliveries and routes on the shared command loop (`waybill_command`, whose
//! docs describe the loop): here is only what is delivery's own, the four [`Aggregate`]s
//! and the plan of a courier's day ([`PlanRoute`]), one decision over the route and every
//! delivery it gives an ETA.

use waybill_command::{Aggregate, Context, Decided, Decision, Primary, Reads};
use waybill_types::OrderId;

use crate::codec::{self, Decoded};
use crate::domain::{
    self, Courier, CourierCommand, CourierEvent, CourierId, Delivery, DeliveryCommand, DeliveryEvent,
    Notices, Notify, Policy, Rejection,
};
use crate::read_model::DeliveryBook;
use crate::route::{self, CourierRoute, PlanInput, PlanRoute, RouteEvent, RouteId, StopFact};

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type DeliveryRunner = waybill_command::CommandRunner<Delivery, DeliveryBook>;
pub type CourierRunner = waybill_command::CommandRunner<Courier, DeliveryBook>;
pub type NoticeRunner = waybill_command::CommandRunner<Notices, DeliveryBook>;
pub type RouteRunner = waybill_command::CommandRunner<CourierRoute, DeliveryBook>;
pub type CommandError = waybill_command::CommandError<Rejection>;

waybill_command::aggregate! {
    Delivery("delivery", "task"): OrderId => DeliveryEvent, Rejection, Policy;
    order: waybill_command::declare::the_order;
    evolve: domain::evolve;
    encode: |id, _, event, meta| codec::encode_delivery(*id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Delivery { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
    decide: DeliveryCommand => |state, command, context| domain::decide(state, command.clone(), context);
    not_found: |_| Rejection::DeliveryNotFound;
}

waybill_command::aggregate! {
    /// The consignee's notifications about a delivery (`domain::Notices`): same id, same
    /// envelope as the delivery's events, a subject of their own.
    Notices("delivery", "notification"): OrderId => DeliveryEvent, Rejection, Policy;
    order: waybill_command::declare::the_order;
    evolve: domain::evolve_notices;
    encode: |id, _, event, meta| codec::encode_delivery(*id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Delivery { meta, event: event @ DeliveryEvent::NotificationRequested { .. }, .. } => {
            Some((meta, event))
        }
        _ => None,
    };
    decide: Notify => |state, command, context| domain::decide_notice(state, command, context);
    not_found: |_| Rejection::DeliveryNotFound;
}

waybill_command::aggregate! {
    Courier("delivery", "courier"): CourierId => CourierEvent, Rejection, Policy;
    evolve: domain::evolve_courier;
    encode: |id, _, event, meta| codec::encode_courier(*id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Courier { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
    decide: CourierCommand => |state, command, context| domain::decide_courier(state, command.clone(), context);
    not_found: |_| Rejection::CourierNotFound;
}

waybill_command::aggregate! {
    CourierRoute("delivery", "route"): RouteId => RouteEvent, Rejection, Policy;
    evolve: route::evolve_route;
    encode: |id, _, event, meta| codec::encode_route(*id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Route { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
}

/// The day's run: the courier (read, not written), its open deliveries for the day and
/// those on the previous plan (each read at its version and possibly given an ETA).
impl Decision<CourierRoute, DeliveryBook> for PlanRoute {
    type Other = Delivery;
    type Input = PlanInput;

    fn read(
        &self,
        book: &DeliveryBook,
        route: Primary<'_, CourierRoute>,
        reads: &mut Reads<Delivery>,
    ) -> PlanInput {
        let id = *route.id;
        let courier = book.courier(&id.courier);
        reads.subject(Courier::subject(&id.courier, None), courier.map_or(0, |record| record.version));
        let from = id.day.and_time(chrono::NaiveTime::MIN).and_utc();
        let until = from + chrono::Duration::days(1);
        let mut input = PlanInput {
            route: id,
            courier_retired: courier.map(|record| record.state.retired),
            stops: Vec::new(),
            off_run: Vec::new(),
            points: Vec::new(),
        };
        for record in book.route(&id.courier, from, until) {
            let delivery = &record.delivery;
            // An attempt that failed today took the stop off today's run.
            if delivery.failed_attempts.last().is_some_and(|attempt| attempt.at >= from) {
                continue;
            }
            reads.other(delivery.id, record.version);
            input.stops.push(StopFact {
                id: delivery.id,
                at: delivery.consignee.address.coordinates,
                window: delivery.window,
                eta: delivery.eta,
            });
        }
        let named = route.state.into_iter().flat_map(|plan| plan.plan.stops.iter().map(|stop| stop.id));
        for order in named.chain(self.from_stop) {
            let Some(record) = book.delivery(&order) else { continue };
            if let Some(at) = record.delivery.consignee.address.coordinates {
                input.points.push((order, at));
            }
            let on_run = input.stops.iter().any(|stop| stop.id == order);
            if !on_run
                && record.delivery.status.is_open()
                && !input.off_run.iter().any(|(id, _)| *id == order)
            {
                reads.other(order, record.version);
                input.off_run.push((order, record.delivery.eta));
            }
        }
        input
    }

    fn decide(
        &self,
        previous: Option<&CourierRoute>,
        input: &PlanInput,
        context: &Context<'_, Policy>,
    ) -> Result<Decided<CourierRoute, Delivery>, Rejection> {
        let (events, others) =
            route::decide_plan(previous, self, input, context.now, &context.policy.routes)?;
        Ok(Decided { events, others })
    }

    fn not_found(&self, _: &RouteId) -> Rejection {
        Rejection::RouteNotPlanned
    }
}
