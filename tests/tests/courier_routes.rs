//! Courier routes through the real binaries on one nats-server (gRPC and the log only): two
//! orders whose consignees have coordinates are hauled to Munich and assigned to Kim;
//! a dispatcher plans Kim's day; each order's TrackOrder then shows the courier's ETA from
//! the plan (and the timeline says so), and CRM reads the plan from the log. A plan for a
//! day with no stops is refused and writes nothing.

use chrono::{Duration, NaiveTime, Utc};
use tonic::Code;
use waybill_fixtures::Refusal;
use waybill_proto::convert::timestamp_to_wire;
use waybill_proto::v1;
use waybill_system_tests::system::{Caller, System, eventually, hub_lead, request, system_test_log};
use waybill_testkit::NatsServer;

#[tokio::test]
async fn a_planned_run_gives_track_order_the_couriers_eta() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "routes").await?;
    let log = system_test_log(&nats).await?;

    let mut orders = Vec::new();
    for (tag, point) in [("north", (48.16, 11.58)), ("south", (48.12, 11.57))] {
        let mut body =
            waybill_system_tests::system::place_order_request(&format!("{tag}-place"), "cust-routes");
        if let Some(address) = body.consignee.as_mut().and_then(|party| party.address.as_mut()) {
            address.coordinates = Some(v1::Coordinates { latitude: point.0, longitude: point.1 });
        }
        let placed =
            clients.intake.clone().place_order(request(&Caller::customer_service("shop"), body)).await?;
        let order_id = placed.into_inner().order.map(|order| order.order_id).unwrap_or_default();
        clients.haul(tag, &order_id).await?;
        clients.delivery_reaches(&order_id, v1::DeliveryStatus::Scheduled).await?;
        let assign = v1::AssignCourierRequest {
            request_id: format!("{tag}-assign-courier"),
            delivery_id: order_id.clone(),
            courier_id: String::new(),
        };
        clients.delivery.clone().assign_courier(request(&hub_lead(), assign)).await?;
        orders.push(order_id);
    }
    let courier = clients.delivery(&orders[0]).await.map(|delivery| delivery.courier_id).unwrap_or_default();

    // Standard windows run from a day to three days after the arrival: the day after
    // tomorrow lies wholly inside both.
    let day = (Utc::now() + Duration::days(2)).date_naive();
    let at = |hour: u32| {
        timestamp_to_wire(day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default()).and_utc())
    };
    let constraints = v1::RouteConstraints {
        shift_start: Some(at(8)),
        shift_end: Some(at(18)),
        capacity: 20,
        depot: Some(v1::Coordinates { latitude: 48.137, longitude: 11.575 }),
    };
    let plan = v1::PlanCourierRouteRequest {
        request_id: "routes-plan".into(),
        courier_id: courier.clone(),
        date: day.format("%Y-%m-%d").to_string(),
        constraints: Some(constraints),
    };
    let planned = clients.delivery.clone().plan_courier_route(request(&hub_lead(), plan)).await?.into_inner();
    let route = planned.route.expect("a route");
    assert_eq!(route.stops.len(), 2, "{route:?}");

    for stop in &route.stops {
        let tracked = eventually("TrackOrder to show the ETA", || {
            let mut intake = clients.intake.clone();
            let order_id = stop.delivery_id.clone();
            async move {
                let track = v1::TrackOrderRequest { order_id, min_position: 0 };
                let tracked =
                    intake.track_order(request(&Caller::customer_service("shop"), track)).await.ok()?;
                Some(tracked.into_inner()).filter(|tracked| tracked.eta.is_some())
            }
        })
        .await?;
        assert_eq!(tracked.eta, stop.eta);
        assert!(
            tracked.timeline.iter().any(|entry| entry.summary.starts_with("courier expected at")),
            "{:?}",
            tracked.timeline
        );
    }

    // A day with nothing on it: refused, nothing on that route's subject.
    let empty_day = day + Duration::days(30);
    let nothing = v1::PlanCourierRouteRequest {
        request_id: "routes-plan-empty".into(),
        courier_id: courier.clone(),
        date: empty_day.format("%Y-%m-%d").to_string(),
        constraints: Some(constraints),
    };
    clients
        .delivery
        .clone()
        .plan_courier_route(request(&hub_lead(), nothing))
        .await
        .refused(Code::FailedPrecondition, "no stops that day");
    let subject = format!("waybill.delivery.route.{courier}_{}", empty_day.format("%Y-%m-%d"));
    assert!(log.read_subject(&subject).await?.is_empty());
    Ok(())
}
