//! Intake and after-sales in this process for its tests, plus delivery's events appended
//! as delivery writes them, so after-sales is tested without the rest of the fulfilment
//! chain. The host is `waybill_testkit::InProcess`, the fixtures `waybill_fixtures`.

#![allow(dead_code, unused_imports)] // each test file uses a different part of this kit

use std::time::Duration;

use waybill_aftersales::server::{self, Settings};
use waybill_eventlog::{EventLog, subject};
pub use waybill_fixtures::{
    AfterSalesClient as AfterSales, IntakeClient as Intake, ManualClock, agent_claim, books, claim_approval,
    eur, return_approval, return_receipt, violated_fields,
};
use waybill_fixtures::{Caller, Role};
use waybill_proto::v1::{self, delivery_event, event_envelope::Payload};
use waybill_testkit::{InProcess, NatsServer, eventually};
use waybill_types::Timestamp;

/// An after-sales agent who also holds finance: the caller most after-sales tests act as.
pub fn agent() -> Caller {
    Caller::with_roles("agent", &[Role::AfterSalesAgent, Role::Finance])
}

pub async fn start_intake(nats: &NatsServer) -> InProcess<Intake> {
    InProcess::start(nats, waybill_intake::server::run, Default::default()).await
}

pub async fn start_aftersales(nats: &NatsServer, settings: Settings) -> InProcess<AfterSales> {
    let settings = Settings { shutdown_grace: Duration::from_secs(2), ..settings };
    InProcess::start(nats, server::run, settings).await
}

/// The log, read and written directly, as another service or an integrator would.
pub async fn log(nats: &NatsServer) -> EventLog {
    waybill_fixtures::foreign::open_log(nats.client().await).await
}

/// The `ce-type`s on one subject, in order.
pub async fn event_types(nats: &NatsServer, subject: &str) -> Vec<String> {
    waybill_fixtures::foreign::event_types(&log(nats).await, subject).await
}

/// The `ce-type`s on order `order_id`'s ledger (what was refunded, reserved and paid for it),
/// in order.
pub async fn ledger_event_types(nats: &NatsServer, order_id: &str) -> Vec<String> {
    event_types(nats, &format!("waybill.aftersales.order.{order_id}.{order_id}")).await
}

/// Returning `quantity` of the order's first cargo line (the books) because of `reason`.
pub fn return_request(
    request_id: &str,
    order_id: &str,
    quantity: u32,
    reason: &str,
) -> v1::RequestReturnRequest {
    v1::RequestReturnRequest {
        request_id: request_id.into(),
        return_id: String::new(),
        order_id: order_id.into(),
        reason: reason.into(),
        lines: vec![v1::ReturnLine { cargo_index: 0, quantity, description: String::new() }],
    }
}

/// An order intake accepted: its id and what the customer was charged.
pub struct Placed {
    pub order_id: String,
    pub charged: v1::Money,
}

/// Places the standard order (Berlin → Munich, two books) through the real intake.
pub async fn place_order(intake: &mut Intake, request_id: &str) -> Placed {
    let placement = waybill_fixtures::placement(request_id, "cust-1");
    let order = intake.place_order(placement).await.expect("order placed").into_inner().order.expect("order");
    let charged = order.quote.and_then(|quote| quote.total).expect("a quoted total");
    Placed { order_id: order.order_id, charged }
}

/// Appends one of delivery's events on `waybill.delivery.task.<order id>.<order id>`, as delivery
/// would; returns (event id, position).
pub async fn append_delivery_event(
    log: &EventLog,
    order_id: &str,
    event_type: &str,
    event: delivery_event::Event,
) -> (String, u64) {
    let payload = Payload::Delivery(v1::DeliveryEvent { event: Some(event) });
    let subject = subject::in_order("delivery", "task", order_id, order_id);
    let now = chrono::Utc::now();
    let appended = waybill_fixtures::foreign::append(log, &subject, order_id, event_type, now, payload).await;
    (appended.event_id, appended.position)
}

/// Delivery's handover, delivered at `delivered_at`.
pub async fn deliver(log: &EventLog, order_id: &str, delivered_at: Timestamp) -> u64 {
    let event = delivery_event::Event::DeliveryCompleted(v1::DeliveryCompleted {
        proof: Some(waybill_fixtures::proof_of_delivery(delivered_at)),
        on_time: true,
        first_attempt: true,
    });
    append_delivery_event(log, order_id, "waybill.delivery.delivery_completed.v1", event).await.1
}

/// Delivery's exception of `kind`; returns (event id, position).
pub async fn raise_exception(
    log: &EventLog,
    order_id: &str,
    kind: v1::DeliveryExceptionKind,
) -> (String, u64) {
    let event = delivery_event::Event::DeliveryExceptionRaised(v1::DeliveryExceptionRaised {
        kind: kind.into(),
        description: "the parcel was lost in the depot".into(),
        missed_window: None,
    });
    append_delivery_event(log, order_id, "waybill.delivery.delivery_exception_raised.v1", event).await
}

/// Polls ListCases until `done` holds (bounded: 10 s).
pub async fn wait_for_cases(
    client: &mut AfterSales,
    request: v1::ListCasesRequest,
    done: impl Fn(&[v1::Case]) -> bool,
) -> Vec<v1::Case> {
    eventually("the cases to reach the expected state", async || {
        let cases = client.list_cases(request.clone()).await.expect("list cases").into_inner().cases;
        done(&cases).then_some(cases)
    })
    .await
}
