//! Hub stock through the real binaries on one nats-server (gRPC and the log only): an
//! order hauled to the Munich hub is received damaged (a DAMAGED exception on its task, as
//! for damage in transit, resolved the same way) and put away by category; a second
//! order's goods find the zone full; the mismatch query names stock whose task is not at
//! the hub; a cycle count writes each discrepancy with an exception; goods leave on
//! loading. Bad input (a put-away into a full or wrong zone, a count for an unknown hub) is
//! answered with a clear status and writes nothing.

use tonic::Code;
use waybill_eventlog::EventLog;
use waybill_fixtures::DispatchClient;
use waybill_proto::v1::{self, dispatch_event::Event, event_envelope::Payload};
use waybill_system_tests::system::{Caller, Clients, System, request, system_test_log};
use waybill_testkit::NatsServer;

fn hub_subject(hub_id: &str) -> String {
    format!("waybill.dispatch.hub.{hub_id}")
}

/// The dispatch events on `subject`, as an integrator decodes them.
async fn dispatch_events(log: &EventLog, subject: &str) -> Vec<Event> {
    let envelopes = waybill_fixtures::foreign::envelopes(log, subject).await;
    envelopes
        .into_iter()
        .filter_map(|envelope| match envelope.payload? {
            Payload::Dispatch(v1::DispatchEvent { event }) => event,
            _ => None,
        })
        .collect()
}

async fn written(log: &EventLog, subjects: &[String]) -> anyhow::Result<Vec<usize>> {
    let mut counts = Vec::new();
    for subject in subjects {
        counts.push(log.read_subject(subject).await?.len());
    }
    Ok(counts)
}

/// Sends a put-away dispatch must refuse (`why`) with FAILED_PRECONDITION and checks that it wrote
/// nothing on `subjects`; returns the refusal, whose message the test reads.
async fn refused_put_away(
    dispatch: &mut DispatchClient,
    log: &EventLog,
    subjects: &[String],
    operator: &Caller,
    body: v1::PutAwayGoodsRequest,
    why: &str,
) -> anyhow::Result<tonic::Status> {
    let before = written(log, subjects).await?;
    let refused = dispatch.put_away_goods(request(operator, body)).await.expect_err(why);
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(written(log, subjects).await?, before, "a refusal writes nothing");
    Ok(refused)
}

/// What hub `hub_id` holds in `zone` (every zone when empty), read at `min_position` or later.
async fn stock_items(
    dispatch: &mut DispatchClient,
    operator: &Caller,
    hub_id: &str,
    zone: &str,
    min_position: u64,
) -> anyhow::Result<Vec<v1::StockItem>> {
    let body = v1::GetHubStockRequest {
        hub_id: hub_id.into(),
        zone: zone.into(),
        min_position,
        ..Default::default()
    };
    Ok(dispatch.get_hub_stock(request(operator, body)).await?.into_inner().items)
}

fn put_away(tag: &str, hub_id: &str, order_id: &str, zone: &str) -> v1::PutAwayGoodsRequest {
    v1::PutAwayGoodsRequest {
        request_id: format!("{tag}-put"),
        hub_id: hub_id.into(),
        order_id: order_id.into(),
        zone: zone.into(),
    }
}

fn receipt(
    tag: &str,
    hub_id: &str,
    order_id: &str,
    inspection: v1::ReceiptInspection,
) -> v1::ReceiveGoodsRequest {
    v1::ReceiveGoodsRequest {
        request_id: format!("{tag}-receive"),
        hub_id: hub_id.into(),
        order_id: order_id.into(),
        category: v1::GoodsCategory::General.into(),
        inspection: inspection.into(),
        note: "pallet wrap torn, two boxes dented".into(),
    }
}

async fn register_hub(clients: &Clients, hub_id: &str) -> anyhow::Result<()> {
    let zone = |name: &str, category: v1::GoodsCategory, capacity| v1::HubZone {
        name: name.into(),
        category: category.into(),
        capacity,
        occupied: 0,
    };
    let body = v1::RegisterHubRequest {
        request_id: "hub-register".into(),
        hub_id: hub_id.into(),
        code: "MUC-HUB".into(),
        zones: vec![zone("A1", v1::GoodsCategory::General, 1), zone("C1", v1::GoodsCategory::Cold, 4)],
    };
    clients.dispatch.clone().register_hub(request(&Caller::dispatcher("dispatcher"), body)).await?;
    Ok(())
}

#[tokio::test]
async fn hub_stock_from_receipt_to_loading_with_counts_and_mismatches() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "hub").await?;
    let log = system_test_log(&nats).await?;
    let operator = Caller::hub_operator("hub-operator");
    let mut dispatch = clients.dispatch.clone();

    let hauled = clients.place("hub-a", "cust-hub").await?.order_id;
    clients.haul("hub-a", &hauled).await?;
    clients.task_reaches(&hauled, v1::TaskStatus::Arrived).await?;
    let waiting = clients.place("hub-b", "cust-hub").await?.order_id;
    clients.task_reaches(&waiting, v1::TaskStatus::Planned).await?;
    let hub_id = uuid::Uuid::now_v7().to_string();
    register_hub(&clients, &hub_id).await?;

    // Damaged on receipt: in stock, and the same exception path as damage in transit.
    let received = dispatch
        .receive_goods(request(&operator, receipt("hub-a", &hub_id, &hauled, v1::ReceiptInspection::Damaged)))
        .await?
        .into_inner();
    let task_events = dispatch_events(&log, &format!("waybill.dispatch.task.{hauled}.{hauled}")).await;
    let raised = task_events.iter().find_map(|event| match event {
        Event::TransportExceptionReported(reported) => Some(reported.clone()),
        _ => None,
    });
    let raised = raised.expect("an exception on the task");
    assert_eq!(raised.exception_id, received.exception_id);
    assert_eq!(raised.kind, i32::from(v1::ExceptionKind::Damaged));
    assert!(raised.description.contains("damaged on receipt at hub MUC-HUB"), "{}", raised.description);
    // ... and a dispatcher resolves it as any transport exception.
    let resolve = v1::ResolveExceptionRequest {
        request_id: "hub-a-resolve".into(),
        task_id: hauled.clone(),
        exception_id: received.exception_id.clone(),
        resolution: "repacked at the hub; claim handled by after-sales".into(),
    };
    let resolved = dispatch.resolve_exception(request(&Caller::dispatcher("dispatcher"), resolve)).await?;
    let task = resolved.into_inner().task.unwrap_or_default();
    assert!(task.exceptions.iter().all(|exception| exception.resolved_at.is_some()), "{task:?}");

    // Put-away: a cold zone refuses general goods; the general zone takes them.
    let subjects = [hub_subject(&hub_id), format!("waybill.dispatch.task.{hauled}.{hauled}")];
    let general_in_cold = put_away("hub-a-cold", &hub_id, &hauled, "C1");
    let refused = refused_put_away(
        &mut dispatch,
        &log,
        &subjects,
        &operator,
        general_in_cold,
        "general goods in the cold zone",
    )
    .await?;
    assert!(refused.message().contains("zone C1 stores cold goods"), "{}", refused.message());
    let put = dispatch.put_away_goods(request(&operator, put_away("hub-a", &hub_id, &hauled, ""))).await?;
    assert_eq!(put.into_inner().item.map(|item| item.zone).as_deref(), Some("A1"));

    // The second order's goods find A1 full.
    let received = dispatch
        .receive_goods(request(
            &operator,
            receipt("hub-b", &hub_id, &waiting, v1::ReceiptInspection::Accepted),
        ))
        .await?
        .into_inner();
    let into_full_zone = put_away("hub-b", &hub_id, &waiting, "A1");
    let full =
        refused_put_away(&mut dispatch, &log, &subjects, &operator, into_full_zone, "A1 holds one").await?;
    assert_eq!(full.message(), "zone A1 is full: 1 of 1 places taken");

    // Stock that does not match its task: the second order's task never left Berlin.
    let mismatches = dispatch
        .list_stock_mismatches(request(
            &operator,
            v1::ListStockMismatchesRequest { hub_id: hub_id.clone(), min_position: received.position },
        ))
        .await?
        .into_inner()
        .mismatches;
    let found: Vec<(&str, &str)> =
        mismatches.iter().map(|mismatch| (mismatch.order_id.as_str(), mismatch.reason.as_str())).collect();
    assert_eq!(found, [(waiting.as_str(), "in stock, but the task is planned")]);

    // A count for an unknown hub: NOT_FOUND, nothing written.
    let count = |tag: &str, hub_id: &str, counted: Vec<String>| v1::CountZoneRequest {
        request_id: format!("{tag}-count"),
        hub_id: hub_id.into(),
        zone: "A1".into(),
        counted_order_ids: counted,
    };
    let stranger = uuid::Uuid::now_v7().to_string();
    let unknown = dispatch
        .count_zone(request(&operator, count("hub-stranger", &stranger, vec![hauled.clone()])))
        .await
        .expect_err("unknown hub");
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    assert!(log.read_subject(&hub_subject(&stranger)).await?.is_empty());

    // The count finds the second order in A1 and not the first: two discrepancies, two
    // exceptions, and the stock follows the count.
    let counted = dispatch
        .count_zone(request(&operator, count("hub-a1", &hub_id, vec![waiting.clone()])))
        .await?
        .into_inner();
    assert_eq!((counted.expected, counted.counted), (1, 1));
    let kinds: Vec<(String, i32)> =
        counted.discrepancies.iter().map(|found| (found.order_id.clone(), found.kind)).collect();
    let mut expected = vec![
        (hauled.clone(), i32::from(v1::StockDiscrepancyKind::Missing)),
        (waiting.clone(), i32::from(v1::StockDiscrepancyKind::Unexpected)),
    ];
    expected.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    assert_eq!(kinds, expected);
    let hub_events = dispatch_events(&log, &hub_subject(&hub_id)).await;
    let discrepancies =
        hub_events.iter().filter(|event| matches!(event, Event::StockDiscrepancyFound(_))).count();
    assert_eq!(discrepancies, 2);
    for order_id in [&hauled, &waiting] {
        let events = dispatch_events(&log, &format!("waybill.dispatch.task.{order_id}.{order_id}")).await;
        let stock_exceptions = events
            .iter()
            .filter(|event| {
                matches!(event, Event::TransportExceptionReported(reported)
                    if reported.kind == i32::from(v1::ExceptionKind::StockDiscrepancy))
            })
            .count();
        assert_eq!(stock_exceptions, 1, "one exception on {order_id}'s task");
    }
    let stock = stock_items(&mut dispatch, &operator, &hub_id, "A1", counted.position).await?;
    let in_a1: Vec<&str> = stock.iter().map(|item| item.order_id.as_str()).collect();
    assert_eq!(in_a1, [waiting.as_str()]);

    // Loaded out: off the stock.
    let out = v1::LoadGoodsOutRequest {
        request_id: "hub-b-out".into(),
        hub_id: hub_id.clone(),
        order_id: waiting.clone(),
        vehicle_id: String::new(),
    };
    let loaded = dispatch.load_goods_out(request(&operator, out)).await?.into_inner();
    // Read at least at the loading's position: the query may reach the read model first.
    let stock = stock_items(&mut dispatch, &operator, &hub_id, "", loaded.position).await?;
    assert!(stock.is_empty(), "{stock:?}");
    assert!(matches!(
        dispatch_events(&log, &hub_subject(&hub_id)).await.last(),
        Some(Event::GoodsLoadedOut(_))
    ));
    Ok(())
}
