//! `waybill backup <dir>`, `waybill restore <dir>` and `waybill verify <dir>`: both streams,
//! message by message, so that a restore into empty streams puts every message back at
//! its position, with its subject, headers and payload.
//!
//! A backup is a directory: `manifest.json` (written last: a directory without it is an
//! unfinished backup and restore refuses it) and one JSON-lines file per stream, one
//! message a line (`seq`, `subject`, `stored_at`, `headers`, `payload` in base64), in
//! order. Plain files: `jq` reads them, `diff` compares two.
//!
//! Restore publishes the messages again in order into streams that must be empty (it
//! bootstraps them if missing, and refuses a stream that holds anything), and checks that
//! every message lands at the position it had; any other outcome stops it, loudly. The
//! stored `Nats-*` headers go back as they were: the expected-sequence checks they carry
//! hold again because every position is the same, message ids were unique when stored,
//! and an atomic batch's messages (`Nats-Batch-*`) go back as the same batch.
//! It needs a NATS user that may publish on both streams' subjects, which the production
//! `ops` user may not (it writes no service's events): see docs/OPERATIONS.md.
//!
//! `verify` compares a backup with a live server, message by message (after a restore, or
//! against the source to see that nothing older changed).

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::push::OrderedConfig;
use async_nats::jetstream::stream::DirectGetErrorKind;
use base64::Engine;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use waybill_eventlog::{EventLog, StreamSettings};

use crate::decode;

pub(crate) const MANIFEST: &str = "manifest.json";
/// Headers the server adds to a direct get's answer, not part of the stored message.
const DIRECT_GET_HEADERS: [&str; 7] = [
    "Nats-Stream",
    "Nats-Sequence",
    "Nats-Time-Stamp",
    "Nats-Subject",
    "Nats-Last-Sequence",
    "Nats-Num-Pending",
    "Nats-UpTo-Sequence",
];
const FORMAT: u32 = 1;
/// Publishes in flight during a restore.
const IN_FLIGHT: usize = 256;

/// What a backup holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub taken_at: String,
    pub streams: Vec<StreamBackup>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct StreamBackup {
    pub name: String,
    /// The file, in the backup directory, holding its messages.
    pub file: String,
    pub first_seq: u64,
    pub last_seq: u64,
    pub messages: u64,
}

/// One message as backed up.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub seq: u64,
    pub subject: String,
    pub stored_at: String,
    /// Every header, a pair per value, sorted.
    pub headers: Vec<(String, String)>,
    /// Base64.
    pub payload: String,
}

impl StoredMessage {
    fn new(
        seq: u64,
        subject: &str,
        time: async_nats::datetime::DateTime,
        headers: Option<&HeaderMap>,
        payload: &[u8],
    ) -> Self {
        let mut pairs = Vec::new();
        for (name, values) in headers.into_iter().flat_map(|headers| headers.iter()) {
            if DIRECT_GET_HEADERS.iter().any(|added| name.to_string().eq_ignore_ascii_case(added)) {
                continue;
            }
            for value in values {
                pairs.push((name.to_string(), value.as_str().to_owned()));
            }
        }
        // Header order is not kept by the client (nor meaningful): sorted, so two copies compare.
        pairs.sort();
        StoredMessage {
            seq,
            subject: subject.to_owned(),
            stored_at: decode::timestamp(waybill_eventlog::read::to_chrono(time)),
            headers: pairs,
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
        }
    }

    fn header_map(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            headers.append(name.as_str(), value.as_str());
        }
        headers
    }

    pub(crate) fn payload_bytes(&self) -> anyhow::Result<bytes::Bytes> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.payload)
            .with_context(|| format!("message {}: payload is not base64", self.seq))?;
        Ok(bytes.into())
    }
}

fn bar(length: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Backs up both streams into `dir` (created; refused if it holds anything).
pub async fn backup(
    client: &async_nats::Client,
    settings: &StreamSettings,
    dir: &Path,
) -> anyhow::Result<Manifest> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!("{} is not empty: back up into a new directory", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let jetstream = async_nats::jetstream::new(client.clone());
    let taken_at = decode::timestamp(chrono::Utc::now());
    let mut streams = Vec::new();
    for name in [&settings.name, &settings.dead_letter_stream] {
        let mut stream = jetstream.get_stream(name).await.with_context(|| format!("stream {name}"))?;
        let state = stream.info().await.with_context(|| format!("stream {name}"))?.state.clone();
        let file = format!("{name}.jsonl");
        let mut out = BufWriter::new(std::fs::File::create(dir.join(&file))?);
        let progress = bar(state.last_sequence, name);
        let mut written = 0;
        let mut first_seq = 0;
        let mut last_seq = 0;
        if state.messages > 0 {
            let consumer = stream
                .create_consumer(OrderedConfig {
                    deliver_subject: client.new_inbox(),
                    deliver_policy: DeliverPolicy::All,
                    ..Default::default()
                })
                .await
                .with_context(|| format!("reading stream {name}"))?;
            let mut messages = consumer.messages().await?;
            while let Some(message) = messages.next().await {
                let message = message.with_context(|| format!("reading stream {name}"))?;
                let info =
                    message.info().map_err(|error| anyhow::anyhow!("reading stream {name}: {error}"))?;
                let seq = info.stream_sequence;
                let stored = StoredMessage::new(
                    seq,
                    &message.subject,
                    info.published,
                    message.headers.as_ref(),
                    &message.payload,
                );
                serde_json::to_writer(&mut out, &stored)?;
                out.write_all(b"\n")?;
                if first_seq == 0 {
                    first_seq = seq;
                }
                last_seq = seq;
                written += 1;
                progress.set_position(seq);
                // Messages written after the backup started wait for the next one.
                if seq >= state.last_sequence {
                    break;
                }
            }
        }
        out.flush()?;
        progress.finish_and_clear();
        streams.push(StreamBackup { name: name.clone(), file, first_seq, last_seq, messages: written });
    }
    let manifest = Manifest { format: FORMAT, taken_at, streams };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(manifest)
}

pub fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).with_context(|| {
        format!("{} has no {MANIFEST}: not a backup, or an unfinished one", dir.display())
    })?;
    let manifest: Manifest =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(manifest.format == FORMAT, "backup format {} is not {FORMAT}", manifest.format);
    Ok(manifest)
}

/// The messages of one stream's backup, in order.
pub(crate) fn messages(
    dir: &Path,
    stream: &StreamBackup,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<StoredMessage>>> {
    let path: PathBuf = dir.join(&stream.file);
    let file = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    Ok(std::io::BufReader::new(file).lines().map(move |line| {
        let line = line?;
        serde_json::from_str(&line).with_context(|| format!("a line of {}", path.display()))
    }))
}

/// Restores the backup in `dir` into empty streams (bootstrapped with `settings` if
/// missing), every message at its position.
pub async fn restore(
    client: &async_nats::Client,
    settings: &StreamSettings,
    dir: &Path,
) -> anyhow::Result<Manifest> {
    let manifest = read_manifest(dir)?;
    EventLog::bootstrap(client, settings).await.context("bootstrapping the streams")?;
    let jetstream = async_nats::jetstream::new(client.clone());
    for backup in &manifest.streams {
        let mut stream =
            jetstream.get_stream(&backup.name).await.with_context(|| format!("stream {}", backup.name))?;
        let state = &stream.info().await?.state;
        anyhow::ensure!(
            state.messages == 0 && state.last_sequence == 0,
            "stream {} is not empty ({} messages, last position {}): restore only into empty streams",
            backup.name,
            state.messages,
            state.last_sequence
        );
        anyhow::ensure!(
            backup.messages == 0 || backup.first_seq == 1,
            "the backup of {} starts at position {}: positions could not be kept",
            backup.name,
            backup.first_seq
        );
    }
    for backup in &manifest.streams {
        let progress = bar(backup.messages, &backup.name);
        let mut pending = std::collections::VecDeque::new();
        for (expected, message) in (1u64..).zip(messages(dir, backup)?) {
            let message = message?;
            anyhow::ensure!(
                message.seq == expected,
                "the backup of {} has position {} where {expected} was due: positions could not be kept",
                backup.name,
                message.seq
            );
            if message.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("Nats-Batch-Id")) {
                // An atomic batch (ADR-50) goes back as one, with its stored batch headers:
                // each message a request, the commit answered with the batch's last position.
                while let Some((seq, ack)) = pending.pop_front() {
                    check_ack(&backup.name, seq, ack.await)?;
                    progress.inc(1);
                }
                restore_batch_message(client, &backup.name, &message).await?;
                progress.inc(1);
                continue;
            }
            let ack = jetstream
                .publish_with_headers(message.subject.clone(), message.header_map(), message.payload_bytes()?)
                .await
                .with_context(|| format!("restoring message {} of {}", message.seq, backup.name))?;
            pending.push_back((message.seq, ack));
            if pending.len() >= IN_FLIGHT
                && let Some((seq, ack)) = pending.pop_front()
            {
                check_ack(&backup.name, seq, ack.await)?;
                progress.inc(1);
            }
        }
        while let Some((seq, ack)) = pending.pop_front() {
            check_ack(&backup.name, seq, ack.await)?;
            progress.inc(1);
        }
        progress.finish_and_clear();
    }
    Ok(manifest)
}

/// Sends one message of an atomic batch and checks the server's answer: empty for the
/// messages before the commit, the publish ack (at this message's position) for the commit.
async fn restore_batch_message(
    client: &async_nats::Client,
    stream: &str,
    message: &StoredMessage,
) -> anyhow::Result<()> {
    let reply = client
        .request_with_headers(message.subject.clone(), message.header_map(), message.payload_bytes()?)
        .await
        .map_err(|error| anyhow::anyhow!("restoring message {} of {stream}: {error}", message.seq))?;
    if reply.payload.is_empty() {
        return Ok(());
    }
    let answer: serde_json::Value = serde_json::from_slice(&reply.payload)
        .with_context(|| format!("restoring message {} of {stream}: unreadable answer", message.seq))?;
    if let Some(error) = answer.get("error") {
        anyhow::bail!("restoring message {} of {stream}: refused: {error}", message.seq);
    }
    let stored_at = answer.get("seq").and_then(serde_json::Value::as_u64);
    anyhow::ensure!(
        stored_at == Some(message.seq),
        "restoring message {} of {stream}: its batch was stored ending at {stored_at:?}; stopped",
        message.seq
    );
    Ok(())
}

fn check_ack(
    stream: &str,
    seq: u64,
    ack: Result<async_nats::jetstream::publish::PublishAck, async_nats::jetstream::context::PublishError>,
) -> anyhow::Result<()> {
    let ack =
        ack.map_err(|error| anyhow::anyhow!("restoring message {seq} of {stream}: refused: {error}"))?;
    anyhow::ensure!(
        ack.stream == stream && ack.sequence == seq && !ack.duplicate,
        "restoring message {seq} of {stream}: stored in {} at {}{}; stopped",
        ack.stream,
        ack.sequence,
        if ack.duplicate { " as a duplicate" } else { "" }
    );
    Ok(())
}

/// What `verify` found: per stream, messages compared and the first difference.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub stream: String,
    pub compared: u64,
    pub differences: Vec<String>,
}

/// Compares every message of the backup in `dir` with the server's: subject, headers and
/// payload at the same position. At most `limit` differences per stream are kept.
pub async fn compare(
    client: &async_nats::Client,
    dir: &Path,
    limit: usize,
) -> anyhow::Result<Vec<Comparison>> {
    let manifest = read_manifest(dir)?;
    let jetstream = async_nats::jetstream::new(client.clone());
    let mut comparisons = Vec::new();
    for backup in &manifest.streams {
        let stream =
            jetstream.get_stream(&backup.name).await.with_context(|| format!("stream {}", backup.name))?;
        let progress = bar(backup.messages, &format!("verify {}", backup.name));
        let mut comparison = Comparison { stream: backup.name.clone(), compared: 0, differences: Vec::new() };
        for message in messages(dir, backup)? {
            let message = message?;
            let found = match stream.direct_get(message.seq).await {
                Ok(found) => Some(found),
                Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => None,
                Err(error) => return Err(error).context("reading the server's copy"),
            };
            let difference = match found {
                None => Some(format!("position {}: missing", message.seq)),
                Some(found) => {
                    let live = StoredMessage::new(
                        found.sequence,
                        &found.subject,
                        found.time,
                        Some(&found.headers),
                        &found.payload,
                    );
                    if live.subject != message.subject {
                        Some(format!(
                            "position {}: subject {} instead of {}",
                            message.seq, live.subject, message.subject
                        ))
                    } else if live.payload != message.payload {
                        Some(format!("position {}: another payload", message.seq))
                    } else if live.headers != message.headers {
                        Some(format!(
                            "position {}: headers {:?} instead of {:?}",
                            message.seq, live.headers, message.headers
                        ))
                    } else {
                        None
                    }
                }
            };
            if let Some(difference) = difference
                && comparison.differences.len() < limit
            {
                comparison.differences.push(difference);
            }
            comparison.compared += 1;
            progress.inc(1);
        }
        progress.finish_and_clear();
        comparisons.push(comparison);
    }
    Ok(comparisons)
}
