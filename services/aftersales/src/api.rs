//! The gRPC adapter: parse the request (naming every bad field), call the domain through a
//! command runner or read the model, map the answer. Wire types stop here and in
//! `codec.rs`; rejections become statuses in `error.rs`.

use tonic::{Request, Response, Status};
use waybill_command::{Completed, Decision, Single};
use waybill_eventlog::Position;
use waybill_proto::convert::{self, FieldViolations};
use waybill_proto::status::{require, unreachable_field};
use waybill_proto::v1::{self, after_sales_service_server::AfterSalesService};
use waybill_runtime::actor::context_of;
use waybill_runtime::{Duty, Origin};
use waybill_types::{Actor, Money, OrderId, Timestamp};

use crate::codec::{
    breach_to_wire, case_kind_from_wire, category_from_wire, category_to_wire, claim_kind_from_wire,
    claim_kind_to_wire, claim_status_from_wire, claim_status_to_wire, complaint_status_from_wire,
    complaint_status_to_wire, line_to_wire, return_status_from_wire, return_status_to_wire,
    severity_from_wire, severity_to_wire,
};
use crate::commands::{ClaimMoney, Refund, Runners, ThroughLedger};
use crate::domain::{
    CaseId, CaseKind, Claim, ClaimCommand, Complaint, ComplaintCommand, OrderFacts, Rejection, ReturnCase,
    ReturnCommand, ReturnLine, Survey,
};
use crate::read_model::{AfterSalesBook, CaseFilter, CaseRef};

/// Most lines one return may list.
const MAX_RETURN_LINES: usize = 100;

pub struct AfterSalesApi {
    runners: Runners,
}

type Answer<T> = Result<Response<T>, Status>;

impl AfterSalesApi {
    pub fn new(runners: Runners) -> Self {
        Self { runners }
    }

    /// Waits for the read model to reach the caller's `min_position` (0: none).
    async fn wait_for(&self, min_position: Position) -> Result<(), Status> {
        self.runners.returns.wait_for(min_position).await
    }

    fn now(&self) -> Timestamp {
        self.runners.returns.clock.now()
    }

    /// The order's facts, looking again once the model has caught up before refusing (it
    /// may simply be behind intake's or delivery's latest events).
    async fn order_facts(&self, scope: &Scope, order_id: &OrderId) -> Result<OrderFacts, Status> {
        let known = || self.runners.returns.model.read().order(order_id).cloned();
        let wants_more =
            |facts: &Option<OrderFacts>| facts.as_ref().is_none_or(|facts| facts.delivered_at.is_none());
        let mut facts = known();
        if wants_more(&facts) {
            self.runners.returns.wait_caught_up().await?;
            facts = known();
        }
        // Another customer's order is, to a customer, an order that does not exist.
        facts
            .filter(|facts| owns(scope, &facts.customer_id))
            .ok_or_else(|| Rejection::OrderNotFound(*order_id).into())
    }

    async fn run_return<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        id: CaseId,
        command: ReturnCommand,
    ) -> Result<(v1::ReturnCase, Position), Status> {
        self.decide_return(request, request_id, id, &Single(&command)).await
    }

    /// [`Self::run_return`] for a decision that reads more than the return.
    async fn decide_return<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        id: CaseId,
        decision: &impl Decision<ReturnCase, AfterSalesBook, Other = ReturnCase>,
    ) -> Result<(v1::ReturnCase, Position), Status> {
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.runners.returns.run_decision(id, decision, &meta).await?.outcome;
        Ok((return_to_wire(&outcome.state, outcome.position), outcome.position))
    }

    async fn run_claim<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        id: CaseId,
        command: ClaimCommand,
    ) -> Result<(v1::Claim, Position), Status> {
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.runners.claims.run(id, &command, &meta).await?;
        Ok((claim_to_wire(&outcome.state, outcome.position), outcome.position))
    }

    /// Separation of duties on a case's money (`duty`): nobody refunds a return or
    /// approves or pays a claim they opened, or one of the customer they act for.
    /// `case` reads who opened the case and whose it is from the model; a case the model
    /// does not know yet is looked for again once it has caught up (and if still unknown,
    /// the command answers NOT_FOUND as for anyone).
    async fn check_not_own_case<T>(
        &self,
        request: &Request<T>,
        duty: Duty,
        case: impl Fn(&crate::read_model::AfterSalesBook) -> Option<(Actor, String)>,
    ) -> Result<(), Status> {
        let context = context_of(request);
        self.wait_for(context.min_position).await?;
        let origin = || case(&self.runners.returns.model.read());
        let origin = match origin() {
            Some(origin) => Some(origin),
            None => {
                self.runners.returns.wait_caught_up().await?;
                origin()
            }
        };
        let Some((opened_by, customer_id)) = origin else { return Ok(()) };
        context.check_duty(duty, Origin { started_by: Some(&opened_by), customer_id: &customer_id })
    }

    /// Runs a claim's money decision through the order's ledger (see `ThroughLedger`).
    async fn run_claim_money<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        id: CaseId,
        money: ClaimMoney,
    ) -> Result<(v1::Claim, Position), Status> {
        if matches!(money, ClaimMoney::Approve { .. } | ClaimMoney::Pay) {
            self.check_not_own_case(request, Duty::ApproveClaim, |book| {
                book.claim(&id).map(|record| (record.opened_by.clone(), record.state.customer_id.clone()))
            })
            .await?;
        }
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.runners.claims.run_decision(id, &ThroughLedger(money), &meta).await?.outcome;
        Ok((claim_to_wire(&outcome.state, outcome.position), outcome.position))
    }

    async fn run_complaint<T>(
        &self,
        request: &Request<T>,
        request_id: String,
        id: CaseId,
        command: ComplaintCommand,
    ) -> Result<(v1::Complaint, Position), Status> {
        let meta = context_of(request).command_meta(request_id);
        let outcome = self.runners.complaints.run(id, &command, &meta).await?;
        Ok((complaint_to_wire(&outcome.state, outcome.position, self.now()), outcome.position))
    }
}

fn case_id(violations: &mut FieldViolations, field: &str, value: &str) -> Option<CaseId> {
    let parsed = CaseId::parse(value);
    if parsed.is_none() {
        violations.push(field, "expected a UUID");
    }
    parsed
}

/// The id of a case a command creates: the caller's, or derived from the request id.
fn new_case_id(
    violations: &mut FieldViolations,
    field: &str,
    value: &str,
    kind: CaseKind,
    request_id: &str,
) -> Option<CaseId> {
    if value.is_empty() { Some(CaseId::derived(kind, request_id)) } else { case_id(violations, field, value) }
}

/// Money that must be present, in a valid currency, and above zero.
fn positive_money(violations: &mut FieldViolations, field: &str, value: Option<&v1::Money>) -> Option<Money> {
    let money = convert::money(violations, field, value);
    if value.is_some_and(|value| value.amount_minor == 0) {
        violations.push(format!("{field}.amount_minor"), "must be above zero");
        return None;
    }
    money
}

/// The request id and case id every command on an existing case shares.
fn case_command_fields(request_id: &str, field: &str, id: &str) -> (FieldViolations, String, Option<CaseId>) {
    let (mut violations, request_id) = FieldViolations::for_command(request_id);
    let id = case_id(&mut violations, field, id);
    (violations, request_id, id)
}

fn page_token(violations: &mut FieldViolations, token: &str) -> Option<(CaseKind, CaseId)> {
    if token.is_empty() {
        return None;
    }
    let parsed = token.split_once(':').and_then(|(kind, id)| {
        let kind = [CaseKind::Return, CaseKind::Claim, CaseKind::Complaint]
            .into_iter()
            .find(|k| k.as_str() == kind)?;
        Some((kind, CaseId::parse(id)?))
    });
    if parsed.is_none() {
        violations.push("page_token", "is not a token this service handed out");
    }
    parsed
}

#[tonic::async_trait]
impl AfterSalesService for AfterSalesApi {
    async fn request_return(
        &self,
        request: Request<v1::RequestReturnRequest>,
    ) -> Answer<v1::RequestReturnResponse> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let return_id =
            new_case_id(&mut violations, "return_id", &body.return_id, CaseKind::Return, &request_id);
        let order_id = convert::order_id(&mut violations, "order_id", &body.order_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, true);
        if body.lines.is_empty() {
            violations.push("lines", "name at least one cargo line coming back");
        } else if body.lines.len() > MAX_RETURN_LINES {
            violations.push("lines", format!("at most {MAX_RETURN_LINES} lines"));
        }
        let lines: Vec<ReturnLine> = body
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                if line.quantity == 0 {
                    violations.push(format!("lines[{index}].quantity"), "must be at least 1");
                }
                ReturnLine {
                    cargo_index: line.cargo_index,
                    quantity: line.quantity,
                    description: String::new(),
                }
            })
            .collect();
        require(violations)?;
        let (return_id, order_id) = return_id.zip(order_id).ok_or_else(unreachable_field)?;
        let order = self.order_facts(&scope_of(&request), &order_id).await?;
        let command = ReturnCommand::Request { return_id, order: Some(order), reason, lines };
        let (case, position) = self.run_return(&request, request_id, return_id, command).await?;
        Ok(Response::new(v1::RequestReturnResponse { return_case: Some(case), position }))
    }

    async fn approve_return(
        &self,
        request: Request<v1::ApproveReturnRequest>,
    ) -> Answer<v1::ApproveReturnResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "return_id", &body.return_id);
        let note = convert::text(&mut violations, "note", &body.note, false);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        // The pickup goes from the order's consignee to its shipper: find the order, looking
        // again once the model has caught up if the return was requested a moment ago.
        let order_of_return = || {
            let book = self.runners.returns.model.read();
            book.return_case(&id).and_then(|record| book.order(&record.state.order_id).cloned())
        };
        let mut order = order_of_return();
        if order.is_none() {
            self.runners.returns.wait_caught_up().await?;
            order = order_of_return();
        }
        let (case, position) =
            self.run_return(&request, request_id, id, ReturnCommand::Approve { note, order }).await?;
        Ok(Response::new(v1::ApproveReturnResponse { return_case: Some(case), position }))
    }

    async fn reject_return(
        &self,
        request: Request<v1::RejectReturnRequest>,
    ) -> Answer<v1::RejectReturnResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "return_id", &body.return_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, true);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (case, position) =
            self.run_return(&request, request_id, id, ReturnCommand::Reject { reason }).await?;
        Ok(Response::new(v1::RejectReturnResponse { return_case: Some(case), position }))
    }

    async fn receive_return(
        &self,
        request: Request<v1::ReceiveReturnRequest>,
    ) -> Answer<v1::ReceiveReturnResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "return_id", &body.return_id);
        let note = convert::text(&mut violations, "note", &body.note, false);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        // The reverse pickup is read beside the case, as the runner reads the case.
        let receive = Completed(|book: &AfterSalesBook, id: &CaseId| ReturnCommand::Receive {
            note: note.clone(),
            picked_up_at: book.reverse_pickup(id),
        });
        let (case, position) = self.decide_return(&request, request_id, id, &receive).await?;
        Ok(Response::new(v1::ReceiveReturnResponse { return_case: Some(case), position }))
    }

    async fn refund_return(
        &self,
        request: Request<v1::RefundReturnRequest>,
    ) -> Answer<v1::RefundReturnResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "return_id", &body.return_id);
        let amount = positive_money(&mut violations, "amount", body.amount.as_ref());
        require(violations)?;
        let (id, amount) = id.zip(amount).ok_or_else(unreachable_field)?;
        self.check_not_own_case(&request, Duty::ApproveRefund, |book| {
            book.return_case(&id).map(|record| (record.opened_by.clone(), record.state.customer_id.clone()))
        })
        .await?;
        let meta = context_of(&request).command_meta(request_id);
        let outcome =
            self.runners.returns.run_decision(id, &ThroughLedger(Refund { amount }), &meta).await?.outcome;
        Ok(Response::new(v1::RefundReturnResponse {
            return_case: Some(return_to_wire(&outcome.state, outcome.position)),
            position: outcome.position,
        }))
    }

    async fn close_return(
        &self,
        request: Request<v1::CloseReturnRequest>,
    ) -> Answer<v1::CloseReturnResponse> {
        let body = request.get_ref();
        let (violations, request_id, id) =
            case_command_fields(&body.request_id, "return_id", &body.return_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (case, position) = self.run_return(&request, request_id, id, ReturnCommand::Close).await?;
        Ok(Response::new(v1::CloseReturnResponse { return_case: Some(case), position }))
    }

    async fn open_claim(&self, request: Request<v1::OpenClaimRequest>) -> Answer<v1::OpenClaimResponse> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let claim_id = new_case_id(&mut violations, "claim_id", &body.claim_id, CaseKind::Claim, &request_id);
        let order_id = convert::order_id(&mut violations, "order_id", &body.order_id);
        let kind = claim_kind_from_wire(body.kind);
        if kind.is_none() {
            violations.push("kind", "must be DAMAGED_PARTIAL, DAMAGED_TOTAL, LOST or OTHER");
        }
        let description = convert::text(&mut violations, "description", &body.description, true);
        require(violations)?;
        let ((claim_id, order_id), kind) = claim_id.zip(order_id).zip(kind).ok_or_else(unreachable_field)?;
        let order = self.order_facts(&scope_of(&request), &order_id).await?;
        let command = ClaimCommand::Open {
            claim_id,
            order: Some(order),
            kind,
            description,
            automatic: false,
            source_event_id: String::new(),
        };
        let (claim, position) = self.run_claim(&request, request_id, claim_id, command).await?;
        Ok(Response::new(v1::OpenClaimResponse { claim: Some(claim), position }))
    }

    async fn assess_claim(
        &self,
        request: Request<v1::AssessClaimRequest>,
    ) -> Answer<v1::AssessClaimResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "claim_id", &body.claim_id);
        let amount = convert::money(&mut violations, "amount", body.amount.as_ref());
        let note = convert::text(&mut violations, "note", &body.note, false);
        require(violations)?;
        let (id, amount) = id.zip(amount).ok_or_else(unreachable_field)?;
        let (claim, position) =
            self.run_claim(&request, request_id, id, ClaimCommand::Assess { amount, note }).await?;
        Ok(Response::new(v1::AssessClaimResponse { claim: Some(claim), position }))
    }

    async fn approve_claim(
        &self,
        request: Request<v1::ApproveClaimRequest>,
    ) -> Answer<v1::ApproveClaimResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "claim_id", &body.claim_id);
        let amount = positive_money(&mut violations, "amount", body.amount.as_ref());
        require(violations)?;
        let (id, amount) = id.zip(amount).ok_or_else(unreachable_field)?;
        // Through the order's ledger: the approval holds its amount against the declared value.
        let (claim, position) =
            self.run_claim_money(&request, request_id, id, ClaimMoney::Approve { amount }).await?;
        Ok(Response::new(v1::ApproveClaimResponse { claim: Some(claim), position }))
    }

    async fn pay_claim(&self, request: Request<v1::PayClaimRequest>) -> Answer<v1::PayClaimResponse> {
        let body = request.get_ref();
        let (violations, request_id, id) = case_command_fields(&body.request_id, "claim_id", &body.claim_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (claim, position) = self.run_claim_money(&request, request_id, id, ClaimMoney::Pay).await?;
        Ok(Response::new(v1::PayClaimResponse { claim: Some(claim), position }))
    }

    async fn reject_claim(
        &self,
        request: Request<v1::RejectClaimRequest>,
    ) -> Answer<v1::RejectClaimResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "claim_id", &body.claim_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, true);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        // Through the order's ledger: an approved claim's rejection frees what it held.
        let (claim, position) =
            self.run_claim_money(&request, request_id, id, ClaimMoney::Reject { reason }).await?;
        Ok(Response::new(v1::RejectClaimResponse { claim: Some(claim), position }))
    }

    async fn close_claim(&self, request: Request<v1::CloseClaimRequest>) -> Answer<v1::CloseClaimResponse> {
        let body = request.get_ref();
        let (violations, request_id, id) = case_command_fields(&body.request_id, "claim_id", &body.claim_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (claim, position) = self.run_claim(&request, request_id, id, ClaimCommand::Close).await?;
        Ok(Response::new(v1::CloseClaimResponse { claim: Some(claim), position }))
    }

    async fn file_complaint(
        &self,
        request: Request<v1::FileComplaintRequest>,
    ) -> Answer<v1::FileComplaintResponse> {
        let body = request.get_ref();
        let (mut violations, request_id) = FieldViolations::for_command(&body.request_id);
        let complaint_id = new_case_id(
            &mut violations,
            "complaint_id",
            &body.complaint_id,
            CaseKind::Complaint,
            &request_id,
        );
        let customer_id = convert::customer_id(&mut violations, "customer_id", &body.customer_id);
        if let (Some(own), Some(named)) = (scope_of(&request), &customer_id)
            && own != named.as_str()
        {
            return Err(Status::permission_denied(format!(
                "customer_id: a customer files complaints for itself only ({own})"
            )));
        }
        let order_id = if body.order_id.is_empty() {
            None
        } else {
            convert::order_id(&mut violations, "order_id", &body.order_id)
        };
        let category = category_from_wire(body.category);
        if category.is_none() {
            violations.push("category", "must be DELAY, DAMAGE, LOSS, STAFF_CONDUCT, BILLING_ERROR or OTHER");
        }
        let severity = severity_from_wire(body.severity);
        if severity.is_none() {
            violations.push("severity", "must be LOW, MEDIUM, HIGH or CRITICAL");
        }
        let description = convert::text(&mut violations, "description", &body.description, true);
        require(violations)?;
        let (((complaint_id, customer_id), category), severity) =
            complaint_id.zip(customer_id).zip(category).zip(severity).ok_or_else(unreachable_field)?;
        // A customer complains about its own orders only: another customer's order answers
        // NOT_FOUND exactly as one that does not exist, so order ids cannot be probed.
        let scope = scope_of(&request);
        if let (Some(_), Some(order_id)) = (&scope, &order_id) {
            self.order_facts(&scope, order_id).await?;
        }
        let command = ComplaintCommand::File {
            complaint_id,
            customer_id: customer_id.to_string(),
            order_id,
            category,
            severity,
            description,
        };
        let (complaint, position) = self.run_complaint(&request, request_id, complaint_id, command).await?;
        Ok(Response::new(v1::FileComplaintResponse { complaint: Some(complaint), position }))
    }

    async fn acknowledge_complaint(
        &self,
        request: Request<v1::AcknowledgeComplaintRequest>,
    ) -> Answer<v1::AcknowledgeComplaintResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "complaint_id", &body.complaint_id);
        let note = convert::text(&mut violations, "note", &body.note, false);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (complaint, position) =
            self.run_complaint(&request, request_id, id, ComplaintCommand::Acknowledge { note }).await?;
        Ok(Response::new(v1::AcknowledgeComplaintResponse { complaint: Some(complaint), position }))
    }

    async fn escalate_complaint(
        &self,
        request: Request<v1::EscalateComplaintRequest>,
    ) -> Answer<v1::EscalateComplaintResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "complaint_id", &body.complaint_id);
        let reason = convert::text(&mut violations, "reason", &body.reason, true);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (complaint, position) =
            self.run_complaint(&request, request_id, id, ComplaintCommand::Escalate { reason }).await?;
        Ok(Response::new(v1::EscalateComplaintResponse { complaint: Some(complaint), position }))
    }

    async fn resolve_complaint(
        &self,
        request: Request<v1::ResolveComplaintRequest>,
    ) -> Answer<v1::ResolveComplaintResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "complaint_id", &body.complaint_id);
        let resolution = convert::text(&mut violations, "resolution", &body.resolution, true);
        let compensation = body
            .compensation
            .as_ref()
            .and_then(|money| convert::money(&mut violations, "compensation", Some(money)));
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let command = ComplaintCommand::Resolve { resolution, compensation };
        let (complaint, position) = self.run_complaint(&request, request_id, id, command).await?;
        Ok(Response::new(v1::ResolveComplaintResponse { complaint: Some(complaint), position }))
    }

    async fn close_complaint(
        &self,
        request: Request<v1::CloseComplaintRequest>,
    ) -> Answer<v1::CloseComplaintResponse> {
        let body = request.get_ref();
        let (violations, request_id, id) =
            case_command_fields(&body.request_id, "complaint_id", &body.complaint_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        let (complaint, position) =
            self.run_complaint(&request, request_id, id, ComplaintCommand::Close).await?;
        Ok(Response::new(v1::CloseComplaintResponse { complaint: Some(complaint), position }))
    }

    async fn record_survey_response(
        &self,
        request: Request<v1::RecordSurveyResponseRequest>,
    ) -> Answer<v1::RecordSurveyResponseResponse> {
        let body = request.get_ref();
        let (mut violations, request_id, id) =
            case_command_fields(&body.request_id, "case_id", &body.case_id);
        let kind = case_kind_from_wire(body.case_kind);
        if kind.is_none() {
            violations.push("case_kind", "must be RETURN, CLAIM or COMPLAINT");
        }
        if !(1..=5).contains(&body.csat) {
            violations.push("csat", "must be between 1 and 5");
        }
        if body.nps > 10 {
            violations.push("nps", "must be between 0 and 10");
        }
        let comment = convert::text(&mut violations, "comment", &body.comment, false);
        require(violations)?;
        let (id, kind) = id.zip(kind).ok_or_else(unreachable_field)?;
        let scope = scope_of(&request);
        if scope.is_some() {
            let owned = || {
                let book = self.runners.returns.model.read();
                let customer = match kind {
                    CaseKind::Return => book.return_case(&id).map(|record| record.state.customer_id.clone()),
                    CaseKind::Claim => book.claim(&id).map(|record| record.state.customer_id.clone()),
                    CaseKind::Complaint => book.complaint(&id).map(|record| record.state.customer_id.clone()),
                };
                customer.is_some_and(|customer| owns(&scope, &customer))
            };
            // As intake and delivery do: look again once the model has caught up (a case
            // closed a moment ago) before refusing.
            if !owned() {
                self.runners.returns.wait_caught_up().await?;
                if !owned() {
                    return Err(Status::not_found(format!("case {id} not found")));
                }
            }
        }
        let (csat, nps) = (body.csat, body.nps);
        use v1::case::Case as Wire;
        let (case, position) = match kind {
            CaseKind::Return => {
                let command = ReturnCommand::AnswerSurvey { csat, nps, comment };
                let (case, position) = self.run_return(&request, request_id, id, command).await?;
                (Wire::ReturnCase(case), position)
            }
            CaseKind::Claim => {
                let command = ClaimCommand::AnswerSurvey { csat, nps, comment };
                let (claim, position) = self.run_claim(&request, request_id, id, command).await?;
                (Wire::Claim(claim), position)
            }
            CaseKind::Complaint => {
                let command = ComplaintCommand::AnswerSurvey { csat, nps, comment };
                let (complaint, position) = self.run_complaint(&request, request_id, id, command).await?;
                (Wire::Complaint(complaint), position)
            }
        };
        Ok(Response::new(v1::RecordSurveyResponseResponse {
            case: Some(v1::Case { case: Some(case) }),
            position,
        }))
    }

    async fn get_return(&self, request: Request<v1::GetReturnRequest>) -> Answer<v1::GetReturnResponse> {
        let scope = scope_of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let id = case_id(&mut violations, "return_id", &body.return_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        self.wait_for(body.min_position).await?;
        let book = self.runners.returns.model.read();
        let record = book
            .return_case(&id)
            .filter(|record| owns(&scope, &record.state.customer_id))
            .ok_or_else(|| Status::not_found(format!("return {id} not found")))?;
        Ok(Response::new(v1::GetReturnResponse {
            return_case: Some(return_to_wire(&record.state, record.version)),
        }))
    }

    async fn get_claim(&self, request: Request<v1::GetClaimRequest>) -> Answer<v1::GetClaimResponse> {
        let scope = scope_of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let id = case_id(&mut violations, "claim_id", &body.claim_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        self.wait_for(body.min_position).await?;
        let book = self.runners.returns.model.read();
        let record = book
            .claim(&id)
            .filter(|record| owns(&scope, &record.state.customer_id))
            .ok_or_else(|| Status::not_found(format!("claim {id} not found")))?;
        Ok(Response::new(v1::GetClaimResponse { claim: Some(claim_to_wire(&record.state, record.version)) }))
    }

    async fn get_complaint(
        &self,
        request: Request<v1::GetComplaintRequest>,
    ) -> Answer<v1::GetComplaintResponse> {
        let scope = scope_of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let id = case_id(&mut violations, "complaint_id", &body.complaint_id);
        require(violations)?;
        let id = id.ok_or_else(unreachable_field)?;
        self.wait_for(body.min_position).await?;
        let now = self.now();
        let book = self.runners.returns.model.read();
        let record = book
            .complaint(&id)
            .filter(|record| owns(&scope, &record.state.customer_id))
            .ok_or_else(|| Status::not_found(format!("complaint {id} not found")))?;
        Ok(Response::new(v1::GetComplaintResponse {
            complaint: Some(complaint_to_wire(&record.state, record.version, now)),
        }))
    }

    async fn list_cases(&self, request: Request<v1::ListCasesRequest>) -> Answer<v1::ListCasesResponse> {
        let scope = scope_of(&request);
        let body = request.into_inner();
        let mut violations = FieldViolations::new();
        let order_id = if body.order_id.is_empty() {
            None
        } else {
            convert::order_id(&mut violations, "order_id", &body.order_id)
        };
        let customer_id = if body.customer_id.is_empty() {
            None
        } else {
            convert::customer_id(&mut violations, "customer_id", &body.customer_id).map(|id| id.to_string())
        };
        // A customer lists its own cases, whatever the filter: another's id finds nothing.
        let customer_id = match (scope, customer_id) {
            (Some(own), Some(asked)) if asked != own => {
                return Ok(Response::new(v1::ListCasesResponse::default()));
            }
            (Some(own), _) => Some(own),
            (None, asked) => asked,
        };
        let kind = match body.kind {
            0 => None,
            value => {
                let kind = case_kind_from_wire(value);
                if kind.is_none() {
                    violations.push("kind", "unknown case kind");
                }
                kind
            }
        };
        let return_status = match v1::ReturnStatus::try_from(body.return_status) {
            Ok(_) => return_status_from_wire(body.return_status),
            Err(_) => {
                violations.push("return_status", "unknown return status");
                None
            }
        };
        let claim_status = match v1::ClaimStatus::try_from(body.claim_status) {
            Ok(_) => claim_status_from_wire(body.claim_status),
            Err(_) => {
                violations.push("claim_status", "unknown claim status");
                None
            }
        };
        let complaint_status = match v1::ComplaintStatus::try_from(body.complaint_status) {
            Ok(_) => complaint_status_from_wire(body.complaint_status),
            Err(_) => {
                violations.push("complaint_status", "unknown complaint status");
                None
            }
        };
        let page_size = convert::page_size(&mut violations, body.page_size);
        let after = page_token(&mut violations, &body.page_token);
        require(violations)?;
        self.wait_for(body.min_position).await?;
        let now = self.now();
        let filter = CaseFilter {
            order_id,
            customer_id,
            kind,
            return_status,
            claim_status,
            complaint_status,
            overdue_at: body.overdue_only.then_some(now),
        };
        let book = self.runners.returns.model.read();
        let (page, next) = book.list(&filter, after, page_size);
        let cases = page
            .into_iter()
            .map(|case| v1::Case {
                case: Some(match case {
                    CaseRef::Return(record) => {
                        v1::case::Case::ReturnCase(return_to_wire(&record.state, record.version))
                    }
                    CaseRef::Claim(record) => {
                        v1::case::Case::Claim(claim_to_wire(&record.state, record.version))
                    }
                    CaseRef::Complaint(record) => {
                        v1::case::Case::Complaint(complaint_to_wire(&record.state, record.version, now))
                    }
                }),
            })
            .collect();
        Ok(Response::new(v1::ListCasesResponse {
            cases,
            next_page_token: next.map(|(kind, id)| format!("{}:{id}", kind.as_str())).unwrap_or_default(),
        }))
    }
}

// ---------------------------------------------------------------------------
// Domain → wire
// ---------------------------------------------------------------------------

fn ts(value: Timestamp) -> Option<prost_types::Timestamp> {
    Some(convert::timestamp_to_wire(value))
}

fn money(value: &Option<Money>) -> Option<v1::Money> {
    value.as_ref().map(Into::into)
}

fn survey_to_wire(survey: &Option<Survey>) -> Option<v1::Survey> {
    survey.as_ref().map(|survey| {
        let answer = survey.answer.as_ref();
        v1::Survey {
            requested_at: ts(survey.requested_at),
            answered_at: answer.and_then(|answer| ts(answer.answered_at)),
            csat: answer.map_or(0, |answer| answer.csat),
            nps: answer.map_or(0, |answer| answer.nps),
            comment: answer.map(|answer| answer.comment.clone()).unwrap_or_default(),
        }
    })
}

pub fn return_to_wire(case: &ReturnCase, version: Position) -> v1::ReturnCase {
    v1::ReturnCase {
        return_id: case.id.to_string(),
        order_id: case.order_id.to_string(),
        customer_id: case.customer_id.clone(),
        status: return_status_to_wire(case.status).into(),
        reason: case.reason.clone(),
        lines: case.lines.iter().map(line_to_wire).collect(),
        delivered_at: ts(case.delivered_at),
        window_ends_at: ts(case.window_ends_at),
        refunded: money(&case.refunded),
        rejection_reason: case.rejection_reason.clone(),
        survey: survey_to_wire(&case.survey),
        requested_at: ts(case.requested_at),
        updated_at: ts(case.updated_at),
        version,
    }
}

pub fn claim_to_wire(claim: &Claim, version: Position) -> v1::Claim {
    v1::Claim {
        claim_id: claim.id.to_string(),
        order_id: claim.order_id.to_string(),
        customer_id: claim.customer_id.clone(),
        kind: claim_kind_to_wire(claim.kind).into(),
        status: claim_status_to_wire(claim.status).into(),
        description: claim.description.clone(),
        declared_value: money(&claim.declared_value),
        claimed: money(&claim.claimed),
        assessed: money(&claim.assessed),
        assessment_note: claim.assessment_note.clone(),
        approved: money(&claim.approved),
        paid: money(&claim.paid),
        rejection_reason: claim.rejection_reason.clone(),
        automatic: claim.automatic,
        survey: survey_to_wire(&claim.survey),
        opened_at: ts(claim.opened_at),
        updated_at: ts(claim.updated_at),
        version,
    }
}

pub fn complaint_to_wire(complaint: &Complaint, version: Position, now: Timestamp) -> v1::Complaint {
    v1::Complaint {
        complaint_id: complaint.id.to_string(),
        customer_id: complaint.customer_id.clone(),
        order_id: complaint.order_id.map(|id| id.to_string()).unwrap_or_default(),
        category: category_to_wire(complaint.category).into(),
        severity: severity_to_wire(complaint.severity).into(),
        status: complaint_status_to_wire(complaint.status).into(),
        description: complaint.description.clone(),
        filed_at: ts(complaint.filed_at),
        acknowledge_by: ts(complaint.acknowledge_by),
        resolve_by: ts(complaint.resolve_by),
        acknowledged_at: complaint.acknowledged_at.and_then(ts),
        resolved_at: complaint.resolved_at.and_then(ts),
        escalations: complaint
            .escalations
            .iter()
            .map(|escalation| v1::ComplaintEscalation {
                reason: escalation.reason.clone(),
                automatic: escalation.automatic,
                breach: escalation.breach.map_or(v1::SlaBreach::Unspecified, breach_to_wire).into(),
                at: ts(escalation.at),
                deadline: escalation.deadline.and_then(ts),
            })
            .collect(),
        resolution: complaint.resolution.clone(),
        compensation: money(&complaint.compensation),
        resolved_within_sla: complaint.resolved_within_sla,
        overdue: complaint.is_overdue(now),
        survey: survey_to_wire(&complaint.survey),
        updated_at: ts(complaint.updated_at),
        version,
    }
}

/// The one customer a caller acting only as a customer may reach (`None`: staff).
type Scope = Option<String>;

fn scope_of<T>(request: &Request<T>) -> Scope {
    context_of(request).identity.customer_scope().map(str::to_owned)
}

/// Whether a caller with `scope` may see an object of `customer_id`.
fn owns(scope: &Scope, customer_id: &str) -> bool {
    scope.as_deref().is_none_or(|own| own == customer_id)
}
