//! Couriers' runs through gRPC and the log: a planned day is one `RoutePlanned` on the
//! route's subject and a `DeliveryEtaPlanned` on each stop; GetCourierRoute and GetDelivery
//! answer with the plan; a failed attempt and a new stop re-plan the rest of the run; bad
//! requests are refused with a clear status and write nothing.

mod support;

use chrono::{Duration, Utc};
use support::{
    Client, arrived_at_hub, delivery_events, delivery_now, departure, open_log, order_placed_to, party,
    party_at, register_kim, start_delivery, wait_scheduled,
};
use tonic::Code;
use waybill_eventlog::EventLog;
use waybill_fixtures::{Caller, Refusal, Role};
use waybill_proto::convert::timestamp_to_wire;
use waybill_proto::v1;
use waybill_testkit::{NatsServer, eventually};

/// The hub at Munich's Marienplatz; stops due east of it along one parallel.
const DEPOT: (f64, f64) = (48.137, 11.575);

/// `km` east of the depot (at 48° N a degree of longitude is ~74.4 km).
fn east(km: f64) -> (f64, f64) {
    (DEPOT.0, DEPOT.1 + km / 74.4)
}

fn point((latitude, longitude): (f64, f64)) -> v1::Coordinates {
    v1::Coordinates { latitude, longitude }
}

/// A same-day delivery (window: now to now + 4 h) to a consignee at `at`, or without
/// coordinates; assigned to `courier_id`.
async fn stop(log: &EventLog, client: &mut Client, courier_id: &str, at: Option<(f64, f64)>) -> String {
    let order_id = uuid::Uuid::now_v7().to_string();
    let consignee = match at {
        Some(at) => party_at("Erika Mustermann", "Munich", at),
        None => party("Erika Mustermann", "Munich"),
    };
    order_placed_to(log, &order_id, consignee, v1::ServiceLevel::SameDay).await;
    arrived_at_hub(log, &order_id, Utc::now()).await;
    wait_scheduled(client, &order_id).await;
    client
        .assign_courier(v1::AssignCourierRequest {
            request_id: format!("assign-{order_id}"),
            delivery_id: order_id.clone(),
            courier_id: courier_id.into(),
        })
        .await
        .expect("assigned");
    order_id
}

fn constraints(capacity: u32) -> v1::RouteConstraints {
    let now = Utc::now();
    v1::RouteConstraints {
        shift_start: Some(timestamp_to_wire(now - Duration::hours(1))),
        shift_end: Some(timestamp_to_wire(now + Duration::hours(10))),
        capacity,
        depot: Some(point(DEPOT)),
    }
}

fn plan_request(
    request_id: &str,
    courier_id: &str,
    constraints: v1::RouteConstraints,
) -> v1::PlanCourierRouteRequest {
    v1::PlanCourierRouteRequest {
        request_id: request_id.into(),
        courier_id: courier_id.into(),
        date: String::new(),
        constraints: Some(constraints),
    }
}

/// Plans the courier's run (request `request_id`) for a van of `capacity` stops; the run planned.
async fn planned_route(
    client: &mut Client,
    request_id: &str,
    courier_id: &str,
    capacity: u32,
) -> v1::CourierRoute {
    let planned =
        client.plan_courier_route(plan_request(request_id, courier_id, constraints(capacity))).await;
    planned.expect("planned").into_inner().route.expect("a route")
}

fn route_subject(courier_id: &str) -> String {
    format!("waybill.delivery.route.{courier_id}_{}", Utc::now().format("%Y-%m-%d"))
}

/// Waits for the courier's `n`th route event (from 0) and returns the run it planned.
async fn nth_plan(log: &EventLog, courier_id: &str, n: usize, what: &str) -> v1::CourierRoute {
    let subject = route_subject(courier_id);
    eventually(what, async || match delivery_events(log, &subject).await.get(n)? {
        (_, v1::delivery_event::Event::RoutePlanned(planned)) => planned.route.clone(),
        _ => None,
    })
    .await
}

fn order_of(route: &v1::CourierRoute) -> Vec<String> {
    route.stops.iter().map(|stop| stop.delivery_id.clone()).collect()
}

async fn dispatcher(nats: &NatsServer) -> (support::Delivery, Client, EventLog) {
    let server = start_delivery(nats).await;
    let client = server.client(Caller::with_roles("hub-lead", &[Role::Dispatcher])).await;
    (server, client, open_log(nats).await)
}

#[tokio::test]
async fn a_planned_day_orders_the_stops_and_gives_each_its_eta_on_the_log() {
    let nats = NatsServer::start();
    let (_server, mut client, log) = dispatcher(&nats).await;
    let kim = register_kim(&mut client, "Munich").await;
    // Assigned (so in promised-window order) far, near, middle: visiting them so is a
    // zig-zag of 6 + 5 + 3 + 4 = 18 km (as the crow flies); out and back along the line is 12.
    let far = stop(&log, &mut client, &kim, Some(east(6.0))).await;
    let near = stop(&log, &mut client, &kim, Some(east(1.0))).await;
    let middle = stop(&log, &mut client, &kim, Some(east(4.0))).await;

    let route = planned_route(&mut client, "plan-1", &kim, 10).await;
    let order = order_of(&route);
    assert_eq!(order.len(), 3);
    assert!([&near, &middle, &far].iter().all(|id| order.contains(id)), "{order:?}");
    // Out along the line and back, 12 km as the crow flies × the road factor 1.3 (metres
    // rounded per leg), whichever stops it takes out and which back: not the 18 km zig-zag.
    assert!((15_400..=15_700).contains(&route.total_distance_m), "{}", route.total_distance_m);
    assert_eq!(route.reason, i32::from(v1::RoutePlanReason::Requested));
    assert_eq!(route.planner, "vrp-core 1.25");
    let etas: Vec<i64> = route.stops.iter().map(|stop| stop.eta.expect("an eta").seconds).collect();
    assert!(etas.windows(2).all(|pair| pair[0] < pair[1]), "{etas:?}");
    assert!(route.stops.iter().all(|stop| stop.window_kept));
    assert_eq!(route.stops.iter().map(|stop| stop.sequence).collect::<Vec<_>>(), [1, 2, 3]);

    // The log: the plan on the route's subject, each ETA on its delivery's.
    let on_route = delivery_events(&log, &route_subject(&kim)).await;
    assert_eq!(on_route.len(), 1);
    assert_eq!(on_route[0].0, "waybill.delivery.route_planned.v1");
    for stop in &route.stops {
        let events = delivery_events(&log, &format!("waybill.delivery.task.{0}.{0}", stop.delivery_id)).await;
        let eta = events.iter().find_map(|(_, event)| match event {
            v1::delivery_event::Event::DeliveryEtaPlanned(planned) => Some(planned.clone()),
            _ => None,
        });
        let eta = eta.expect("an eta event on the delivery");
        assert_eq!((eta.eta, eta.sequence, eta.courier_id.as_str()), (stop.eta, stop.sequence, kim.as_str()));
    }

    // The queries answer with the plan.
    let answer = client
        .get_courier_route(v1::GetCourierRouteRequest {
            courier_id: kim.clone(),
            date: String::new(),
            min_position: 0,
        })
        .await
        .expect("route")
        .into_inner();
    let listed: Vec<String> = answer.stops.iter().map(|stop| stop.delivery_id.clone()).collect();
    assert_eq!(listed, order);
    assert_eq!(answer.plan.map(|plan| order_of(&plan)), Some(order.clone()));
    let first = delivery_now(&mut client, &order[0]).await;
    assert_eq!(first.eta.map(|eta| (eta.sequence, eta.eta)), Some((1, route.stops[0].eta)));

    // The same request again answers as the first time and writes nothing more.
    let again =
        client.plan_courier_route(plan_request("plan-1", &kim, constraints(10))).await.expect("retried");
    assert_eq!(again.into_inner().route.map(|route| order_of(&route)), Some(order));
    assert_eq!(delivery_events(&log, &route_subject(&kim)).await.len(), 1);
}

#[tokio::test]
async fn a_van_too_small_leaves_stops_unplanned_and_says_so() {
    let nats = NatsServer::start();
    let (_server, mut client, log) = dispatcher(&nats).await;
    let kim = register_kim(&mut client, "Munich").await;
    for km in [1.0, 2.0, 3.0] {
        stop(&log, &mut client, &kim, Some(east(km))).await;
    }
    let route = planned_route(&mut client, "plan-small", &kim, 2).await;
    assert_eq!((route.stops.len(), route.unplanned.len()), (2, 1), "{route:?}");
    assert!(route.unplanned[0].reason.contains("capacity"), "{:?}", route.unplanned);
}

#[tokio::test]
async fn bad_plans_are_refused_clearly_and_write_nothing() {
    let nats = NatsServer::start();
    let (server, mut client, log) = dispatcher(&nats).await;
    let kim = register_kim(&mut client, "Munich").await;

    let mut broken = constraints(0);
    broken.depot = Some(v1::Coordinates { latitude: 91.0, longitude: f64::NAN });
    broken.shift_end = broken.shift_start;
    client
        .plan_courier_route(v1::PlanCourierRouteRequest {
            date: "4.12.2026".into(),
            ..plan_request("", "kim", broken)
        })
        .await
        .invalid(
            "nothing right",
            &[
                "request_id",
                "courier_id",
                "date",
                "constraints.shift_end",
                "constraints.capacity",
                "constraints.depot.latitude",
                "constraints.depot.longitude",
            ],
        );
    client
        .plan_courier_route(v1::PlanCourierRouteRequest {
            constraints: None,
            ..plan_request("p", &kim, constraints(5))
        })
        .await
        .invalid("no constraints", &["constraints"]);

    let stranger = uuid::Uuid::now_v7().to_string();
    client
        .plan_courier_route(plan_request("plan-stranger", &stranger, constraints(5)))
        .await
        .refused(Code::NotFound, "an unknown courier");
    let status = client
        .plan_courier_route(plan_request("plan-empty", &kim, constraints(5)))
        .await
        .refused(Code::FailedPrecondition, "a courier with no stops");
    assert!(status.message().contains("no open delivery"), "{status:?}");

    let placed = stop(&log, &mut client, &kim, Some(east(1.0))).await;
    let unplaced = stop(&log, &mut client, &kim, None).await;
    let status = client
        .plan_courier_route(plan_request("plan-unplaced", &kim, constraints(5)))
        .await
        .refused(Code::FailedPrecondition, "a stop without coordinates");
    assert!(status.message().contains(&unplaced) && !status.message().contains(&placed), "{status:?}");

    // Nothing on the route, no ETA on the stop that could have been planned.
    assert!(delivery_events(&log, &route_subject(&kim)).await.is_empty());
    assert!(delivery_events(&log, &route_subject(&stranger)).await.is_empty());
    let events = delivery_events(&log, &format!("waybill.delivery.task.{placed}.{placed}")).await;
    assert!(!events.iter().any(|(kind, _)| kind == "waybill.delivery.delivery_eta_planned.v1"), "{events:?}");

    // A courier sees only its own route; planning is a dispatcher's.
    let mut courier = server.client(Caller::with_roles("kim", &[Role::Courier]).for_courier(&kim)).await;
    courier
        .plan_courier_route(plan_request("plan-own", &kim, constraints(5)))
        .await
        .refused(Code::PermissionDenied, "a courier does not plan");
}

#[tokio::test]
async fn a_failed_attempt_and_a_new_stop_replan_the_rest_of_the_run() {
    let nats = NatsServer::start();
    let (server, mut client, log) = dispatcher(&nats).await;
    let kim = register_kim(&mut client, "Munich").await;
    let stops = [
        stop(&log, &mut client, &kim, Some(east(1.0))).await,
        stop(&log, &mut client, &kim, Some(east(2.0))).await,
        stop(&log, &mut client, &kim, Some(east(3.0))).await,
    ];
    let route = planned_route(&mut client, "plan-3", &kim, 10).await;
    let first = route.stops[0].delivery_id.clone();

    // The courier leaves with the first stop and fails there.
    let mut courier = server.client(Caller::courier("kim", &kim)).await;
    courier.start_delivery(departure("start-1", &first)).await.expect("started");
    courier
        .record_failed_attempt(v1::RecordFailedAttemptRequest {
            request_id: "fail-1".into(),
            delivery_id: first.clone(),
            reason: v1::FailureReason::RecipientAbsent.into(),
            note: String::new(),
            next_window: None,
        })
        .await
        .expect("failed attempt recorded");
    let replanned = nth_plan(&log, &kim, 1, "the run re-planned after the failed attempt").await;
    assert_eq!(replanned.reason, i32::from(v1::RoutePlanReason::AttemptFailed));
    let rest = order_of(&replanned);
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(!rest.contains(&first) && stops.iter().filter(|id| **id != first).all(|id| rest.contains(id)));
    // From where the courier stood: the failed stop's door.
    let kms = [1.0, 2.0, 3.0];
    let failed_km = stops.iter().zip(kms).find(|(id, _)| **id == first).map(|(_, km)| km).expect("a stop");
    assert_eq!(replanned.starts_from, Some(point(east(failed_km))));
    let gone = delivery_now(&mut client, &first).await;
    assert_eq!(gone.eta, None, "the failed stop is off today's run");

    // A new stop for Kim joins the rest of the run.
    let added = stop(&log, &mut client, &kim, Some(east(2.5))).await;
    let with_new = nth_plan(&log, &kim, 2, "the run re-planned with the new stop").await;
    assert_eq!(with_new.reason, i32::from(v1::RoutePlanReason::StopAdded));
    assert!(order_of(&with_new).contains(&added) && order_of(&with_new).len() == 3, "{with_new:?}");
    let eta = eventually("the new stop's eta", async || {
        let request = v1::GetDeliveryRequest { delivery_id: added.clone(), min_position: 0 };
        client.get_delivery(request).await.ok()?.into_inner().delivery?.eta
    })
    .await;
    assert!(eta.eta.is_some());
}
