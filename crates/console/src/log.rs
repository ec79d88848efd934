//! The event log, read for the one thing the services' APIs do not answer: the dead
//! letters (the events reactions gave up on), shown on the operations board to people whose
//! roles may read the event log (`integrator`, `administrator`).
//!
//! Off unless `--dead-letters` is set: the console then connects to NATS with the usual
//! flags on first use (a NATS server out of reach at start does not stop the console; the
//! board says so in its section and tries again on the next visit). It connects as the
//! `console` NATS user (crates/ops users.rs), which may read the dead-letter stream (its
//! info and direct gets) and nothing else: not the event stream, no publishing.

use std::time::Duration;

use tokio::sync::OnceCell;
use waybill_eventlog::{DeadLetter, DeadLetterStream, StreamSettings};
use waybill_runtime::NatsFlags;

/// How long connecting to NATS may take before the board gives up for this visit.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The dead letters' source: NATS flags and the stream once connected.
pub struct DeadLetters {
    nats: NatsFlags,
    stream: OnceCell<DeadLetterStream>,
}

impl DeadLetters {
    pub fn new(nats: NatsFlags) -> DeadLetters {
        DeadLetters { nats, stream: OnceCell::new() }
    }

    /// Every dead letter, oldest first; the error says why they could not be read.
    pub async fn list(&self) -> Result<Vec<DeadLetter>, String> {
        let stream = self
            .stream
            .get_or_try_init(|| async {
                let connect = async {
                    let client = self.nats.connect("waybill-console").await?;
                    anyhow::Ok(DeadLetterStream::open(client, &StreamSettings::default()).await?)
                };
                match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                    Ok(opened) => opened.map_err(|error| format!("the dead-letter stream: {error:#}")),
                    Err(_) => Err(format!("the event log did not answer within {CONNECT_TIMEOUT:?}")),
                }
            })
            .await?;
        stream.list(None).await.map_err(|error| format!("reading the dead letters: {error}"))
    }
}
