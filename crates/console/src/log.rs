//! The event log, read for the one thing the services' APIs do not answer: the dead
//! letters (the events reactions gave up on), shown on the operations board to people whose
//! roles may read the event log (`integrator`, `administrator`).
//!
//! Off unless `--dead-letters` is set: the console then connects to NATS with the usual
//! flags on first use (a NATS server out of reach at start does not stop the console; the
//! board says so in its section and tries again on the next visit). It reads as the NATS
//! user it is given; it only reads (stream info and direct gets on the dead-letter stream).

use std::time::Duration;

use tokio::sync::OnceCell;
use waybill_eventlog::{DeadLetter, EventLog, StreamSettings};
use waybill_runtime::NatsFlags;

/// How long connecting to NATS may take before the board gives up for this visit.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The dead letters' source: NATS flags and the log once connected.
pub struct DeadLetters {
    nats: NatsFlags,
    log: OnceCell<EventLog>,
}

impl DeadLetters {
    pub fn new(nats: NatsFlags) -> DeadLetters {
        DeadLetters { nats, log: OnceCell::new() }
    }

    /// Every dead letter, oldest first; the error says why they could not be read.
    pub async fn list(&self) -> Result<Vec<DeadLetter>, String> {
        let log = self
            .log
            .get_or_try_init(|| async {
                let connect = async {
                    let client = self.nats.connect("waybill-console").await?;
                    anyhow::Ok(EventLog::open(client, StreamSettings::default(), "/waybill/console").await?)
                };
                match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                    Ok(opened) => opened.map_err(|error| format!("the event log: {error:#}")),
                    Err(_) => Err(format!("the event log did not answer within {CONNECT_TIMEOUT:?}")),
                }
            })
            .await?;
        log.dead_letters(None).await.map_err(|error| format!("reading the dead letters: {error}"))
    }
}
