//! Running commands against the log.
//!
//! After-sales' aggregates on the shared command loop (`waybill_command`, whose docs
//! describe it): returns, claims and complaints as [`Decider`]s, and the order's
//! [`Ledger`], which money decisions write together with their case.
//!
//! A refund, a claim's approval, rejection or payment is a [`Decision`] over the case and
//! the order's ledger ([`Refund`], [`ApproveClaim`], [`RejectClaim`], [`PayClaim`]): both go
//! out in one atomic append, each subject with its own expected position, so two refunds
//! racing on one order cannot both be stored (the second finds the ledger moved on), and of
//! two approvals racing for the last of a declared value one is refused.

use uuid::Uuid;
use waybill_command::{Aggregate, CommandRunner, Context, Decided, Decider, Decision, EventMeta, Reads};
use waybill_eventlog::{NewEvent, subject};
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
    type Event = ReturnEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CaseId) -> String {
        return_subject(id)
    }

    fn evolve(state: Option<Self>, event: &ReturnEvent, at: Timestamp) -> Option<Self> {
        domain::evolve_return(state, event, at)
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

impl Decider for ReturnCase {
    type Command = ReturnCommand;

    fn decide(
        state: Option<&Self>,
        command: &ReturnCommand,
        context: &Context<'_, Policy>,
    ) -> Result<Vec<ReturnEvent>, Rejection> {
        domain::decide_return(state, command, context)
    }

    fn not_found(_id: &CaseId) -> Rejection {
        Rejection::CaseNotFound { kind: domain::CaseKind::Return }
    }
}

impl Aggregate for Claim {
    type Id = CaseId;
    type Event = ClaimEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CaseId) -> String {
        claim_subject(id)
    }

    fn evolve(state: Option<Self>, event: &ClaimEvent, at: Timestamp) -> Option<Self> {
        domain::evolve_claim(state, event, at)
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

impl Decider for Claim {
    type Command = ClaimCommand;

    fn decide(
        state: Option<&Self>,
        command: &ClaimCommand,
        context: &Context<'_, Policy>,
    ) -> Result<Vec<ClaimEvent>, Rejection> {
        domain::decide_claim(state, command, context)
    }

    fn not_found(_id: &CaseId) -> Rejection {
        Rejection::CaseNotFound { kind: domain::CaseKind::Claim }
    }
}

impl Aggregate for Complaint {
    type Id = CaseId;
    type Event = ComplaintEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(id: &CaseId) -> String {
        complaint_subject(id)
    }

    fn evolve(state: Option<Self>, event: &ComplaintEvent, at: Timestamp) -> Option<Self> {
        domain::evolve_complaint(state, event, at)
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

impl Decider for Complaint {
    type Command = ComplaintCommand;

    fn decide(
        state: Option<&Self>,
        command: &ComplaintCommand,
        context: &Context<'_, Policy>,
    ) -> Result<Vec<ComplaintEvent>, Rejection> {
        domain::decide_complaint(state, command, context)
    }

    fn not_found(_id: &CaseId) -> Rejection {
        Rejection::CaseNotFound { kind: domain::CaseKind::Complaint }
    }
}

/// An order's ledger (`waybill.aftersales.order.<order id>`): written only together with a
/// case, in the same atomic append, by the decisions below.
impl Aggregate for Ledger {
    type Id = OrderId;
    type Event = LedgerEvent;
    type Rejection = Rejection;
    type Policy = Policy;

    fn subject(order_id: &OrderId) -> String {
        ledger_subject(order_id)
    }

    fn evolve(state: Option<Self>, event: &LedgerEvent, at: Timestamp) -> Option<Self> {
        // A ledger's first event does not name its order (its subject does): the read model
        // folds it knowing the id; here a ledger not seen yet stays unknown.
        let order_id = state.as_ref()?.order_id;
        Some(domain::evolve_ledger(state, order_id, event, at))
    }

    fn encode(order_id: &OrderId, _state: Option<&Self>, event: &LedgerEvent, meta: &EventMeta) -> NewEvent {
        codec::encode_ledger(*order_id, event, meta)
    }

    fn decode(payload: &[u8]) -> Result<(EventMeta, LedgerEvent), String> {
        match decoded(payload)? {
            Decoded::Ledger { meta, event, .. } => Ok((meta, event)),
            _ => Err("not a ledger's event".to_owned()),
        }
    }
}

/// A case whose money goes through the order's ledger.
pub trait LedgerCase: Decider<Id = CaseId, Rejection = Rejection, Policy = Policy> {
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

/// What a ledger decision reads beside its case: the order's ledger, and the order's facts
/// (what was charged).
#[derive(Clone, Debug, Default)]
pub struct LedgerInput {
    pub ledger: Option<Ledger>,
    pub order: Option<OrderFacts>,
}

fn read_ledger<A: LedgerCase>(
    book: &AfterSalesBook,
    case: Option<&A>,
    reads: &mut Reads<Ledger>,
) -> LedgerInput {
    let Some(order_id) = case.map(LedgerCase::order_id) else {
        return LedgerInput::default();
    };
    let ledger = book.ledger(&order_id);
    reads.other(order_id, ledger.map_or(0, |record| record.version));
    LedgerInput { ledger: ledger.map(|record| record.state.clone()), order: book.order(&order_id).cloned() }
}

/// The case's events and its order's ledger's, to be written together.
fn with_ledger<A: LedgerCase>(
    case: Option<&A>,
    (case_events, ledger_events): (Vec<A::Event>, Vec<LedgerEvent>),
) -> Decided<A, Ledger> {
    // The ledger deciders reject a case that does not exist, so `case` is there.
    let others = match case {
        Some(case) => ledger_events.into_iter().map(|event| (case.order_id(), event)).collect(),
        None => Vec::new(),
    };
    Decided { events: case_events, others }
}

/// Refunds `amount` on a received return, within what is left of the order's charge.
pub struct Refund {
    pub amount: Money,
}

impl Decision<ReturnCase, AfterSalesBook> for Refund {
    type Other = Ledger;
    type Input = LedgerInput;

    fn read(
        &self,
        book: &AfterSalesBook,
        _id: &CaseId,
        case: Option<&ReturnCase>,
        reads: &mut Reads<Ledger>,
    ) -> LedgerInput {
        read_ledger(book, case, reads)
    }

    fn decide(
        &self,
        case: Option<&ReturnCase>,
        input: &LedgerInput,
        context: &Context<'_, Policy>,
    ) -> Result<Decided<ReturnCase, Ledger>, Rejection> {
        let charged = input.order.as_ref().and_then(|order| order.charged);
        domain::decide_refund(case, input.ledger.as_ref(), self.amount, charged, context)
            .map(|decided| with_ledger(case, decided))
    }

    fn not_found(&self, id: &CaseId) -> Rejection {
        ReturnCase::not_found(id)
    }
}

/// A claim's decisions that go through the order's ledger.
pub enum ClaimMoney {
    /// Approves `amount`, within what is left of the order's declared value after its
    /// payments and other approvals (held on the ledger until paid or rejected).
    Approve { amount: Money },
    /// Rejects the claim; one approved earlier frees what it held of the declared value.
    Reject { reason: String },
    /// Pays the approved amount, within what is left of the order's declared value.
    Pay,
}

impl Decision<Claim, AfterSalesBook> for ClaimMoney {
    type Other = Ledger;
    type Input = LedgerInput;

    fn read(
        &self,
        book: &AfterSalesBook,
        _id: &CaseId,
        claim: Option<&Claim>,
        reads: &mut Reads<Ledger>,
    ) -> LedgerInput {
        read_ledger(book, claim, reads)
    }

    fn decide(
        &self,
        claim: Option<&Claim>,
        input: &LedgerInput,
        context: &Context<'_, Policy>,
    ) -> Result<Decided<Claim, Ledger>, Rejection> {
        let ledger = input.ledger.as_ref();
        let decided = match self {
            ClaimMoney::Approve { amount } => domain::decide_claim_approval(claim, ledger, *amount, context),
            ClaimMoney::Reject { reason } => {
                domain::decide_claim_rejection(claim, ledger, reason.clone(), context)
            }
            ClaimMoney::Pay => domain::decide_claim_payment(claim, ledger, context),
        }?;
        Ok(with_ledger(claim, decided))
    }

    fn not_found(&self, id: &CaseId) -> Rejection {
        Claim::not_found(id)
    }
}

/// The runners of every after-sales aggregate, sharing one log, model, policy and clock.
#[derive(Clone)]
pub struct Runners {
    pub returns: ReturnRunner,
    pub claims: ClaimRunner,
    pub complaints: ComplaintRunner,
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
        Runners { returns, claims, complaints }
    }
}
