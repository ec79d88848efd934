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
use waybill_command::{Aggregate, CommandRunner, Decided, Decider, Decision, Primary, Reads};
use waybill_types::{Money, OrderId};

use crate::codec::{self, Decoded};
use crate::domain::{
    self, CaseId, CaseKind, Claim, ClaimCommand, ClaimEvent, Complaint, ComplaintCommand, ComplaintEvent,
    Context, Ledger, LedgerEvent, OrderFacts, Policy, Rejection, ReturnCase, ReturnCommand, ReturnEvent,
};
use crate::read_model::AfterSalesBook;

pub use waybill_command::{Clock, CommandMeta, SystemClock};

pub type ReturnRunner = CommandRunner<ReturnCase, AfterSalesBook>;
pub type ClaimRunner = CommandRunner<Claim, AfterSalesBook>;
pub type ComplaintRunner = CommandRunner<Complaint, AfterSalesBook>;
pub type CommandError = waybill_command::CommandError<Rejection>;

waybill_command::aggregate! {
    ReturnCase("aftersales", "return"): CaseId => ReturnEvent, Rejection, Policy;
    order: |_, case| case.map(|case| case.order_id.to_string());
    evolve: domain::evolve_return;
    // A case's first event names its order; the case keeps it.
    encode: |id, state, event, meta| {
        let first = match event { ReturnEvent::Requested { order_id, .. } => Some(*order_id), _ => None };
        let order_id = state.map(|case| case.order_id).or(first).unwrap_or(OrderId(Uuid::nil()));
        codec::encode_return(*id, order_id, event, meta)
    };
    decode: codec::decode => |decoded| match decoded {
        Decoded::Return { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
    decide: ReturnCommand => domain::decide_return;
    not_found: |_| Rejection::CaseNotFound { kind: CaseKind::Return };
}

waybill_command::aggregate! {
    Claim("aftersales", "claim"): CaseId => ClaimEvent, Rejection, Policy;
    order: |_, case| case.map(|case| case.order_id.to_string());
    evolve: domain::evolve_claim;
    // A case's first event names its order; the case keeps it.
    encode: |id, state, event, meta| {
        let first = match event { ClaimEvent::Opened { order_id, .. } => Some(*order_id), _ => None };
        let order_id = state.map(|case| case.order_id).or(first).unwrap_or(OrderId(Uuid::nil()));
        codec::encode_claim(*id, order_id, event, meta)
    };
    decode: codec::decode => |decoded| match decoded {
        Decoded::Claim { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
    decide: ClaimCommand => domain::decide_claim;
    not_found: |_| Rejection::CaseNotFound { kind: CaseKind::Claim };
}

waybill_command::aggregate! {
    Complaint("aftersales", "complaint"): CaseId => ComplaintEvent, Rejection, Policy;
    // A complaint about no order has no order token.
    order: |_, case| case.and_then(|case| case.order_id).map(|order_id| order_id.to_string());
    evolve: domain::evolve_complaint;
    // A case's first event names its order; the case keeps it.
    encode: |id, state, event, meta| {
        let first = match event { ComplaintEvent::Filed { order_id, .. } => Some(*order_id), _ => None };
        let order_id = state.map(|case| case.order_id).or(first).flatten();
        codec::encode_complaint(*id, order_id, event, meta)
    };
    decode: codec::decode => |decoded| match decoded {
        Decoded::Complaint { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
    decide: ComplaintCommand => domain::decide_complaint;
    not_found: |_| Rejection::CaseNotFound { kind: CaseKind::Complaint };
}

waybill_command::aggregate! {
    /// An order's ledger (`waybill.aftersales.order.<order id>.<order id>`): written only together
    /// with a case, in the same atomic append, by the decisions below.
    Ledger("aftersales", "order"): OrderId => LedgerEvent, Rejection, Policy;
    order: waybill_command::declare::the_order;
    // A ledger's first event does not name its order (its subject does): the read model
    // folds it knowing the id; here a ledger not seen yet stays unknown.
    evolve: |state, event, at| {
        let order_id = state.as_ref()?.order_id;
        Some(domain::evolve_ledger(state, order_id, event, at))
    };
    encode: |order_id, _, event, meta| codec::encode_ledger(*order_id, event, meta);
    decode: codec::decode => |decoded| match decoded {
        Decoded::Ledger { meta, event, .. } => Some((meta, event)),
        _ => None,
    };
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

/// A decision on a case that moves money on its order's ledger: given the ledger and the
/// order's facts, the case's events and the ledger's.
pub trait LedgerDecision<A: LedgerCase>: Send + Sync {
    fn decide(&self, case: Option<&A>, input: &LedgerInput, context: &Context<'_>) -> LedgerDecided<A>;
}

/// The case's events and its ledger's, or why not.
pub type LedgerDecided<A> = Result<(Vec<<A as Aggregate>::Event>, Vec<LedgerEvent>), Rejection>;

/// A [`LedgerDecision`] as the shared command loop runs it: reading the case's ledger,
/// and writing the case and the ledger in one append.
pub struct ThroughLedger<D>(pub D);

impl<A: LedgerCase, D: LedgerDecision<A>> Decision<A, AfterSalesBook> for ThroughLedger<D> {
    type Other = Ledger;
    type Input = LedgerInput;

    fn read(&self, book: &AfterSalesBook, case: Primary<'_, A>, reads: &mut Reads<Ledger>) -> LedgerInput {
        let Some(order_id) = case.state.map(LedgerCase::order_id) else {
            return LedgerInput::default();
        };
        let ledger = book.ledger(&order_id);
        reads.other(order_id, ledger.map_or(0, |record| record.version));
        LedgerInput {
            ledger: ledger.map(|record| record.state.clone()),
            order: book.order(&order_id).cloned(),
        }
    }

    fn decide(
        &self,
        case: Option<&A>,
        input: &LedgerInput,
        context: &Context<'_>,
    ) -> Result<Decided<A, Ledger>, Rejection> {
        let (events, ledger_events) = self.0.decide(case, input, context)?;
        // The ledger deciders reject a case that does not exist, so `case` is there.
        let others = match case {
            Some(case) => ledger_events.into_iter().map(|event| (case.order_id(), event)).collect(),
            None => Vec::new(),
        };
        Ok(Decided { events, others })
    }

    fn not_found(&self, id: &CaseId) -> Rejection {
        A::not_found(id)
    }
}

/// Refunds `amount` on a received return, within what is left of the order's charge.
pub struct Refund {
    pub amount: Money,
}

impl LedgerDecision<ReturnCase> for Refund {
    fn decide(
        &self,
        case: Option<&ReturnCase>,
        input: &LedgerInput,
        context: &Context<'_>,
    ) -> LedgerDecided<ReturnCase> {
        let charged = input.order.as_ref().and_then(|order| order.charged);
        domain::decide_refund(case, input.ledger.as_ref(), self.amount, charged, context)
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

impl LedgerDecision<Claim> for ClaimMoney {
    fn decide(
        &self,
        claim: Option<&Claim>,
        input: &LedgerInput,
        context: &Context<'_>,
    ) -> LedgerDecided<Claim> {
        let ledger = input.ledger.as_ref();
        match self {
            ClaimMoney::Approve { amount } => domain::decide_claim_approval(claim, ledger, *amount, context),
            ClaimMoney::Reject { reason } => {
                domain::decide_claim_rejection(claim, ledger, reason.clone(), context)
            }
            ClaimMoney::Pay => domain::decide_claim_payment(claim, ledger, context),
        }
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
                    clock_skew: settings.clock_skew,
                }
            };
        }
        let returns: ReturnRunner = runner!();
        let claims: ClaimRunner = runner!();
        let complaints: ComplaintRunner = runner!();
        Runners { returns, claims, complaints }
    }
}
