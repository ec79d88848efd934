//! `waybill status`: what an operator looks at first. Both streams (messages, bytes, first
//! and last position), every consumer of the event stream with its lag, and the dead
//! letters per reaction. The durable consumers are the reactions (`<service>-<reaction>`);
//! the ephemeral ones are read models and watches (ordered consumers), whose `pending` is
//! how far they are behind the log.

use anyhow::Context as _;
use futures::TryStreamExt;
use serde::Serialize;
use waybill_eventlog::StreamSettings;

use crate::table;

/// Everything `status` shows; `--json` prints it as it is.
#[derive(Debug, Serialize)]
pub struct Status {
    pub streams: Vec<StreamStatus>,
    pub consumers: Vec<ConsumerStatus>,
    pub dead_letters: Vec<DeadLetterCount>,
}

#[derive(Debug, Serialize)]
pub struct StreamStatus {
    pub name: String,
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub consumers: usize,
}

#[derive(Debug, Serialize)]
pub struct ConsumerStatus {
    pub name: String,
    /// A reaction's durable consumer (true) or a read model's or watch's ordered one.
    pub durable: bool,
    pub filters: Vec<String>,
    /// Matching events not yet delivered: the lag.
    pub pending: u64,
    /// Delivered, not yet acknowledged (being handled, or to be redelivered).
    pub ack_pending: usize,
    pub redelivered: usize,
    /// The last position delivered, and the one below which everything is acknowledged.
    pub delivered_seq: u64,
    pub ack_floor_seq: u64,
}

#[derive(Debug, Serialize)]
pub struct DeadLetterCount {
    /// `deadletter.<service>.<consumer>`.
    pub subject: String,
    pub count: usize,
}

/// Reads the status from the server.
pub async fn read(client: &async_nats::Client, settings: &StreamSettings) -> anyhow::Result<Status> {
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut streams = Vec::new();
    for name in [&settings.name, &settings.dead_letter_stream] {
        let mut stream = jetstream.get_stream(name).await.with_context(|| format!("stream {name}"))?;
        let info = stream.info().await.with_context(|| format!("stream {name}"))?;
        streams.push(StreamStatus {
            name: name.clone(),
            messages: info.state.messages,
            bytes: info.state.bytes,
            first_seq: info.state.first_sequence,
            last_seq: info.state.last_sequence,
            consumers: info.state.consumer_count,
        });
    }
    let events = jetstream.get_stream(&settings.name).await?;
    let mut consumers: Vec<ConsumerStatus> = events
        .consumers()
        .map_ok(|info| {
            let mut filters = info.config.filter_subjects.clone();
            if !info.config.filter_subject.is_empty() {
                filters.push(info.config.filter_subject.clone());
            }
            ConsumerStatus {
                durable: info.config.durable_name.is_some(),
                name: info.name,
                filters,
                pending: info.num_pending,
                ack_pending: info.num_ack_pending,
                redelivered: info.num_redelivered,
                delivered_seq: info.delivered.stream_sequence,
                ack_floor_seq: info.ack_floor.stream_sequence,
            }
        })
        .try_collect()
        .await
        .context("listing consumers")?;
    consumers.sort_by(|a, b| b.durable.cmp(&a.durable).then_with(|| a.name.cmp(&b.name)));
    let dead_letter_stream = jetstream.get_stream(&settings.dead_letter_stream).await?;
    let mut dead_letters: Vec<DeadLetterCount> = dead_letter_stream
        .info_with_subjects(waybill_eventlog::stream::DEAD_LETTER_SUBJECTS)
        .await
        .context("counting dead letters")?
        .map_ok(|(subject, count)| DeadLetterCount { subject, count })
        .try_collect()
        .await
        .context("counting dead letters")?;
    dead_letters.sort_by(|a, b| a.subject.cmp(&b.subject));
    Ok(Status { streams, consumers, dead_letters })
}

/// The status as tables for people.
pub fn render(status: &Status) -> String {
    let streams: Vec<Vec<String>> = status
        .streams
        .iter()
        .map(|stream| {
            vec![
                stream.name.clone(),
                stream.messages.to_string(),
                stream.bytes.to_string(),
                stream.first_seq.to_string(),
                stream.last_seq.to_string(),
                stream.consumers.to_string(),
            ]
        })
        .collect();
    let consumers: Vec<Vec<String>> = status
        .consumers
        .iter()
        .map(|consumer| {
            vec![
                consumer.name.clone(),
                if consumer.durable { "reaction" } else { "ordered" }.to_owned(),
                consumer.pending.to_string(),
                consumer.ack_pending.to_string(),
                consumer.redelivered.to_string(),
                consumer.ack_floor_seq.to_string(),
                consumer.filters.join(","),
            ]
        })
        .collect();
    let dead_letters: Vec<Vec<String>> = status
        .dead_letters
        .iter()
        .map(|letters| vec![letters.subject.clone(), letters.count.to_string()])
        .collect();
    let total: usize = status.dead_letters.iter().map(|letters| letters.count).sum();
    let mut text = String::from("STREAMS\n");
    text.push_str(&table::render(&["name", "messages", "bytes", "first", "last", "consumers"], &streams));
    text.push_str("\nCONSUMERS of the event stream (pending = lag)\n");
    text.push_str(&table::render(
        &["name", "kind", "pending", "ack_pending", "redelivered", "ack_floor", "filters"],
        &consumers,
    ));
    text.push_str(&format!("\nDEAD LETTERS: {total}\n"));
    if !dead_letters.is_empty() {
        text.push_str(&table::render(&["subject", "count"], &dead_letters));
    }
    text
}
