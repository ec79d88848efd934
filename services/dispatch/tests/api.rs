//! Dispatch through its gRPC API on a real nats-server, with the real intake feeding it
//! orders: what a dispatcher's app sees.

mod support;

use std::time::Duration;
use waybill_fixtures::Refusal;
use waybill_fixtures::{Caller, Role};

use support::{
    Dispatch, System, assignment, dispatcher, exception_report, picked_up_task, place_order, planned_order,
    record_delivery, register_driver, register_vehicle, task_subject, violated_fields, wait_for_task,
};
use tonic::Code;
use uuid::Uuid;
use waybill_proto::v1::{self, TaskStatus};

async fn vehicle(dispatch: &mut Dispatch, vehicle_id: &str, min_position: u64) -> v1::Vehicle {
    dispatch
        .get_vehicle(v1::GetVehicleRequest { vehicle_id: vehicle_id.into(), min_position })
        .await
        .expect("the vehicle")
        .into_inner()
        .vehicle
        .expect("vehicle")
}

fn weight(vehicle: &v1::Vehicle) -> u64 {
    vehicle.load.map(|load| load.weight_grams).unwrap_or_default()
}

#[tokio::test]
async fn bad_requests_name_every_offending_field() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;

    let refused = dispatch
        .register_vehicle(v1::RegisterVehicleRequest {
            request_id: String::new(),
            vehicle_id: "van-1".into(),
            kind: v1::VehicleKind::Unspecified.into(),
            registration: " ".into(),
            capacity: Some(v1::Load { weight_grams: 0, volume_cm3: 0 }),
            depot: String::new(),
        })
        .await
        .refused(Code::InvalidArgument, "refused");
    assert_eq!(
        violated_fields(&refused),
        [
            "request_id",
            "vehicle_id",
            "kind",
            "registration",
            "capacity.weight_grams",
            "capacity.volume_cm3",
            "depot"
        ]
    );

    dispatch
        .assign_task(v1::AssignTaskRequest {
            request_id: "assign-1".into(),
            task_id: "not-a-uuid".into(),
            vehicle_id: "van 1".into(),
            driver_id: String::new(),
        })
        .await
        .invalid("refused", &["task_id", "vehicle_id"]);

    dispatch
        .report_exception(v1::ReportExceptionRequest {
            request_id: "report-1".into(),
            task_id: Uuid::now_v7().to_string(),
            kind: 0,
            severity: 42,
            description: String::new(),
        })
        .await
        .invalid("refused", &["kind", "severity", "description"]);

    dispatch
        .list_tasks(v1::ListTasksRequest { status: 99, page_size: 10_000, ..Default::default() })
        .await
        .invalid("refused", &["status", "page_size"]);
}

#[tokio::test]
async fn unknown_tasks_vehicles_and_exceptions_are_not_found() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let nobody = Uuid::now_v7().to_string();

    let missing = dispatch.get_task(v1::GetTaskRequest { task_id: nobody.clone(), min_position: 0 }).await;
    assert_eq!(missing.expect_err("no task").code(), Code::NotFound);
    let missing =
        dispatch.get_vehicle(v1::GetVehicleRequest { vehicle_id: nobody.clone(), min_position: 0 }).await;
    assert_eq!(missing.expect_err("no vehicle").code(), Code::NotFound);
    let missing = dispatch.assign_task(assignment("a-1", &nobody)).await;
    assert_eq!(missing.expect_err("no task").code(), Code::NotFound);
    let missing = dispatch
        .retire_vehicle(v1::RetireVehicleRequest {
            request_id: "r-1".into(),
            vehicle_id: nobody.clone(),
            reason: String::new(),
        })
        .await;
    assert_eq!(missing.expect_err("no vehicle").code(), Code::NotFound);

    let order_id = planned_order(&system, &mut dispatch).await;
    let missing = dispatch
        .assign_task(v1::AssignTaskRequest { vehicle_id: nobody.clone(), ..assignment("a-2", &order_id) })
        .await
        .refused(Code::NotFound, "no such vehicle");
    assert!(missing.message().contains(&nobody), "{}", missing.message());
    let missing = dispatch
        .resolve_exception(v1::ResolveExceptionRequest {
            request_id: "resolve-1".into(),
            task_id: order_id,
            exception_id: "ex-1".into(),
            resolution: "fixed".into(),
        })
        .await;
    assert_eq!(missing.expect_err("no exception").code(), Code::NotFound);
}

#[tokio::test]
async fn a_task_travels_to_the_hub_on_a_van_from_its_depot_which_is_then_free_again() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let order_id = planned_order(&system, &mut dispatch).await;

    let elsewhere = register_vehicle(&mut dispatch, "van-hh", v1::VehicleKind::Van, "Hamburg", 10_000).await;
    let van = register_vehicle(&mut dispatch, "van-b", v1::VehicleKind::Van, "berlin", 100_000).await;
    let truck =
        register_vehicle(&mut dispatch, "truck-b", v1::VehicleKind::Truck, "Berlin", 20_000_000).await;
    let driver = register_driver(&mut dispatch, "driver-1", "C").await;

    let too_early = dispatch
        .mark_packed(v1::MarkPackedRequest { request_id: "pack-0".into(), task_id: order_id.clone() })
        .await
        .refused(Code::FailedPrecondition, "nothing to pack before assignment");
    assert!(too_early.message().contains("planned"), "{}", too_early.message());

    let assigned = dispatch
        .assign_task(v1::AssignTaskRequest { driver_id: driver.clone(), ..assignment("assign-1", &order_id) })
        .await
        .expect("assigned")
        .into_inner();
    let task = assigned.task.expect("task");
    assert_eq!(task.status(), TaskStatus::Assigned);
    assert_eq!(
        (task.vehicle_id.as_str(), task.driver_id.as_str()),
        (van.as_str(), driver.as_str()),
        "at the origin, best fit"
    );
    assert_eq!(assigned.vehicle.as_ref().map(weight), Some(6_000));
    assert_eq!(weight(&vehicle(&mut dispatch, &van, assigned.position).await), 6_000);

    dispatch
        .retire_vehicle(v1::RetireVehicleRequest {
            request_id: "retire-1".into(),
            vehicle_id: van.clone(),
            reason: "old".into(),
        })
        .await
        .refused(Code::FailedPrecondition, "not while it carries a task");

    for (request_id, step) in [("pack-1", 0), ("pickup-1", 1), ("checkpoint-1", 2), ("arrive-1", 3)] {
        let task_id = order_id.clone();
        let request_id = request_id.to_owned();
        match step {
            0 => drop(
                dispatch.mark_packed(v1::MarkPackedRequest { request_id, task_id }).await.expect("packed"),
            ),
            1 => drop(
                dispatch
                    .record_pickup(v1::RecordPickupRequest { request_id, task_id })
                    .await
                    .expect("picked up"),
            ),
            2 => drop(
                dispatch
                    .record_checkpoint(v1::RecordCheckpointRequest {
                        request_id,
                        task_id,
                        place: "Leipzig".into(),
                        note: "on schedule".into(),
                    })
                    .await
                    .expect("checkpoint"),
            ),
            _ => {
                let arrived = dispatch
                    .record_arrival(v1::RecordArrivalRequest { request_id, task_id, hub: "MUC-HUB".into() })
                    .await
                    .expect("arrived")
                    .into_inner();
                let task = arrived.task.expect("task");
                assert_eq!(task.status(), TaskStatus::Arrived);
                assert_eq!(
                    task.checkpoints.iter().map(|c| c.place.as_str()).collect::<Vec<_>>(),
                    ["Leipzig"]
                );
                let freed = vehicle(&mut dispatch, &van, arrived.position).await;
                assert_eq!(
                    (weight(&freed), freed.task_ids.len()),
                    (0, 0),
                    "the load left the van at the hub"
                );
            }
        }
    }
    assert_eq!(
        system.event_types(&task_subject(&order_id)).await,
        [
            "waybill.dispatch.task_planned.v1",
            "waybill.dispatch.task_assigned.v1",
            "waybill.dispatch.task_packed.v1",
            "waybill.dispatch.task_picked_up.v1",
            "waybill.dispatch.task_checkpoint_passed.v1",
            "waybill.dispatch.task_arrived_at_hub.v1",
        ]
    );
    assert_eq!(
        system.event_types(&support::vehicle_subject(&van)).await,
        [
            "waybill.dispatch.vehicle_registered.v1",
            "waybill.dispatch.vehicle_loaded.v1",
            "waybill.dispatch.vehicle_unloaded.v1"
        ]
    );

    // What a dispatcher's app lists.
    let arrived = dispatch
        .list_tasks(v1::ListTasksRequest {
            status: TaskStatus::Arrived.into(),
            depot: "BERLIN".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(
        arrived.tasks.iter().map(|task| task.task_id.as_str()).collect::<Vec<_>>(),
        [order_id.as_str()]
    );
    let planned = dispatch
        .list_tasks(v1::ListTasksRequest { status: TaskStatus::Planned.into(), ..Default::default() })
        .await
        .expect("listed")
        .into_inner();
    assert!(planned.tasks.is_empty());
    let in_berlin = dispatch
        .list_vehicles(v1::ListVehiclesRequest { depot: "Berlin".into(), ..Default::default() })
        .await
        .expect("listed")
        .into_inner();
    let mut ids: Vec<String> = in_berlin.vehicles.into_iter().map(|vehicle| vehicle.vehicle_id).collect();
    ids.sort();
    let mut expected = vec![van.clone(), truck];
    expected.sort();
    assert_eq!(ids, expected, "not {elsewhere}");
    let drivers = dispatch
        .list_drivers(v1::ListDriversRequest {
            depot: "berlin".into(),
            only_available: true,
            min_position: 0,
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(
        drivers.drivers.iter().map(|driver| driver.driver_id.as_str()).collect::<Vec<_>>(),
        [driver.as_str()]
    );

    dispatch
        .retire_vehicle(v1::RetireVehicleRequest {
            request_id: "retire-2".into(),
            vehicle_id: van.clone(),
            reason: "old".into(),
        })
        .await
        .expect("an empty van retires");
}

#[tokio::test]
async fn a_retried_request_gets_the_same_answer_and_writes_once() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let order_id = planned_order(&system, &mut dispatch).await;
    let van = register_vehicle(&mut dispatch, "van-1", v1::VehicleKind::Van, "Berlin", 100_000).await;

    let assign = assignment("assign-1", &order_id);
    let first = dispatch.assign_task(assign.clone()).await.expect("assigned").into_inner();
    let again = dispatch.assign_task(assign).await.expect("the same answer").into_inner();
    assert_eq!(again.position, first.position);
    assert_eq!(again.task.map(|task| task.vehicle_id), Some(van.clone()));
    assert_eq!(weight(&vehicle(&mut dispatch, &van, again.position).await), 6_000, "loaded once");

    let report = exception_report(
        "report-1",
        &order_id,
        v1::ExceptionKind::Weather,
        v1::Severity::Low,
        "snow on the A9",
    );
    let first = dispatch.report_exception(report.clone()).await.expect("reported").into_inner();
    let again = dispatch.report_exception(report).await.expect("the same answer").into_inner();
    assert_eq!((again.exception_id, again.position), (first.exception_id, first.position));
    assert_eq!(
        system.event_types(&task_subject(&order_id)).await,
        [
            "waybill.dispatch.task_planned.v1",
            "waybill.dispatch.task_assigned.v1",
            "waybill.dispatch.transport_exception_reported.v1"
        ]
    );
}

#[tokio::test]
async fn a_breakdown_moves_the_task_to_another_vehicle_and_is_resolved() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let (task_id, van) = picked_up_task(&system, &mut dispatch).await;
    let spare =
        register_vehicle(&mut dispatch, "truck-1", v1::VehicleKind::Truck, "Leipzig", 1_000_000).await;

    let breakdown =
        exception_report("report-1", &task_id, v1::ExceptionKind::Breakdown, v1::Severity::High, "gearbox");
    let reported = dispatch.report_exception(breakdown).await.expect("reported").into_inner();
    let exception_id = reported.exception_id.clone();
    assert!(!exception_id.is_empty());

    let handled = dispatch
        .handle_exception(v1::HandleExceptionRequest {
            request_id: "handle-1".into(),
            task_id: task_id.clone(),
            exception_id: exception_id.clone(),
            handling: "reloaded onto the spare truck".into(),
            delay_minutes: 90,
            reassign_to_vehicle_id: spare.clone(),
        })
        .await
        .expect("handled")
        .into_inner();
    let task = handled.task.expect("task");
    assert_eq!(task.vehicle_id, spare);
    assert_eq!(task.status(), TaskStatus::PickedUp, "still on its way");
    assert_eq!(weight(&vehicle(&mut dispatch, &van, handled.position).await), 0);
    assert_eq!(weight(&vehicle(&mut dispatch, &spare, handled.position).await), 6_000);

    let resolved = dispatch
        .resolve_exception(v1::ResolveExceptionRequest {
            request_id: "resolve-1".into(),
            task_id: task_id.clone(),
            exception_id: exception_id.clone(),
            resolution: "van towed, goods on the truck".into(),
        })
        .await
        .expect("resolved")
        .into_inner();
    let exception = resolved.task.expect("task").exceptions.into_iter().next().expect("the exception");
    assert_eq!(exception.delay_minutes, 90);
    assert!(exception.resolved_at.is_some());

    dispatch
        .resolve_exception(v1::ResolveExceptionRequest {
            request_id: "resolve-2".into(),
            task_id,
            exception_id,
            resolution: "again".into(),
        })
        .await
        .refused(Code::FailedPrecondition, "resolved once");
}

#[tokio::test]
async fn a_delivered_order_comes_back_on_a_reverse_task_of_its_own() {
    let system = System::start().await;
    let mut dispatch =
        system.dispatch(Caller::with_roles("aftersales", &[Role::AfterSalesAgent, Role::Dispatcher])).await;
    let order_id = planned_order(&system, &mut dispatch).await;
    let return_id = Uuid::now_v7().to_string();
    let request = v1::RequestReverseShipmentRequest {
        request_id: "return-1".into(),
        return_id: return_id.clone(),
        order_id: order_id.clone(),
        load: None,
    };
    dispatch
        .request_reverse_shipment(request.clone())
        .await
        .refused(Code::FailedPrecondition, "not delivered yet");

    // Intake records the handover (as it would from delivery's event).
    record_delivery(&system, &order_id).await;

    let mut answer = None;
    for _ in 0..100 {
        match dispatch.request_reverse_shipment(request.clone()).await {
            Ok(response) => {
                answer = Some(response.into_inner());
                break;
            }
            Err(status) if status.code() == Code::FailedPrecondition => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    let answer = answer.expect("dispatch learned of the delivery");
    let task = answer.task.expect("task");
    assert_eq!((task.task_id.as_str(), task.order_id.as_str()), (return_id.as_str(), order_id.as_str()));
    assert_eq!((task.kind, task.return_id.as_str()), (v1::TaskKind::Reverse as i32, return_id.as_str()));
    assert_eq!(task.origin_depot, "Munich", "back from the consignee");
    assert_eq!(task.destination.map(|address| address.city), Some("Berlin".to_owned()));
    assert_eq!(task.load.map(|load| load.weight_grams), Some(6_000), "the whole order by default");

    let again = dispatch.request_reverse_shipment(request).await.expect("the same answer").into_inner();
    assert_eq!(again.position, answer.position);
    dispatch
        .request_reverse_shipment(v1::RequestReverseShipmentRequest {
            request_id: "return-2".into(),
            return_id,
            order_id,
            load: None,
        })
        .await
        .refused(Code::AlreadyExists, "that return exists");
}

#[tokio::test]
async fn an_unavailable_or_retired_driver_is_not_given_a_trip() {
    let system = System::start().await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let order_id = planned_order(&system, &mut dispatch).await;
    register_vehicle(&mut dispatch, "van-1", v1::VehicleKind::Van, "Berlin", 100_000).await;
    let driver = Uuid::now_v7().to_string();
    let registered = dispatch
        .register_driver(v1::RegisterDriverRequest {
            request_id: "driver-1".into(),
            driver_id: driver.clone(),
            name: "Kim".into(),
            licence_class: "B".into(),
            depot: "Berlin".into(),
        })
        .await
        .expect("registered")
        .into_inner();
    assert!(registered.driver.is_some_and(|driver| driver.available && !driver.retired));

    let off = dispatch
        .set_driver_availability(v1::SetDriverAvailabilityRequest {
            request_id: "off-1".into(),
            driver_id: driver.clone(),
            available: false,
        })
        .await
        .expect("off duty")
        .into_inner();
    let available = dispatch
        .list_drivers(v1::ListDriversRequest {
            depot: String::new(),
            only_available: true,
            min_position: off.position,
        })
        .await
        .expect("listed")
        .into_inner();
    assert!(available.drivers.is_empty());

    let assign = |request_id: &str| v1::AssignTaskRequest {
        request_id: request_id.into(),
        task_id: order_id.clone(),
        vehicle_id: String::new(),
        driver_id: driver.clone(),
    };
    dispatch.assign_task(assign("assign-1")).await.refused(Code::FailedPrecondition, "off duty");

    dispatch
        .retire_driver(v1::RetireDriverRequest {
            request_id: "retire-1".into(),
            driver_id: driver.clone(),
            reason: "pension".into(),
        })
        .await
        .expect("retired");
    dispatch.assign_task(assign("assign-2")).await.refused(Code::FailedPrecondition, "retired");
    dispatch
        .set_driver_availability(v1::SetDriverAvailabilityRequest {
            request_id: "on-1".into(),
            driver_id: driver,
            available: true,
        })
        .await
        .refused(Code::FailedPrecondition, "retired drivers stay retired");
}

#[tokio::test]
async fn the_consignees_street_goes_to_the_dispatcher_and_is_withheld_from_the_integrator() {
    let system = System::start().await;
    let mut intake = system.intake(Caller::customer_service("shop")).await;
    let mut dispatcher = system.dispatch(Caller::dispatcher("dana")).await;
    let mut integrator = system.dispatch(Caller::integrator("feed")).await;
    let order_id = place_order(&mut intake, "place-1").await;

    let planned = wait_for_task(&mut dispatcher, &order_id, |_| true).await;
    let destination = planned.destination.clone().expect("destination");
    assert!(!destination.lines.is_empty() && !destination.postal_code.is_empty(), "{destination:?}");
    assert!(planned.withheld.is_empty(), "{:?}", planned.withheld);

    let seen = wait_for_task(&mut integrator, &order_id, |_| true).await;
    let listed = integrator.list_tasks(v1::ListTasksRequest::default()).await.expect("listed").into_inner();
    assert_eq!(listed.tasks, std::slice::from_ref(&seen), "the list withholds the same");
    let street_hidden = v1::Address { lines: Vec::new(), postal_code: String::new(), ..destination };
    assert_eq!(seen.destination, Some(street_hidden), "city and country stay for zoning");
    assert_eq!(seen.withheld, ["destination.lines", "destination.postal_code", "destination.coordinates"]);
    assert_eq!(seen.origin, planned.origin, "the shipper's end is where goods are collected");
}
