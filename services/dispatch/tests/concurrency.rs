//! Assignment never overloads a vehicle, however many dispatchers ask at once: the task's
//! `TaskAssigned` and the vehicle's `VehicleLoaded` are one atomic append, each with its
//! expected position, so only requests decided on the vehicle's latest load are stored.

mod support;

use std::collections::HashMap;
use waybill_fixtures::Caller;

use prost::Message;
use support::{System, dispatcher, place_order, register_vehicle, vehicle_subject, wait_for_task};
use tonic::Code;
use waybill_proto::v1::{self, dispatch_event, event_envelope::Payload};

/// Tasks the vehicle has room for.
const ROOM_FOR: usize = 3;
/// Each task carries two books of 3 kg.
const TASK_GRAMS: u64 = 6_000;

#[tokio::test]
async fn concurrent_assignments_never_load_a_vehicle_beyond_its_capacity() {
    let system = System::start().await;
    let mut intake = system.intake(Caller::customer_service("shop")).await;
    let mut dispatch = system.dispatch(dispatcher()).await;
    let capacity = TASK_GRAMS * ROOM_FOR as u64;
    let van = register_vehicle(&mut dispatch, "van-1", v1::VehicleKind::Van, "Berlin", capacity).await;

    let mut task_ids = Vec::new();
    for index in 0..ROOM_FOR * 3 {
        let order_id = place_order(&mut intake, &format!("place-{index}")).await;
        wait_for_task(&mut dispatch, &order_id, |_| true).await;
        task_ids.push(order_id);
    }

    // Half choose automatically, half name the van: all compete for the same room.
    let attempts = task_ids.iter().enumerate().map(|(index, task_id)| {
        let mut dispatch = dispatch.clone();
        let request = v1::AssignTaskRequest {
            request_id: format!("assign-{index}"),
            task_id: task_id.clone(),
            vehicle_id: if index % 2 == 0 { String::new() } else { van.clone() },
            driver_id: String::new(),
        };
        tokio::spawn(async move { dispatch.assign_task(request).await })
    });
    let mut assigned = 0;
    for attempt in futures::future::join_all(attempts).await {
        match attempt.expect("request task") {
            Ok(_) => assigned += 1,
            Err(status) => assert!(
                matches!(status.code(), Code::FailedPrecondition | Code::Aborted),
                "unexpected {status:?}"
            ),
        }
    }
    assert_eq!(assigned, ROOM_FOR, "exactly as many tasks as fit");

    // The log is the truth: replay the van's loads and unloads.
    let history = system.log().await.read_subject(&vehicle_subject(&van)).await.expect("the van's history");
    let last_load = history.last().map(|recorded| recorded.position).unwrap_or_default();
    let mut on_board: HashMap<String, u64> = HashMap::new();
    for recorded in history {
        let envelope = v1::EventEnvelope::decode(recorded.payload.as_ref()).expect("an envelope");
        let Some(Payload::Dispatch(v1::DispatchEvent { event: Some(event) })) = envelope.payload else {
            continue;
        };
        match event {
            dispatch_event::Event::VehicleLoaded(loaded) => {
                on_board
                    .insert(loaded.task_id, loaded.load.map(|load| load.weight_grams).unwrap_or_default());
            }
            dispatch_event::Event::VehicleUnloaded(unloaded) => {
                on_board.remove(&unloaded.task_id);
            }
            _ => {}
        }
        let carried: u64 = on_board.values().sum();
        assert!(
            carried <= capacity,
            "the van carried {carried} g of {capacity} g at position {}",
            recorded.position
        );
    }
    assert_eq!(on_board.len(), ROOM_FOR);

    let vehicle = dispatch
        .get_vehicle(v1::GetVehicleRequest { vehicle_id: van.clone(), min_position: last_load })
        .await
        .expect("the van")
        .into_inner()
        .vehicle
        .expect("vehicle");
    assert_eq!(vehicle.load.map(|load| load.weight_grams), Some(capacity));
    assert_eq!(vehicle.task_ids.len(), ROOM_FOR);

    // A dispatcher pages through the board: every task once, assigned ones on the van.
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = dispatch
            .list_tasks(v1::ListTasksRequest { page_size: 4, page_token, ..Default::default() })
            .await
            .expect("a page")
            .into_inner();
        seen.extend(page.tasks.into_iter().map(|task| task.task_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    seen.sort();
    task_ids.sort();
    assert_eq!(seen, task_ids);
    let on_the_van = dispatch
        .list_tasks(v1::ListTasksRequest {
            vehicle_id: van,
            status: v1::TaskStatus::Assigned.into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(on_the_van.tasks.len(), ROOM_FOR);
}
