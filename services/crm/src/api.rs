//! The gRPC adapter: parse the request, call the domain through the command runner or the
//! read model, map the answer. Wire types stop here (and in `codec.rs`, `api/wire.rs`);
//! rejections become statuses in `error.rs`.

mod wire;

use std::sync::Arc;

use tonic::{Request, Response, Status};
use waybill_eventlog::Position;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::invalid_argument;
use waybill_proto::v1::{self, crm_service_server::CrmService};
use waybill_runtime::actor::context_of;
use waybill_runtime::{Duty, Origin, Redaction};
use waybill_types::CustomerId;

use crate::analytics::{AbcClass, LifecycleClass, Period, Policy};
use crate::codec::{profile_from_wire, rating_from_wire};
use crate::commands::{Clock, CommandRunner, Outcome};
use crate::domain::Command;
use crate::read_model::CustomerFilter;

pub use wire::{customer_to_wire, kpis_to_wire};

pub struct CrmApi {
    runner: CommandRunner,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
}

impl CrmApi {
    pub fn new(runner: CommandRunner, policy: Arc<Policy>, clock: Arc<dyn Clock>) -> Self {
        Self { runner, policy, clock }
    }

    /// Waits for the read model to reach the caller's `min_position` (0: none).
    async fn wait_for(&self, min_position: Position) -> Result<(), Status> {
        self.runner.wait_for(min_position).await
    }

    /// Parses the fields every customer command shares.
    fn command_fields(request_id: &str, customer_id: &str) -> (FieldViolations, String, Option<CustomerId>) {
        let (mut violations, request_id) = FieldViolations::for_command(request_id);
        let customer_id = convert::customer_id(&mut violations, "customer_id", customer_id);
        (violations, request_id, customer_id)
    }

    /// Runs `command` and answers with the customer as the command left it.
    async fn run<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        customer_id: CustomerId,
        command: Command,
    ) -> Result<(v1::Customer, Position), Status> {
        let meta = context_of(request).command_meta(request_id);
        let registered_by = meta.actor.clone();
        let Outcome { state, position } = self.runner.run(customer_id.clone(), &command, &meta).await?;
        let mut view = self.runner.model.read().view_always(&customer_id, &self.policy, self.clock.now());
        // The model may not have applied this command's event yet: the outcome is newer.
        let registered_by = view.record.as_ref().map_or(registered_by, |record| record.registered_by.clone());
        view.record = Some(crate::read_model::CustomerRecord {
            customer: state,
            version: position,
            causes: Default::default(),
            registered_by,
        });
        Ok((customer_to_wire(&view, &self.policy, Redaction::of(request)), position))
    }
}

impl CrmApi {
    /// A credit command, once separation of duties allows it: nobody sets the credit of the
    /// customer they act for or registered themselves (PERMISSION_DENIED, nothing written).
    async fn run_credit<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        customer_id: CustomerId,
        command: Command,
    ) -> Result<(v1::Customer, Position), Status> {
        let context = context_of(request);
        self.wait_for(context.min_position).await?;
        let registered_by = || {
            let model = self.runner.model.read();
            model.customer(&customer_id).map(|record| record.registered_by.clone())
        };
        let registered_by = match registered_by() {
            Some(actor) => Some(actor),
            None => {
                self.runner.wait_caught_up().await?;
                registered_by()
            }
        };
        let origin = Origin { started_by: registered_by.as_ref(), customer_id: customer_id.as_str() };
        context.check_duty(Duty::SetCredit, origin)?;
        self.run(request, request_id, customer_id, command).await
    }
}

fn reject(violations: FieldViolations) -> Status {
    invalid_argument(violations.into_vec())
}

#[tonic::async_trait]
impl CrmService for CrmApi {
    async fn register_customer(
        &self,
        request: Request<v1::RegisterCustomerRequest>,
    ) -> Result<Response<v1::RegisterCustomerResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, customer_id) =
            Self::command_fields(&body.request_id, &body.customer_id);
        let profile = profile_from_wire(&mut violations, "profile", body.profile.as_ref());
        let (Some(customer_id), Some(profile), true) = (customer_id, profile, violations.is_empty()) else {
            return Err(reject(violations));
        };
        let command = Command::Register { customer_id: customer_id.clone(), profile: profile.clone() };
        let (customer, position) = self.run(&request, request_id, customer_id, command).await?;
        Ok(Response::new(v1::RegisterCustomerResponse { customer: Some(customer), position }))
    }

    async fn update_customer(
        &self,
        request: Request<v1::UpdateCustomerRequest>,
    ) -> Result<Response<v1::UpdateCustomerResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, customer_id) =
            Self::command_fields(&body.request_id, &body.customer_id);
        let profile = profile_from_wire(&mut violations, "profile", body.profile.as_ref());
        let (Some(customer_id), Some(profile), true) = (customer_id, profile, violations.is_empty()) else {
            return Err(reject(violations));
        };
        let (customer, position) =
            self.run(&request, request_id, customer_id, Command::Update { profile }).await?;
        Ok(Response::new(v1::UpdateCustomerResponse { customer: Some(customer), position }))
    }

    async fn set_credit_rating(
        &self,
        request: Request<v1::SetCreditRatingRequest>,
    ) -> Result<Response<v1::SetCreditRatingResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, customer_id) =
            Self::command_fields(&body.request_id, &body.customer_id);
        let rating = rating_from_wire(&mut violations, "rating", body.rating);
        let credit_limit = convert::money(&mut violations, "credit_limit", body.credit_limit.as_ref());
        let (Some(customer_id), Some(rating), Some(credit_limit), true) =
            (customer_id, rating, credit_limit, violations.is_empty())
        else {
            return Err(reject(violations));
        };
        let command = Command::SetCreditRating { rating, credit_limit };
        let (customer, position) = self.run_credit(&request, request_id, customer_id, command).await?;
        Ok(Response::new(v1::SetCreditRatingResponse { customer: Some(customer), position }))
    }

    async fn place_credit_hold(
        &self,
        request: Request<v1::PlaceCreditHoldRequest>,
    ) -> Result<Response<v1::PlaceCreditHoldResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, customer_id) =
            Self::command_fields(&body.request_id, &body.customer_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, true);
        let (Some(customer_id), true) = (customer_id, violations.is_empty()) else {
            return Err(reject(violations));
        };
        let (customer, position) =
            self.run_credit(&request, request_id, customer_id, Command::PlaceCreditHold { reason }).await?;
        Ok(Response::new(v1::PlaceCreditHoldResponse { customer: Some(customer), position }))
    }

    async fn release_credit_hold(
        &self,
        request: Request<v1::ReleaseCreditHoldRequest>,
    ) -> Result<Response<v1::ReleaseCreditHoldResponse>, Status> {
        let body = request.get_ref();
        let (mut violations, request_id, customer_id) =
            Self::command_fields(&body.request_id, &body.customer_id);
        let note = convert::text(&mut violations, "note", &body.note, false);
        let (Some(customer_id), true) = (customer_id, violations.is_empty()) else {
            return Err(reject(violations));
        };
        let (customer, position) =
            self.run_credit(&request, request_id, customer_id, Command::ReleaseCreditHold { note }).await?;
        Ok(Response::new(v1::ReleaseCreditHoldResponse { customer: Some(customer), position }))
    }

    async fn get_customer(
        &self,
        request: Request<v1::GetCustomerRequest>,
    ) -> Result<Response<v1::GetCustomerResponse>, Status> {
        let scope = context_of(&request).identity.customer_scope().map(str::to_owned);
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let customer_id = convert::customer_id(&mut violations, "customer_id", &body.customer_id);
        let Some(customer_id) = customer_id else { return Err(reject(violations)) };
        // Another customer's profile answers as a missing one does: ids cannot be probed.
        if scope.is_some_and(|own| own != customer_id.as_str()) {
            return Err(Status::not_found(format!("customer {customer_id} not found")));
        }
        self.wait_for(body.min_position).await?;
        let model = self.runner.model.read();
        let view = model
            .view(&customer_id, &self.policy, self.clock.now())
            .ok_or_else(|| Status::not_found(format!("customer {customer_id} not found")))?;
        let kpis = model.kpis(Some(&customer_id), Period::default());
        Ok(Response::new(v1::GetCustomerResponse {
            customer: Some(customer_to_wire(&view, &self.policy, redaction)),
            kpis: Some(kpis_to_wire(&kpis)),
        }))
    }

    async fn list_customers(
        &self,
        request: Request<v1::ListCustomersRequest>,
    ) -> Result<Response<v1::ListCustomersResponse>, Status> {
        let scope = context_of(&request).identity.customer_scope().map(str::to_owned);
        let redaction = Redaction::of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let lifecycle = match v1::LifecycleClass::try_from(body.lifecycle) {
            Ok(v1::LifecycleClass::Unspecified) => None,
            Ok(v1::LifecycleClass::Prospect) => Some(LifecycleClass::Prospect),
            Ok(v1::LifecycleClass::Active) => Some(LifecycleClass::Active),
            Ok(v1::LifecycleClass::Lapsed) => Some(LifecycleClass::Lapsed),
            Err(_) => {
                violations.push("lifecycle", "unknown lifecycle class");
                None
            }
        };
        let abc = match v1::AbcClass::try_from(body.abc_class) {
            Ok(v1::AbcClass::Unspecified) => None,
            Ok(v1::AbcClass::A) => Some(AbcClass::A),
            Ok(v1::AbcClass::B) => Some(AbcClass::B),
            Ok(v1::AbcClass::C) => Some(AbcClass::C),
            Err(_) => {
                violations.push("abc_class", "unknown ABC class");
                None
            }
        };
        let limit = convert::page_size(&mut violations, body.page_size);
        let after = if body.page_token.is_empty() {
            None
        } else {
            CustomerId::parse(&body.page_token)
                .map_err(|_| violations.push("page_token", "is not a token this service handed out"))
                .ok()
        };
        if !violations.is_empty() {
            return Err(reject(violations));
        }
        self.wait_for(body.min_position).await?;
        // A customer lists itself only; a binding that is no customer id lists nothing.
        let only = match scope {
            Some(own) => match CustomerId::parse(&own) {
                Ok(own) => Some(own),
                Err(_) => return Ok(Response::new(v1::ListCustomersResponse::default())),
            },
            None => None,
        };
        let filter = CustomerFilter { lifecycle, abc, on_hold_only: body.on_hold_only, only };
        let (page, next) =
            self.runner.model.read().list(&filter, after.as_ref(), limit, &self.policy, self.clock.now());
        Ok(Response::new(v1::ListCustomersResponse {
            customers: page.iter().map(|view| customer_to_wire(view, &self.policy, redaction)).collect(),
            next_page_token: next.map(|id| id.to_string()).unwrap_or_default(),
        }))
    }

    async fn get_abc_report(
        &self,
        request: Request<v1::GetAbcReportRequest>,
    ) -> Result<Response<v1::GetAbcReportResponse>, Status> {
        self.wait_for(request.get_ref().min_position).await?;
        let report = self.runner.model.read().abc_report(&self.policy);
        Ok(Response::new(wire::abc_report_to_wire(&report, &self.policy)))
    }

    async fn get_kpis(
        &self,
        request: Request<v1::GetKpisRequest>,
    ) -> Result<Response<v1::GetKpisResponse>, Status> {
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let customer_id = if body.customer_id.is_empty() {
            None
        } else {
            convert::customer_id(&mut violations, "customer_id", &body.customer_id)
        };
        let period = match &body.period {
            None => Period::default(),
            Some(period) => {
                let from = period
                    .from
                    .as_ref()
                    .and_then(|from| convert::timestamp(&mut violations, "period.from", from));
                let to =
                    period.to.as_ref().and_then(|to| convert::timestamp(&mut violations, "period.to", to));
                if let (Some(from), Some(to)) = (from, to)
                    && to <= from
                {
                    violations.push("period.to", "must be after period.from");
                }
                Period { from, to }
            }
        };
        if !violations.is_empty() {
            return Err(reject(violations));
        }
        self.wait_for(body.min_position).await?;
        let model = self.runner.model.read();
        if let Some(customer_id) = &customer_id
            && !model.is_known(customer_id)
        {
            return Err(Status::not_found(format!("customer {customer_id} not found")));
        }
        let kpis = model.kpis(customer_id.as_ref(), period);
        let finance = model.finance(customer_id.as_ref(), period, &self.policy);
        Ok(Response::new(v1::GetKpisResponse {
            kpis: Some(kpis_to_wire(&kpis)),
            finance: Some(wire::finance_to_wire(&finance, &self.policy)),
        }))
    }
}
