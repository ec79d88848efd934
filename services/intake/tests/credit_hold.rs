//! CRM's credit hold, as intake sees it: CRM's events on the log (written here as CRM
//! writes them, wire envelopes on `waybill.crm.customer.<id>`) decide whether intake's
//! automatic reviewer accepts a customer's next order or sends it to a person.

mod support;

use support::{Client, placement, start_intake, wait_until};
use waybill_eventlog::{EventLog, StreamSettings};
use waybill_fixtures::{Caller, Role};
use waybill_proto::v1::{self, OrderStatus, crm_event, event_envelope::Payload};
use waybill_testkit::NatsServer;

/// Appends one CRM event for `customer_id`, as CRM would.
async fn append_crm_event(log: &EventLog, customer_id: &str, event_type: &str, event: crm_event::Event) {
    let subject = format!("waybill.crm.customer.{customer_id}");
    let payload = Payload::Crm(v1::CrmEvent { event: Some(event) });
    waybill_fixtures::foreign::append_now(log, &subject, "", event_type, payload).await;
}

/// CRM puts `customer_id` on credit hold because of `reason`.
async fn place_credit_hold(log: &EventLog, customer_id: &str, reason: &str) {
    let placed = crm_event::Event::CreditHoldPlaced(v1::CreditHoldPlaced { reason: reason.into() });
    append_crm_event(log, customer_id, "waybill.crm.credit_hold_placed.v1", placed).await;
}

/// CRM releases `customer_id`'s credit hold with `note`.
async fn release_credit_hold(log: &EventLog, customer_id: &str, note: &str) {
    let released = crm_event::Event::CreditHoldReleased(v1::CreditHoldReleased { note: note.into() });
    append_crm_event(log, customer_id, "waybill.crm.credit_hold_released.v1", released).await;
}

/// Places the standard order for `customer_id` and waits until intake has decided on it.
async fn decided(client: &mut Client, request_id: &str, customer_id: &str) -> v1::Order {
    let placed = client.place_order(placement(request_id, customer_id)).await.expect("placed").into_inner();
    let placed = placed.order.expect("order");
    wait_until(client, &placed.order_id, |order| order.status() != OrderStatus::Placed).await
}

#[tokio::test]
async fn orders_of_a_customer_on_credit_hold_go_to_review_until_the_hold_is_released() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    intake.wait_serving().await;
    let mut client =
        intake.client(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let crm =
        EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/crm").await.expect("log");

    place_credit_hold(&crm, "cust-held", "invoices 90 days overdue").await;
    let held = decided(&mut client, "held-1", "cust-held").await;
    assert_eq!(held.status(), OrderStatus::InReview);
    assert!(
        held.review_reasons.iter().any(|reason| reason.contains("on credit hold")),
        "{:?}",
        held.review_reasons
    );

    // Another customer's order is not affected.
    let other = decided(&mut client, "other-1", "cust-fine").await;
    assert_eq!(other.status(), OrderStatus::Accepted);

    release_credit_hold(&crm, "cust-held", "paid").await;
    let released = decided(&mut client, "held-2", "cust-held").await;
    assert_eq!(released.status(), OrderStatus::Accepted, "{:?}", released.review_reasons);

    // On hold again, then a restart: the rebuilt order book still knows the hold.
    place_credit_hold(&crm, "cust-held", "again").await;
    intake.stop().await;
    let intake = start_intake(&nats).await;
    intake.wait_serving().await;
    let mut client =
        intake.client(Caller::with_roles("alice", &[Role::CustomerServiceAgent, Role::OrderReviewer])).await;
    let again = decided(&mut client, "held-3", "cust-held").await;
    assert_eq!(again.status(), OrderStatus::InReview);
}
