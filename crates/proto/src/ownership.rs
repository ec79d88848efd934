//! Who may have written an event: the rule every service reads the log under (the hosts
//! hand [`admission`] to `EventLog::admitting`; `waybill_eventlog::admission` applies it to
//! the read model, the reactions and history reads).
//!
//! A subject is `waybill.<service>.<aggregate type>[.<order id>].<aggregate id>` (the order's
//! id when the aggregate is about one: `eventlog::subject`), and NATS decides who may publish
//! on it; the envelope is only what the publisher claims. So an event is applied only if the
//! subject and its envelope agree:
//!
//! - the event is of the service the subject is under (no delivery event on an intake
//!   subject), and that service writes aggregates of the subject's type;
//! - the envelope's `aggregate_id` is the subject's last token;
//! - on an aggregate about an order, the envelope's `order_id` is the subject's order token,
//!   and a subject without one is for an envelope that names no order; on the aggregates
//!   that *are* an order (intake's order, delivery's task, after-sales' order ledger), the
//!   order token and the aggregate id are the same: the read models key those by
//!   `order_id`, so an event on one order's subject naming another order would change the
//!   other one;
//! - an aggregate about no order (a vehicle, a hub, a customer) has no order token, even
//!   when one of its events names an order (a hub's receipt of an order's goods).
//!
//! Bytes that are no envelope, or an envelope with no event, pass: they are not a claim
//! about ownership, and the reader stops on them as on any event it cannot understand.

use waybill_eventlog::subject::ROOT;
use waybill_eventlog::{Admission, RecordedEvent, Refusal, RefusalReason};

use crate::envelope::{self, Service};

/// How an aggregate type is tied to an order, which decides its subject's order token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderLink {
    /// The aggregate is the order (or the order's own shipment): `order_id` is its id, and
    /// the subject carries it twice.
    Identity,
    /// The aggregate has an id of its own and may be about an order (a return, a reverse
    /// shipment, a complaint): the subject carries the order the envelope names, if any.
    Scoped,
    /// The aggregate is about no order (a vehicle, a hub, a customer): no order token.
    Unscoped,
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
    Owner { token: "intake", service: Service::Intake, aggregates: &[("order", OrderLink::Identity)] },
    Owner {
        token: "dispatch",
        service: Service::Dispatch,
        aggregates: &[
            ("task", OrderLink::Scoped),
            ("vehicle", OrderLink::Unscoped),
            ("driver", OrderLink::Unscoped),
            ("hub", OrderLink::Unscoped),
        ],
    },
    Owner {
        token: "delivery",
        service: Service::Delivery,
        aggregates: &[
            ("task", OrderLink::Identity),
            // The consignee's notifications about the order's last mile.
            ("notification", OrderLink::Identity),
            ("courier", OrderLink::Unscoped),
            // A courier's day: `<courier id>_<YYYY-MM-DD>`, not an order.
            ("route", OrderLink::Unscoped),
        ],
    },
    Owner {
        token: "aftersales",
        service: Service::AfterSales,
        aggregates: &[
            ("return", OrderLink::Scoped),
            ("claim", OrderLink::Scoped),
            ("complaint", OrderLink::Scoped),
            ("order", OrderLink::Identity),
        ],
    },
    Owner { token: "crm", service: Service::Crm, aggregates: &[("customer", OrderLink::Unscoped)] },
];

/// The admission `service` reads the log under.
pub fn admission(service: &'static str) -> Admission {
    Admission { service, check }
}

/// The subject an event stored under the scheme before subjects carried the order's id
/// (`waybill.<service>.<aggregate>.<id>` for every aggregate) has now: the order's id before
/// the aggregate's when the aggregate is about an order (its own id for the order's own
/// aggregates, the envelope's `order_id` for the others). `None` when the subject stays as
/// it is: an aggregate about no order, a complaint about none, a subject already in the
/// current form, one that is not ours, or an envelope that does not say its order.
/// `waybill migrate-backup` rewrites a backup with it (docs/OPERATIONS.md).
pub fn current_subject(subject: &str, payload: &[u8]) -> Option<String> {
    let [root, service, aggregate_type, aggregate_id] = subject.split('.').collect::<Vec<_>>()[..] else {
        return None;
    };
    let owner = OWNERS.iter().find(|owner| owner.token == service)?;
    let (_, link) = owner.aggregates.iter().find(|(name, _)| *name == aggregate_type)?;
    if root != ROOT {
        return None;
    }
    let order_id = match link {
        OrderLink::Unscoped => return None,
        OrderLink::Identity => aggregate_id.to_owned(),
        OrderLink::Scoped => envelope::decode(payload).ok()?.header.order_id,
    };
    if order_id.is_empty() || waybill_eventlog::subject::validate_token(&order_id).is_err() {
        return None;
    }
    Some(waybill_eventlog::subject::in_order(service, aggregate_type, &order_id, aggregate_id))
}

/// `Ok` if `event` may be applied: see the module docs.
pub fn check(event: &RecordedEvent) -> Result<(), Refusal> {
    let malformed = |detail: String| Err(Refusal::new(RefusalReason::MalformedSubject, detail));
    let tokens: Vec<&str> = event.subject.split('.').collect();
    let (root, service, aggregate_type, order_token, aggregate_id) = match tokens[..] {
        [root, service, aggregate_type, aggregate_id] => (root, service, aggregate_type, None, aggregate_id),
        [root, service, aggregate_type, order, aggregate_id] => {
            (root, service, aggregate_type, Some(order), aggregate_id)
        }
        _ => {
            return malformed(format!(
                "{} is not waybill.<service>.<aggregate>[.<order id>].<id>",
                event.subject
            ));
        }
    };
    let Some(Owner { service: owner, aggregates, .. }) = OWNERS.iter().find(|owner| owner.token == service)
    else {
        return malformed(format!("no service is called {service:?}"));
    };
    let Some((_, link)) = aggregates.iter().find(|(name, _)| *name == aggregate_type) else {
        return malformed(format!("{owner} writes no {aggregate_type:?} aggregates"));
    };
    match (link, order_token) {
        (OrderLink::Identity, None) => {
            return malformed(format!("{} has no order token before the order's id", event.subject));
        }
        (OrderLink::Identity, Some(order)) if order != aggregate_id => {
            return malformed(format!("{} names two orders", event.subject));
        }
        (OrderLink::Unscoped, Some(_)) => {
            return malformed(format!("{owner}'s {aggregate_type:?} aggregates are about no order"));
        }
        _ => {}
    }
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
    if *link != OrderLink::Unscoped && envelope.order_id != order_token.unwrap_or_default() {
        return Err(Refusal::new(
            RefusalReason::OrderMismatch,
            format!(
                "the envelope names order {:?}, the subject {:?}",
                envelope.order_id,
                order_token.unwrap_or_default()
            ),
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
        assert_eq!(reason(&format!("waybill.intake.order.{ORDER}.{ORDER}"), order.build()), None);
        // A reverse shipment's task has its own id and names its order.
        let task = EnvelopeBuilder::new(
            "waybill.dispatch.task_packed.v1",
            v1::dispatch_event::Event::TaskPacked(v1::TaskPacked {}),
        )
        .aggregate_id(OTHER)
        .order_id(ORDER);
        assert_eq!(reason(&format!("waybill.dispatch.task.{ORDER}.{OTHER}"), task.build()), None);
        // A complaint about no order has no order token.
        let complaint = EnvelopeBuilder::new(
            "waybill.aftersales.complaint_closed.v1",
            v1::after_sales_event::Event::ComplaintClosed(v1::ComplaintClosed::default()),
        )
        .aggregate_id(OTHER);
        assert_eq!(reason(&format!("waybill.aftersales.complaint.{OTHER}"), complaint.build()), None);
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
        assert_eq!(reason(&format!("waybill.intake.order.{ORDER}.{ORDER}"), junk), None);
    }

    fn order_event() -> NewEvent {
        EnvelopeBuilder::new("waybill.intake.order_cancelled.v1", cancelled()).about_order(ORDER).build()
    }

    #[test]
    fn a_subject_of_the_scheme_before_order_tokens_gets_its_order() {
        use super::current_subject;
        let order = order_event().payload;
        assert_eq!(
            current_subject(&format!("waybill.intake.order.{ORDER}"), &order),
            Some(format!("waybill.intake.order.{ORDER}.{ORDER}"))
        );
        let reverse = EnvelopeBuilder::new(
            "waybill.dispatch.task_packed.v1",
            v1::dispatch_event::Event::TaskPacked(v1::TaskPacked {}),
        )
        .aggregate_id(OTHER)
        .order_id(ORDER)
        .build()
        .payload;
        assert_eq!(
            current_subject(&format!("waybill.dispatch.task.{OTHER}"), &reverse),
            Some(format!("waybill.dispatch.task.{ORDER}.{OTHER}"))
        );
        // Already current, about no order, or not ours: left as they are.
        assert_eq!(current_subject(&format!("waybill.intake.order.{ORDER}.{ORDER}"), &order), None);
        assert_eq!(current_subject("waybill.crm.customer.cust-1", &order), None);
        assert_eq!(current_subject("deadletter.intake.x.y", &order), None);
        assert_eq!(current_subject(&format!("waybill.aftersales.complaint.{OTHER}"), b"junk"), None);
    }

    #[test]
    fn refuses_what_the_subject_and_envelope_disagree_on() {
        let on =
            |service: &str, aggregate: &str, id: &str| format!("waybill.{service}.{aggregate}.{id}.{id}");
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
        // An aggregate about an order on a subject of another order, or of none.
        let task = || {
            EnvelopeBuilder::new(
                "waybill.dispatch.task_packed.v1",
                v1::dispatch_event::Event::TaskPacked(v1::TaskPacked {}),
            )
            .aggregate_id(OTHER)
            .order_id(ORDER)
            .build()
        };
        for subject in
            [format!("waybill.dispatch.task.{OTHER}.{OTHER}"), format!("waybill.dispatch.task.{OTHER}")]
        {
            assert_eq!(reason(&subject, task()), Some(RefusalReason::OrderMismatch), "{subject}");
        }
        for subject in [
            on("intake", "parcel", ORDER),
            on("billing", "order", ORDER),
            "waybill.intake.order".to_owned(),
            // The order's own aggregate without its order token (the scheme before it had one),
            // or with two different orders.
            format!("waybill.intake.order.{ORDER}"),
            format!("waybill.intake.order.{OTHER}.{ORDER}"),
            // An aggregate about no order with an order token.
            format!("waybill.crm.customer.{ORDER}.cust-1"),
        ] {
            assert_eq!(reason(&subject, order_event()), Some(RefusalReason::MalformedSubject), "{subject}");
        }
    }
}
