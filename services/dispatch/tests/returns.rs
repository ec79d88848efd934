//! The `dispatch-returns` reaction: after-sales approves a return and asks for its pickup
//! on the log; dispatch plans the reverse shipment by itself, once, however often the
//! event is handled.

mod support;

use support::{System, dispatcher, planned_order, record_delivery, wait_for_task};
use uuid::Uuid;
use waybill_dispatch::reactions;
use waybill_proto::v1::{self, after_sales_event, event_envelope::Payload};

/// After-sales' `ReturnPickupRequested`, built from the public contract as after-sales
/// writes it: one book (3 kg) comes back from the consignee to the shipper.
async fn request_pickup(system: &System, order_id: &str, return_id: &str) {
    let address = |city: &str| waybill_fixtures::party("Erika Mustermann", city).address;
    let requested = v1::ReturnPickupRequested {
        order_id: order_id.into(),
        return_id: return_id.into(),
        pickup_address: address("Munich"),
        destination_address: address("Berlin"),
        load: Some(v1::Load { weight_grams: 3_000, volume_cm3: 24_000 }),
        service_level: v1::ServiceLevel::Standard.into(),
    };
    let payload = Payload::Aftersales(v1::AfterSalesEvent {
        event: Some(after_sales_event::Event::ReturnPickupRequested(requested)),
    });
    let subject = format!("waybill.aftersales.return.{order_id}.{return_id}");
    let event_type = "waybill.aftersales.return_pickup_requested.v1";
    waybill_fixtures::foreign::append_now(&system.log().await, &subject, order_id, event_type, payload).await;
}

#[tokio::test]
async fn an_approved_return_gets_its_reverse_task_by_itself_once() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let order_id = planned_order(&system, &mut dispatch).await;
    record_delivery(&system, &order_id).await;
    let return_id = Uuid::now_v7().to_string();

    request_pickup(&system, &order_id, &return_id).await;

    let task = wait_for_task(&mut dispatch, &return_id, |_| true).await;
    assert_eq!((task.kind, task.return_id.as_str()), (v1::TaskKind::Reverse as i32, return_id.as_str()));
    assert_eq!(task.order_id, order_id);
    assert_eq!(task.origin_depot, "Munich", "back from the consignee");
    assert_eq!(task.destination.map(|address| address.city), Some("Berlin".to_owned()));
    assert_eq!(task.load.map(|load| load.weight_grams), Some(3_000), "only the returned book");

    // The same event handled again (a redelivery), twice, and a restart: one task.
    let pickup = system
        .log()
        .await
        .read_subject(&format!("waybill.aftersales.return.{order_id}.{return_id}"))
        .await
        .expect("the return's history")
        .pop()
        .expect("the pickup request");
    let system = system.redeliver_twice_then_restart(pickup, reactions::plan_reverse_shipment).await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    wait_for_task(&mut dispatch, &return_id, |_| true).await;
    let reverse_task = format!("waybill.dispatch.task.{order_id}.{return_id}");
    assert_eq!(system.event_types(&reverse_task).await, ["waybill.dispatch.task_planned.v1"]);
}
