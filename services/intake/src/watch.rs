//! WatchOrder: one order followed live, without a JetStream consumer of its own.
//!
//! One consumer per watch reached the server's consumer limit at about a thousand open
//! watches (issue 11; FIELD-NOTES: `default_max_consumers: 1000`), and then new watches and
//! restarting services failed. So watches fan out from what intake already follows: the
//! read model's live feed (`Projector::feed`, every admitted event once the model reflects
//! it). One router task per intake ([`Watches`]) hands each event to the watches of the
//! order its subject names (`subject::order_id_of`): the events TrackOrder reads (the
//! order's, its dispatch and delivery tasks', its ledger's, its after-sales cases' and
//! reverse shipments', a case opened while the watch is open included). Every one is
//! streamed, as TrackOrder lists it (`timeline::foreign_entry`).
//!
//! A watch's first update is the order as the read model has it (with its latest event);
//! then one update per new event (the order unchanged for another service's milestone).
//! A watch that falls behind (its queue of [`WATCH_QUEUE`] events full, because its client
//! reads slowly, or the router itself lagging on the feed) is not left with a silent gap:
//! it gets the order as it is now, with its latest event, and follows on from there. So a
//! slow client may miss intermediate states, never the current one; TrackOrder lists every
//! event.
//!
//! Watches are capped per caller and in total ([`WatchLimits`]); a watch beyond either
//! cap is refused with RESOURCE_EXHAUSTED naming the cap. A watch ends when its client goes
//! away (its slot is free again), when intake stops (UNAVAILABLE: watch again), or when an
//! event of the order cannot be followed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use tonic::Status;
use waybill_eventlog::{Position, RecordedEvent, subject};
use waybill_types::{Actor, OrderId};

use crate::codec;
use crate::commands::{CommandError, CommandRunner};
use crate::domain::{Order, Rejection, evolve};
use crate::timeline::{self, TimelineEntry};

/// Updates a client may fall behind by before the watch waits for it.
const BUFFERED_UPDATES: usize = 32;
/// Events queued for one watch while it waits for its client; one more and it catches up
/// from the read model instead (see the module docs).
pub const WATCH_QUEUE: usize = 64;

/// How many watches intake keeps open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchLimits {
    /// Open watches of one caller (`--watches-per-caller`).
    pub per_caller: usize,
    /// Open watches of everyone (`--watches-total`).
    pub total: usize,
}

impl Default for WatchLimits {
    fn default() -> Self {
        WatchLimits { per_caller: 16, total: 10_000 }
    }
}

/// The order right after `event`.
#[derive(Clone, Debug)]
pub struct OrderUpdate {
    pub order: Order,
    pub version: Position,
    pub event: TimelineEntry,
}

/// Every open watch of this intake: the slots the caps count, and the routes from the
/// live feed to each watch. Cheap to clone.
#[derive(Clone)]
pub struct Watches {
    hub: Arc<Hub>,
}

struct Hub {
    limits: WatchLimits,
    state: Mutex<HubState>,
}

/// One watch's queue of events from the feed.
type Queue = mpsc::Sender<Arc<RecordedEvent>>;

#[derive(Default)]
struct HubState {
    next_id: u64,
    open: usize,
    by_caller: HashMap<String, usize>,
    /// Order id → the watches following it, each with its queue.
    routes: HashMap<String, Vec<(u64, Queue)>>,
    /// Watch → the order it follows (to take it off the routes).
    followed: HashMap<u64, String>,
}

impl HubState {
    /// Takes watch `id` off its route: its queue closes once drained.
    fn unroute(&mut self, id: u64) {
        let Some(order) = self.followed.remove(&id) else { return };
        if let Some(watchers) = self.routes.get_mut(&order) {
            watchers.retain(|(watcher, _)| *watcher != id);
            if watchers.is_empty() {
                self.routes.remove(&order);
            }
        }
    }
}

impl Watches {
    /// The watches of the intake whose read model is `runner.model`; the router follows
    /// the model's feed until the last clone of this is dropped.
    pub fn start(runner: &CommandRunner, limits: WatchLimits) -> Self {
        let hub = Arc::new(Hub { limits, state: Mutex::new(HubState::default()) });
        tokio::spawn(route(runner.model.feed(), Arc::downgrade(&hub)));
        Watches { hub }
    }

    /// Watches open now, in total.
    pub fn open(&self) -> usize {
        self.hub.lock().open
    }

    /// A slot for one more watch of `caller`, or RESOURCE_EXHAUSTED naming the cap.
    fn reserve(&self, caller: &Actor) -> Result<Slot, Status> {
        let caller = caller.to_string();
        let limits = self.hub.limits;
        let mut state = self.hub.lock();
        if state.open >= limits.total {
            return Err(Status::resource_exhausted(format!(
                "intake has {} watches open, its total cap (--watches-total); close one or try later",
                state.open
            )));
        }
        let of_caller = state.by_caller.get(&caller).copied().unwrap_or(0);
        if of_caller >= limits.per_caller {
            return Err(Status::resource_exhausted(format!(
                "{caller} has {of_caller} watches open, the per-caller cap (--watches-per-caller); close one first"
            )));
        }
        state.open += 1;
        *state.by_caller.entry(caller.clone()).or_default() += 1;
        state.next_id += 1;
        Ok(Slot { hub: self.hub.clone(), id: state.next_id, caller })
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // The state stays consistent under every panic point (plain map updates).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The router: each event of the feed to the watches of the order its subject names. A watch whose queue is
/// full, or every watch when the router itself lagged, is taken off the routes: its queue
/// ends, and it catches up from the read model.
async fn route(mut feed: tokio::sync::broadcast::Receiver<Arc<RecordedEvent>>, hub: Weak<Hub>) {
    loop {
        let received = feed.recv().await;
        let Some(hub) = hub.upgrade() else { return };
        let mut state = hub.lock();
        match received {
            Ok(event) => {
                let Some(order) = subject::order_id_of(&event.subject) else { continue };
                let Some(watchers) = state.routes.get(order) else { continue };
                let behind: Vec<u64> = watchers
                    .iter()
                    .filter(|(_, queue)| queue.try_send(event.clone()).is_err())
                    .map(|(id, _)| *id)
                    .collect();
                for id in behind {
                    state.unroute(id);
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    watches = state.open,
                    "watch router fell behind the feed; every watch catches up"
                );
                let ids: Vec<u64> = state.followed.keys().copied().collect();
                for id in ids {
                    state.unroute(id);
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// One open watch's place under the caps; freed when dropped (the watch ended).
struct Slot {
    hub: Arc<Hub>,
    id: u64,
    caller: String,
}

impl Slot {
    /// Routes the events about `order_id` to a fresh queue of this watch (replacing any
    /// earlier one).
    fn follow(&self, order_id: &OrderId) -> mpsc::Receiver<Arc<RecordedEvent>> {
        let (queue, events) = mpsc::channel(WATCH_QUEUE);
        let order = order_id.to_string();
        let mut state = self.hub.lock();
        state.unroute(self.id);
        state.routes.entry(order.clone()).or_default().push((self.id, queue));
        state.followed.insert(self.id, order);
        events
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        state.unroute(self.id);
        state.open = state.open.saturating_sub(1);
        if let Some(count) = state.by_caller.get_mut(&self.caller) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.by_caller.remove(&self.caller);
            }
        }
    }
}

/// The order as the read model has it, and the events after it.
struct Snapshot {
    update: OrderUpdate,
    /// The model's position when it was read: later events are new to the watch.
    at: Position,
    events: mpsc::Receiver<Arc<RecordedEvent>>,
}

/// Follows the events about the order, then reads it from the model: in that order, so an
/// event is either in the model as read or in the queue after it (see `Projector::feed`).
async fn snapshot(runner: &CommandRunner, slot: &Slot, order_id: &OrderId) -> Result<Snapshot, CommandError> {
    let events = slot.follow(order_id);
    let (order, version, at) = {
        let (book, at) = runner.model.read_at();
        let Some(record) = book.get(order_id) else {
            return Err(CommandError::Rejected(Rejection::NotFound));
        };
        (record.order.clone(), record.version, at)
    };
    let latest = runner.log.get(version).await.map_err(|error| CommandError::Log(error.to_string()))?;
    let decoded = codec::decode(&latest.payload).map_err(|error| CommandError::Log(error.to_string()))?;
    let event = timeline::entry(version, &decoded.meta, &decoded.event);
    Ok(Snapshot { update: OrderUpdate { order, version, event }, at, events })
}

/// Starts watching `order_id` for `caller`: RESOURCE_EXHAUSTED past a cap, NOT_FOUND (as a
/// rejection) for an order intake does not have.
pub async fn start(
    runner: &CommandRunner,
    watches: &Watches,
    caller: &Actor,
    order_id: OrderId,
    mut stopping: watch::Receiver<bool>,
) -> Result<mpsc::Receiver<Result<OrderUpdate, Status>>, WatchError> {
    let slot = watches.reserve(caller).map_err(WatchError::Refused)?;
    let Snapshot { update, at, mut events } = snapshot(runner, &slot, &order_id).await?;
    let runner = runner.clone();
    let (updates, receiver) = mpsc::channel(BUFFERED_UPDATES);
    tokio::spawn(async move {
        let OrderUpdate { mut order, mut version, event: latest } = update;
        // The last position handed out (the order's version lags behind on other subjects).
        let mut seen = at;
        if updates.send(Ok(OrderUpdate { order: order.clone(), version, event: latest })).await.is_err() {
            return;
        }
        loop {
            let next = tokio::select! {
                () = updates.closed() => return,
                () = stopped(&mut stopping) => {
                    let _ = updates.send(Err(Status::unavailable("intake is stopping; watch again"))).await;
                    return;
                }
                next = events.recv() => next,
            };
            let Some(recorded) = next else {
                // Behind: catch up from the model (see the module docs).
                match snapshot(&runner, &slot, &order_id).await {
                    Ok(caught_up) => {
                        (order, version, seen, events) = (
                            caught_up.update.order.clone(),
                            caught_up.update.version,
                            caught_up.at,
                            caught_up.events,
                        );
                        if updates.send(Ok(caught_up.update)).await.is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        let _ = updates
                            .send(Err(Status::unavailable(format!("cannot follow order: {error}"))))
                            .await;
                        return;
                    }
                }
                continue;
            };
            if recorded.position <= seen {
                continue;
            }
            seen = recorded.position;
            if !timeline::is_intakes(&recorded) {
                let Some(event) = timeline::foreign_entry(&recorded) else { continue };
                if updates.send(Ok(OrderUpdate { order: order.clone(), version, event })).await.is_err() {
                    return;
                }
                continue;
            }
            match next_state(&order, &recorded) {
                Ok((next, event)) => {
                    order = next;
                    version = recorded.position;
                    let update = OrderUpdate { order: order.clone(), version, event };
                    if updates.send(Ok(update)).await.is_err() {
                        return;
                    }
                }
                Err(reason) => {
                    tracing::error!(%order_id, %reason, "cannot follow order");
                    let _ =
                        updates.send(Err(Status::internal(format!("cannot follow order: {reason}")))).await;
                    return;
                }
            }
        }
    });
    Ok(receiver)
}

/// The order after one of its own events, and the event's timeline entry.
fn next_state(order: &Order, recorded: &RecordedEvent) -> Result<(Order, TimelineEntry), String> {
    let decoded = codec::decode(&recorded.payload).map_err(|error| error.to_string())?;
    let event = timeline::entry(recorded.position, &decoded.meta, &decoded.event);
    let next = evolve(Some(order.clone()), &decoded.event, decoded.meta.occurred_at)
        .ok_or_else(|| format!("event at position {} does not apply", recorded.position))?;
    Ok((next, event))
}

/// Why a watch did not start.
#[derive(Debug)]
pub enum WatchError {
    /// A cap is reached (RESOURCE_EXHAUSTED).
    Refused(Status),
    Command(CommandError),
}

impl From<CommandError> for WatchError {
    fn from(error: CommandError) -> Self {
        WatchError::Command(error)
    }
}

impl From<WatchError> for Status {
    fn from(error: WatchError) -> Self {
        match error {
            WatchError::Refused(status) => status,
            WatchError::Command(error) => error.into(),
        }
    }
}

/// Resolves once intake is stopping (or can no longer tell, which means the same).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}
