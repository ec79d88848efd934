//! How every case ends, the same for returns, claims and complaints: closing writes
//! `Closed` and asks the customer for a satisfaction survey in the same append; the
//! customer's answer is recorded once, on the case. Each case's own decider says when it
//! may close; the events, their ce-types, their folding and the survey's rules are here,
//! once.

use waybill_types::Timestamp;

use super::{CaseKind, Rejection, Survey, SurveyAnswer};

/// The events every case shares. `O` is how the case names its order: a return and a claim
/// always have one (`OrderId`), a complaint may be about none (`Option<OrderId>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseEvent<O> {
    Closed,
    SurveyRequested { customer_id: String, order_id: O },
    SurveyAnswered { customer_id: String, csat: u32, nps: u32, comment: String },
}

impl<O> CaseEvent<O> {
    /// The ce-type on the log: closing is the case kind's own type, the survey's are shared.
    pub fn event_type(&self, kind: CaseKind) -> &'static str {
        match (self, kind) {
            (CaseEvent::Closed, CaseKind::Return) => "waybill.aftersales.return_closed.v1",
            (CaseEvent::Closed, CaseKind::Claim) => "waybill.aftersales.claim_closed.v1",
            (CaseEvent::Closed, CaseKind::Complaint) => "waybill.aftersales.complaint_closed.v1",
            (CaseEvent::SurveyRequested { .. }, _) => "waybill.aftersales.survey_requested.v1",
            (CaseEvent::SurveyAnswered { .. }, _) => "waybill.aftersales.survey_answered.v1",
        }
    }

    /// Closing a case (once its own rules allow it): `Closed`, and the survey requested of its
    /// customer, in one append.
    pub(crate) fn closing(customer_id: &str, order_id: O) -> [Self; 2] {
        [CaseEvent::Closed, CaseEvent::SurveyRequested { customer_id: customer_id.to_owned(), order_id }]
    }

    /// The customer's answer to the case's survey (once [`answer_survey`] allows it).
    pub(crate) fn answered(customer_id: &str, csat: u32, nps: u32, comment: &str) -> Self {
        CaseEvent::SurveyAnswered {
            customer_id: customer_id.to_owned(),
            csat,
            nps,
            comment: comment.to_owned(),
        }
    }

    /// Folds the event into a case: `Closed` sets `status` to the case's `closed`, the survey
    /// events its `survey`. `at` is the event's occurred-at.
    pub(crate) fn evolve<S>(&self, status: &mut S, closed: S, survey: &mut Option<Survey>, at: Timestamp) {
        match self {
            CaseEvent::Closed => *status = closed,
            CaseEvent::SurveyRequested { .. } => *survey = Some(Survey { requested_at: at, answer: None }),
            CaseEvent::SurveyAnswered { csat, nps, comment, .. } => {
                if let Some(survey) = survey.as_mut() {
                    survey.answer = Some(SurveyAnswer {
                        csat: *csat,
                        nps: *nps,
                        comment: comment.clone(),
                        answered_at: at,
                    });
                }
            }
        }
    }
}

/// Records an answer to a requested, unanswered survey; the rules every case shares.
pub(crate) fn answer_survey(survey: Option<&Survey>, kind: CaseKind) -> Result<(), Rejection> {
    match survey {
        None => Err(Rejection::SurveyNotRequested { kind }),
        Some(Survey { answer: Some(_), .. }) => Err(Rejection::SurveyAlreadyAnswered { kind }),
        Some(_) => Ok(()),
    }
}

/// A case's status: which kind of case it is the status of, and its name in rejections.
pub trait CaseStatus: Copy + PartialEq {
    const KIND: CaseKind;
    fn as_str(&self) -> &'static str;
}

/// Refuses `action` on a case unless its `status` is one of `allowed`; the rejection names
/// the status.
pub(crate) fn require<S: CaseStatus>(
    status: S,
    action: &'static str,
    allowed: &[S],
) -> Result<(), Rejection> {
    waybill_command::require_status(status, allowed, |status| Rejection::InvalidState {
        action,
        kind: S::KIND,
        status: status.as_str(),
    })
}
