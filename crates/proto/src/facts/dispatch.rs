//! Dispatch's facts about transport tasks, as intake and delivery read them. A task's
//! envelope names the order it carries; only an order's forward task has the order's id
//! (`Envelope::is_about_the_order_itself`), a return's reverse shipment has its own.

use crate::envelope::{DecodeError, Envelope};
use crate::v1::dispatch_event::Event as Wire;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskFact {
    PickedUp,
    ArrivedAtHub { hub: String },
}

/// One of dispatch's task events, if it is one other services read.
pub fn read(payload: &[u8]) -> Result<Option<Envelope<TaskFact>>, DecodeError> {
    super::read(payload, |event: Wire, _| match event {
        Wire::TaskPickedUp(_) => Some(TaskFact::PickedUp),
        Wire::TaskArrivedAtHub(arrived) => Some(TaskFact::ArrivedAtHub { hub: arrived.hub }),
        _ => None,
    })
}
