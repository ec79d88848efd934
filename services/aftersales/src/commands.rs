//! Running commands against the log.
//!
//! Returns, claims and complaints go through the shared command loop (`waybill_command`,
//! whose docs describe it) as [`Aggregate`]s. A refund, a claim's approval, rejection or
//! payment also writes to (or is checked against) the order's ledger, so it runs through
//! [`LedgerRunner`], the same loop over two
//! aggregates (like dispatch's `TaskRunner`):
//!
//! 1. A retried request finds the case event it caused in the read model, confirmed
//!    against the log, and gets the same answer; nothing is written twice.
//! 2. The decision is taken on the case and the order's ledger as the read model has them
//!    (and the order's charge or declared value).
//! 3. The case's events and the ledger's go out in ONE atomic append
//!    (`EventLog::append_atomic`), each subject with its own expected position, with the
//!    `Nats-Msg-Id`s from `<case id>:<request id>`. Two refunds racing on one order cannot
//!    both be stored: the second finds the ledger's subject moved on.
//! 4. A lost race (or a rejection decided on state that turns out stale) makes the read
//!    model catch up and the loop decide again, up to [`MAX_LEDGER_ATTEMPTS`]; then ABORTED.

use std::time::Duration;

use uuid::Uuid;
use waybill_command::{Aggregate, AggregateStore, CommandRunner, EventMeta, Outcome, fold_until};
use waybill_eventlog::{AggregateAppend, AppendError, NewEvent, Position, subject};
use waybill_types::{Money, OrderId, Timestamp};

use crate::codec::{self, Decoded};
use crate::domain::{
    self, CaseId, Claim, ClaimCommand, ClaimEvent, Complaint, ComplaintCommand, ComplaintEvent, Ledger,
    LedgerEvent, OrderFacts, Policy, Rejection, ReturnCase, ReturnCommand, ReturnEvent,
};
use crate::read_model::AfterSalesBook;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type ReturnRunner = CommandRunner<ReturnCase, AfterSalesBook>;
pub type ClaimRunner = CommandRunner<Claim, AfterSalesBook>;
pub type ComplaintRunner = CommandRunner<Complaint, AfterSalesBook>;
pub type CommandError = waybill_command::CommandError<Rejection>;

/// How many times a ledger command is decided again after losing a race.
pub const MAX_LEDGER_ATTEMPTS: usize = 8;

pub fn return_subject(id: &CaseId) -> String {
    subject::aggregate("aftersales", "return", &id.to_string())
}

pub fn claim_subject(id: &CaseId) -> String {
    subject::aggregate("aftersales", "claim", &id.to_string())
}

pub fn complaint_subject(id: &CaseId) -> String {
    subject::aggregate("aftersales", "complaint", &id.to_string())
}

pub fn ledger_subject(order_id: &OrderId) -> String {
    subject::aggregate("aftersales", "order", &order_id.to_string())
}

fn decoded(payload: &[u8]) -> Result<Decoded, String> {
    codec::decode(payload).map_err(|error| error.to_string())
}

impl Aggregate for ReturnCase {
    type Id = CaseId;
    type Command = ReturnCommand;
    type Event = ReturnEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CaseId) -> String {
        return_subject(id)
    }

    fn decide(
        state: Option<&Self>,
        command: &ReturnCommand,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Vec<ReturnEvent>, Rejection> {
        domain::decide_return(state, command, now, policy)
    }

    fn evolve(state: Option<Self>, event: &ReturnEvent, at: Timestamp) -> Option<Self> {
        domain::evolve_return(state, event, at)
    }

    fn not_found(_id: &CaseId) -> Rejection {
        Rejection::CaseNotFound { kind: domain::CaseKind::Return }
    }

    fn encode(id: &CaseId, state: Option<&Self>, event: &ReturnEvent, meta: &EventMeta) -> NewEvent {
        let order_id = match (state, event) {
            (Some(state), _) => state.order_id,
            (None, ReturnEvent::Requested { order_id, .. }) => *order_id,
            (None, _) => OrderId(Uuid::nil()),
        };
        codec::encode_return(*id, order_id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, ReturnEvent), String> {
        match decoded(payload)? {
            Decoded::Return { meta, event, .. } => Ok((meta, event)),
            _ => Err("not a return's event".to_owned()),
        }
    }
}

impl Aggregate for Claim {
    type Id = CaseId;
    type Command = ClaimCommand;
    type Event = ClaimEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CaseId) -> String {
        claim_subject(id)
    }

    fn decide(
        state: Option<&Self>,
        command: &ClaimCommand,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Vec<ClaimEvent>, Rejection> {
        domain::decide_claim(state, command, now, policy)
    }

    fn evolve(state: Option<Self>, event: &ClaimEvent, at: Timestamp) -> Option<Self> {
        domain::evolve_claim(state, event, at)
    }

    fn not_found(_id: &CaseId) -> Rejection {
        Rejection::CaseNotFound { kind: domain::CaseKind::Claim }
    }

    fn encode(id: &CaseId, state: Option<&Self>, event: &ClaimEvent, meta: &EventMeta) -> NewEvent {
        let order_id = match (state, event) {
            (Some(state), _) => state.order_id,
            (None, ClaimEvent::Opened { order_id, .. }) => *order_id,
            (None, _) => OrderId(Uuid::nil()),
        };
        codec::encode_claim(*id, order_id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, ClaimEvent), String> {
        match decoded(payload)? {
            Decoded::Claim { meta, event, .. } => Ok((meta, event)),
            _ => Err("not a claim's event".to_owned()),
        }
    }
}

impl Aggregate for Complaint {
    type Id = CaseId;
    type Command = ComplaintCommand;
    type Event = ComplaintEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CaseId) -> String {
        complaint_subject(id)
    }

    fn decide(
        state: Option<&Self>,
        command: &ComplaintCommand,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Vec<ComplaintEvent>, Rejection> {
        domain::decide_complaint(state, command, now, policy)
    }

    fn evolve(state: Option<Self>, event: &ComplaintEvent, at: Timestamp) -> Option<Self> {
        domain::evolve_complaint(state, event, at)
    }

    fn not_found(_id: &CaseId) -> Rejection {
        Rejection::CaseNotFound { kind: domain::CaseKind::Complaint }
    }

    fn encode(id: &CaseId, state: Option<&Self>, event: &ComplaintEvent, meta: &EventMeta) -> NewEvent {
        let order_id = match (state, event) {
            (Some(state), _) => state.order_id,
            (None, ComplaintEvent::Filed { order_id, .. }) => *order_id,
            (None, _) => None,
        };
        codec::encode_complaint(*id, order_id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, ComplaintEvent), String> {
        match decoded(payload)? {
            Decoded::Complaint { meta, event, .. } => Ok((meta, event)),
            _ => Err("not a complaint's event".to_owned()),
        }
    }
}

/// A case whose money goes through the order's ledger.
pub trait LedgerCase: Aggregate<Id = CaseId, Rejection = Rejection> {
    fn order_id(&self) -> OrderId;
}

impl LedgerCase for ReturnCase {
    fn order_id(&self) -> OrderId {
        self.order_id
    }
}

impl LedgerCase for Claim {
    fn order_id(&self) -> OrderId {
        self.order_id
    }
}

/// Refunds and claim payments: the two-aggregate command loop (see the module docs).
#[derive(Clone)]
pub struct LedgerRunner {
    pub returns: ReturnRunner,
    pub claims: ClaimRunner,
}

/// What a decision was taken on.
struct Snapshot<A> {
    case: Option<A>,
    version: Position,
    ledger: Option<Ledger>,
    ledger_version: Position,
    order: Option<OrderFacts>,
}

impl<A> Snapshot<A> {
    fn versions(&self) -> (Position, Position) {
        (self.version, self.ledger_version)
    }
}

type LedgerResult<T> = Result<T, CommandError>;

impl LedgerRunner {
    /// Refunds `amount` on a received return, within what is left of the order's charge.
    pub async fn refund(
        &self,
        return_id: CaseId,
        amount: Money,
        meta: &CommandMeta,
    ) -> LedgerResult<Outcome<ReturnCase>> {
        run_with_ledger(&self.returns, return_id, meta, |case, ledger, order| {
            domain::decide_refund(case, ledger, amount, order.and_then(|order| order.charged))
        })
        .await
    }

    /// Approves `amount` on a claim, within what is left of the order's declared value after
    /// its payments and other approvals (held on the ledger until paid or rejected).
    pub async fn approve_claim(
        &self,
        claim_id: CaseId,
        amount: Money,
        meta: &CommandMeta,
    ) -> LedgerResult<Outcome<Claim>> {
        let (now, policy) = (self.claims.clock.now(), self.claims.policy.clone());
        run_with_ledger(&self.claims, claim_id, meta, |case, ledger, _order| {
            domain::decide_claim_approval(case, ledger, amount, now, &policy)
        })
        .await
    }

    /// Rejects a claim; one approved earlier frees what it held of the declared value.
    pub async fn reject_claim(
        &self,
        claim_id: CaseId,
        reason: String,
        meta: &CommandMeta,
    ) -> LedgerResult<Outcome<Claim>> {
        let (now, policy) = (self.claims.clock.now(), self.claims.policy.clone());
        run_with_ledger(&self.claims, claim_id, meta, |case, ledger, _order| {
            domain::decide_claim_rejection(case, ledger, reason.clone(), now, &policy)
        })
        .await
    }

    /// Pays an approved claim, within what is left of the order's declared value.
    pub async fn pay_claim(&self, claim_id: CaseId, meta: &CommandMeta) -> LedgerResult<Outcome<Claim>> {
        run_with_ledger(&self.claims, claim_id, meta, |case, ledger, _order| {
            domain::decide_claim_payment(case, ledger)
        })
        .await
    }
}

fn snapshot<A: LedgerCase>(runner: &CommandRunner<A, AfterSalesBook>, id: &CaseId) -> Snapshot<A>
where
    AfterSalesBook: AggregateStore<A>,
{
    let book = runner.model.read();
    let (case, version) = match AggregateStore::<A>::current(&*book, id) {
        Some((case, version)) => (Some(case), version),
        None => (None, 0),
    };
    let order_id = case.as_ref().map(LedgerCase::order_id);
    let ledger = order_id.and_then(|order_id| book.ledger(&order_id));
    Snapshot {
        ledger: ledger.map(|record| record.state.clone()),
        ledger_version: ledger.map_or(0, |record| record.version),
        order: order_id.and_then(|order_id| book.order(&order_id).cloned()),
        case,
        version,
    }
}

/// A short pause before deciding again, with a random part so that requests that collided
/// do not collide again in step.
fn retry_pause(attempt: usize) -> Duration {
    let random = u64::from(Uuid::now_v7().as_u128().to_le_bytes()[0] % 8);
    let attempt = u64::try_from(attempt).unwrap_or(u64::MAX);
    Duration::from_millis(2 + random.saturating_mul(attempt.saturating_add(1)))
}

async fn run_with_ledger<A, D>(
    runner: &CommandRunner<A, AfterSalesBook>,
    id: CaseId,
    meta: &CommandMeta,
    decide: D,
) -> LedgerResult<Outcome<A>>
where
    A: LedgerCase,
    AfterSalesBook: AggregateStore<A>,
    D: Fn(
        Option<&A>,
        Option<&Ledger>,
        Option<&OrderFacts>,
    ) -> Result<(Vec<A::Event>, Vec<LedgerEvent>), Rejection>,
{
    runner.wait_for_callers_position(meta).await?;
    for attempt in 0..MAX_LEDGER_ATTEMPTS {
        if let Some(outcome) = already_done(runner, &id, &meta.request_id).await? {
            return Ok(outcome);
        }
        let taken = snapshot(runner, &id);
        let (case_events, ledger_events) =
            match decide(taken.case.as_ref(), taken.ledger.as_ref(), taken.order.as_ref()) {
                Ok(decision) => decision,
                Err(rejection) => {
                    // Only reject on the latest state: if what we decided on moved, decide again.
                    runner.model.wait_caught_up(runner.wait_timeout).await?;
                    if snapshot(runner, &id).versions() == taken.versions() {
                        return Err(CommandError::Rejected(rejection));
                    }
                    continue;
                }
            };
        let Some(case) = taken.case.clone() else {
            // Not found on the log as it is now, not only in a model that lags.
            runner.model.wait_caught_up(runner.wait_timeout).await?;
            if snapshot(runner, &id).versions() == taken.versions() {
                return Err(CommandError::Rejected(A::not_found(&id)));
            }
            continue;
        };
        let now = runner.clock.now();
        let event_meta = || EventMeta {
            event_id: Uuid::now_v7(),
            occurred_at: now,
            causation_id: meta.request_id.clone(),
            correlation_id: meta.correlation_id.clone(),
            actor: meta.actor.clone(),
        };
        let mut folded = Some(case.clone());
        let mut encoded_case = Vec::with_capacity(case_events.len());
        for event in &case_events {
            encoded_case.push(A::encode(&id, folded.as_ref(), event, &event_meta()));
            folded = A::evolve(folded, event, now);
        }
        let order_id = case.order_id();
        let encoded_ledger: Vec<NewEvent> =
            ledger_events.iter().map(|event| codec::encode_ledger(order_id, event, &event_meta())).collect();
        let case_subject = A::subject(&id);
        let ledger_subject = ledger_subject(&order_id);
        let writes = [
            AggregateAppend { subject: &case_subject, expected: Some(taken.version), events: &encoded_case },
            AggregateAppend {
                subject: &ledger_subject,
                expected: Some(taken.ledger_version),
                events: &encoded_ledger,
            },
        ];
        let idempotency_key = format!("{id}:{}", meta.request_id);
        match runner.log.append_atomic(&writes, &idempotency_key).await {
            Ok(appended) if appended.duplicate => {
                // An earlier attempt of this request got there first: answer as it would have.
                if let Some(outcome) = fold_until::<A>(runner.history(&id).await?, appended.last) {
                    return Ok(outcome);
                }
            }
            Ok(appended) => {
                let state = folded.ok_or_else(|| {
                    CommandError::Log(format!("decided events do not build {case_subject}"))
                })?;
                return Ok(Outcome { state, position: appended.last });
            }
            Err(AppendError::Conflict { .. }) => {
                tracing::debug!(%id, "lost a race on a case or its ledger, catching up");
                runner.model.wait_caught_up(runner.wait_timeout).await?;
            }
            Err(error) => return Err(CommandError::from_append(error)),
        }
        tokio::time::sleep(retry_pause(attempt)).await;
    }
    Err(CommandError::Aborted { aggregate: A::subject(&id), attempts: MAX_LEDGER_ATTEMPTS })
}

/// The answer a repeated request gets, if this request already wrote to the case: the case
/// as it was right after, and the position of the batch's last event (the ledger's).
async fn already_done<A>(
    runner: &CommandRunner<A, AfterSalesBook>,
    id: &CaseId,
    request_id: &str,
) -> LedgerResult<Option<Outcome<A>>>
where
    A: LedgerCase,
    AfterSalesBook: AggregateStore<A>,
{
    let Some(position) = AggregateStore::<A>::position_caused_by(&*runner.model.read(), id, request_id)
    else {
        return Ok(None);
    };
    let history = runner.history(id).await?;
    let confirmed = history.iter().any(|(at, meta, _)| *at == position && meta.causation_id == request_id);
    if !confirmed {
        return Ok(None);
    }
    let ledger_position = {
        let book = runner.model.read();
        AggregateStore::<A>::current(&*book, id)
            .and_then(|(case, _)| {
                book.ledger(&case.order_id()).map(|ledger| (ledger.causes.clone(), case.order_id()))
            })
            .and_then(|(causes, _)| {
                let hash = crate::read_model::causation_hash(request_id);
                causes.iter().rev().find(|cause| cause.causation_hash == hash).map(|cause| cause.position)
            })
            .unwrap_or_default()
    };
    Ok(fold_until::<A>(history, position)
        .map(|outcome| Outcome { position: position.max(ledger_position), ..outcome }))
}

/// The runners of every after-sales aggregate, sharing one log, model, policy and clock.
#[derive(Clone)]
pub struct Runners {
    pub returns: ReturnRunner,
    pub claims: ClaimRunner,
    pub complaints: ComplaintRunner,
    pub ledger: LedgerRunner,
}

impl Runners {
    pub fn new(
        log: waybill_eventlog::EventLog,
        book: waybill_eventlog::Projector<AfterSalesBook>,
        settings: &waybill_runtime::Settings<Policy>,
    ) -> Self {
        let policy = std::sync::Arc::new(settings.policy.clone());
        macro_rules! runner {
            () => {
                waybill_command::CommandRunner {
                    log: log.clone(),
                    model: book.clone(),
                    policy: policy.clone(),
                    clock: settings.clock.clone(),
                    wait_timeout: settings.wait_timeout,
                }
            };
        }
        let returns: ReturnRunner = runner!();
        let claims: ClaimRunner = runner!();
        let complaints: ComplaintRunner = runner!();
        let ledger = LedgerRunner { returns: returns.clone(), claims: claims.clone() };
        Runners { returns, claims, complaints, ledger }
    }
}
