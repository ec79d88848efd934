//! Replay-then-follow: an ordered push consumer (ephemeral, flow-controlled, recreated by
//! the client from the last stream sequence seen after a gap, a missed heartbeat or a
//! reconnect). The field notes measured it as the fastest replay here. Events arrive in
//! log order, each with how many more are pending, so a caller can tell replay from live.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_nats::jetstream::consumer::push::{Ordered, OrderedConfig};
use async_nats::jetstream::consumer::{DeliverPolicy, ReplayPolicy};
use futures::{Stream, StreamExt};

use crate::error::ReadError;
use crate::read::RecordedEvent;
use crate::{EventLog, Position, subject};

/// One event from a subscription.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub event: RecordedEvent,
    /// Messages still pending for this consumer after this one (0 = caught up, for now).
    pub pending: u64,
}

/// A live, ordered feed of events; never ends on its own. Errors are usually transient
/// (the consumer is being recreated): keep polling.
pub struct EventSubscription {
    messages: Ordered,
    pending_at_start: u64,
}

impl EventLog {
    /// Replays everything matching `filters` from `from` (inclusive; 0 or 1 = the
    /// beginning) and then follows live events, forever. The server filters: right for a
    /// few literal subjects (one order's), slow for wildcards over a big log; a read model
    /// uses [`EventLog::subscribe_all`] and filters in the process instead.
    pub async fn subscribe(
        &self,
        filters: Vec<String>,
        from: Position,
    ) -> Result<EventSubscription, ReadError> {
        if filters.is_empty() {
            return Err(ReadError::InvalidSubject("no filters".to_owned()));
        }
        for filter in &filters {
            subject::validate_filter(filter).map_err(|_| ReadError::InvalidSubject(filter.clone()))?;
        }
        self.ordered(filters, from).await
    }

    /// Replays the whole log from `from` and then follows it: every position, so the caller
    /// knows how far the log has been read even where none of its events are.
    pub async fn subscribe_all(&self, from: Position) -> Result<EventSubscription, ReadError> {
        self.ordered(Vec::new(), from).await
    }

    async fn ordered(&self, filters: Vec<String>, from: Position) -> Result<EventSubscription, ReadError> {
        let deliver_policy = match from {
            0 | 1 => DeliverPolicy::All,
            start_sequence => DeliverPolicy::ByStartSequence { start_sequence },
        };
        let (filter_subject, filter_subjects) = match filters.len() {
            0 => (String::new(), Vec::new()),
            1 => (filters[0].clone(), Vec::new()),
            _ => (String::new(), filters),
        };
        let config = OrderedConfig {
            deliver_subject: self.client().new_inbox(),
            filter_subject,
            filter_subjects,
            deliver_policy,
            replay_policy: ReplayPolicy::Instant,
            ..Default::default()
        };
        let consumer =
            self.stream().create_consumer(config).await.map_err(|error| ReadError::Nats(error.into()))?;
        let pending_at_start = consumer.cached_info().num_pending;
        let messages = consumer.messages().await.map_err(|error| ReadError::Nats(error.into()))?;
        Ok(EventSubscription { messages, pending_at_start })
    }
}

impl EventSubscription {
    /// Matching events in the log when the subscription started: 0 means there is nothing
    /// to replay (a reader that does not follow can stop at once).
    pub fn pending_at_start(&self) -> u64 {
        self.pending_at_start
    }

    /// The next event; `None` only if the client is closed.
    pub async fn next(&mut self) -> Option<Result<Delivered, ReadError>> {
        StreamExt::next(self).await
    }
}

impl Stream for EventSubscription {
    type Item = Result<Delivered, ReadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.messages.poll_next_unpin(cx).map(|item| {
            item.map(|result| {
                let message = result.map_err(|error| ReadError::Nats(error.into()))?;
                let info = message.info().map_err(ReadError::Nats)?;
                let event = RecordedEvent::new(
                    info.stream_sequence,
                    message.subject.as_str(),
                    message.headers.as_ref(),
                    message.payload.clone(),
                    info.published,
                );
                Ok(Delivered { event, pending: info.pending })
            })
        })
    }
}
