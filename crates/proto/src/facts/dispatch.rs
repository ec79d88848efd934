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

/// Dispatch's facts about hubs, as CRM reads them (stock accuracy).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HubFact {
    /// A cycle count of one zone: consignments on the books, found, and how many of them
    /// differ (missing or unexpected).
    ZoneCounted { zone: String, expected: u32, counted: u32, discrepancies: u32 },
}

/// One of dispatch's hub events, if it is one other services read.
pub fn read_hub(payload: &[u8]) -> Result<Option<Envelope<HubFact>>, DecodeError> {
    super::read(payload, |event: Wire, _| match event {
        Wire::ZoneCounted(counted) => Some(HubFact::ZoneCounted {
            zone: counted.zone,
            expected: counted.expected,
            counted: counted.counted,
            discrepancies: counted.discrepancies,
        }),
        _ => None,
    })
}

/// One of dispatch's task events, if it is one other services read.
pub fn read(payload: &[u8]) -> Result<Option<Envelope<TaskFact>>, DecodeError> {
    super::read(payload, |event: Wire, _| match event {
        Wire::TaskPickedUp(_) => Some(TaskFact::PickedUp),
        Wire::TaskArrivedAtHub(arrived) => Some(TaskFact::ArrivedAtHub { hub: arrived.hub }),
        _ => None,
    })
}
