//! Shared helpers of the event log's integration tests: each test starts its own
//! nats-server (waybill-testkit) and opens the log on it.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use bytes::Bytes;
use waybill_eventlog::{EventLog, NewEvent, StreamSettings};
use waybill_testkit::NatsServer;

pub const SOURCE: &str = "/waybill/test";

pub async fn open(server: &NatsServer) -> EventLog {
    EventLog::open(server.client().await, StreamSettings::default(), SOURCE).await.expect("open the log")
}

/// A nats-server of the test's own, and the log opened on it.
pub async fn started() -> (NatsServer, EventLog) {
    let server = NatsServer::start();
    let log = open(&server).await;
    (server, log)
}

pub fn order(id: &str) -> String {
    waybill_eventlog::subject::aggregate("intake", "order", id)
}

pub fn event(event_type: &str, aggregate_id: &str, payload: &str) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: event_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        occurred_at: chrono::Utc::now(),
        payload: Bytes::from(payload.to_owned()),
    }
}

/// Appends one event without a concurrency check; returns its position.
pub async fn put(log: &EventLog, id: &str, payload: &str) -> u64 {
    let key = uuid::Uuid::now_v7().to_string();
    log.append(&order(id), None, &key, &[event("OrderPlaced", id, payload)]).await.expect("append").last
}

/// Polls `condition` until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}
