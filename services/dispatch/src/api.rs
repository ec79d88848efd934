//! The gRPC adapter: parse and check the request (every bad field named), call the domain
//! through a runner or read the model, map the answer. Wire types stop here; rejections
//! become statuses in `error.rs`.

mod hub;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use waybill_eventlog::Position;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::require;
use waybill_proto::v1::{self, dispatch_service_server::DispatchService};
use waybill_runtime::Redaction;
use waybill_runtime::actor::context_of;

use crate::codec::{
    exception_kind_from_wire, exception_kind_to_wire, load_to_wire, mode_to_wire, severity_from_wire,
    severity_to_wire, task_kind_to_wire, task_status_from_wire, task_status_to_wire, training_from_wire,
    training_to_wire, vehicle_kind_from_wire, vehicle_kind_to_wire,
};
use crate::commands::{Runners, TaskOutcome, run_task};
use crate::domain::{
    Driver, DriverCommand, DriverId, Load, Task, TaskCommand, TaskId, Upkeep, Vehicle, VehicleCommand,
    VehicleId,
};
use crate::read_model::{Record, TaskFilter};

/// The id a reported exception gets: derived from the task and the request id, so a
/// retried report names the same exception.
pub fn exception_id_for(task_id: TaskId, request_id: &str) -> String {
    crate::domain::derived_exception_id(&format!("{task_id}/{request_id}"))
}

pub struct DispatchApi {
    runners: Runners,
}

impl DispatchApi {
    pub fn new(runners: Runners) -> Self {
        Self { runners }
    }

    /// Waits for the read model to reach the caller's `min_position` (0: none).
    async fn wait_for(&self, min_position: Position) -> Result<(), Status> {
        self.runners.tasks.wait_for(min_position).await
    }

    async fn run_task<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        task_id: TaskId,
        command: TaskCommand,
    ) -> Result<TaskOutcome, Status> {
        let meta = context_of(request).command_meta(request_id);
        Ok(run_task(&self.runners.tasks, task_id, &command, &meta).await?)
    }

    /// An inspection or maintenance done: checks the request, records the next due date.
    async fn record_upkeep<T>(
        &self,
        request: &Request<T>,
        upkeep: Upkeep,
        request_id: &str,
        vehicle_id: &str,
        next_due: Option<&prost_types::Timestamp>,
        note: &str,
    ) -> Result<(v1::Vehicle, Position), Status> {
        let (mut violations, request_id) = FieldViolations::for_command(request_id);
        let vehicle_id = uuid(&mut violations, "vehicle_id", vehicle_id).map(VehicleId);
        let next_due = required_timestamp(&mut violations, "next_due", next_due);
        let note = convert::text(&mut violations, "note", note, false);
        require(violations)?;
        let vehicle_id = checked(vehicle_id)?;
        let command = VehicleCommand::RecordUpkeep { vehicle_id, upkeep, next_due: checked(next_due)?, note };
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.runners.vehicles.run(vehicle_id, &command, &meta).await?;
        Ok((vehicle_to_wire(&outcome.state, outcome.position), outcome.position))
    }

    /// Checks `request_id` and `task_id`, which every task command carries.
    fn task_fields(request_id: &str, task_id: &str) -> (FieldViolations, String, Option<TaskId>) {
        let (mut violations, request_id) = FieldViolations::for_command(request_id);
        let task_id = uuid(&mut violations, "task_id", task_id).map(TaskId);
        (violations, request_id, task_id)
    }
}

/// For values `require` has vouched for.
fn checked<T>(value: Option<T>) -> Result<T, Status> {
    value.ok_or_else(|| Status::internal("a checked field went missing"))
}

fn uuid(violations: &mut FieldViolations, field: &str, text: &str) -> Option<Uuid> {
    if text.is_empty() {
        violations.push(field, "is required (a UUID)");
        return None;
    }
    Uuid::parse_str(text).map_err(|_| violations.push(field, "must be a UUID")).ok()
}

/// An optional UUID: empty means "none".
fn optional_uuid(violations: &mut FieldViolations, field: &str, text: &str) -> Option<Uuid> {
    if text.is_empty() { None } else { uuid(violations, field, text) }
}

fn positive_load(violations: &mut FieldViolations, field: &str, load: Option<&v1::Load>) -> Option<Load> {
    let load = violations.required(field, load)?;
    if load.weight_grams == 0 {
        violations.push(format!("{field}.weight_grams"), "must be positive");
    }
    if load.volume_cm3 == 0 {
        violations.push(format!("{field}.volume_cm3"), "must be positive");
    }
    Some(Load::new(load.weight_grams, load.volume_cm3))
}

/// A required timestamp (its range is the domain's to judge: it knows "now").
fn required_timestamp(
    violations: &mut FieldViolations,
    field: &str,
    value: Option<&prost_types::Timestamp>,
) -> Option<waybill_types::Timestamp> {
    match value {
        Some(value) => convert::timestamp(violations, field, value),
        None => {
            violations.push(field, "is required");
            None
        }
    }
}

#[tonic::async_trait]
impl DispatchService for DispatchApi {
    async fn register_vehicle(
        &self,
        request: Request<v1::RegisterVehicleRequest>,
    ) -> Result<Response<v1::RegisterVehicleResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let vehicle_id = uuid(&mut violations, "vehicle_id", &body.vehicle_id).map(VehicleId);
        let kind = vehicle_kind_from_wire(body.kind);
        if kind.is_none() {
            violations.push("kind", "must be VAN, TRUCK, RAIL_WAGON or AIR_CONTAINER");
        }
        let registration = convert::text(&mut violations, "registration", &body.registration, true);
        let capacity = positive_load(&mut violations, "capacity", body.capacity.as_ref());
        let depot = convert::text(&mut violations, "depot", &body.depot, true);
        require(violations)?;
        let (vehicle_id, kind, capacity) = (checked(vehicle_id)?, checked(kind)?, checked(capacity)?);
        let command = VehicleCommand::Register { vehicle_id, kind, registration, capacity, depot };
        let meta = context_of(&request).command_meta(request_id);
        let outcome = self.runners.vehicles.run(vehicle_id, &command, &meta).await?;
        Ok(Response::new(v1::RegisterVehicleResponse {
            vehicle: Some(vehicle_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn retire_vehicle(
        &self,
        request: Request<v1::RetireVehicleRequest>,
    ) -> Result<Response<v1::RetireVehicleResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let vehicle_id = uuid(&mut violations, "vehicle_id", &body.vehicle_id).map(VehicleId);
        let reason = convert::text(&mut violations, "reason", &body.reason, false);
        require(violations)?;
        let vehicle_id = checked(vehicle_id)?;
        let meta = context_of(&request).command_meta(request_id);
        let outcome = self
            .runners
            .vehicles
            .run(vehicle_id, &VehicleCommand::Retire { vehicle_id, reason }, &meta)
            .await?;
        Ok(Response::new(v1::RetireVehicleResponse {
            vehicle: Some(vehicle_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn register_driver(
        &self,
        request: Request<v1::RegisterDriverRequest>,
    ) -> Result<Response<v1::RegisterDriverResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let driver_id = uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        let name = convert::text(&mut violations, "name", &body.name, true);
        let licence_class = convert::text(&mut violations, "licence_class", &body.licence_class, true);
        let depot = convert::text(&mut violations, "depot", &body.depot, true);
        require(violations)?;
        let driver_id = checked(driver_id)?;
        let command = DriverCommand::Register { driver_id, name, licence_class, depot };
        let meta = context_of(&request).command_meta(request_id);
        let outcome = self.runners.drivers.run(driver_id, &command, &meta).await?;
        Ok(Response::new(v1::RegisterDriverResponse {
            driver: Some(driver_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn set_driver_availability(
        &self,
        request: Request<v1::SetDriverAvailabilityRequest>,
    ) -> Result<Response<v1::SetDriverAvailabilityResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let driver_id = uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        require(violations)?;
        let driver_id = checked(driver_id)?;
        let command = DriverCommand::SetAvailability { driver_id, available: body.available };
        let meta = context_of(&request).command_meta(request_id);
        let outcome = self.runners.drivers.run(driver_id, &command, &meta).await?;
        Ok(Response::new(v1::SetDriverAvailabilityResponse {
            driver: Some(driver_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn retire_driver(
        &self,
        request: Request<v1::RetireDriverRequest>,
    ) -> Result<Response<v1::RetireDriverResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let driver_id = uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        let reason = convert::text(&mut violations, "reason", &body.reason, false);
        require(violations)?;
        let driver_id = checked(driver_id)?;
        let meta = context_of(&request).command_meta(request_id);
        let outcome =
            self.runners.drivers.run(driver_id, &DriverCommand::Retire { driver_id, reason }, &meta).await?;
        Ok(Response::new(v1::RetireDriverResponse {
            driver: Some(driver_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn record_vehicle_inspection(
        &self,
        request: Request<v1::RecordVehicleInspectionRequest>,
    ) -> Result<Response<v1::RecordVehicleInspectionResponse>, Status> {
        let body = request.get_ref();
        let (vehicle, position) = self
            .record_upkeep(
                &request,
                Upkeep::Inspection,
                &body.request_id,
                &body.vehicle_id,
                body.next_due.as_ref(),
                &body.note,
            )
            .await?;
        Ok(Response::new(v1::RecordVehicleInspectionResponse { vehicle: Some(vehicle), position }))
    }

    async fn record_vehicle_maintenance(
        &self,
        request: Request<v1::RecordVehicleMaintenanceRequest>,
    ) -> Result<Response<v1::RecordVehicleMaintenanceResponse>, Status> {
        let body = request.get_ref();
        let (vehicle, position) = self
            .record_upkeep(
                &request,
                Upkeep::Maintenance,
                &body.request_id,
                &body.vehicle_id,
                body.next_due.as_ref(),
                &body.note,
            )
            .await?;
        Ok(Response::new(v1::RecordVehicleMaintenanceResponse { vehicle: Some(vehicle), position }))
    }

    async fn record_driver_licence(
        &self,
        request: Request<v1::RecordDriverLicenceRequest>,
    ) -> Result<Response<v1::RecordDriverLicenceResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let driver_id = uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        let licence_class = convert::text(&mut violations, "licence_class", &body.licence_class, true);
        let expires_at = required_timestamp(&mut violations, "expires_at", body.expires_at.as_ref());
        require(violations)?;
        let driver_id = checked(driver_id)?;
        let command =
            DriverCommand::RecordLicence { driver_id, licence_class, expires_at: checked(expires_at)? };
        let meta = context_of(&request).command_meta(request_id);
        let outcome = self.runners.drivers.run(driver_id, &command, &meta).await?;
        Ok(Response::new(v1::RecordDriverLicenceResponse {
            driver: Some(driver_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn record_driver_training(
        &self,
        request: Request<v1::RecordDriverTrainingRequest>,
    ) -> Result<Response<v1::RecordDriverTrainingResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let driver_id = uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        let training = training_from_wire(body.training);
        if training.is_none() {
            violations.push("training", "must be HAZARDOUS_GOODS");
        }
        let valid_until = required_timestamp(&mut violations, "valid_until", body.valid_until.as_ref());
        require(violations)?;
        let driver_id = checked(driver_id)?;
        let command = DriverCommand::RecordTraining {
            driver_id,
            training: checked(training)?,
            valid_until: checked(valid_until)?,
        };
        let meta = context_of(&request).command_meta(request_id);
        let outcome = self.runners.drivers.run(driver_id, &command, &meta).await?;
        Ok(Response::new(v1::RecordDriverTrainingResponse {
            driver: Some(driver_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn assign_task(
        &self,
        request: Request<v1::AssignTaskRequest>,
    ) -> Result<Response<v1::AssignTaskResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let vehicle_id = optional_uuid(&mut violations, "vehicle_id", &body.vehicle_id).map(VehicleId);
        let driver_id = optional_uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        require(violations)?;
        let command = TaskCommand::Assign { vehicle_id, driver_id };
        let outcome = self.run_task(&request, request_id, checked(task_id)?, command).await?;
        Ok(Response::new(v1::AssignTaskResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            vehicle: outcome.vehicle.as_ref().map(|(vehicle, version)| vehicle_to_wire(vehicle, *version)),
            position: outcome.position,
        }))
    }

    async fn unassign_task(
        &self,
        request: Request<v1::UnassignTaskRequest>,
    ) -> Result<Response<v1::UnassignTaskResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, false);
        require(violations)?;
        let outcome =
            self.run_task(&request, request_id, checked(task_id)?, TaskCommand::Unassign { reason }).await?;
        Ok(Response::new(v1::UnassignTaskResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn mark_packed(
        &self,
        request: Request<v1::MarkPackedRequest>,
    ) -> Result<Response<v1::MarkPackedResponse>, Status> {
        let body = request.get_ref();
        let (violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        require(violations)?;
        let outcome = self.run_task(&request, request_id, checked(task_id)?, TaskCommand::MarkPacked).await?;
        Ok(Response::new(v1::MarkPackedResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn record_pickup(
        &self,
        request: Request<v1::RecordPickupRequest>,
    ) -> Result<Response<v1::RecordPickupResponse>, Status> {
        let body = request.get_ref();
        let (violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        require(violations)?;
        let outcome =
            self.run_task(&request, request_id, checked(task_id)?, TaskCommand::RecordPickup).await?;
        Ok(Response::new(v1::RecordPickupResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn record_checkpoint(
        &self,
        request: Request<v1::RecordCheckpointRequest>,
    ) -> Result<Response<v1::RecordCheckpointResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let place = convert::text(&mut violations, "place", &body.place, true);
        let note = convert::text(&mut violations, "note", &body.note, false);
        require(violations)?;
        let command = TaskCommand::RecordCheckpoint { place, note };
        let outcome = self.run_task(&request, request_id, checked(task_id)?, command).await?;
        Ok(Response::new(v1::RecordCheckpointResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn record_arrival(
        &self,
        request: Request<v1::RecordArrivalRequest>,
    ) -> Result<Response<v1::RecordArrivalResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let hub = convert::text(&mut violations, "hub", &body.hub, true);
        require(violations)?;
        let outcome = self
            .run_task(&request, request_id, checked(task_id)?, TaskCommand::RecordArrival { hub })
            .await?;
        Ok(Response::new(v1::RecordArrivalResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn report_exception(
        &self,
        request: Request<v1::ReportExceptionRequest>,
    ) -> Result<Response<v1::ReportExceptionResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let kind = exception_kind_from_wire(body.kind);
        if kind.is_none() {
            violations.push(
                "kind",
                "must be BREAKDOWN, ACCIDENT, WEATHER, CUSTOMS, DAMAGED, STOCK_DISCREPANCY or OTHER",
            );
        }
        let severity = severity_from_wire(body.severity);
        if severity.is_none() {
            violations.push("severity", "must be LOW, MEDIUM, HIGH or CRITICAL");
        }
        let description = convert::text(&mut violations, "description", &body.description, true);
        require(violations)?;
        let task_id = checked(task_id)?;
        let exception_id = exception_id_for(task_id, &request_id);
        let command = TaskCommand::ReportException {
            exception_id: exception_id.clone(),
            kind: checked(kind)?,
            severity: checked(severity)?,
            description,
        };
        let outcome = self.run_task(&request, request_id, task_id, command).await?;
        Ok(Response::new(v1::ReportExceptionResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            exception_id,
            position: outcome.position,
        }))
    }

    async fn handle_exception(
        &self,
        request: Request<v1::HandleExceptionRequest>,
    ) -> Result<Response<v1::HandleExceptionResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let exception_id = convert::text(&mut violations, "exception_id", &body.exception_id, true);
        let handling = convert::text(&mut violations, "handling", &body.handling, true);
        let reassign_to =
            optional_uuid(&mut violations, "reassign_to_vehicle_id", &body.reassign_to_vehicle_id)
                .map(VehicleId);
        require(violations)?;
        let command = TaskCommand::HandleException {
            exception_id,
            handling,
            delay_minutes: body.delay_minutes,
            reassign_to,
        };
        let outcome = self.run_task(&request, request_id, checked(task_id)?, command).await?;
        Ok(Response::new(v1::HandleExceptionResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn resolve_exception(
        &self,
        request: Request<v1::ResolveExceptionRequest>,
    ) -> Result<Response<v1::ResolveExceptionResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, task_id) = Self::task_fields(&body.request_id, &body.task_id);
        let exception_id = convert::text(&mut violations, "exception_id", &body.exception_id, true);
        let resolution = convert::text(&mut violations, "resolution", &body.resolution, true);
        require(violations)?;
        let command = TaskCommand::ResolveException { exception_id, resolution };
        let outcome = self.run_task(&request, request_id, checked(task_id)?, command).await?;
        Ok(Response::new(v1::ResolveExceptionResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn request_reverse_shipment(
        &self,
        request: Request<v1::RequestReverseShipmentRequest>,
    ) -> Result<Response<v1::RequestReverseShipmentResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let return_id = uuid(&mut violations, "return_id", &body.return_id);
        let order_id = convert::order_id(&mut violations, "order_id", &body.order_id);
        if let (Some(return_id), Some(order_id)) = (return_id, order_id)
            && return_id == order_id.0
        {
            violations.push("return_id", "must differ from the order id (that is the forward task's id)");
        }
        // An empty load means the whole order comes back.
        let load = body
            .load
            .as_ref()
            .filter(|load| load.weight_grams != 0 || load.volume_cm3 != 0)
            .map(|load| Load::new(load.weight_grams, load.volume_cm3));
        require(violations)?;
        let (return_id, order_id) = (checked(return_id)?, checked(order_id)?);
        let known = || self.runners.tasks.model.read().orders().get(&order_id).cloned();
        let mut facts = known();
        if !facts.as_ref().is_some_and(|facts| facts.delivered) {
            // The read model may simply be behind intake's latest events: look again once
            // it has caught up with the log, before refusing.
            self.runners.tasks.catch_up().await?;
            facts = known();
        }
        let facts = facts.ok_or_else(|| Status::not_found(format!("order {order_id} not found")))?;
        if !facts.delivered {
            return Err(Status::failed_precondition(format!(
                "order {order_id} is not delivered: only delivered goods come back"
            )));
        }
        let command = TaskCommand::Plan {
            task_id: TaskId(return_id),
            plan: facts.reverse_plan(return_id, load),
            source_event_id: String::new(),
        };
        let outcome = self.run_task(&request, request_id, TaskId(return_id), command).await?;
        Ok(Response::new(v1::RequestReverseShipmentResponse {
            task: Some(task_for(Redaction::of(&request), &outcome.task, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn get_task(
        &self,
        request: Request<v1::GetTaskRequest>,
    ) -> Result<Response<v1::GetTaskResponse>, Status> {
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let task_id = uuid(&mut violations, "task_id", &body.task_id).map(TaskId);
        require(violations)?;
        let task_id = checked(task_id)?;
        self.wait_for(body.min_position).await?;
        let model = self.runners.tasks.model.read();
        let record =
            model.task(&task_id).ok_or_else(|| Status::not_found(format!("task {task_id} not found")))?;
        Ok(Response::new(v1::GetTaskResponse {
            task: Some(task_for(redaction, &record.state, record.version)),
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<v1::ListTasksRequest>,
    ) -> Result<Response<v1::ListTasksResponse>, Status> {
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let status = task_status_from_wire(body.status).unwrap_or_else(|_| {
            violations.push("status", "unknown task status");
            None
        });
        let vehicle_id = optional_uuid(&mut violations, "vehicle_id", &body.vehicle_id).map(VehicleId);
        let driver_id = optional_uuid(&mut violations, "driver_id", &body.driver_id).map(DriverId);
        let page_size = convert::page_size(&mut violations, body.page_size);
        let after = optional_uuid(&mut violations, "page_token", &body.page_token).map(TaskId);
        let depot = convert::filter_text(&mut violations, "depot", &body.depot);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let filter = TaskFilter { status, depot, vehicle_id, driver_id };
        let model = self.runners.tasks.model.read();
        let (page, next) = model.list_tasks(&filter, after, page_size);
        Ok(Response::new(v1::ListTasksResponse {
            tasks: page
                .into_iter()
                .map(|record| task_for(redaction, &record.state, record.version))
                .collect(),
            next_page_token: next.map(|task_id| task_id.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_vehicle(
        &self,
        request: Request<v1::GetVehicleRequest>,
    ) -> Result<Response<v1::GetVehicleResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let vehicle_id = uuid(&mut violations, "vehicle_id", &body.vehicle_id).map(VehicleId);
        require(violations)?;
        let vehicle_id = checked(vehicle_id)?;
        self.wait_for(body.min_position).await?;
        let model = self.runners.tasks.model.read();
        let record = model
            .vehicle(&vehicle_id)
            .ok_or_else(|| Status::not_found(format!("vehicle {vehicle_id} not found")))?;
        Ok(Response::new(v1::GetVehicleResponse { vehicle: Some(vehicle_record_to_wire(record)) }))
    }

    async fn list_vehicles(
        &self,
        request: Request<v1::ListVehiclesRequest>,
    ) -> Result<Response<v1::ListVehiclesResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let depot = convert::filter_text(&mut violations, "depot", &body.depot);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let model = self.runners.tasks.model.read();
        let vehicles = model.list_vehicles(depot.as_deref(), body.include_retired);
        Ok(Response::new(v1::ListVehiclesResponse {
            vehicles: vehicles.into_iter().map(vehicle_record_to_wire).collect(),
        }))
    }

    async fn list_drivers(
        &self,
        request: Request<v1::ListDriversRequest>,
    ) -> Result<Response<v1::ListDriversResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let depot = convert::filter_text(&mut violations, "depot", &body.depot);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let model = self.runners.tasks.model.read();
        let drivers = model.list_drivers(depot.as_deref(), body.only_available);
        Ok(Response::new(v1::ListDriversResponse {
            drivers: drivers
                .into_iter()
                .map(|record| driver_to_wire(&record.state, record.version))
                .collect(),
        }))
    }

    async fn register_hub(
        &self,
        request: Request<v1::RegisterHubRequest>,
    ) -> Result<Response<v1::RegisterHubResponse>, Status> {
        self.hub_register(request).await
    }

    async fn receive_goods(
        &self,
        request: Request<v1::ReceiveGoodsRequest>,
    ) -> Result<Response<v1::ReceiveGoodsResponse>, Status> {
        self.hub_receive(request).await
    }

    async fn put_away_goods(
        &self,
        request: Request<v1::PutAwayGoodsRequest>,
    ) -> Result<Response<v1::PutAwayGoodsResponse>, Status> {
        self.hub_put_away(request).await
    }

    async fn load_goods_out(
        &self,
        request: Request<v1::LoadGoodsOutRequest>,
    ) -> Result<Response<v1::LoadGoodsOutResponse>, Status> {
        self.hub_load_out(request).await
    }

    async fn count_zone(
        &self,
        request: Request<v1::CountZoneRequest>,
    ) -> Result<Response<v1::CountZoneResponse>, Status> {
        self.hub_count(request).await
    }

    async fn get_hub_stock(
        &self,
        request: Request<v1::GetHubStockRequest>,
    ) -> Result<Response<v1::GetHubStockResponse>, Status> {
        self.hub_stock(request).await
    }

    async fn list_stock_mismatches(
        &self,
        request: Request<v1::ListStockMismatchesRequest>,
    ) -> Result<Response<v1::ListStockMismatchesResponse>, Status> {
        self.hub_mismatches(request).await
    }
}

fn vehicle_record_to_wire(record: &Record<Vehicle>) -> v1::Vehicle {
    vehicle_to_wire(&record.state, record.version)
}

pub fn vehicle_to_wire(vehicle: &Vehicle, version: Position) -> v1::Vehicle {
    let status = if vehicle.retired { v1::VehicleStatus::Retired } else { v1::VehicleStatus::Active };
    v1::Vehicle {
        vehicle_id: vehicle.id.to_string(),
        kind: vehicle_kind_to_wire(vehicle.kind).into(),
        registration: vehicle.registration.clone(),
        capacity: Some(load_to_wire(vehicle.capacity)),
        depot: vehicle.depot.clone(),
        status: status.into(),
        load: Some(load_to_wire(vehicle.load())),
        task_ids: vehicle.tasks.keys().map(ToString::to_string).collect(),
        version,
        inspection_due: vehicle.inspection.map(|due| convert::timestamp_to_wire(due.due)),
        maintenance_due: vehicle.maintenance.map(|due| convert::timestamp_to_wire(due.due)),
    }
}

pub fn driver_to_wire(driver: &Driver, version: Position) -> v1::Driver {
    v1::Driver {
        driver_id: driver.id.to_string(),
        name: driver.name.clone(),
        licence_class: driver.licence_class.clone(),
        depot: driver.depot.clone(),
        available: driver.available,
        retired: driver.retired,
        version,
        licence_expires_at: driver.licence_expires_at.map(convert::timestamp_to_wire),
        trainings: driver
            .trainings
            .iter()
            .map(|(training, valid_until)| v1::DriverQualification {
                training: training_to_wire(*training).into(),
                valid_until: Some(convert::timestamp_to_wire(*valid_until)),
            })
            .collect(),
    }
}

/// The task as its caller may see it: the consignee's street withheld from roles that do
/// not need it (`Redaction`, docs/SECURITY.md).
fn task_for(redaction: Redaction, task: &Task, version: Position) -> v1::DispatchTask {
    let mut wire = task_to_wire(task, version);
    redaction.dispatch_task(&mut wire);
    wire
}

pub fn task_to_wire(task: &Task, version: Position) -> v1::DispatchTask {
    let plan = &task.plan;
    let id = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
    v1::DispatchTask {
        task_id: task.id.to_string(),
        kind: task_kind_to_wire(plan.kind).into(),
        order_id: plan.order_id.to_string(),
        return_id: id(plan.return_id),
        status: task_status_to_wire(task.status).into(),
        mode: mode_to_wire(plan.mode).into(),
        service_level: v1::ServiceLevel::from(plan.service_level).into(),
        origin: Some((&plan.origin).into()),
        destination: Some((&plan.destination).into()),
        load: Some(load_to_wire(plan.load)),
        origin_depot: plan.origin_depot.clone(),
        vehicle_id: id(task.vehicle_id.map(|vehicle| vehicle.0)),
        driver_id: id(task.driver_id.map(|driver| driver.0)),
        checkpoints: task
            .checkpoints
            .iter()
            .map(|checkpoint| v1::Checkpoint {
                place: checkpoint.place.clone(),
                note: checkpoint.note.clone(),
                at: Some(convert::timestamp_to_wire(checkpoint.at)),
            })
            .collect(),
        exceptions: task
            .exceptions
            .iter()
            .map(|exception| v1::TransportException {
                exception_id: exception.exception_id.clone(),
                kind: exception_kind_to_wire(exception.kind).into(),
                severity: severity_to_wire(exception.severity).into(),
                description: exception.description.clone(),
                reported_at: Some(convert::timestamp_to_wire(exception.reported_at)),
                handling: exception.handling.clone().unwrap_or_default(),
                delay_minutes: exception.delay_minutes,
                resolution: exception.resolution.clone().unwrap_or_default(),
                resolved_at: exception.resolved_at.map(convert::timestamp_to_wire),
            })
            .collect(),
        created_at: Some(convert::timestamp_to_wire(task.created_at)),
        updated_at: Some(convert::timestamp_to_wire(task.updated_at)),
        version,
        hazardous: plan.hazardous,
        withheld: Vec::new(),
    }
}
