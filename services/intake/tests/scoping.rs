//! A customer sees and acts on its own orders only (OWASP API1): another customer's order
//! answers NOT_FOUND, exactly as a missing one does, so ids cannot be probed; lists hold
//! the caller's orders only; staff see every order their permissions cover.

mod support;

use support::{placement, start_intake, wait_until};
use tonic::Code;
use waybill_fixtures::Caller;
use waybill_fixtures::Refusal;
use waybill_fixtures::cancellation;
use waybill_proto::v1;
use waybill_testkit::NatsServer;

#[tokio::test]
async fn a_customer_never_sees_nor_changes_another_customers_order() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let mut anna = intake.client(Caller::customer("anna", "cust-anna")).await;
    let mut bert = intake.client(Caller::customer("bert", "cust-bert")).await;
    let mut desk = intake.client(Caller::customer_service("desk")).await;

    let placed = anna.place_order(placement("anna-1", "cust-anna")).await.expect("placed").into_inner();
    let order_id = placed.order.expect("order").order_id;
    // Accepted by the automatic rules; nothing else happens to it unless someone acts.
    let order = wait_until(&mut anna, &order_id, |order| order.status() == v1::OrderStatus::Accepted).await;
    let position = order.version;

    // Bert's view of Anna's order is the view of an order that does not exist.
    let missing = "0190f0f0-0000-7000-8000-00000000dead".to_owned();
    for id in [&order_id, &missing] {
        let get = v1::GetOrderRequest { order_id: id.clone(), min_position: position };
        let status = bert.get_order(get).await.refused(Code::NotFound, "not his");
        assert_eq!(status.message(), format!("order {id} not found"));
    }
    let track = v1::TrackOrderRequest { order_id: order_id.clone(), min_position: position };
    assert_eq!(bert.track_order(track).await.expect_err("not his").code(), Code::NotFound);
    let watch = v1::WatchOrderRequest { order_id: order_id.clone(), min_position: position };
    assert_eq!(bert.watch_order(watch).await.expect_err("not his").code(), Code::NotFound);
    let cancel = cancellation("bert-cancel", &order_id, "mine now");
    assert_eq!(bert.cancel_order(cancel).await.expect_err("not his").code(), Code::NotFound);

    // Lists: each customer its own, whatever the filter says; staff everything.
    let everything = v1::ListOrdersRequest { min_position: position, ..Default::default() };
    let asking_for_anna = v1::ListOrdersRequest { customer_id: "cust-anna".into(), ..everything.clone() };
    assert!(bert.list_orders(everything.clone()).await.expect("listed").into_inner().orders.is_empty());
    assert!(bert.list_orders(asking_for_anna).await.expect("listed").into_inner().orders.is_empty());
    let annas = anna.list_orders(everything.clone()).await.expect("listed").into_inner().orders;
    assert_eq!(annas.iter().map(|order| order.order_id.as_str()).collect::<Vec<_>>(), [order_id.as_str()]);
    assert_eq!(desk.list_orders(everything).await.expect("listed").into_inner().orders.len(), 1);

    // Nor can Bert place an order in Anna's name.
    bert.place_order(placement("bert-1", "cust-anna")).await.refused(Code::PermissionDenied, "not his name");

    // Anna's order is as she left it, and she still reaches it.
    let get = v1::GetOrderRequest { order_id: order_id.clone(), min_position: position };
    let now = anna.get_order(get.clone()).await.expect("hers").into_inner().order.expect("order");
    assert_eq!(now.status, order.status);
    assert_eq!(now.version, order.version, "nothing was written on her order");
    desk.get_order(get).await.expect("staff read it");
}
