//! After-sales facts: waiting for the after-sales proto (cherry-picked next).

use waybill_eventlog::{ProjectionError, RecordedEvent};

use super::CrmModel;

pub(super) fn apply(_model: &mut CrmModel, _event: &RecordedEvent) -> Result<(), ProjectionError> {
    Ok(())
}
