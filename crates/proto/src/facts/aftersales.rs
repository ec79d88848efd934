//! After-sales' facts about cases and the order's ledger, as intake, dispatch and CRM read
//! them. Ids stay as stored; a reader that needs one parses it and decides what a bad one
//! means to it.

use waybill_types::Money;

use crate::envelope::{DecodeError, Envelope};
use crate::stored;
use crate::v1::{self, after_sales_event::Event as Wire};

#[derive(Clone, Debug, PartialEq)]
pub enum CaseFact {
    ReturnRequested,
    ClaimOpened,
    /// `order_id` is empty for a complaint about no order.
    ComplaintFiled {
        customer_id: String,
        order_id: String,
        category: v1::ComplaintCategory,
    },
    /// `load` is `None` when the whole order comes back (no load, or an empty one).
    ReturnPickupRequested {
        return_id: String,
        order_id: String,
        load: Option<PickupLoad>,
    },
    ComplaintResolved {
        within_sla: bool,
    },
    SurveyAnswered {
        customer_id: String,
        csat: u32,
        nps: u32,
    },
    /// Money paid back, on the order's ledger (`None`: unreadable).
    RefundIssued {
        amount: Option<Money>,
    },
    ClaimPaymentIssued {
        amount: Option<Money>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PickupLoad {
    pub weight_grams: u64,
    pub volume_cm3: u64,
}

/// One of after-sales' events, if it is one other services read.
pub fn read(payload: &[u8]) -> Result<Option<Envelope<CaseFact>>, DecodeError> {
    super::read(payload, |event: Wire, _| {
        Some(match event {
            Wire::ReturnRequested(_) => CaseFact::ReturnRequested,
            Wire::ClaimOpened(_) => CaseFact::ClaimOpened,
            Wire::ComplaintFiled(filed) => CaseFact::ComplaintFiled {
                category: v1::ComplaintCategory::try_from(filed.category).unwrap_or_default(),
                customer_id: filed.customer_id,
                order_id: filed.order_id,
            },
            Wire::ReturnPickupRequested(pickup) => CaseFact::ReturnPickupRequested {
                load: pickup
                    .load
                    .as_ref()
                    .filter(|load| load.weight_grams != 0 || load.volume_cm3 != 0)
                    .map(|load| PickupLoad { weight_grams: load.weight_grams, volume_cm3: load.volume_cm3 }),
                return_id: pickup.return_id,
                order_id: pickup.order_id,
            },
            Wire::ComplaintResolved(resolved) => {
                CaseFact::ComplaintResolved { within_sla: resolved.within_sla }
            }
            Wire::SurveyAnswered(answered) => CaseFact::SurveyAnswered {
                customer_id: answered.customer_id,
                csat: answered.csat,
                nps: answered.nps,
            },
            Wire::RefundIssued(refund) => {
                CaseFact::RefundIssued { amount: stored::money(refund.amount.as_ref()) }
            }
            Wire::ClaimPaymentIssued(payment) => {
                CaseFact::ClaimPaymentIssued { amount: stored::money(payment.amount.as_ref()) }
            }
            _ => return None,
        })
    })
}
