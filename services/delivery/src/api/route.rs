//! Couriers' runs on the API: planning one (`PlanCourierRoute`) and reading it back
//! (`GetCourierRoute`, which answers in planned order once the day was planned).

use chrono::NaiveDate;
use tonic::{Request, Response, Status};
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::{require, unreachable_field};
use waybill_proto::v1;
use waybill_runtime::Redaction;
use waybill_runtime::actor::context_of;

use super::{DeliveryApi, courier_id, courier_scope, record_to_wire};
use crate::codec::route_to_wire;
use crate::domain::Rejection;
use crate::route::{PlanReason, PlanRoute, RouteId, RunConstraints};

/// The most deliveries a van may be said to hold (a bigger number is a typo).
const MAX_CAPACITY: u32 = 10_000;

/// A day as `YYYY-MM-DD` (UTC), empty for `today`.
pub(super) fn day(
    violations: &mut FieldViolations,
    field: &str,
    text: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    if text.is_empty() {
        return Some(today);
    }
    let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    if parsed.is_none() {
        violations.push(field, "must be YYYY-MM-DD (UTC), or empty for today");
    }
    parsed
}

fn constraints(
    violations: &mut FieldViolations,
    value: Option<&v1::RouteConstraints>,
) -> Option<RunConstraints> {
    let value = violations.required_as("constraints", value, "is required (shift, capacity, depot)")?;
    let at = |violations: &mut FieldViolations, name: &str, at: Option<&prost_types::Timestamp>| {
        let field = format!("constraints.{name}");
        violations.required(&field, at).and_then(|at| convert::timestamp(violations, &field, at))
    };
    let shift_start = at(violations, "shift_start", value.shift_start.as_ref());
    let shift_end = at(violations, "shift_end", value.shift_end.as_ref());
    if let (Some(start), Some(end)) = (shift_start, shift_end)
        && (end <= start || end - start > chrono::Duration::hours(24))
    {
        violations.push("constraints.shift_end", "must be after the shift's start, at most 24 hours later");
    }
    if !(1..=MAX_CAPACITY).contains(&value.capacity) {
        violations.push("constraints.capacity", format!("must be 1 to {MAX_CAPACITY} deliveries"));
    }
    let depot = violations
        .required_as("constraints.depot", value.depot.as_ref(), "is required (where the run starts and ends)")
        .and_then(|point| convert::coordinates(violations, "constraints.depot", point));
    Some(RunConstraints {
        shift_start: shift_start?,
        shift_end: shift_end?,
        capacity: value.capacity,
        depot: depot?,
    })
}

impl DeliveryApi {
    pub(super) async fn plan_route(
        &self,
        request: Request<v1::PlanCourierRouteRequest>,
    ) -> Result<Response<v1::PlanCourierRouteResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let courier = courier_id(&mut violations, "courier_id", &body.courier_id);
        let today = self.deliveries.clock.now().date_naive();
        let day = day(&mut violations, "date", &body.date, today);
        let constraints = constraints(&mut violations, body.constraints.as_ref());
        require(violations)?;
        let (courier, day) = courier.zip(day).ok_or_else(unreachable_field)?;
        let command = PlanRoute {
            constraints: Some(constraints.ok_or_else(unreachable_field)?),
            reason: PlanReason::Requested,
            from_stop: None,
        };
        let meta = context_of(&request).command_meta(request_id);
        // A plan reads every open stop of the courier: it must see each assignment this
        // service has acknowledged (a dispatcher assigns, then plans), not only the route's
        // own version, which the runner's stale-state check covers.
        self.routes.caught_up_with_own_writes().await?;
        let decided = self.routes.run_decision(RouteId { courier, day }, &command, &meta).await?;
        let outcome = decided.outcome;
        let mut route = route_to_wire(&outcome.state);
        route.version = outcome.position;
        Ok(Response::new(v1::PlanCourierRouteResponse { route: Some(route), position: outcome.position }))
    }

    pub(super) async fn courier_route(
        &self,
        request: Request<v1::GetCourierRouteRequest>,
    ) -> Result<Response<v1::GetCourierRouteResponse>, Status> {
        let scope = courier_scope(&request);
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let courier_id = courier_id(&mut violations, "courier_id", &body.courier_id);
        let day = day(&mut violations, "date", &body.date, self.deliveries.clock.now().date_naive());
        require(violations)?;
        let (courier_id, day) = courier_id.zip(day).ok_or_else(unreachable_field)?;
        self.wait_for(body.min_position).await?;
        let from = day.and_time(chrono::NaiveTime::MIN).and_utc();
        let until = from + chrono::Duration::days(1);
        let book = self.deliveries.model.read();
        // Another courier's route looks like a courier that does not exist.
        let visible = scope.is_none_or(|own| own == Some(courier_id));
        if !visible || book.courier(&courier_id).is_none() {
            return Err(Rejection::CourierNotFound.into());
        }
        let mut stops = book.route(&courier_id, from, until);
        let planned = book.courier_route(&RouteId { courier: courier_id, day });
        if let Some(planned) = planned {
            // Planned stops first, in their order; then whatever the plan does not hold.
            let place = |id| planned.state.stop(id).map_or(u32::MAX, |stop| stop.sequence);
            stops.sort_by_key(|record| place(&record.delivery.id));
        }
        let stops = stops.into_iter().map(|record| record_to_wire(record, redaction)).collect();
        let plan = planned
            .map(|record| v1::CourierRoute { version: record.version, ..route_to_wire(&record.state) });
        Ok(Response::new(v1::GetCourierRouteResponse { stops, plan }))
    }
}
