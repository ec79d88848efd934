//! The forward task the decider tests plan: an order from Berlin to Munich, road freight,
//! 6 kg; shared by the upkeep and hub tests (no NATS).

use waybill_dispatch::domain::{Load, Plan, TaskEvent, TaskId, TaskKind, TransportMode};
use waybill_fixtures::pinned_address;
use waybill_types::{OrderId, ServiceLevel};

/// `TaskPlanned` for the forward task `task_id` (its order has the same id).
pub fn berlin_to_munich(task_id: TaskId, hazardous: bool) -> TaskEvent {
    TaskEvent::Planned {
        task_id,
        plan: Plan {
            kind: TaskKind::Forward,
            order_id: OrderId(task_id.0),
            return_id: None,
            mode: TransportMode::RoadLtl,
            service_level: ServiceLevel::Standard,
            origin: pinned_address("Berlin"),
            destination: pinned_address("Munich"),
            load: Load::new(6_000, 1_000),
            origin_depot: "Berlin".into(),
            hazardous,
        },
        source_event_id: format!("accepted-{task_id}"),
    }
}
