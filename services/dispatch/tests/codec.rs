//! Dispatch's events on the wire: the bytes integrators read are pinned, so a change to the
//! codec that changes them fails here (they were taken from the codec before the shared
//! envelope builder replaced its hand-built envelope).

use uuid::Uuid;
use waybill_dispatch::codec;
use waybill_dispatch::domain::{
    Load, Plan, TaskEvent, TaskId, TaskKind, TransportMode, VehicleEvent, VehicleId,
};
use waybill_proto::envelope::{pinned_meta, wire_form};
use waybill_types::{OrderId, ServiceLevel};

use waybill_fixtures::pinned_address as address;

#[test]
fn a_task_planned_is_encoded_as_main_encoded_it() {
    let order_id = OrderId(Uuid::from_u128(7));
    let event = TaskEvent::Planned {
        task_id: TaskId(order_id.0),
        plan: Plan {
            kind: TaskKind::Forward,
            order_id,
            return_id: None,
            mode: TransportMode::RoadLtl,
            service_level: ServiceLevel::Standard,
            origin: address("Berlin"),
            destination: address("Munich"),
            load: Load::new(3_000, 12_000),
            origin_depot: "Berlin".into(),
            // Not hazardous: proto3 leaves the new field out, so the bytes stay as they were.
            hazardous: false,
        },
        source_event_id: "0190-accepted".into(),
    };
    let encoded = codec::encode_task(TaskId(order_id.0), order_id, &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.dispatch.task_planned.v1 00000000-0000-0000-0000-000000000007 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311220",
            "77617962696c6c2e64697370617463682e7461736b5f706c616e6e65642e76311a24303030303030",
            "30302d303030302d303030302d303030302d30303030303030303030303722243030303030303030",
            "2d303030302d303030302d303030302d3030303030303030303030372a060890a395cd0632097265",
            "71756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d374801aa01a001",
            "429d010801122430303030303030302d303030302d303030302d303030302d303030303030303030",
            "3030372002280132270a0e486175707473747261737365203112064265726c696e1a024245220531",
            "303131352a0244453a270a0e486175707473747261737365203112064d756e6963681a0242452205",
            "31303131352a024445420608b81710e05d4a064265726c696e520d303139302d6163636570746564",
        )
    );
}

#[test]
fn a_vehicle_loaded_is_encoded_as_main_encoded_it() {
    let event = VehicleEvent::Loaded { task_id: TaskId(Uuid::from_u128(7)), load: Load::new(3_000, 12_000) };
    let encoded = codec::encode_vehicle(VehicleId(Uuid::from_u128(9)), &event, &pinned_meta());
    assert_eq!(
        wire_form(&encoded),
        concat!(
            "01900000-0000-7000-8000-000000000001 waybill.dispatch.vehicle_loaded.v1 00000000-0000-0000-0000-000000000009 2026-03-02T09:00:00.000Z ",
            "0a2430313930303030302d303030302d373030302d383030302d3030303030303030303030311222",
            "77617962696c6c2e64697370617463682e76656869636c655f6c6f616465642e76311a2430303030",
            "303030302d303030302d303030302d303030302d3030303030303030303030392a060890a395cd06",
            "3209726571756573742d313a0d636f7272656c6174696f6e2d31420a080112066465736b2d374801",
            "aa01301a2e0a2430303030303030302d303030302d303030302d303030302d303030303030303030",
            "303037120608b81710e05d",
        )
    );
}
