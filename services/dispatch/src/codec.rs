//! The event codec: dispatch's domain events to and from the wire envelope on the log, and
//! the enum conversions the API shares. With `api.rs` and `order_facts.rs`, the only place
//! that touches prost types.
//!
//! Decoding reads what dispatch itself wrote (and checked) earlier; a stored event that
//! no longer decodes is a poison event (`CodecError`) and stops the projection loudly.

use uuid::Uuid;
use waybill_eventlog::NewEvent;
use waybill_proto::convert::{timestamp_from_wire, timestamp_to_wire};
use waybill_proto::envelope::{self, Belongs, Envelope, EventMeta};
use waybill_proto::stored;
use waybill_proto::v1::{self, dispatch_event};
use waybill_types::OrderId;

use crate::domain::{
    DriverEvent, DriverId, ExceptionKind, HubEvent, Load, Plan, ReplanUpdate, Severity, TaskEvent, TaskId,
    TaskKind, TaskStatus, Training, TransportMode, UnloadReason, Upkeep, VehicleEvent, VehicleId,
    VehicleKind,
};

mod hub;

pub use hub::{
    category_from_wire, category_to_wire, discrepancy_kind_to_wire, encode_hub, inspection_from_wire,
    inspection_to_wire, zone_to_wire,
};

/// Payload schema version of dispatch's events.
pub const SCHEMA_VERSION: u32 = 1;

/// Why stored bytes are not one of dispatch's events (shared by every codec).
pub use waybill_proto::envelope::DecodeError as CodecError;

/// A dispatch event, by the aggregate it belongs to. (`Task` is large, but an event is
/// decoded once and moved; boxing it would burden every match for nothing.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum DispatchEvent {
    Vehicle(VehicleEvent),
    Driver(DriverEvent),
    Task(TaskEvent),
    Hub(HubEvent),
}

#[derive(Clone, Debug)]
pub struct DecodedEvent {
    pub aggregate_id: Uuid,
    pub meta: EventMeta,
    pub event_type: String,
    pub event: DispatchEvent,
}

pub(crate) fn encode(
    belongs: Belongs<'_>,
    event_type: &str,
    meta: &EventMeta,
    event: dispatch_event::Event,
) -> NewEvent {
    envelope::encode(meta, belongs, event_type, SCHEMA_VERSION, event)
}

pub fn encode_vehicle(vehicle_id: VehicleId, event: &VehicleEvent, meta: &EventMeta) -> NewEvent {
    let id = vehicle_id.to_string();
    encode(Belongs::aggregate(&id), event.event_type(), meta, vehicle_to_wire(event))
}

pub fn encode_driver(driver_id: DriverId, event: &DriverEvent, meta: &EventMeta) -> NewEvent {
    let id = driver_id.to_string();
    encode(Belongs::aggregate(&id), event.event_type(), meta, driver_to_wire(event))
}

/// `order_id`: the order the task carries (its own id for a forward task).
pub fn encode_task(task_id: TaskId, order_id: OrderId, event: &TaskEvent, meta: &EventMeta) -> NewEvent {
    let (id, order_id) = (task_id.to_string(), order_id.to_string());
    encode(Belongs { aggregate_id: &id, order_id: &order_id }, event.event_type(), meta, task_to_wire(event))
}

pub fn decode(payload: &[u8]) -> Result<DecodedEvent, CodecError> {
    let Envelope { header, event: wire } = envelope::decode_owned::<dispatch_event::Event>(payload)?;
    let aggregate_id = uuid_field(&header.aggregate_id, "aggregate_id")?;
    let meta = header.meta()?;
    let event = event_from_wire(wire, aggregate_id, &header.order_id)?;
    Ok(DecodedEvent { aggregate_id, meta, event_type: header.event_type, event })
}

fn vehicle_to_wire(event: &VehicleEvent) -> dispatch_event::Event {
    use dispatch_event::Event as Wire;
    match event {
        VehicleEvent::Registered { kind, registration, capacity, depot, .. } => {
            Wire::VehicleRegistered(v1::VehicleRegistered {
                kind: vehicle_kind_to_wire(*kind).into(),
                registration: registration.clone(),
                capacity: Some(load_to_wire(*capacity)),
                depot: depot.clone(),
            })
        }
        VehicleEvent::Retired { reason } => {
            Wire::VehicleRetired(v1::VehicleRetired { reason: reason.clone() })
        }
        VehicleEvent::Loaded { task_id, load } => Wire::VehicleLoaded(v1::VehicleLoaded {
            task_id: task_id.to_string(),
            load: Some(load_to_wire(*load)),
        }),
        VehicleEvent::Unloaded { task_id, reason } => Wire::VehicleUnloaded(v1::VehicleUnloaded {
            task_id: task_id.to_string(),
            reason: reason.as_str().to_owned(),
        }),
        VehicleEvent::UpkeepRecorded { upkeep, next_due, note } => {
            Wire::VehicleUpkeepRecorded(v1::VehicleUpkeepRecorded {
                upkeep: upkeep_to_wire(*upkeep).into(),
                next_due: Some(timestamp_to_wire(*next_due)),
                note: note.clone(),
            })
        }
        VehicleEvent::UpkeepDueSoon { upkeep, due } => Wire::VehicleUpkeepDueSoon(v1::VehicleUpkeepDueSoon {
            upkeep: upkeep_to_wire(*upkeep).into(),
            due: Some(timestamp_to_wire(*due)),
        }),
    }
}

fn driver_to_wire(event: &DriverEvent) -> dispatch_event::Event {
    use dispatch_event::Event as Wire;
    match event {
        DriverEvent::Registered { name, licence_class, depot, .. } => {
            Wire::DriverRegistered(v1::DriverRegistered {
                name: name.clone(),
                licence_class: licence_class.clone(),
                depot: depot.clone(),
            })
        }
        DriverEvent::AvailabilityChanged { available } => {
            Wire::DriverAvailabilityChanged(v1::DriverAvailabilityChanged { available: *available })
        }
        DriverEvent::Retired { reason } => Wire::DriverRetired(v1::DriverRetired { reason: reason.clone() }),
        DriverEvent::LicenceRecorded { licence_class, expires_at } => {
            Wire::DriverLicenceRecorded(v1::DriverLicenceRecorded {
                licence_class: licence_class.clone(),
                expires_at: Some(timestamp_to_wire(*expires_at)),
            })
        }
        DriverEvent::TrainingRecorded { training, valid_until } => {
            Wire::DriverTrainingRecorded(v1::DriverTrainingRecorded {
                training: training_to_wire(*training).into(),
                valid_until: Some(timestamp_to_wire(*valid_until)),
            })
        }
        DriverEvent::LicenceExpiresSoon { expires_at } => {
            Wire::DriverLicenceExpiresSoon(v1::DriverLicenceExpiresSoon {
                expires_at: Some(timestamp_to_wire(*expires_at)),
            })
        }
    }
}

fn task_to_wire(event: &TaskEvent) -> dispatch_event::Event {
    use dispatch_event::Event as Wire;
    let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    match event {
        TaskEvent::Planned { plan, source_event_id, .. } => Wire::TaskPlanned(v1::TaskPlanned {
            kind: task_kind_to_wire(plan.kind).into(),
            order_id: plan.order_id.to_string(),
            return_id: id(plan.return_id),
            mode: mode_to_wire(plan.mode).into(),
            service_level: v1::ServiceLevel::from(plan.service_level).into(),
            origin: Some((&plan.origin).into()),
            destination: Some((&plan.destination).into()),
            load: Some(load_to_wire(plan.load)),
            origin_depot: plan.origin_depot.clone(),
            source_event_id: source_event_id.clone(),
            hazardous: plan.hazardous,
        }),
        TaskEvent::Replanned { update, source_event_id } => Wire::TaskReplanned(v1::TaskReplanned {
            mode: mode_to_wire(update.mode).into(),
            service_level: v1::ServiceLevel::from(update.service_level).into(),
            load: Some(load_to_wire(update.load)),
            destination: Some((&update.destination).into()),
            source_event_id: source_event_id.clone(),
            hazardous: update.hazardous,
        }),
        TaskEvent::Cancelled { reason, source_event_id } => Wire::TaskCancelled(v1::TaskCancelled {
            reason: reason.clone(),
            source_event_id: source_event_id.clone(),
        }),
        TaskEvent::Assigned { vehicle_id, driver_id, automatic } => Wire::TaskAssigned(v1::TaskAssigned {
            vehicle_id: vehicle_id.to_string(),
            driver_id: id(driver_id.map(|driver| driver.0)),
            automatic: *automatic,
        }),
        TaskEvent::Unassigned { vehicle_id, reason } => Wire::TaskUnassigned(v1::TaskUnassigned {
            vehicle_id: vehicle_id.to_string(),
            reason: reason.clone(),
        }),
        TaskEvent::Packed => Wire::TaskPacked(v1::TaskPacked {}),
        TaskEvent::PickedUp { vehicle_id, driver_id } => Wire::TaskPickedUp(v1::TaskPickedUp {
            vehicle_id: id(vehicle_id.map(|vehicle| vehicle.0)),
            driver_id: id(driver_id.map(|driver| driver.0)),
        }),
        TaskEvent::CheckpointPassed { place, note } => {
            Wire::TaskCheckpointPassed(v1::TaskCheckpointPassed { place: place.clone(), note: note.clone() })
        }
        TaskEvent::ArrivedAtHub { hub } => Wire::TaskArrivedAtHub(v1::TaskArrivedAtHub { hub: hub.clone() }),
        TaskEvent::ExceptionReported { exception_id, kind, severity, description } => {
            Wire::TransportExceptionReported(v1::TransportExceptionReported {
                exception_id: exception_id.clone(),
                kind: exception_kind_to_wire(*kind).into(),
                severity: severity_to_wire(*severity).into(),
                description: description.clone(),
            })
        }
        TaskEvent::ExceptionHandled { exception_id, handling, delay_minutes, reassigned_to } => {
            Wire::TransportExceptionHandled(v1::TransportExceptionHandled {
                exception_id: exception_id.clone(),
                handling: handling.clone(),
                delay_minutes: *delay_minutes,
                reassigned_to_vehicle_id: id(reassigned_to.map(|vehicle| vehicle.0)),
            })
        }
        TaskEvent::ExceptionResolved { exception_id, resolution, resolution_seconds } => {
            Wire::TransportExceptionResolved(v1::TransportExceptionResolved {
                exception_id: exception_id.clone(),
                resolution: resolution.clone(),
                resolution_seconds: *resolution_seconds,
            })
        }
    }
}

pub(crate) fn field(name: &str) -> CodecError {
    CodecError::field(name)
}

pub(crate) fn uuid_field(text: &str, name: &str) -> Result<Uuid, CodecError> {
    Uuid::parse_str(text).map_err(|_| field(name))
}

pub(crate) fn optional_uuid(text: &str, name: &str) -> Result<Option<Uuid>, CodecError> {
    if text.is_empty() { Ok(None) } else { uuid_field(text, name).map(Some) }
}

/// A due date the event cannot do without (written checked; missing means not ours).
fn required_timestamp(
    value: Option<&prost_types::Timestamp>,
    name: &str,
) -> Result<waybill_types::Timestamp, CodecError> {
    value.map(|value| timestamp_from_wire(Some(value))).ok_or_else(|| field(name))
}

fn event_from_wire(
    wire: dispatch_event::Event,
    aggregate_id: Uuid,
    envelope_order_id: &str,
) -> Result<DispatchEvent, CodecError> {
    use dispatch_event::Event as Wire;
    Ok(match wire {
        Wire::VehicleRegistered(registered) => DispatchEvent::Vehicle(VehicleEvent::Registered {
            vehicle_id: VehicleId(aggregate_id),
            kind: vehicle_kind_from_wire(registered.kind).ok_or_else(|| field("kind"))?,
            registration: registered.registration,
            capacity: load_from_wire(registered.capacity.as_ref()),
            depot: registered.depot,
        }),
        Wire::VehicleRetired(retired) => {
            DispatchEvent::Vehicle(VehicleEvent::Retired { reason: retired.reason })
        }
        Wire::VehicleLoaded(loaded) => DispatchEvent::Vehicle(VehicleEvent::Loaded {
            task_id: TaskId(uuid_field(&loaded.task_id, "task_id")?),
            load: load_from_wire(loaded.load.as_ref()),
        }),
        Wire::VehicleUnloaded(unloaded) => DispatchEvent::Vehicle(VehicleEvent::Unloaded {
            task_id: TaskId(uuid_field(&unloaded.task_id, "task_id")?),
            reason: UnloadReason::parse(&unloaded.reason).ok_or_else(|| field("reason"))?,
        }),
        Wire::DriverRegistered(registered) => DispatchEvent::Driver(DriverEvent::Registered {
            driver_id: DriverId(aggregate_id),
            name: registered.name,
            licence_class: registered.licence_class,
            depot: registered.depot,
        }),
        Wire::DriverAvailabilityChanged(changed) => {
            DispatchEvent::Driver(DriverEvent::AvailabilityChanged { available: changed.available })
        }
        Wire::DriverRetired(retired) => {
            DispatchEvent::Driver(DriverEvent::Retired { reason: retired.reason })
        }
        Wire::VehicleUpkeepRecorded(recorded) => DispatchEvent::Vehicle(VehicleEvent::UpkeepRecorded {
            upkeep: upkeep_from_wire(recorded.upkeep).ok_or_else(|| field("upkeep"))?,
            next_due: required_timestamp(recorded.next_due.as_ref(), "next_due")?,
            note: recorded.note,
        }),
        Wire::VehicleUpkeepDueSoon(due_soon) => DispatchEvent::Vehicle(VehicleEvent::UpkeepDueSoon {
            upkeep: upkeep_from_wire(due_soon.upkeep).ok_or_else(|| field("upkeep"))?,
            due: required_timestamp(due_soon.due.as_ref(), "due")?,
        }),
        Wire::DriverLicenceRecorded(recorded) => DispatchEvent::Driver(DriverEvent::LicenceRecorded {
            licence_class: recorded.licence_class,
            expires_at: required_timestamp(recorded.expires_at.as_ref(), "expires_at")?,
        }),
        Wire::DriverTrainingRecorded(recorded) => DispatchEvent::Driver(DriverEvent::TrainingRecorded {
            training: training_from_wire(recorded.training).ok_or_else(|| field("training"))?,
            valid_until: required_timestamp(recorded.valid_until.as_ref(), "valid_until")?,
        }),
        Wire::DriverLicenceExpiresSoon(soon) => DispatchEvent::Driver(DriverEvent::LicenceExpiresSoon {
            expires_at: required_timestamp(soon.expires_at.as_ref(), "expires_at")?,
        }),
        Wire::TaskPlanned(planned) => {
            let order_id = if planned.order_id.is_empty() { envelope_order_id } else { &planned.order_id };
            let plan = Plan {
                kind: task_kind_from_wire(planned.kind).ok_or_else(|| field("kind"))?,
                order_id: OrderId(uuid_field(order_id, "order_id")?),
                return_id: optional_uuid(&planned.return_id, "return_id")?,
                mode: mode_from_wire(planned.mode).ok_or_else(|| field("mode"))?,
                service_level: stored::service_level(planned.service_level)
                    .ok_or_else(|| field("service_level"))?,
                origin: stored::address(planned.origin.as_ref()),
                destination: stored::address(planned.destination.as_ref()),
                load: load_from_wire(planned.load.as_ref()),
                origin_depot: planned.origin_depot,
                hazardous: planned.hazardous,
            };
            DispatchEvent::Task(TaskEvent::Planned {
                task_id: TaskId(aggregate_id),
                plan,
                source_event_id: planned.source_event_id,
            })
        }
        Wire::TaskReplanned(replanned) => DispatchEvent::Task(TaskEvent::Replanned {
            update: ReplanUpdate {
                mode: mode_from_wire(replanned.mode).ok_or_else(|| field("mode"))?,
                service_level: stored::service_level(replanned.service_level)
                    .ok_or_else(|| field("service_level"))?,
                load: load_from_wire(replanned.load.as_ref()),
                destination: stored::address(replanned.destination.as_ref()),
                hazardous: replanned.hazardous,
            },
            source_event_id: replanned.source_event_id,
        }),
        Wire::TaskCancelled(cancelled) => DispatchEvent::Task(TaskEvent::Cancelled {
            reason: cancelled.reason,
            source_event_id: cancelled.source_event_id,
        }),
        Wire::TaskAssigned(assigned) => DispatchEvent::Task(TaskEvent::Assigned {
            vehicle_id: VehicleId(uuid_field(&assigned.vehicle_id, "vehicle_id")?),
            driver_id: optional_uuid(&assigned.driver_id, "driver_id")?.map(DriverId),
            automatic: assigned.automatic,
        }),
        Wire::TaskUnassigned(unassigned) => DispatchEvent::Task(TaskEvent::Unassigned {
            vehicle_id: VehicleId(uuid_field(&unassigned.vehicle_id, "vehicle_id")?),
            reason: unassigned.reason,
        }),
        Wire::TaskPacked(_) => DispatchEvent::Task(TaskEvent::Packed),
        Wire::TaskPickedUp(picked) => DispatchEvent::Task(TaskEvent::PickedUp {
            vehicle_id: optional_uuid(&picked.vehicle_id, "vehicle_id")?.map(VehicleId),
            driver_id: optional_uuid(&picked.driver_id, "driver_id")?.map(DriverId),
        }),
        Wire::TaskCheckpointPassed(checkpoint) => DispatchEvent::Task(TaskEvent::CheckpointPassed {
            place: checkpoint.place,
            note: checkpoint.note,
        }),
        Wire::TaskArrivedAtHub(arrived) => DispatchEvent::Task(TaskEvent::ArrivedAtHub { hub: arrived.hub }),
        Wire::TransportExceptionReported(reported) => DispatchEvent::Task(TaskEvent::ExceptionReported {
            exception_id: reported.exception_id,
            kind: exception_kind_from_wire(reported.kind).ok_or_else(|| field("kind"))?,
            severity: severity_from_wire(reported.severity).ok_or_else(|| field("severity"))?,
            description: reported.description,
        }),
        Wire::TransportExceptionHandled(handled) => DispatchEvent::Task(TaskEvent::ExceptionHandled {
            exception_id: handled.exception_id,
            handling: handled.handling,
            delay_minutes: handled.delay_minutes,
            reassigned_to: optional_uuid(&handled.reassigned_to_vehicle_id, "reassigned_to_vehicle_id")?
                .map(VehicleId),
        }),
        Wire::TransportExceptionResolved(resolved) => DispatchEvent::Task(TaskEvent::ExceptionResolved {
            exception_id: resolved.exception_id,
            resolution: resolved.resolution,
            resolution_seconds: resolved.resolution_seconds,
        }),
        hub_event => DispatchEvent::Hub(hub::event_from_wire(hub_event, aggregate_id)?),
    })
}

// ---------------------------------------------------------------------------
// Value conversions, shared with the API
// ---------------------------------------------------------------------------

pub fn load_to_wire(load: Load) -> v1::Load {
    v1::Load { weight_grams: load.weight_grams, volume_cm3: load.volume_cm3 }
}

pub fn load_from_wire(load: Option<&v1::Load>) -> Load {
    load.map(|load| Load::new(load.weight_grams, load.volume_cm3)).unwrap_or_default()
}

waybill_proto::wire_enum! {
    VehicleKind <=> v1::VehicleKind { Van, Truck, RailWagon, AirContainer }
    pub fn vehicle_kind_to_wire;
    pub fn vehicle_kind_from_wire;
}

waybill_proto::wire_enum! {
    TransportMode <=> v1::TransportMode { RoadCourier, RoadLtl, RoadTruckload, Rail, Air }
    pub fn mode_to_wire;
    fn mode_from_wire;
}

waybill_proto::wire_enum! {
    Upkeep <=> v1::VehicleUpkeep { Inspection, Maintenance }
    pub fn upkeep_to_wire;
    pub fn upkeep_from_wire;
}

waybill_proto::wire_enum! {
    Training <=> v1::DriverTraining { HazardousGoods }
    pub fn training_to_wire;
    pub fn training_from_wire;
}

waybill_proto::wire_enum! {
    TaskKind <=> v1::TaskKind { Forward, Reverse }
    pub fn task_kind_to_wire;
    fn task_kind_from_wire;
}

pub fn task_status_to_wire(status: TaskStatus) -> v1::TaskStatus {
    match status {
        TaskStatus::Planned => v1::TaskStatus::Planned,
        TaskStatus::Assigned => v1::TaskStatus::Assigned,
        TaskStatus::Packed => v1::TaskStatus::Packed,
        TaskStatus::PickedUp => v1::TaskStatus::PickedUp,
        TaskStatus::InTransit => v1::TaskStatus::InTransit,
        TaskStatus::Arrived => v1::TaskStatus::Arrived,
        TaskStatus::Cancelled => v1::TaskStatus::Cancelled,
    }
}

/// A number that is no task status.
#[derive(Debug, thiserror::Error)]
#[error("unknown task status {0}")]
pub struct UnknownStatus(pub i32);

/// `Ok(None)` for UNSPECIFIED (no filter), `Err` for a number that is no status.
pub fn task_status_from_wire(value: i32) -> Result<Option<TaskStatus>, UnknownStatus> {
    match v1::TaskStatus::try_from(value) {
        Ok(v1::TaskStatus::Unspecified) => Ok(None),
        Ok(wire) => Ok(TaskStatus::ALL.into_iter().find(|status| task_status_to_wire(*status) == wire)),
        Err(_) => Err(UnknownStatus(value)),
    }
}

waybill_proto::wire_enum! {
    ExceptionKind <=> v1::ExceptionKind { Breakdown, Accident, Weather, Customs, Other, Damaged, StockDiscrepancy }
    pub fn exception_kind_to_wire;
    pub fn exception_kind_from_wire;
}

waybill_proto::wire_enum! {
    Severity <=> v1::Severity { Low, Medium, High, Critical }
    pub fn severity_to_wire;
    pub fn severity_from_wire;
}
