//! Hub stock through dispatch's gRPC API on a real nats-server, with intake feeding it
//! orders: what a hub operator's scanner sees, and what the log keeps. Bad input is
//! answered with a clear status and writes nothing.

mod support;

use support::{Dispatch, System, picked_up_task, place_order, task_subject, violated_fields, wait_for_task};
use tonic::Code;
use waybill_fixtures::{Caller, Role};
use waybill_proto::v1;

const MUC: &str = "MUC-HUB";

fn hub_subject(hub_id: &str) -> String {
    format!("waybill.dispatch.hub.{hub_id}")
}

fn zone(name: &str, category: v1::GoodsCategory, capacity: u32) -> v1::HubZone {
    v1::HubZone { name: name.into(), category: category.into(), capacity, occupied: 0 }
}

async fn register_hub(dispatch: &mut Dispatch, hub_id: &str) -> v1::Hub {
    let request = v1::RegisterHubRequest {
        request_id: "hub-1".into(),
        hub_id: hub_id.into(),
        code: MUC.into(),
        zones: vec![zone("A1", v1::GoodsCategory::General, 1), zone("F1", v1::GoodsCategory::Fragile, 5)],
    };
    dispatch.register_hub(request).await.expect("hub registered").into_inner().hub.expect("hub")
}

fn receipt(
    request_id: &str,
    hub_id: &str,
    order_id: &str,
    inspection: v1::ReceiptInspection,
) -> v1::ReceiveGoodsRequest {
    v1::ReceiveGoodsRequest {
        request_id: request_id.into(),
        hub_id: hub_id.into(),
        order_id: order_id.into(),
        category: v1::GoodsCategory::General.into(),
        inspection: inspection.into(),
        note: "corner of the box crushed".into(),
    }
}

fn put_away(request_id: &str, hub_id: &str, order_id: &str, zone: &str) -> v1::PutAwayGoodsRequest {
    v1::PutAwayGoodsRequest {
        request_id: request_id.into(),
        hub_id: hub_id.into(),
        order_id: order_id.into(),
        zone: zone.into(),
    }
}

/// The orders in stock, read at least at `min_position` (a write's answered position: the
/// query may reach the read model before the write does).
async fn stock(dispatch: &mut Dispatch, hub_id: &str, zone: &str, min_position: u64) -> Vec<String> {
    let request = v1::GetHubStockRequest {
        hub_id: hub_id.into(),
        zone: zone.into(),
        min_position,
        ..Default::default()
    };
    let answer = dispatch.get_hub_stock(request).await.expect("stock").into_inner();
    answer.items.into_iter().map(|item| item.order_id).collect()
}

#[tokio::test]
async fn goods_are_received_put_away_counted_and_loaded_out_and_bad_input_writes_nothing() {
    let system = System::start().await;
    let mut dispatch =
        system.dispatch(Caller::with_roles("hub", &[Role::Dispatcher, Role::HubOperator])).await;
    let hub_id = uuid::Uuid::now_v7().to_string();

    let refused = dispatch
        .register_hub(v1::RegisterHubRequest {
            request_id: "hub-0".into(),
            hub_id: "MUC".into(),
            code: " ".into(),
            zones: vec![zone("", v1::GoodsCategory::Unspecified, 0)],
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&refused),
        ["hub_id", "code", "zones[0].name", "zones[0].category", "zones[0].capacity"]
    );
    let hub = register_hub(&mut dispatch, &hub_id).await;
    assert_eq!((hub.code.as_str(), hub.zones.len()), (MUC, 2));
    let same_code = v1::RegisterHubRequest {
        request_id: "hub-2".into(),
        hub_id: uuid::Uuid::now_v7().to_string(),
        code: "muc-hub".into(),
        zones: vec![zone("A1", v1::GoodsCategory::General, 1)],
    };
    let taken = dispatch.register_hub(same_code).await.expect_err("the code is taken");
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(taken.message().contains(&hub_id), "{}", taken.message());

    // Order 1 travels to the hub and arrives; order 2 is only planned.
    let (order_1, _van) = picked_up_task(&system, &mut dispatch).await;
    let arrival =
        v1::RecordArrivalRequest { request_id: "arrive-1".into(), task_id: order_1.clone(), hub: MUC.into() };
    dispatch.record_arrival(arrival).await.expect("arrived");
    let mut intake = system.intake(Caller::customer_service("shop")).await;
    let order_2 = place_order(&mut intake, "place-2").await;
    wait_for_task(&mut dispatch, &order_2, |_| true).await;

    // Damaged on receipt: in stock, and an exception on the task as for damage in transit.
    let received = dispatch
        .receive_goods(receipt("receive-1", &hub_id, &order_1, v1::ReceiptInspection::Damaged))
        .await
        .expect("received")
        .into_inner();
    assert!(!received.exception_id.is_empty());
    let task = wait_for_task(&mut dispatch, &order_1, |task| !task.exceptions.is_empty()).await;
    assert_eq!(task.exceptions[0].exception_id, received.exception_id);
    assert_eq!(task.exceptions[0].kind, i32::from(v1::ExceptionKind::Damaged));
    assert_eq!(task.status(), v1::TaskStatus::Arrived);

    let written = system.event_types(&hub_subject(&hub_id)).await;
    let wrong_zone = dispatch
        .put_away_goods(put_away("put-1", &hub_id, &order_1, "F1"))
        .await
        .expect_err("general goods in the fragile zone");
    assert_eq!(wrong_zone.code(), Code::FailedPrecondition);
    assert!(wrong_zone.message().contains("zone F1 stores fragile goods"), "{}", wrong_zone.message());
    let put = dispatch.put_away_goods(put_away("put-2", &hub_id, &order_1, "")).await.expect("put away");
    assert_eq!(put.into_inner().item.map(|item| item.zone).as_deref(), Some("A1"));

    dispatch
        .receive_goods(receipt("receive-2", &hub_id, &order_2, v1::ReceiptInspection::Accepted))
        .await
        .expect("received");
    let written_before_full = system.event_types(&hub_subject(&hub_id)).await;
    assert_eq!(written_before_full.len(), written.len() + 2);
    let full =
        dispatch.put_away_goods(put_away("put-3", &hub_id, &order_2, "A1")).await.expect_err("A1 holds one");
    assert_eq!(full.code(), Code::FailedPrecondition);
    assert_eq!(full.message(), "zone A1 is full: 1 of 1 places taken");
    let unknown_zone =
        dispatch.put_away_goods(put_away("put-4", &hub_id, &order_2, "Z9")).await.expect_err("no such zone");
    assert_eq!(unknown_zone.code(), Code::NotFound);
    assert_eq!(
        system.event_types(&hub_subject(&hub_id)).await,
        written_before_full,
        "refusals write nothing"
    );

    // Order 2 is in stock while its task is still planned.
    let mismatches = dispatch
        .list_stock_mismatches(v1::ListStockMismatchesRequest { hub_id: hub_id.clone(), min_position: 0 })
        .await
        .expect("mismatches")
        .into_inner()
        .mismatches;
    let found: Vec<(&str, &str)> =
        mismatches.iter().map(|mismatch| (mismatch.order_id.as_str(), mismatch.reason.as_str())).collect();
    assert_eq!(found, [(order_2.as_str(), "in stock, but the task is planned")]);

    // A count for an unknown hub is not found and writes nothing.
    let stranger = uuid::Uuid::now_v7().to_string();
    let count = |request_id: &str, hub_id: &str, counted: Vec<String>| v1::CountZoneRequest {
        request_id: request_id.into(),
        hub_id: hub_id.into(),
        zone: "A1".into(),
        counted_order_ids: counted,
    };
    let unknown = dispatch.count_zone(count("count-0", &stranger, vec![])).await.expect_err("unknown hub");
    assert_eq!(unknown.code(), Code::NotFound);
    assert!(system.event_types(&hub_subject(&stranger)).await.is_empty());
    let twice = dispatch
        .count_zone(count("count-0", &hub_id, vec![order_1.clone(), order_1.clone()]))
        .await
        .expect_err("listed twice");
    assert_eq!(violated_fields(&twice), ["counted_order_ids[1]"]);

    // The count finds A1 empty: order 1 is missing, with an exception on its task.
    let counted = dispatch.count_zone(count("count-1", &hub_id, vec![])).await.expect("counted").into_inner();
    assert_eq!((counted.expected, counted.counted, counted.discrepancies.len()), (1, 0, 1));
    let discrepancy = &counted.discrepancies[0];
    assert_eq!(discrepancy.order_id, order_1);
    assert_eq!(discrepancy.kind, i32::from(v1::StockDiscrepancyKind::Missing));
    // A retried count (same request id) answers the same and writes nothing more.
    let events_after_count = system.event_types(&hub_subject(&hub_id)).await;
    let retried = dispatch.count_zone(count("count-1", &hub_id, vec![])).await.expect("retried").into_inner();
    assert_eq!(retried.discrepancies, counted.discrepancies);
    assert_eq!(system.event_types(&hub_subject(&hub_id)).await, events_after_count);
    let task = wait_for_task(&mut dispatch, &order_1, |task| task.exceptions.len() == 2).await;
    assert_eq!(task.exceptions[1].kind, i32::from(v1::ExceptionKind::StockDiscrepancy));
    assert!(stock(&mut dispatch, &hub_id, "A1", counted.position).await.is_empty());

    // Order 2 leaves on loading (not onto a vehicle dispatch does not know); what is left
    // survives a restart (rebuilt from the log).
    let before = system.event_types(&hub_subject(&hub_id)).await;
    let unknown_vehicle = dispatch
        .load_goods_out(v1::LoadGoodsOutRequest {
            request_id: "out-0".into(),
            hub_id: hub_id.clone(),
            order_id: order_2.clone(),
            vehicle_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .expect_err("no such vehicle");
    assert_eq!(unknown_vehicle.code(), Code::NotFound);
    assert_eq!(system.event_types(&hub_subject(&hub_id)).await, before);
    let loaded = dispatch
        .load_goods_out(v1::LoadGoodsOutRequest {
            request_id: "out-1".into(),
            hub_id: hub_id.clone(),
            order_id: order_2.clone(),
            vehicle_id: String::new(),
        })
        .await
        .expect("loaded out")
        .into_inner();
    assert!(stock(&mut dispatch, &hub_id, "", loaded.position).await.is_empty());
    assert_eq!(
        system.event_types(&task_subject(&order_1)).await.last().map(String::as_str),
        Some("waybill.dispatch.transport_exception_reported.v1")
    );
    let system = system.restart_dispatch().await;
    let mut dispatch = system.dispatch(Caller::hub_operator("hub")).await;
    let mismatches = dispatch
        .list_stock_mismatches(v1::ListStockMismatchesRequest::default())
        .await
        .expect("mismatches")
        .into_inner()
        .mismatches;
    let reasons: Vec<&str> = mismatches.iter().map(|mismatch| mismatch.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["the task arrived at this hub, but its goods are not in stock"],
        "order 1 went missing"
    );
    assert_eq!(
        system.event_types(&hub_subject(&hub_id)).await,
        [
            "waybill.dispatch.hub_registered.v1",
            "waybill.dispatch.goods_received.v1",
            "waybill.dispatch.goods_put_away.v1",
            "waybill.dispatch.goods_received.v1",
            "waybill.dispatch.zone_counted.v1",
            "waybill.dispatch.stock_discrepancy_found.v1",
            "waybill.dispatch.goods_loaded_out.v1",
        ]
    );
}
