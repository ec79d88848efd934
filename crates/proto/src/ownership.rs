//! Who may have written an event: the rule every service reads the log under (the hosts
//! hand [`admission`] to `EventLog::admitting`; `waybill_eventlog::admission` applies it to
//! the read model, the reactions and history reads).
//!
//! A subject is `waybill.<service>.<aggregate type>.<aggregate id>`, and NATS decides who
//! may publish on it; the envelope is only what the publisher claims. So an event is applied
//! only if the subject and its envelope agree:
//!
//! - the event is of the service the subject is under (no delivery event on an intake
//!   subject), and that service writes aggregates of the subject's type;
//! - the envelope's `aggregate_id` is the subject's last token;
//! - on the aggregates that *are* an order (intake's order, delivery's task, after-sales'
//!   order ledger), the envelope's `order_id` is that token too: the read models key those
//!   by `order_id`, so an event on one order's subject naming another order would change
//!   the other one.
//!
//! Bytes that are no envelope, or an envelope with no event, pass: they are not a claim
//! about ownership, and the reader stops on them as on any event it cannot understand.

use waybill_eventlog::subject::ROOT;
use waybill_eventlog::{Admission, RecordedEvent, Refusal, RefusalReason};

use crate::envelope::{self, Service};

/// Whether an aggregate type's id is the id of the order it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderLink {
    /// The aggregate is the order (or the order's own shipment): `order_id` is its id.
    IsTheOrder,
    /// The aggregate has an id of its own (`order_id` names its order, if any).
    OwnId,
}

/// A service as subjects name it: its token, and the aggregate types it writes.
struct Owner {
    token: &'static str,
    service: Service,
    aggregates: &'static [(&'static str, OrderLink)],
}

/// Every service's subject token, and the aggregate types it writes. A new aggregate type
/// goes here too, or its events are refused (`services/*/src/commands.rs` build the subjects).
const OWNERS: [Owner; 5] = [
    Owner { token: "intake", service: Service::Intake, aggregates: &[("order", OrderLink::IsTheOrder)] },
    Owner {
        token: "dispatch",
        service: Service::Dispatch,
        aggregates: &[
            ("task", OrderLink::OwnId),
            ("vehicle", OrderLink::OwnId),
            ("driver", OrderLink::OwnId),
            ("hub", OrderLink::OwnId),
        ],
    },
    Owner {
        token: "delivery",
        service: Service::Delivery,
        aggregates: &[
            ("task", OrderLink::IsTheOrder),
            ("courier", OrderLink::OwnId),
            // A courier's day: `<courier id>_<YYYY-MM-DD>`, not an order.
            ("route", OrderLink::OwnId),
        ],
    },
    Owner {
        token: "aftersales",
        service: Service::AfterSales,
        aggregates: &[
            ("return", OrderLink::OwnId),
            ("claim", OrderLink::OwnId),
            ("complaint", OrderLink::OwnId),
            ("order", OrderLink::IsTheOrder),
        ],
    },
    Owner { token: "crm", service: Service::Crm, aggregates: &[("customer", OrderLink::OwnId)] },
];

/// The admission `service` reads the log under.
pub fn admission(service: &'static str) -> Admission {
    Admission { service, check }
}

/// `Ok` if `event` may be applied: see the module docs.
pub fn check(event: &RecordedEvent) -> Result<(), Refusal> {
    let malformed = |detail: String| Err(Refusal::new(RefusalReason::MalformedSubject, detail));
    let tokens: Vec<&str> = event.subject.split('.').collect();
    let [root, service, aggregate_type, aggregate_id] = tokens[..] else {
        return malformed(format!("{} is not waybill.<service>.<aggregate>.<id>", event.subject));
    };
    let Some(Owner { service: owner, aggregates, .. }) = OWNERS.iter().find(|owner| owner.token == service)
    else {
        return malformed(format!("no service is called {service:?}"));
    };
    let Some((_, link)) = aggregates.iter().find(|(name, _)| *name == aggregate_type) else {
        return malformed(format!("{owner} writes no {aggregate_type:?} aggregates"));
    };
    if root != ROOT {
        return malformed(format!("{} is not under {ROOT}.", event.subject));
    }
    let Ok(envelope) = envelope::decode(&event.payload) else { return Ok(()) };
    let Some(payload) = &envelope.event else { return Ok(()) };
    let writer = envelope::service_of(payload);
    if writer != *owner {
        return Err(Refusal::new(
            RefusalReason::NotOwner,
            format!("a {writer} event ({}) on a {owner} subject", envelope.event_type),
        ));
    }
    if envelope.aggregate_id != aggregate_id {
        return Err(Refusal::new(
            RefusalReason::AggregateMismatch,
            format!("the envelope names aggregate {:?}, the subject {aggregate_id:?}", envelope.aggregate_id),
        ));
    }
    if *link == OrderLink::IsTheOrder && envelope.order_id != aggregate_id {
        return Err(Refusal::new(
            RefusalReason::OrderMismatch,
            format!("the envelope names order {:?}, the subject {aggregate_id:?}", envelope.order_id),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use waybill_eventlog::{NewEvent, RecordedEvent, RefusalReason};

    use super::check;
    use crate::envelope::EnvelopeBuilder;
    use crate::v1::{self, crm_event, delivery_event, intake_event};

    const ORDER: &str = "0190a000-0000-7000-8000-000000000001";
    const OTHER: &str = "0190a000-0000-7000-8000-000000000002";

    fn stored(subject: &str, event: NewEvent) -> RecordedEvent {
        RecordedEvent {
            position: 7,
            subject: subject.to_owned(),
            event_type: event.event_type,
            payload: event.payload,
            published: chrono::Utc::now(),
        }
    }

    fn cancelled() -> intake_event::Event {
        intake_event::Event::OrderCancelled(v1::OrderCancelled { reason: "test".into() })
    }

    fn reason(subject: &str, event: NewEvent) -> Option<RefusalReason> {
        check(&stored(subject, event)).err().map(|refusal| refusal.reason)
    }

    #[test]
    fn admits_what_the_owner_writes() {
        let order = EnvelopeBuilder::new("waybill.intake.order_cancelled.v1", cancelled()).about_order(ORDER);
        assert_eq!(reason(&format!("waybill.intake.order.{ORDER}"), order.build()), None);
        // A reverse shipment's task has its own id and names its order.
        let task = EnvelopeBuilder::new(
            "waybill.dispatch.task_packed.v1",
            v1::dispatch_event::Event::TaskPacked(v1::TaskPacked {}),
        )
        .aggregate_id(OTHER)
        .order_id(ORDER);
        assert_eq!(reason(&format!("waybill.dispatch.task.{OTHER}"), task.build()), None);
        // A hub has its own id; an event about a consignment names the order.
        let hub = EnvelopeBuilder::new(
            "waybill.dispatch.goods_put_away.v1",
            v1::dispatch_event::Event::GoodsPutAway(v1::GoodsPutAway::default()),
        )
        .aggregate_id(OTHER)
        .order_id(ORDER);
        assert_eq!(reason(&format!("waybill.dispatch.hub.{OTHER}"), hub.build()), None);
        let customer = EnvelopeBuilder::new(
            "waybill.crm.credit_hold_placed.v1",
            crm_event::Event::CreditHoldPlaced(v1::CreditHoldPlaced::default()),
        )
        .aggregate_id("cust-1");
        assert_eq!(reason("waybill.crm.customer.cust-1", customer.build()), None);
        // Bytes that are no envelope are the reader's to stop on, not a refusal.
        let junk = NewEvent { payload: "not protobuf".into(), ..order_event() };
        assert_eq!(reason(&format!("waybill.intake.order.{ORDER}"), junk), None);
    }

    fn order_event() -> NewEvent {
        EnvelopeBuilder::new("waybill.intake.order_cancelled.v1", cancelled()).about_order(ORDER).build()
    }

    #[test]
    fn refuses_what_the_subject_and_envelope_disagree_on() {
        let on = |service: &str, aggregate: &str, id: &str| format!("waybill.{service}.{aggregate}.{id}");
        let naming_other = EnvelopeBuilder::new("waybill.intake.order_cancelled.v1", cancelled())
            .aggregate_id(ORDER)
            .order_id(OTHER);
        assert_eq!(
            reason(&on("intake", "order", ORDER), naming_other.build()),
            Some(RefusalReason::OrderMismatch)
        );
        let other_aggregate =
            EnvelopeBuilder::new("waybill.intake.order_cancelled.v1", cancelled()).about_order(OTHER);
        assert_eq!(
            reason(&on("intake", "order", ORDER), other_aggregate.build()),
            Some(RefusalReason::AggregateMismatch)
        );
        let delivered = EnvelopeBuilder::new(
            "waybill.delivery.delivery_started.v1",
            delivery_event::Event::DeliveryStarted(v1::DeliveryStarted::default()),
        )
        .about_order(ORDER);
        assert_eq!(reason(&on("intake", "order", ORDER), delivered.build()), Some(RefusalReason::NotOwner));
        for subject in
            [on("intake", "parcel", ORDER), on("billing", "order", ORDER), "waybill.intake.order".to_owned()]
        {
            assert_eq!(reason(&subject, order_event()), Some(RefusalReason::MalformedSubject), "{subject}");
        }
    }
}
