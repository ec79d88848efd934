//! The gRPC adapter: parse the request (naming every bad field), call the domain through a
//! command runner or read the model, map the answer. Wire types stop here and in
//! `codec.rs`; rejections become statuses in `error.rs`.

use tonic::{Request, Response, Status};
use waybill_command::{AggregateStore, Completed, Decision, Single};
use waybill_eventlog::Position;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::{require, unreachable_field};
use waybill_proto::v1::{self, delivery_service_server::DeliveryService};
use waybill_runtime::Redaction;
use waybill_runtime::actor::context_of;
use waybill_types::OrderId;

use crate::codec::{
    exception_kind_from_wire, exception_kind_to_wire, failure_reason_from_wire, failure_reason_to_wire,
    proof_to_wire, status_from_wire, status_to_wire, window_to_wire,
};
use crate::commands::{CourierRunner, DeliveryRunner, RouteRunner};
use crate::domain::{
    Courier, CourierCommand, CourierId, Delivery, DeliveryCommand, ExceptionKind, Rejection, TimeWindow,
};
use crate::read_model::{DeliveryBook, DeliveryFilter, DeliveryRecord};

mod proof;
mod route;

pub use proof::proof_from_wire;

pub struct DeliveryApi {
    deliveries: DeliveryRunner,
    couriers: CourierRunner,
    routes: RouteRunner,
}

impl DeliveryApi {
    pub fn new(deliveries: DeliveryRunner, couriers: CourierRunner, routes: RouteRunner) -> Self {
        Self { deliveries, couriers, routes }
    }

    /// Waits for the read model to reach the caller's `min_position` (0: none).
    async fn wait_for(&self, min_position: Position) -> Result<(), Status> {
        self.deliveries.wait_for(min_position).await
    }

    /// Waits until the read model has everything the log held when called, so decisions
    /// made on it outside the decider (who serves a zone, how busy a courier is) see every
    /// write acknowledged before this call, e.g. a courier registered a moment ago.
    async fn catch_up(&self) -> Result<(), Status> {
        self.deliveries.wait_caught_up().await
    }

    /// Runs a delivery command and answers with the delivery as it wrote it.
    async fn run_delivery<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        delivery_id: OrderId,
        command: DeliveryCommand,
    ) -> Result<(v1::DeliveryTask, Position), Status> {
        self.decide_delivery(request, request_id, delivery_id, &Single(&command)).await
    }

    /// [`Self::run_delivery`] for a decision that reads more than the delivery.
    async fn decide_delivery<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        delivery_id: OrderId,
        decision: &impl Decision<Delivery, DeliveryBook, Other = Delivery>,
    ) -> Result<(v1::DeliveryTask, Position), Status> {
        if let Some(courier) = courier_scope(request) {
            // A courier records its own deliveries only; another's looks like none at all.
            self.wait_for(context_of(request).min_position).await?;
            let assigned = || {
                let book = self.deliveries.model.read();
                let assigned = book.delivery(&delivery_id).and_then(|record| record.delivery.courier);
                courier.is_some_and(|own| assigned == Some(own))
            };
            // The model may be a moment behind an assignment just made: look again once it
            // has caught up before refusing.
            if !assigned() {
                self.catch_up().await?;
                if !assigned() {
                    return Err(not_scheduled(&delivery_id));
                }
            }
        }
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.deliveries.run_decision(delivery_id, decision, &meta).await?.outcome;
        let mut delivery = delivery_to_wire(&outcome.state, outcome.position);
        Redaction::of(request).delivery(&mut delivery);
        Ok((delivery, outcome.position))
    }

    async fn run_courier<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        courier_id: CourierId,
        command: CourierCommand,
    ) -> Result<(v1::Courier, Position), Status> {
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.couriers.run(courier_id, &command, &meta).await?;
        let open = self.deliveries.model.read().open_deliveries_of(&courier_id);
        Ok((courier_to_wire(&outcome.state, open, outcome.position), outcome.position))
    }

    /// The courier an assignment names, or the automatic choice for the delivery's zone.
    fn choose_courier(
        &self,
        delivery_id: &OrderId,
        request_id: &str,
        requested: Option<CourierId>,
    ) -> Result<(CourierId, bool), Status> {
        let book = self.deliveries.model.read();
        let record = book.delivery(delivery_id).ok_or_else(|| Status::from(Rejection::DeliveryNotFound))?;
        // A retried request gets its first answer from the log, whoever would be picked now.
        if AggregateStore::<Delivery>::position_caused_by(&*book, delivery_id, request_id).is_some()
            && let Some(courier) = record.delivery.courier
        {
            return Ok((courier, requested.is_none()));
        }
        match requested {
            // An override may cross zones: the hub lead knows who is where today.
            Some(courier_id) => {
                let courier =
                    book.courier(&courier_id).ok_or_else(|| Status::from(Rejection::CourierNotFound))?;
                if courier.state.retired {
                    return Err(Rejection::CourierRetired { courier_id }.into());
                }
                Ok((courier_id, false))
            }
            None => book
                .pick_courier(&record.delivery.zone)
                .map(|courier_id| (courier_id, true))
                .ok_or_else(|| Rejection::NoCourierForZone { zone: record.delivery.zone.clone() }.into()),
        }
    }
}

fn courier_id(violations: &mut FieldViolations, field: &str, value: &str) -> Option<CourierId> {
    let parsed = CourierId::parse(value);
    if parsed.is_none() {
        violations.push(field, "expected a UUID");
    }
    parsed
}

/// For a caller acting only as a courier: `Some(its courier)` (`Some(None)` when the
/// binding is no courier id: it reaches nothing); `None` for staff.
fn courier_scope<T>(request: &Request<T>) -> Option<Option<CourierId>> {
    context_of(request).identity.courier_scope().map(CourierId::parse)
}

fn not_scheduled(id: &OrderId) -> Status {
    Status::not_found(format!("delivery {id} not found (not scheduled yet?)"))
}

fn delivery_id(violations: &mut FieldViolations, value: &str) -> Option<OrderId> {
    convert::order_id(violations, "delivery_id", value)
}

fn zones(violations: &mut FieldViolations, values: &[String]) -> Vec<String> {
    if values.iter().all(|zone| zone.trim().is_empty()) {
        violations.push("zones", "a courier serves at least one zone");
    }
    values
        .iter()
        .enumerate()
        .map(|(index, zone)| convert::text(violations, &format!("zones[{index}]"), zone, false))
        .collect()
}

/// The request's fields every delivery command shares.
fn delivery_command_fields(request_id: &str, id: &str) -> (FieldViolations, String, Option<OrderId>) {
    let (mut violations, request_id) = FieldViolations::for_command(request_id);
    let id = delivery_id(&mut violations, id);
    (violations, request_id, id)
}

#[tonic::async_trait]
impl DeliveryService for DeliveryApi {
    async fn register_courier(
        &self,
        request: Request<v1::RegisterCourierRequest>,
    ) -> Result<Response<v1::RegisterCourierResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let courier_id = courier_id(&mut violations, "courier_id", &body.courier_id);
        let name = convert::text(&mut violations, "name", &body.name, true);
        let zones = zones(&mut violations, &body.zones);
        require(violations)?;
        let courier_id = courier_id.ok_or_else(unreachable_field)?;
        let command = CourierCommand::Register { courier_id, name, zones };
        let (courier, position) = self.run_courier(&request, request_id, courier_id, command).await?;
        Ok(Response::new(v1::RegisterCourierResponse { courier: Some(courier), position }))
    }

    async fn change_courier_zones(
        &self,
        request: Request<v1::ChangeCourierZonesRequest>,
    ) -> Result<Response<v1::ChangeCourierZonesResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let courier_id = courier_id(&mut violations, "courier_id", &body.courier_id);
        let zones = zones(&mut violations, &body.zones);
        require(violations)?;
        let courier_id = courier_id.ok_or_else(unreachable_field)?;
        let (courier, position) =
            self.run_courier(&request, request_id, courier_id, CourierCommand::ChangeZones { zones }).await?;
        Ok(Response::new(v1::ChangeCourierZonesResponse { courier: Some(courier), position }))
    }

    async fn retire_courier(
        &self,
        request: Request<v1::RetireCourierRequest>,
    ) -> Result<Response<v1::RetireCourierResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let courier_id = courier_id(&mut violations, "courier_id", &body.courier_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, false);
        require(violations)?;
        let courier_id = courier_id.ok_or_else(unreachable_field)?;
        self.catch_up().await?;
        let open_deliveries = self.deliveries.model.read().open_deliveries_of(&courier_id);
        let command = CourierCommand::Retire { reason, open_deliveries };
        let (courier, position) = self.run_courier(&request, request_id, courier_id, command).await?;
        Ok(Response::new(v1::RetireCourierResponse { courier: Some(courier), position }))
    }

    async fn assign_courier(
        &self,
        request: Request<v1::AssignCourierRequest>,
    ) -> Result<Response<v1::AssignCourierResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, id) = delivery_command_fields(&body.request_id, &body.delivery_id);
        let requested = (!body.courier_id.is_empty())
            .then(|| courier_id(&mut violations, "courier_id", &body.courier_id))
            .flatten();
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        self.catch_up().await?;
        let (courier_id, automatic) = self.choose_courier(&id, &request_id, requested)?;
        let command = DeliveryCommand::Assign { courier_id, automatic };
        let (delivery, position) = self.run_delivery(&request, request_id, id, command).await?;
        Ok(Response::new(v1::AssignCourierResponse { delivery: Some(delivery), position }))
    }

    async fn start_delivery(
        &self,
        request: Request<v1::StartDeliveryRequest>,
    ) -> Result<Response<v1::StartDeliveryResponse>, Status> {
        let body = request.get_ref();
        let (violations, request_id, id) = delivery_command_fields(&body.request_id, &body.delivery_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        // The redirect is read beside the delivery, as the runner reads the delivery.
        let start = Completed(|book: &DeliveryBook, id: &OrderId| {
            let redirect = book.order_facts(id).and_then(|facts| {
                facts.redirected_by.clone().map(|event_id| (facts.consignee.address.clone(), event_id))
            });
            DeliveryCommand::Start { redirect }
        });
        let (delivery, position) = self.decide_delivery(&request, request_id, id, &start).await?;
        Ok(Response::new(v1::StartDeliveryResponse { delivery: Some(delivery), position }))
    }

    async fn record_failed_attempt(
        &self,
        request: Request<v1::RecordFailedAttemptRequest>,
    ) -> Result<Response<v1::RecordFailedAttemptResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, id) = delivery_command_fields(&body.request_id, &body.delivery_id);
        let reason = failure_reason_from_wire(body.reason);
        if reason.is_none() {
            violations.push("reason", "must be RECIPIENT_ABSENT, REFUSED or ADDRESS_WRONG");
        }
        let note = convert::text(&mut violations, "note", &body.note, false);
        let next_window = body
            .next_window
            .as_ref()
            .and_then(|window| window_from_request(&mut violations, "next_window", window));
        require(violations)?;
        let (id, reason) = id.zip(reason).ok_or_else(unreachable_field)?;
        let command = DeliveryCommand::RecordFailedAttempt { reason, note, next_window };
        let (delivery, position) = self.run_delivery(&request, request_id, id, command).await?;
        Ok(Response::new(v1::RecordFailedAttemptResponse { delivery: Some(delivery), position }))
    }

    async fn confirm_delivery(
        &self,
        request: Request<v1::ConfirmDeliveryRequest>,
    ) -> Result<Response<v1::ConfirmDeliveryResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, id) = delivery_command_fields(&body.request_id, &body.delivery_id);
        let proof = proof_from_wire(&mut violations, body.proof.as_ref());
        require(violations)?;
        let (id, proof) = id.zip(proof).ok_or_else(unreachable_field)?;
        let (delivery, position) =
            self.run_delivery(&request, request_id, id, DeliveryCommand::Confirm { proof }).await?;
        Ok(Response::new(v1::ConfirmDeliveryResponse { delivery: Some(delivery), position }))
    }

    async fn report_delivery_exception(
        &self,
        request: Request<v1::ReportDeliveryExceptionRequest>,
    ) -> Result<Response<v1::ReportDeliveryExceptionResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, id) = delivery_command_fields(&body.request_id, &body.delivery_id);
        let kind = match exception_kind_from_wire(body.kind) {
            Some(ExceptionKind::Delayed) => {
                violations.push("kind", "delays are raised by the SLA clock, not reported");
                None
            }
            None => {
                violations.push("kind", "must be DAMAGED_PARTIAL, DAMAGED_TOTAL, LOST or HANDOVER_DISPUTE");
                None
            }
            kind => kind,
        };
        let description = convert::text(&mut violations, "description", &body.description, false);
        require(violations)?;
        let (id, kind) = id.zip(kind).ok_or_else(unreachable_field)?;
        let command = DeliveryCommand::ReportException { kind, description };
        let (delivery, position) = self.run_delivery(&request, request_id, id, command).await?;
        Ok(Response::new(v1::ReportDeliveryExceptionResponse { delivery: Some(delivery), position }))
    }

    async fn get_delivery(
        &self,
        request: Request<v1::GetDeliveryRequest>,
    ) -> Result<Response<v1::GetDeliveryResponse>, Status> {
        let scope = courier_scope(&request);
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let id = delivery_id(&mut violations, &body.delivery_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        self.wait_for(body.min_position).await?;
        let book = self.deliveries.model.read();
        let record = book
            .delivery(&id)
            .filter(|record| scope.is_none_or(|own| own.is_some() && record.delivery.courier == own))
            .ok_or_else(|| not_scheduled(&id))?;
        Ok(Response::new(v1::GetDeliveryResponse { delivery: Some(record_to_wire(record, redaction)) }))
    }

    async fn list_deliveries(
        &self,
        request: Request<v1::ListDeliveriesRequest>,
    ) -> Result<Response<v1::ListDeliveriesResponse>, Status> {
        let scope = courier_scope(&request);
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let status = match v1::DeliveryStatus::try_from(body.status) {
            Ok(status) => status_from_wire(status),
            Err(_) => {
                violations.push("status", "unknown delivery status");
                None
            }
        };
        let courier_id = (!body.courier_id.is_empty())
            .then(|| courier_id(&mut violations, "courier_id", &body.courier_id))
            .flatten();
        let zone = convert::text(&mut violations, "zone", &body.zone, false);
        let page_size = convert::page_size(&mut violations, body.page_size);
        let after = if body.page_token.is_empty() {
            None
        } else {
            let parsed = OrderId::parse(&body.page_token).ok();
            if parsed.is_none() {
                violations.push("page_token", "is not a token this service handed out");
            }
            parsed
        };
        require(violations)?;
        self.wait_for(body.min_position).await?;
        // A courier lists its own deliveries, whatever the filter says.
        let courier_id = match (scope, courier_id) {
            (Some(Some(own)), Some(asked)) if asked != own => {
                return Ok(Response::new(v1::ListDeliveriesResponse::default()));
            }
            (Some(Some(own)), _) => Some(own),
            (Some(None), _) => return Ok(Response::new(v1::ListDeliveriesResponse::default())),
            (None, asked) => asked,
        };
        let filter = DeliveryFilter { status, courier_id, zone: (!zone.is_empty()).then_some(zone) };
        let book = self.deliveries.model.read();
        let (page, next) = book.list(&filter, after, page_size);
        Ok(Response::new(v1::ListDeliveriesResponse {
            deliveries: page.into_iter().map(|record| record_to_wire(record, redaction)).collect(),
            next_page_token: next.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_courier_route(
        &self,
        request: Request<v1::GetCourierRouteRequest>,
    ) -> Result<Response<v1::GetCourierRouteResponse>, Status> {
        self.courier_route(request).await
    }

    async fn plan_courier_route(
        &self,
        request: Request<v1::PlanCourierRouteRequest>,
    ) -> Result<Response<v1::PlanCourierRouteResponse>, Status> {
        self.plan_route(request).await
    }

    async fn list_couriers(
        &self,
        request: Request<v1::ListCouriersRequest>,
    ) -> Result<Response<v1::ListCouriersResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let zone = convert::text(&mut violations, "zone", &body.zone, false);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let book = self.deliveries.model.read();
        let couriers = book
            .couriers((!zone.is_empty()).then_some(zone.as_str()), body.include_retired)
            .into_iter()
            .map(|record| {
                courier_to_wire(&record.state, book.open_deliveries_of(&record.state.id), record.version)
            })
            .collect();
        Ok(Response::new(v1::ListCouriersResponse { couriers }))
    }
}

/// A window a client proposes: both ends given and valid, the start before the end.
fn window_from_request(
    violations: &mut FieldViolations,
    field: &str,
    window: &v1::TimeWindow,
) -> Option<TimeWindow> {
    let end_of = |name: &str, at: Option<&prost_types::Timestamp>, violations: &mut FieldViolations| match at
    {
        None => {
            violations.push(format!("{field}.{name}"), "is required");
            None
        }
        Some(at) => convert::timestamp(violations, &format!("{field}.{name}"), at),
    };
    let start = end_of("start", window.start.as_ref(), violations);
    let end = end_of("end", window.end.as_ref(), violations);
    let (start, end) = start.zip(end)?;
    if start >= end {
        violations.push(format!("{field}.end"), "must be after the start");
    }
    Some(TimeWindow { start, end })
}

/// A delivery as `redaction`'s caller may see it.
fn record_to_wire(record: &DeliveryRecord, redaction: Redaction) -> v1::DeliveryTask {
    let mut delivery = delivery_to_wire(&record.delivery, record.version);
    redaction.delivery(&mut delivery);
    delivery
}

pub fn delivery_to_wire(delivery: &Delivery, version: Position) -> v1::DeliveryTask {
    v1::DeliveryTask {
        delivery_id: delivery.id.to_string(),
        order_id: delivery.id.to_string(),
        status: status_to_wire(delivery.status).into(),
        service_level: v1::ServiceLevel::from(delivery.service_level).into(),
        consignee: Some((&delivery.consignee).into()),
        zone: delivery.zone.clone(),
        hub: delivery.hub.clone(),
        promised_window: Some(window_to_wire(&delivery.window)),
        courier_id: delivery.courier.map(|courier| courier.to_string()).unwrap_or_default(),
        failed_attempts: delivery
            .failed_attempts
            .iter()
            .map(|attempt| v1::FailedAttempt {
                attempt: attempt.attempt,
                reason: failure_reason_to_wire(attempt.reason).into(),
                note: attempt.note.clone(),
                at: Some(convert::timestamp_to_wire(attempt.at)),
            })
            .collect(),
        proof_of_delivery: delivery.proof.as_ref().map(proof_to_wire),
        exceptions: delivery
            .exceptions
            .iter()
            .map(|exception| v1::DeliveryException {
                kind: exception_kind_to_wire(exception.kind).into(),
                description: exception.description.clone(),
                raised_at: Some(convert::timestamp_to_wire(exception.raised_at)),
            })
            .collect(),
        scheduled_at: Some(convert::timestamp_to_wire(delivery.scheduled_at)),
        updated_at: Some(convert::timestamp_to_wire(delivery.updated_at)),
        version,
        withheld: Vec::new(),
        eta: delivery.eta.map(|eta| v1::PlannedEta {
            courier_id: eta.route.courier.to_string(),
            date: eta.route.day.format("%Y-%m-%d").to_string(),
            sequence: eta.sequence,
            eta: Some(convert::timestamp_to_wire(eta.eta)),
        }),
    }
}

pub fn courier_to_wire(courier: &Courier, open_tasks: usize, version: Position) -> v1::Courier {
    v1::Courier {
        courier_id: courier.id.to_string(),
        name: courier.name.clone(),
        zones: courier.zones.clone(),
        retired: courier.retired,
        open_tasks: u32::try_from(open_tasks).unwrap_or(u32::MAX),
        version,
    }
}
