//! A complaint, with its service-level clock.
//!
//! ```text
//! file ─► Filed ─acknowledge─► Acknowledged ─resolve─► Resolved ─close─► Closed
//!           └──────escalate (by hand or by the SLA clock)──► Escalated ─resolve─►
//! ```
//!
//! - **File**: the deadlines come from the severity ([`Policy::deadlines`]) and travel in
//!   `ComplaintFiled`, so every replica's clock watches the same instants.
//! - **Acknowledge** once, while open (filed or escalated); records whether it was on time.
//! - **Escalate** by hand while open (filed, acknowledged, escalated), with a reason.
//! - **SlaEscalate** (the SLA clock) for a missed deadline: an automatic escalation once
//!   per breach, only while the deadline is still unmet and has passed; otherwise nothing.
//!   So replicas ticking together write one escalation between them.
//! - **Resolve** while open: resolution, optional compensation, on time or not; an
//!   acknowledgement never before the filing, a resolution never before the complaint's latest
//!   event (beyond the clock skew, `waybill_command::time`).
//! - **Close** (resolved) writes `Closed` and `SurveyRequested`.

use waybill_types::{Money, OrderId, Timestamp};

use super::case::{answer_survey, require};
use super::{CaseEvent, CaseId, CaseKind, CaseStatus, Context, Rejection, Survey};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComplaintCategory {
    Delay,
    Damage,
    Loss,
    StaffConduct,
    BillingError,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComplaintStatus {
    Filed,
    Acknowledged,
    Escalated,
    Resolved,
    Closed,
}

impl CaseStatus for ComplaintStatus {
    const KIND: CaseKind = CaseKind::Complaint;

    fn as_str(&self) -> &'static str {
        match self {
            ComplaintStatus::Filed => "filed",
            ComplaintStatus::Acknowledged => "acknowledged",
            ComplaintStatus::Escalated => "escalated",
            ComplaintStatus::Resolved => "resolved",
            ComplaintStatus::Closed => "closed",
        }
    }
}

impl ComplaintStatus {
    /// An open complaint's statuses: filed, acknowledged or escalated, not resolved yet.
    pub const OPEN: [ComplaintStatus; 3] =
        [ComplaintStatus::Filed, ComplaintStatus::Acknowledged, ComplaintStatus::Escalated];

    /// True until resolved.
    pub fn is_open(&self) -> bool {
        Self::OPEN.contains(self)
    }
}

/// Which deadline was missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SlaBreach {
    Acknowledge,
    Resolve,
}

impl SlaBreach {
    pub fn as_str(&self) -> &'static str {
        match self {
            SlaBreach::Acknowledge => "acknowledge",
            SlaBreach::Resolve => "resolve",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Escalation {
    pub reason: String,
    pub automatic: bool,
    pub breach: Option<SlaBreach>,
    pub deadline: Option<Timestamp>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complaint {
    pub id: CaseId,
    pub customer_id: String,
    pub order_id: Option<OrderId>,
    pub category: ComplaintCategory,
    pub severity: Severity,
    pub status: ComplaintStatus,
    pub description: String,
    pub filed_at: Timestamp,
    pub acknowledge_by: Timestamp,
    pub resolve_by: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub escalations: Vec<Escalation>,
    pub resolution: String,
    pub compensation: Option<Money>,
    pub resolved_within_sla: bool,
    pub survey: Option<Survey>,
    pub updated_at: Timestamp,
}

impl Complaint {
    pub fn escalated_for(&self, breach: SlaBreach) -> bool {
        self.escalations.iter().any(|escalation| escalation.breach == Some(breach))
    }

    /// The deadlines the SLA clock watches: unmet, not escalated for yet, while open.
    pub fn sla_deadlines(&self) -> Vec<(Timestamp, SlaBreach)> {
        if !self.status.is_open() {
            return Vec::new();
        }
        let mut deadlines = Vec::with_capacity(2);
        if self.acknowledged_at.is_none() && !self.escalated_for(SlaBreach::Acknowledge) {
            deadlines.push((self.acknowledge_by, SlaBreach::Acknowledge));
        }
        if !self.escalated_for(SlaBreach::Resolve) {
            deadlines.push((self.resolve_by, SlaBreach::Resolve));
        }
        deadlines
    }

    /// Past a deadline that was not met (and not resolved yet).
    pub fn is_overdue(&self, now: Timestamp) -> bool {
        self.status.is_open()
            && ((self.acknowledged_at.is_none() && now > self.acknowledge_by) || now > self.resolve_by)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ComplaintCommand {
    File {
        complaint_id: CaseId,
        customer_id: String,
        order_id: Option<OrderId>,
        category: ComplaintCategory,
        severity: Severity,
        description: String,
    },
    Acknowledge {
        note: String,
    },
    Escalate {
        reason: String,
    },
    /// From the SLA clock: `deadline` of kind `breach` passed.
    SlaEscalate {
        breach: SlaBreach,
        deadline: Timestamp,
    },
    Resolve {
        resolution: String,
        compensation: Option<Money>,
    },
    Close,
    AnswerSurvey {
        csat: u32,
        nps: u32,
        comment: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ComplaintEvent {
    /// How every case ends: closing and the survey (`case.rs`); then the complaint's own.
    Case(CaseEvent<Option<OrderId>>),
    Filed {
        complaint_id: CaseId,
        customer_id: String,
        order_id: Option<OrderId>,
        category: ComplaintCategory,
        severity: Severity,
        description: String,
        acknowledge_by: Timestamp,
        resolve_by: Timestamp,
    },
    Acknowledged {
        note: String,
        within_sla: bool,
    },
    Escalated {
        reason: String,
        automatic: bool,
        breach: Option<SlaBreach>,
        deadline: Option<Timestamp>,
    },
    Resolved {
        resolution: String,
        compensation: Option<Money>,
        within_sla: bool,
    },
}

impl ComplaintEvent {
    pub fn event_type(&self) -> &'static str {
        match self {
            ComplaintEvent::Filed { .. } => "waybill.aftersales.complaint_filed.v1",
            ComplaintEvent::Acknowledged { .. } => "waybill.aftersales.complaint_acknowledged.v1",
            ComplaintEvent::Escalated { .. } => "waybill.aftersales.complaint_escalated.v1",
            ComplaintEvent::Resolved { .. } => "waybill.aftersales.complaint_resolved.v1",
            ComplaintEvent::Case(event) => event.event_type(CaseKind::Complaint),
        }
    }
}

pub fn decide_complaint(
    state: Option<&Complaint>,
    command: &ComplaintCommand,
    context: &Context<'_>,
) -> Result<Vec<ComplaintEvent>, Rejection> {
    let Context { now, policy, .. } = *context;
    let state = match (state, command) {
        (
            None,
            ComplaintCommand::File { complaint_id, customer_id, order_id, category, severity, description },
        ) => {
            let (acknowledge_by, resolve_by) = policy.deadlines(*severity, now);
            return Ok(vec![ComplaintEvent::Filed {
                complaint_id: *complaint_id,
                customer_id: customer_id.clone(),
                order_id: *order_id,
                category: *category,
                severity: *severity,
                description: description.clone(),
                acknowledge_by,
                resolve_by,
            }]);
        }
        (Some(_), ComplaintCommand::File { .. }) => {
            return Err(Rejection::CaseExists { kind: CaseKind::Complaint });
        }
        // The clock only watches complaints it has seen filed.
        (None, _) => return Err(Rejection::CaseNotFound { kind: CaseKind::Complaint }),
        (Some(state), _) => state,
    };
    match command {
        ComplaintCommand::File { .. } => Ok(Vec::new()),
        ComplaintCommand::Acknowledge { note } => {
            require(state.status, "acknowledge", &ComplaintStatus::OPEN)?;
            context.recorded("acknowledged_at", &[("the filing", state.filed_at)])?;
            if state.acknowledged_at.is_some() {
                return Err(Rejection::InvalidState {
                    action: "acknowledge",
                    kind: CaseKind::Complaint,
                    status: "acknowledged already",
                });
            }
            Ok(vec![ComplaintEvent::Acknowledged {
                note: note.clone(),
                within_sla: now <= state.acknowledge_by,
            }])
        }
        ComplaintCommand::Escalate { reason } => {
            require(state.status, "escalate", &ComplaintStatus::OPEN)?;
            Ok(vec![ComplaintEvent::Escalated {
                reason: reason.clone(),
                automatic: false,
                breach: None,
                deadline: None,
            }])
        }
        ComplaintCommand::SlaEscalate { breach, deadline } => {
            let watched = state.sla_deadlines().contains(&(*deadline, *breach));
            if !watched || now <= *deadline {
                // Met, resolved, escalated already, or not due yet: nothing to do.
                return Ok(Vec::new());
            }
            Ok(vec![ComplaintEvent::Escalated {
                reason: format!("{} deadline missed", breach.as_str()),
                automatic: true,
                breach: Some(*breach),
                deadline: Some(*deadline),
            }])
        }
        ComplaintCommand::Resolve { resolution, compensation } => {
            require(state.status, "resolve", &ComplaintStatus::OPEN)?;
            // After the filing and everything since (acknowledgement, escalations).
            context.recorded("resolved_at", &[("the complaint's latest event", state.updated_at)])?;
            Ok(vec![ComplaintEvent::Resolved {
                resolution: resolution.clone(),
                compensation: *compensation,
                within_sla: now <= state.resolve_by,
            }])
        }
        ComplaintCommand::Close => {
            require(state.status, "close", &[ComplaintStatus::Resolved])?;
            Ok(CaseEvent::closing(&state.customer_id, state.order_id).map(ComplaintEvent::Case).into())
        }
        ComplaintCommand::AnswerSurvey { csat, nps, comment } => {
            answer_survey(state.survey.as_ref(), CaseKind::Complaint)?;
            Ok(vec![ComplaintEvent::Case(CaseEvent::answered(&state.customer_id, *csat, *nps, comment))])
        }
    }
}

pub fn evolve_complaint(
    state: Option<Complaint>,
    event: &ComplaintEvent,
    at: Timestamp,
) -> Option<Complaint> {
    let Some(mut complaint) = state else {
        return match event {
            ComplaintEvent::Filed {
                complaint_id,
                customer_id,
                order_id,
                category,
                severity,
                description,
                acknowledge_by,
                resolve_by,
            } => Some(Complaint {
                id: *complaint_id,
                customer_id: customer_id.clone(),
                order_id: *order_id,
                category: *category,
                severity: *severity,
                status: ComplaintStatus::Filed,
                description: description.clone(),
                filed_at: at,
                acknowledge_by: *acknowledge_by,
                resolve_by: *resolve_by,
                acknowledged_at: None,
                resolved_at: None,
                escalations: Vec::new(),
                resolution: String::new(),
                compensation: None,
                resolved_within_sla: false,
                survey: None,
                updated_at: at,
            }),
            _ => None,
        };
    };
    match event {
        ComplaintEvent::Filed { .. } => {}
        ComplaintEvent::Acknowledged { .. } => {
            complaint.acknowledged_at = Some(at);
            if complaint.status == ComplaintStatus::Filed {
                complaint.status = ComplaintStatus::Acknowledged;
            }
        }
        ComplaintEvent::Escalated { reason, automatic, breach, deadline } => {
            complaint.status = ComplaintStatus::Escalated;
            complaint.escalations.push(Escalation {
                reason: reason.clone(),
                automatic: *automatic,
                breach: *breach,
                deadline: *deadline,
                at,
            });
        }
        ComplaintEvent::Resolved { resolution, compensation, within_sla } => {
            complaint.status = ComplaintStatus::Resolved;
            complaint.resolved_at = Some(at);
            complaint.resolution = resolution.clone();
            complaint.compensation = *compensation;
            complaint.resolved_within_sla = *within_sla;
        }
        ComplaintEvent::Case(event) => {
            event.evolve(&mut complaint.status, ComplaintStatus::Closed, &mut complaint.survey, at);
        }
    }
    complaint.updated_at = at;
    Some(complaint)
}
