//! `waybill dead-letters list | show | redrive`: the events reactions gave up on, and the
//! way to have one handled again once its cause is fixed.
//!
//! A dead letter is a copy of the event on `deadletter.<service>.<consumer>` in the
//! dead-letter stream, with the reaction's headers (`waybill-error`,
//! `waybill-original-subject`, `waybill-original-position`, `waybill-deliveries`;
//! crates/eventlog reaction.rs). A redrive writes an operator's request on the log
//! (crates/eventlog redrive.rs), which the consumer itself picks up: the event is handled
//! again by whichever replica pulls it, exactly once thanks to the reactions' causation ids.
//! `redrive` then waits for the consumer to have handled the request and says how it went.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use serde::Serialize;
use serde_json::{Value, json};
use waybill_eventlog::reaction::{
    DELIVERIES_HEADER, ERROR_HEADER, ORIGINAL_POSITION_HEADER, ORIGINAL_SUBJECT_HEADER,
};
use waybill_eventlog::redrive::REDRIVE_POSITION_HEADER;
use waybill_eventlog::{EventLog, Position, Redrive};

use crate::{decode, table};

/// One dead letter, as `list` and `show` print it.
#[derive(Clone, Debug, Serialize)]
pub struct DeadLetter {
    /// Its position in the dead-letter stream: what `show` and `redrive` take.
    pub seq: u64,
    /// `deadletter.<service>.<consumer>`.
    pub subject: String,
    pub service: String,
    pub consumer: String,
    pub stored_at: String,
    pub error: String,
    pub original_subject: String,
    pub original_position: Position,
    pub deliveries: String,
    /// Set when the letter was written while handling a redrive request (at that position).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_position: Option<Position>,
    #[serde(skip)]
    message: Option<StreamMessage>,
}

impl DeadLetter {
    fn from_message(message: StreamMessage) -> DeadLetter {
        let header =
            |name: &str| message.headers.get(name).map(|value| value.as_str().to_owned()).unwrap_or_default();
        let mut tokens = message.subject.split('.').skip(1);
        let service = tokens.next().unwrap_or_default().to_owned();
        let consumer = tokens.next().unwrap_or_default().to_owned();
        DeadLetter {
            seq: message.sequence,
            subject: message.subject.to_string(),
            service,
            consumer,
            stored_at: decode::timestamp(waybill_eventlog::read::to_chrono(message.time)),
            error: header(ERROR_HEADER),
            original_subject: header(ORIGINAL_SUBJECT_HEADER),
            original_position: header(ORIGINAL_POSITION_HEADER).parse().unwrap_or(0),
            deliveries: header(DELIVERIES_HEADER),
            redrive_position: header(REDRIVE_POSITION_HEADER).parse().ok(),
            message: Some(message),
        }
    }
}

async fn dead_letter_stream(log: &EventLog) -> anyhow::Result<Stream> {
    let jetstream = async_nats::jetstream::new(log.client().clone());
    let name = &log.settings().dead_letter_stream;
    jetstream.get_stream(name).await.with_context(|| format!("stream {name}"))
}

/// Every dead letter, oldest first; only `consumer`'s if given.
pub async fn list(log: &EventLog, consumer: Option<&str>) -> anyhow::Result<Vec<DeadLetter>> {
    let stream = dead_letter_stream(log).await?;
    let filter = match consumer {
        Some(consumer) => format!("deadletter.*.{consumer}"),
        None => waybill_eventlog::stream::DEAD_LETTER_SUBJECTS.to_owned(),
    };
    let mut letters = Vec::new();
    let mut from = 1;
    loop {
        match stream.direct_get_next_for_subject(filter.as_str(), Some(from)).await {
            Ok(message) => {
                from = message.sequence + 1;
                letters.push(DeadLetter::from_message(message));
            }
            Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => break,
            Err(error) => return Err(error).context("reading dead letters"),
        }
    }
    Ok(letters)
}

/// The dead letter at `seq` of the dead-letter stream.
pub async fn get(log: &EventLog, seq: u64) -> anyhow::Result<DeadLetter> {
    let stream = dead_letter_stream(log).await?;
    match stream.direct_get(seq).await {
        Ok(message) => Ok(DeadLetter::from_message(message)),
        Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) || seq == 0 => {
            anyhow::bail!("there is no dead letter {seq} (`waybill dead-letters list` shows them)")
        }
        Err(error) => Err(error).context("reading the dead letter"),
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
    if let Some(message) = &letter.message {
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
    let stream = dead_letter_stream(log).await?;
    match stream.direct_get_last_for_subject(letter.subject.as_str()).await {
        Ok(message) => {
            let last = DeadLetter::from_message(message);
            if last.redrive_position == Some(at) {
                return Ok(Outcome::DeadLetteredAgain {
                    request: at,
                    dead_letter: last.seq,
                    error: last.error,
                });
            }
        }
        Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => {}
        Err(error) => return Err(error).context("reading dead letters"),
    }
    Ok(Outcome::Handled { request: at })
}
