//! One aggregate as a read model holds it: its state, its version and what caused each of
//! its events. Every read model folds its own aggregates' events the same way, here.

use std::collections::BTreeMap;

use waybill_eventlog::Position;

use crate::CausationIndex;

/// One aggregate in a read model.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<S> {
    pub state: S,
    /// Position of its latest event: the expected position of its next append.
    pub version: Position,
    /// What caused each of its events (for idempotent retries).
    pub causes: CausationIndex,
}

impl<S> Record<S> {
    /// Folds the event at `position`, caused by `causation_id`, into the record of `id` in
    /// `records` (absent: the aggregate is new) with `evolve`. `false`, and the record
    /// gone, if `evolve` refuses it: the projection stops on such an event.
    pub fn fold_into<K: Ord>(
        records: &mut BTreeMap<K, Record<S>>,
        id: K,
        position: Position,
        causation_id: &str,
        evolve: impl FnOnce(Option<S>) -> Option<S>,
    ) -> bool {
        let (state, mut causes) = match records.remove(&id) {
            Some(record) => (Some(record.state), record.causes),
            None => (None, CausationIndex::new()),
        };
        let Some(state) = evolve(state) else { return false };
        causes.record(position, causation_id);
        records.insert(id, Record { state, version: position, causes });
        true
    }
}
