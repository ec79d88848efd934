//! `waybill events get <position>` and `waybill events tail`: the log as JSON, one event a
//! line (crate::decode), filtered by order, service and type, from a position or a time,
//! and with `--follow` live.
//!
//! The server filters by service (the subject's second token); the order and the type are
//! filtered here, on the decoded envelope, because an order's events are not all on
//! subjects named after it (after-sales cases and reverse shipments have ids of their own,
//! their envelopes carry the order's id).

use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::Value;
use waybill_eventlog::{EventLog, Position, ReadError, subject};

use crate::decode;
use crate::users::Service;

/// What `tail` shows.
#[derive(Clone, Debug, Default)]
pub struct TailFilter {
    /// Events about this order (its envelope's `order_id`, or the subject's id).
    pub order: Option<String>,
    /// Events of this service (`intake`, ..., `crm`; `ops` for operators' records).
    pub service: Option<String>,
    /// Events of this type, long (`waybill.intake.order_placed.v1`) or short (`order_placed`).
    pub event_type: Option<String>,
}

/// Where `tail` starts.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    Beginning,
    Position(Position),
    Time(DateTime<Utc>),
}

/// The event at `position` as JSON.
pub async fn get(log: &EventLog, position: Position) -> anyhow::Result<Value> {
    match log.get(position).await {
        Ok(event) => Ok(decode::event_json(&event)),
        Err(ReadError::NotFound { .. }) => {
            let head = log.head().await?;
            anyhow::bail!("there is no event at position {position} (the log holds 1 to {head})")
        }
        Err(error) => Err(error.into()),
    }
}

/// Writes the matching events to `out`, one JSON object a line, until the log's end as it
/// was when the tail started, or with `follow` forever. Returns how many it wrote.
pub async fn tail(
    log: &EventLog,
    filter: &TailFilter,
    start: Start,
    follow: bool,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let server_filter = match &filter.service {
        Some(service) if service == "ops" || Service::named(service).is_some() => {
            format!("waybill.{service}.>")
        }
        Some(other) => {
            anyhow::bail!("--service {other:?} is none of intake, dispatch, delivery, aftersales, crm, ops")
        }
        None => "waybill.>".to_owned(),
    };
    if let Some(order) = &filter.order {
        subject::validate_token(order).map_err(|_| anyhow::anyhow!("--order {order:?} is not an id"))?;
    }
    let head = log.head().await?;
    let from = match start {
        Start::Beginning => 1,
        Start::Position(position) => position.max(1),
        Start::Time(since) => first_stored_at_or_after(log, since, head).await?,
    };
    if !follow && from > head {
        return Ok(0);
    }
    let mut events = log.subscribe(vec![server_filter], from).await?;
    if !follow && events.pending_at_start() == 0 {
        return Ok(0);
    }
    let mut written = 0;
    while let Some(delivered) = events.next().await {
        let delivered = match delivered {
            Ok(delivered) => delivered,
            // The ordered consumer is being recreated (a gap, a reconnect): keep reading.
            Err(error) => {
                tracing::debug!(%error, "tail: the subscription hiccuped");
                continue;
            }
        };
        let event = &delivered.event;
        let json = decode::event_json(event);
        if matches(filter, event, &json) {
            let line = serde_json::to_string(&json)?;
            if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                // The reader went away (`| head`): done.
                return Ok(written);
            }
            written += 1;
        }
        if !follow && (delivered.pending == 0 || event.position >= head) {
            break;
        }
    }
    Ok(written)
}

fn matches(filter: &TailFilter, event: &waybill_eventlog::RecordedEvent, json: &Value) -> bool {
    if let Some(wanted) = &filter.event_type
        && !decode::type_matches(wanted, &event.event_type)
    {
        return false;
    }
    if let Some(order) = &filter.order {
        let in_envelope = json.pointer("/payload/order_id").and_then(Value::as_str) == Some(order.as_str());
        if !in_envelope && subject::aggregate_id_of(&event.subject) != order {
            return false;
        }
    }
    true
}

/// The first position stored at or after `since` (the server's clock), found by halving:
/// the log is in the order it was stored. `head + 1` if none.
async fn first_stored_at_or_after(
    log: &EventLog,
    since: DateTime<Utc>,
    head: Position,
) -> anyhow::Result<Position> {
    let (mut low, mut high) = (1, head + 1);
    while low < high {
        let middle = low + (high - low) / 2;
        let stored = log.get(middle).await.with_context(|| format!("reading position {middle}"))?;
        if stored.published < since {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}
