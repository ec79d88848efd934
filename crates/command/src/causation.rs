//! The causation index: which position a request (or a reaction's causing event) wrote on
//! one aggregate, so a retried command answers as it did the first time.
//!
//! Every read model keeps one per aggregate, beside its state and version. It holds 16
//! bytes per event: the position and a 64-bit hash of the causation id (the request id of a
//! command, the event id behind a reaction). A hash match is only a candidate: the runner
//! confirms it against the aggregate's history on the log before answering from it.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use waybill_eventlog::Position;

/// What caused each of one aggregate's events, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CausationIndex {
    causes: Vec<Cause>,
}

/// One event's cause: its position and the hash of its causation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cause {
    position: Position,
    causation_hash: u64,
}

impl CausationIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the event at `position` was caused by `causation_id`.
    pub fn record(&mut self, position: Position, causation_id: &str) {
        debug_assert!(
            self.causes.last().is_none_or(|last| last.position < position),
            "causes are recorded in log order"
        );
        self.causes.push(Cause { position, causation_hash: causation_hash(causation_id) });
    }

    /// The position of the latest event that `causation_id` may have caused: a candidate
    /// to confirm against the log.
    pub fn latest_caused_by(&self, causation_id: &str) -> Option<Position> {
        let hash = causation_hash(causation_id);
        self.causes.iter().rev().find(|cause| cause.causation_hash == hash).map(|cause| cause.position)
    }

    /// How many events the index covers.
    pub fn len(&self) -> usize {
        self.causes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.causes.is_empty()
    }
}

/// Stable within a process, which is all an in-memory index needs.
fn causation_hash(causation_id: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(causation_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_event_of_a_cause_is_found_and_others_are_not() {
        let mut index = CausationIndex::new();
        index.record(3, "request-1");
        index.record(7, "request-2");
        index.record(9, "request-1");
        assert_eq!(index.latest_caused_by("request-1"), Some(9));
        assert_eq!(index.latest_caused_by("request-2"), Some(7));
        assert_eq!(index.latest_caused_by("request-3"), None);
        assert_eq!(index.len(), 3);
    }
}
