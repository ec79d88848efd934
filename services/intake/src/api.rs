//! The gRPC adapter: parse the request, call the domain through the command runner or the
//! read model, map the answer. Wire types stop here; errors become statuses in `error.rs`.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use waybill_eventlog::Position;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::{invalid_argument, require};
use waybill_proto::v1::{self, intake_service_server::IntakeService};
use waybill_runtime::actor::context_of;
use waybill_runtime::{Duty, Origin, Redaction};
use waybill_types::{CustomerId, OrderId};

use crate::codec::{quote_to_wire, status_from_wire, status_to_wire};
use crate::commands::{CommandRunner, Outcome};
use crate::domain::{Command, OrderDetails, ReviewDecision};
use crate::read_model::{Cursor, OrderFilter, OrderRecord};
use crate::watch::{WatchLimits, Watches};

/// UUIDv5 namespace for order ids derived from placement requests.
const ORDER_ID_NAMESPACE: Uuid = Uuid::from_u128(0x5f0c_7d1e_4b7a_4f3e_9a51_7b1e_0d7a_c0de);

/// The order id a placement gets: derived from the customer and the request id, so that a
/// retried placement, even after JetStream's duplicate window, lands on the same order
/// (whose subject then already exists) instead of creating a second one.
pub fn order_id_for(customer_id: &str, request_id: &str) -> OrderId {
    OrderId(Uuid::new_v5(&ORDER_ID_NAMESPACE, format!("{customer_id}/{request_id}").as_bytes()))
}

pub struct IntakeApi {
    runner: CommandRunner,
    /// Open watches, fanned out from the read model's feed.
    watches: Watches,
    /// Turns true when intake starts stopping: open watches end then.
    stopping: watch::Receiver<bool>,
}

impl IntakeApi {
    pub fn new(runner: CommandRunner, stopping: watch::Receiver<bool>, limits: WatchLimits) -> Self {
        let watches = Watches::start(&runner, limits);
        Self { runner, watches, stopping }
    }

    /// Waits for the read model to reach the caller's `min_position` (0: none).
    async fn wait_for(&self, min_position: Position) -> Result<(), Status> {
        self.runner.wait_for(min_position).await
    }

    /// For a caller acting only as one customer: the order must be that customer's, and
    /// another customer's answers NOT_FOUND exactly as a missing one does, so order ids
    /// cannot be probed. Staff pass (their permissions bound them).
    async fn check_owner<T>(
        &self,
        request: &Request<T>,
        order_id: &OrderId,
        min_position: Position,
    ) -> Result<(), Status> {
        let context = context_of(request);
        let Some(customer) = context.identity.customer_scope() else { return Ok(()) };
        self.wait_for(min_position.max(context.min_position)).await?;
        let owned = || {
            let book = self.runner.model.read();
            book.get(order_id).is_some_and(|record| record.order.details.customer_id.as_str() == customer)
        };
        // The model may be a moment behind the log (an order placed just now through another
        // replica): look again once it has caught up before refusing.
        if owned() {
            return Ok(());
        }
        self.runner.wait_caught_up().await?;
        if owned() { Ok(()) } else { Err(not_found(order_id)) }
    }

    /// Separation of duties: nobody reviews an order they placed, or one of the customer
    /// they act for. The placer never changes, so a check before the write holds; an order
    /// the model does not know yet is looked for again once it has caught up.
    async fn check_not_own_order<T>(&self, request: &Request<T>, order_id: &OrderId) -> Result<(), Status> {
        let context = context_of(request);
        self.wait_for(context.min_position).await?;
        let check = || {
            let book = self.runner.model.read();
            book.get(order_id).map(|record| {
                let origin = Origin {
                    started_by: Some(&record.placed_by),
                    customer_id: record.order.details.customer_id.as_str(),
                };
                context.check_duty(Duty::ReviewOrder, origin)
            })
        };
        match check() {
            Some(checked) => checked,
            None => {
                self.runner.wait_caught_up().await?;
                // Still unknown: the command answers NOT_FOUND as for anyone.
                check().unwrap_or(Ok(()))
            }
        }
    }

    /// Parses the fields every order command shares.
    fn order_command_fields(request_id: &str, order_id: &str) -> (FieldViolations, String, Option<OrderId>) {
        let (mut violations, request_id) = FieldViolations::for_command(request_id);
        let order_id = convert::order_id(&mut violations, "order_id", order_id);
        (violations, request_id, order_id)
    }

    async fn run<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        order_id: OrderId,
        command: Command,
    ) -> Result<(v1::Order, Position), Status> {
        self.check_owner(request, &order_id, 0).await?;
        let meta = context_of(request).command_meta(request_id);
        let Outcome { state: order, position } = self.runner.run(order_id, &command, &meta).await?;
        let mut order = order_to_wire(&order, position);
        Redaction::of(request).order(&mut order);
        Ok((order, position))
    }
}

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    type WatchOrderStream = Pin<Box<dyn Stream<Item = Result<v1::WatchOrderResponse, Status>> + Send>>;

    async fn place_order(
        &self,
        request: Request<v1::PlaceOrderRequest>,
    ) -> Result<Response<v1::PlaceOrderResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let customer_id = convert::customer_id(&mut violations, "customer_id", &body.customer_id);
        let shipper = convert::party(&mut violations, "shipper", body.shipper.as_ref());
        let consignee = convert::party(&mut violations, "consignee", body.consignee.as_ref());
        let cargo = convert::cargo_lines(&mut violations, "cargo", &body.cargo);
        let service_level = convert::service_level(&mut violations, "service_level", body.service_level);
        let (Some(customer_id), Some(shipper), Some(consignee), Some(service_level), true) =
            (customer_id, shipper, consignee, service_level, violations.is_empty())
        else {
            return Err(invalid_argument(violations.into_vec()));
        };
        if let Some(own) = context_of(&request).identity.customer_scope()
            && customer_id.as_str() != own
        {
            return Err(Status::permission_denied(format!(
                "customer_id: a customer places orders for itself only ({own})"
            )));
        }
        let order_id = order_id_for(customer_id.as_str(), &request_id);
        let details = OrderDetails { customer_id, shipper, consignee, cargo, service_level };
        let meta = context_of(&request).command_meta(request_id);
        let outcome =
            self.runner.run(order_id, &Command::Place { order_id, details: details.clone() }, &meta).await?;
        if outcome.state.details != details {
            let mut violations = FieldViolations::new();
            violations.push("request_id", "was already used by this customer for a different order");
            return Err(invalid_argument(violations.into_vec()));
        }
        let mut order = order_to_wire(&outcome.state, outcome.position);
        Redaction::of(&request).order(&mut order);
        Ok(Response::new(v1::PlaceOrderResponse { order: Some(order), position: outcome.position }))
    }

    async fn review_order(
        &self,
        request: Request<v1::ReviewOrderRequest>,
    ) -> Result<Response<v1::ReviewOrderResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, order_id) =
            Self::order_command_fields(&body.request_id, &body.order_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, false);
        let decision = match v1::ReviewDecision::try_from(body.decision) {
            Ok(v1::ReviewDecision::Accept) => Some(ReviewDecision::Accept),
            Ok(v1::ReviewDecision::Reject) => Some(ReviewDecision::Reject { reason }),
            _ => {
                violations.push("decision", "must be ACCEPT or REJECT");
                None
            }
        };
        require(violations)?;
        let (Some(order_id), Some(decision)) = (order_id, decision) else {
            return Err(Status::internal("unreachable"));
        };
        self.check_not_own_order(&request, &order_id).await?;
        let (order, position) =
            self.run(&request, request_id, order_id, Command::Review { decision }).await?;
        Ok(Response::new(v1::ReviewOrderResponse { order: Some(order), position }))
    }

    async fn amend_order(
        &self,
        request: Request<v1::AmendOrderRequest>,
    ) -> Result<Response<v1::AmendOrderResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, order_id) =
            Self::order_command_fields(&body.request_id, &body.order_id);
        let cargo =
            (!body.cargo.is_empty()).then(|| convert::cargo_lines(&mut violations, "cargo", &body.cargo));
        let service_level = (body.service_level != v1::ServiceLevel::Unspecified as i32)
            .then(|| convert::service_level(&mut violations, "service_level", body.service_level))
            .flatten();
        if cargo.is_none() && service_level.is_none() && body.service_level == 0 {
            violations.push("cargo", "an amendment needs new cargo lines or a new service level");
        }
        require(violations)?;
        let Some(order_id) = order_id else { return Err(Status::internal("unreachable")) };
        let (order, position) =
            self.run(&request, request_id, order_id, Command::Amend { cargo, service_level }).await?;
        Ok(Response::new(v1::AmendOrderResponse { order: Some(order), position }))
    }

    async fn change_consignee_address(
        &self,
        request: Request<v1::ChangeConsigneeAddressRequest>,
    ) -> Result<Response<v1::ChangeConsigneeAddressResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, order_id) =
            Self::order_command_fields(&body.request_id, &body.order_id);
        let address = convert::address(&mut violations, "address", body.address.as_ref());
        require(violations)?;
        let (Some(order_id), Some(address)) = (order_id, address) else {
            return Err(Status::internal("unreachable"));
        };
        let (order, position) =
            self.run(&request, request_id, order_id, Command::ChangeConsigneeAddress { address }).await?;
        Ok(Response::new(v1::ChangeConsigneeAddressResponse { order: Some(order), position }))
    }

    async fn cancel_order(
        &self,
        request: Request<v1::CancelOrderRequest>,
    ) -> Result<Response<v1::CancelOrderResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, order_id) =
            Self::order_command_fields(&body.request_id, &body.order_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, false);
        require(violations)?;
        let Some(order_id) = order_id else { return Err(Status::internal("unreachable")) };
        let (order, position) = self.run(&request, request_id, order_id, Command::Cancel { reason }).await?;
        Ok(Response::new(v1::CancelOrderResponse { order: Some(order), position }))
    }

    async fn restore_order(
        &self,
        request: Request<v1::RestoreOrderRequest>,
    ) -> Result<Response<v1::RestoreOrderResponse>, Status> {
        let body = request.get_ref();
        let (violations, request_id, order_id) = Self::order_command_fields(&body.request_id, &body.order_id);
        require(violations)?;
        let Some(order_id) = order_id else { return Err(Status::internal("unreachable")) };
        let (order, position) = self.run(&request, request_id, order_id, Command::Restore).await?;
        Ok(Response::new(v1::RestoreOrderResponse { order: Some(order), position }))
    }

    async fn get_order(
        &self,
        request: Request<v1::GetOrderRequest>,
    ) -> Result<Response<v1::GetOrderResponse>, Status> {
        let order_id = parse_order_id(&request.get_ref().order_id)?;
        self.check_owner(&request, &order_id, request.get_ref().min_position).await?;
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        self.wait_for(body.min_position).await?;
        let book = self.runner.model.read();
        let record = book.get(&order_id).ok_or_else(|| not_found(&order_id))?;
        Ok(Response::new(v1::GetOrderResponse { order: Some(record_to_wire(record, redaction)) }))
    }

    async fn list_orders(
        &self,
        request: Request<v1::ListOrdersRequest>,
    ) -> Result<Response<v1::ListOrdersResponse>, Status> {
        let scope = context_of(&request).identity.customer_scope().map(str::to_owned);
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let customer_id = (!body.customer_id.is_empty())
            .then(|| convert::customer_id(&mut violations, "customer_id", &body.customer_id))
            .flatten();
        // A customer lists its own orders, whatever filter it sends: another customer's
        // id finds nothing, as if that customer had no orders.
        let customer_id = match (scope, customer_id) {
            (Some(own), Some(asked)) if asked.as_str() != own => {
                return Ok(Response::new(v1::ListOrdersResponse::default()));
            }
            // A binding that is no customer id sees nothing (never everything).
            (Some(own), _) => match CustomerId::parse(&own) {
                Ok(own) => Some(own),
                Err(_) => return Ok(Response::new(v1::ListOrdersResponse::default())),
            },
            (None, asked) => asked,
        };
        let status = match v1::OrderStatus::try_from(body.status) {
            Ok(status) => status_from_wire(status),
            Err(_) => {
                violations.push("status", "unknown order status");
                None
            }
        };
        let placed_from =
            body.placed_from.as_ref().and_then(|at| convert::timestamp(&mut violations, "placed_from", at));
        let placed_until =
            body.placed_until.as_ref().and_then(|at| convert::timestamp(&mut violations, "placed_until", at));
        let page_size = convert::page_size(&mut violations, body.page_size);
        let after = parse_page_token(&mut violations, &body.page_token);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let filter = OrderFilter { customer_id, status, placed_from, placed_until };
        let book = self.runner.model.read();
        let (page, next) = book.list(&filter, after, page_size);
        Ok(Response::new(v1::ListOrdersResponse {
            orders: page.into_iter().map(|record| record_to_wire(record, redaction)).collect(),
            next_page_token: next.map(page_token).unwrap_or_default(),
        }))
    }

    async fn list_review_queue(
        &self,
        request: Request<v1::ListReviewQueueRequest>,
    ) -> Result<Response<v1::ListReviewQueueResponse>, Status> {
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let page_size = convert::page_size(&mut violations, body.page_size);
        let after = parse_page_token(&mut violations, &body.page_token);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let book = self.runner.model.read();
        let (page, next) = book.review_queue(after, page_size);
        Ok(Response::new(v1::ListReviewQueueResponse {
            orders: page.into_iter().map(|record| record_to_wire(record, redaction)).collect(),
            next_page_token: next.map(page_token).unwrap_or_default(),
        }))
    }

    async fn track_order(
        &self,
        request: Request<v1::TrackOrderRequest>,
    ) -> Result<Response<v1::TrackOrderResponse>, Status> {
        let order_id = parse_order_id(&request.get_ref().order_id)?;
        self.check_owner(&request, &order_id, request.get_ref().min_position).await?;
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        self.wait_for(body.min_position).await?;
        // The log has the whole timeline (intake's, the fulfilment's, after-sales'); the read
        // model keeps none of it.
        let history = self.runner.history(&crate::commands::order_subject(&order_id)).await?;
        let Some(&(last, _, _)) = history.last() else { return Err(not_found(&order_id)) };
        let intake_timeline = crate::timeline::entries(&history);
        let status = crate::commands::fold_until(history, last)
            .map(|outcome| outcome.state.status)
            .ok_or_else(|| Status::internal(format!("the history of order {order_id} builds no order")))?;
        let timeline = crate::timeline::across_services(&self.runner.log, &order_id, intake_timeline)
            .await
            .map_err(|error| Status::unavailable(format!("event log unavailable: {error}")))?;
        // The latest plan's word, while the goods may still come.
        let eta = timeline
            .iter()
            .rev()
            .find_map(|entry| entry.planned_eta)
            .flatten()
            .filter(|_| !status.is_terminal() && status != crate::domain::OrderStatus::Cancelled);
        let timeline = timeline.into_iter().map(|entry| timeline_entry_to_wire(entry, redaction)).collect();
        Ok(Response::new(v1::TrackOrderResponse {
            order_id: order_id.to_string(),
            status: status_to_wire(status).into(),
            timeline,
            eta: eta.map(convert::timestamp_to_wire),
        }))
    }

    async fn watch_order(
        &self,
        request: Request<v1::WatchOrderRequest>,
    ) -> Result<Response<Self::WatchOrderStream>, Status> {
        let caller = context_of(&request).actor;
        let order_id = parse_order_id(&request.get_ref().order_id)?;
        self.check_owner(&request, &order_id, request.get_ref().min_position).await?;
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        self.wait_for(body.min_position).await?;
        let updates =
            crate::watch::start(&self.runner, &self.watches, &caller, order_id, self.stopping.clone())
                .await?;
        let updates = ReceiverStream::new(updates).map(move |update| {
            update.map(|update| {
                let mut order = order_to_wire(&update.order, update.version);
                redaction.order(&mut order);
                v1::WatchOrderResponse {
                    order: Some(order),
                    event: Some(timeline_entry_to_wire(update.event, redaction)),
                }
            })
        });
        Ok(Response::new(Box::pin(updates)))
    }
}

fn parse_order_id(text: &str) -> Result<OrderId, Status> {
    let mut violations = FieldViolations::new();
    let order_id = convert::order_id(&mut violations, "order_id", text);
    order_id.ok_or_else(|| invalid_argument(violations.into_vec()))
}

fn not_found(order_id: &OrderId) -> Status {
    Status::not_found(format!("order {order_id} not found"))
}

/// Page tokens are opaque to clients: `<micros>_<order id>` of the last order returned.
fn page_token(cursor: Cursor) -> String {
    format!("{}_{}", cursor.sort_key.0, cursor.sort_key.1)
}

fn parse_page_token(violations: &mut FieldViolations, token: &str) -> Option<Cursor> {
    if token.is_empty() {
        return None;
    }
    let parsed = token.split_once('_').and_then(|(micros, order_id)| {
        Some(Cursor { sort_key: (micros.parse().ok()?, OrderId::parse(order_id).ok()?) })
    });
    if parsed.is_none() {
        violations.push("page_token", "is not a token this service handed out");
    }
    parsed
}

/// An order as `redaction`'s caller may see it.
fn record_to_wire(record: &OrderRecord, redaction: Redaction) -> v1::Order {
    let mut order = order_to_wire(&record.order, record.version);
    redaction.order(&mut order);
    order
}

pub fn order_to_wire(order: &crate::domain::Order, version: Position) -> v1::Order {
    v1::Order {
        order_id: order.id.to_string(),
        customer_id: order.details.customer_id.to_string(),
        status: status_to_wire(order.status).into(),
        shipper: Some((&order.details.shipper).into()),
        consignee: Some((&order.details.consignee).into()),
        cargo: order.details.cargo.iter().map(Into::into).collect(),
        service_level: v1::ServiceLevel::from(order.details.service_level).into(),
        quote: Some(quote_to_wire(&order.quote)),
        placed_at: Some(convert::timestamp_to_wire(order.placed_at)),
        updated_at: Some(convert::timestamp_to_wire(order.updated_at)),
        review_reasons: order.review_reasons.clone(),
        rejection_reason: order.rejection_reason.clone().unwrap_or_default(),
        cancellation_reason: order.cancellation.as_ref().map(|c| c.reason.clone()).unwrap_or_default(),
        version,
        last_failed_attempt: order.last_failed_attempt.as_ref().map(crate::codec::failed_attempt_to_wire),
        withheld: Vec::new(),
    }
}

/// A timeline entry as `redaction`'s caller may see it.
fn timeline_entry_to_wire(entry: crate::timeline::TimelineEntry, redaction: Redaction) -> v1::TimelineEntry {
    let mut entry = v1::TimelineEntry {
        position: entry.position,
        event_id: entry.event_id.to_string(),
        event_type: entry.event_type,
        occurred_at: Some(convert::timestamp_to_wire(entry.occurred_at)),
        actor: Some((&entry.actor).into()),
        summary: entry.summary,
        service: entry.service.to_owned(),
        proof_of_delivery: entry.proof_of_delivery.as_ref().map(Into::into),
        withheld: Vec::new(),
    };
    redaction.timeline_entry(&mut entry);
    entry
}
