//! `waybill dead-letters list | show | redrive`: the events reactions gave up on, and the
//! way to have one handled again once its cause is fixed.
//!
//! A dead letter is a copy of the event on `deadletter.<service>.<consumer>` in the
//! dead-letter stream, with the reaction's headers; crates/eventlog's `dead_letter` reads
//! them (the console's operations board lists them the same way). A redrive writes an
//! operator's request on the log (crates/eventlog redrive.rs), which the consumer itself
//! picks up: the event is handled again by whichever replica pulls it, exactly once thanks
//! to the reactions' causation ids. `redrive` then waits for the consumer to have handled the request and says how it went.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};
use waybill_eventlog::{EventLog, Position, Redrive};

pub use waybill_eventlog::DeadLetter;

use crate::{decode, table};

/// Every dead letter, oldest first; only `consumer`'s if given.
pub async fn list(log: &EventLog, consumer: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
    log.dead_letters(consumer).await.context("reading dead letters")
}

/// The dead letter at `seq` of the dead-letter stream.
pub async fn get(log: &EventLog, seq: u64) -> anyhow::Result<DeadLetter> {
    match log.dead_letter(seq).await.context("reading the dead letter")? {
        Some(letter) => Ok(letter),
        None => anyhow::bail!("there is no dead letter {seq} (`waybill dead-letters list` shows them)"),
    }
}

/// The letters as a table for people, with who re-drove each.
pub async fn render_list(log: &EventLog, letters: &[DeadLetter]) -> anyhow::Result<String> {
    let mut rows = Vec::new();
    for letter in letters {
        let redrives = log.redrives(&letter.consumer, letter.original_position).await?;
        let redriven = match redrives.last() {
            Some((at, redrive)) => format!("{} by {} at {at}", redrives.len(), redrive.operator),
            None => "-".to_owned(),
        };
        rows.push(vec![
            letter.seq.to_string(),
            letter.stored_at.clone(),
            letter.consumer.clone(),
            letter.original_position.to_string(),
            letter.original_subject.clone(),
            redriven,
            letter.error.clone(),
        ]);
    }
    Ok(table::render(&["seq", "stored_at", "consumer", "position", "subject", "redriven", "error"], &rows))
}

/// Everything about one letter as JSON: its headers, the original event decoded and the
/// redrive requests made for it.
pub async fn show(log: &EventLog, letter: &DeadLetter) -> anyhow::Result<Value> {
    let mut headers = BTreeMap::new();
    let mut payload = Value::Null;
    if let Some(message) = letter.message() {
        for (name, values) in message.headers.iter() {
            let values: Vec<&str> = values.iter().map(|value| value.as_str()).collect();
            headers.insert(name.to_string(), values.join(", "));
        }
        payload = decode::payload_json(&letter.original_subject, &message.payload);
    }
    let redrives: Vec<Value> = log
        .redrives(&letter.consumer, letter.original_position)
        .await?
        .into_iter()
        .map(|(position, redrive)| json!({ "position": position, "request": redrive }))
        .collect();
    Ok(json!({
        "dead_letter": letter,
        "headers": headers,
        "payload": payload,
        "redrives": redrives,
    }))
}

/// How a redrive went.
#[derive(Debug, Serialize)]
pub enum Outcome {
    /// The consumer handled the event without error (applied, or found it already applied).
    Handled { request: Position },
    /// Handled and given up on again: a new dead letter.
    DeadLetteredAgain { request: Position, dead_letter: u64, error: String },
    /// Written; not waited for.
    Requested { request: Position },
}

/// Asks `letter`'s consumer to handle its event again, as `operator` for `reason`; then
/// waits up to `wait` for the consumer to have handled the request (zero: does not wait).
pub async fn redrive(
    log: &EventLog,
    letter: &DeadLetter,
    operator: String,
    reason: String,
    wait: Duration,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        letter.original_position > 0 && !letter.consumer.is_empty(),
        "dead letter {} names no original event or consumer: it cannot be re-driven",
        letter.seq
    );
    let request = Redrive {
        consumer: letter.consumer.clone(),
        position: letter.original_position,
        dead_letter: letter.seq,
        operator,
        reason,
    };
    let at = log.request_redrive(&request).await?;
    if wait.is_zero() {
        return Ok(Outcome::Requested { request: at });
    }
    let jetstream = async_nats::jetstream::new(log.client().clone());
    let events = jetstream.get_stream(&log.settings().name).await?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let info = events
            .consumer_info(&letter.consumer)
            .await
            .with_context(|| format!("consumer {}", letter.consumer))?;
        if info.ack_floor.stream_sequence >= at {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "the redrive request is on the log at position {at}, but {} has not handled it within {wait:?} \
                 (is the {} service running? `waybill status` shows the consumer's lag)",
                letter.consumer,
                letter.service
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A failed redrive is dead-lettered before the request is acknowledged.
    let last = log.last_dead_letter(&letter.subject).await.context("reading dead letters")?;
    if let Some(last) = last.filter(|last| last.redrive_position == Some(at)) {
        return Ok(Outcome::DeadLetteredAgain { request: at, dead_letter: last.seq, error: last.error });
    }
    Ok(Outcome::Handled { request: at })
}
