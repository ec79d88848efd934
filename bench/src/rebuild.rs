//! Benchmark 2: read-model rebuild over a log of (at least) a million events.
//!
//! The log is generated once into `<data dir>/log-<events>/` and reused:
//! 1. the five release services run a few real lifecycles (place to delivered) on it:
//!    these are the templates, every event exactly as the services write it;
//! 2. the templates are copied until the stream holds the target count, each copy with
//!    fresh UUIDs (orders, events, causations; the same length, so the protobuf stays
//!    valid) and a customer from a pool of [`CUSTOMERS`]; the van and courier stay;
//! 3. the durable reaction consumers are fast-forwarded to the end (acked without running
//!    their handlers), as in a running system whose reactions ran as the events came:
//!    a rebuild measures a restart, not a backlog of reactions.
//!
//! A run then starts each service alone on that log and times process start to SERVING
//! (grpc health), reads its peak RSS (VmHWM) and, 2 s later, its settled RSS (VmRSS), and
//! times a raw ordered-consumer replay of the whole stream in the same run.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::lifecycle::{self, System, Watcher};
use crate::procs::{Nats, Paths, Service};

/// Distinct customers the copies are spread over.
pub const CUSTOMERS: usize = 5_000;
const TEMPLATE_CUSTOMER: &str = "0190f000-0000-7000-8000-00000000c0de";
const IN_FLIGHT: usize = 512;

/// What the generated log holds (kept in `READY` next to it).
#[derive(Clone, Debug)]
pub struct GeneratedLog {
    pub dir: PathBuf,
    pub events: u64,
    pub orders: u64,
    pub events_per_order: u64,
    pub generation_secs: f64,
}

impl GeneratedLog {
    fn marker(dir: &std::path::Path) -> PathBuf {
        dir.join("READY")
    }

    fn read(dir: PathBuf) -> Option<GeneratedLog> {
        let text = std::fs::read_to_string(GeneratedLog::marker(&dir)).ok()?;
        let field = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .map(str::trim)
                .map(str::to_owned)
        };
        Some(GeneratedLog {
            events: field("events")?.parse().ok()?,
            orders: field("orders")?.parse().ok()?,
            events_per_order: field("events_per_order")?.parse().ok()?,
            generation_secs: field("generation_secs")?.parse().ok()?,
            dir,
        })
    }

    fn write(&self) -> anyhow::Result<()> {
        std::fs::write(
            GeneratedLog::marker(&self.dir),
            format!(
                "events={}\norders={}\nevents_per_order={}\ngeneration_secs={:.1}\n",
                self.events, self.orders, self.events_per_order, self.generation_secs
            ),
        )?;
        Ok(())
    }
}

/// The log of `events` events, generated now if it does not exist yet.
pub async fn prepare(paths: &Paths, events: u64) -> anyhow::Result<GeneratedLog> {
    let dir = paths.data_dir.join(format!("log-{events}"));
    if let Some(log) = GeneratedLog::read(dir.clone()) {
        eprintln!("reusing the generated log in {} ({} events)", dir.display(), log.events);
        return Ok(log);
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("generating a log of {events} events in {} (once)", dir.display());
    let started = Instant::now();
    let nats = Nats::start(&paths.nats_server, &dir)?;
    let client = nats.client().await?;
    let jetstream = jetstream::new(client.clone());

    // 1. Real lifecycles through the real services.
    let system = System::start(paths, &nats.url, "generate").await?;
    let mut clients = system.clients().await?;
    let watcher = Watcher::start(client.clone(), 1).await?;
    let crew = lifecycle::register_crew(&mut clients).await?;
    let setup_end = settled_last_sequence(&jetstream).await?;
    const TEMPLATES: u64 = 2;
    for _ in 0..TEMPLATES {
        lifecycle::one_lifecycle(&mut clients, &watcher, &crew, TEMPLATE_CUSTOMER.to_owned()).await?;
    }
    let template_end = settled_last_sequence(&jetstream).await?;
    system.stop();
    let fleet: HashSet<Vec<u8>> =
        [crew.vehicle_id.as_bytes().to_vec(), crew.courier_id.as_bytes().to_vec()].into_iter().collect();
    let templates = read_range(&client, setup_end + 1, template_end).await?;
    anyhow::ensure!(!templates.is_empty(), "the template lifecycles wrote nothing");
    let events_per_order = templates.len() as u64 / TEMPLATES;
    eprintln!(
        "  {} template events ({} per lifecycle) after {:.1} s",
        templates.len(),
        events_per_order,
        started.elapsed().as_secs_f64()
    );

    // 2. Copies with fresh ids.
    let customers: Vec<String> = (0..CUSTOMERS).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let mut written = template_end;
    let mut copies = 0u64;
    let mut duplicates = 0u64;
    let mut in_flight = FuturesUnordered::new();
    while written < events {
        let mut ids: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        ids.insert(
            TEMPLATE_CUSTOMER.as_bytes().to_vec(),
            customers[copies as usize % CUSTOMERS].as_bytes().to_vec(),
        );
        for (subject, headers, payload) in &templates {
            let subject = remap(subject.as_bytes(), &mut ids, &fleet);
            let mut copied = HeaderMap::new();
            for (name, values) in headers.iter() {
                let name = name.to_string();
                if name.starts_with("Nats-") && name != "Nats-Msg-Id" {
                    continue;
                }
                for value in values {
                    let value = remap(value.as_str().as_bytes(), &mut ids, &fleet);
                    copied.append(name.as_str(), String::from_utf8_lossy(&value).as_ref());
                }
            }
            let payload = Bytes::from(remap(payload, &mut ids, &fleet));
            let subject = String::from_utf8_lossy(&subject).into_owned();
            let ack = jetstream.publish_with_headers(subject, copied, payload).await?;
            in_flight.push(ack.into_future());
            while in_flight.len() >= IN_FLIGHT {
                if let Some(ack) = in_flight.next().await {
                    duplicates += u64::from(ack?.duplicate);
                }
            }
            written += 1;
        }
        copies += 1;
        if copies.is_multiple_of(10_000) {
            eprintln!("  {written} events after {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    while let Some(ack) = in_flight.next().await {
        duplicates += u64::from(ack?.duplicate);
    }
    anyhow::ensure!(duplicates == 0, "{duplicates} copies were dropped as duplicates");
    let total = settled_last_sequence(&jetstream).await?;

    // 3. The reactions have seen it all.
    fast_forward_consumers(&jetstream).await?;
    let log = GeneratedLog {
        dir,
        events: total,
        orders: (copies + 1) * TEMPLATES,
        events_per_order,
        generation_secs: started.elapsed().as_secs_f64(),
    };
    nats.process.stop(Duration::from_secs(30));
    log.write()?;
    eprintln!("  generated {} events ({} orders) in {:.1} s", log.events, log.orders, log.generation_secs);
    Ok(log)
}

/// Replaces every UUID in `bytes` (36 characters, lower-case hex and dashes) by its fresh
/// counterpart in `ids` (made on first sight), except the ids in `keep`.
fn remap(bytes: &[u8], ids: &mut HashMap<Vec<u8>, Vec<u8>>, keep: &HashSet<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if index + 36 <= bytes.len() && is_uuid(&bytes[index..index + 36]) {
            let id = &bytes[index..index + 36];
            if keep.contains(id) {
                out.extend_from_slice(id);
            } else {
                let fresh =
                    ids.entry(id.to_vec()).or_insert_with(|| uuid::Uuid::now_v7().to_string().into_bytes());
                out.extend_from_slice(fresh);
            }
            index += 36;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    out
}

fn is_uuid(candidate: &[u8]) -> bool {
    candidate.iter().enumerate().all(|(position, byte)| match position {
        8 | 13 | 18 | 23 => *byte == b'-',
        _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(byte),
    })
}

/// The stream's last position once nothing new has arrived for a second.
async fn settled_last_sequence(jetstream: &jetstream::Context) -> anyhow::Result<u64> {
    let mut stream = jetstream.get_stream("WAYBILL").await?;
    let mut last = stream.info().await?.state.last_sequence;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = stream.info().await?.state.last_sequence;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
}

/// Messages `from..=to` of `WAYBILL`: (subject, headers, payload).
async fn read_range(
    client: &async_nats::Client,
    from: u64,
    to: u64,
) -> anyhow::Result<Vec<(String, HeaderMap, Bytes)>> {
    let jetstream = jetstream::new(client.clone());
    let stream = jetstream.get_stream("WAYBILL").await?;
    let consumer = stream
        .create_consumer(consumer::push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence: from },
            ..Default::default()
        })
        .await?;
    let mut messages = consumer.messages().await?;
    let mut read = Vec::new();
    while let Some(message) = messages.next().await {
        let message = message?;
        let sequence = message.info().map_err(|error| anyhow::anyhow!("{error}"))?.stream_sequence;
        read.push((
            message.subject.to_string(),
            message.headers.clone().unwrap_or_default(),
            message.payload.clone(),
        ));
        if sequence >= to {
            break;
        }
    }
    Ok(read)
}

/// Acks everything pending on every durable consumer of `WAYBILL`, without handling it.
async fn fast_forward_consumers(jetstream: &jetstream::Context) -> anyhow::Result<()> {
    let stream = jetstream.get_stream("WAYBILL").await?;
    let mut names = stream.consumer_names();
    let mut all = Vec::new();
    while let Some(name) = names.next().await {
        all.push(name?);
    }
    for name in all {
        // Only the services' durable (pull) reaction consumers; ephemeral ordered push
        // consumers of stopped readers are skipped.
        let Ok(mut consumer) = stream.get_consumer::<consumer::pull::Config>(&name).await else { continue };
        if consumer.cached_info().config.durable_name.is_none() {
            continue;
        }
        let started = Instant::now();
        let pending = consumer.info().await?.num_pending;
        let mut acked = 0u64;
        {
            // A continuous pull (not one fetch per batch: a fetch waits out its expiry
            // whenever the server still counts the last batch's acks as pending).
            let mut messages = consumer.messages().await?;
            while acked < pending {
                let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(10), messages.next()).await
                else {
                    break;
                };
                message
                    .map_err(|error| anyhow::anyhow!("{error}"))?
                    .ack()
                    .await
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
                acked += 1;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let info = consumer.info().await?;
            if info.num_pending == 0 && info.num_ack_pending == 0 {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "consumer {name} still has {} pending and {} unacked",
                info.num_pending,
                info.num_ack_pending
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        eprintln!(
            "  consumer {name}: fast-forwarded {acked} events in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// One service's rebuild in one run.
#[derive(Clone, Debug)]
pub struct ServiceRebuild {
    pub name: &'static str,
    /// Process start to SERVING.
    pub started_in: Duration,
    /// VmHWM at SERVING: includes the replay's transient buffers.
    pub peak_rss: u64,
    /// VmRSS once SERVING and settled: what the caught-up process keeps.
    pub settled_rss: u64,
    /// VmRSS of the same service, settled, SERVING on an empty log.
    pub empty_rss: u64,
}

/// How long after SERVING the settled RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

impl RebuildRun {
    /// The fastest raw read of this run: the baseline the rebuild is held against.
    pub fn fastest_raw_read(&self) -> Duration {
        self.raw_reads.iter().map(|read| read.1).min().unwrap_or(Duration::MAX)
    }
}

pub struct RebuildRun {
    pub services: Vec<ServiceRebuild>,
    /// Per service: CPU seconds of nats-server and of the service during its rebuild.
    pub cpu: Vec<(f64, f64)>,
    /// Each raw read of the whole log: how, how long, nats-server CPU seconds.
    pub raw_reads: Vec<(RawRead, Duration, f64)>,
    pub log_grew_by: u64,
}

pub async fn run(paths: &Paths, log: &GeneratedLog, run_index: usize) -> anyhow::Result<RebuildRun> {
    // Each service's footprint on an empty log, to tell the read model from the process.
    let empty_store = paths.data_dir.join(format!("empty-run-{run_index}"));
    let _ = std::fs::remove_dir_all(&empty_store);
    let empty = Nats::start(&paths.nats_server, &empty_store)?;
    let mut empty_rss = Vec::new();
    for name in lifecycle::SERVICES {
        let log_file = paths.log(&format!("empty-{run_index}-{name}"))?;
        let service = Service::start(
            &paths.service(name),
            waybill_system_tests::grpc_service(name)?,
            &empty.url,
            &log_file,
            &[],
            Duration::from_secs(60),
        )
        .await?;
        tokio::time::sleep(SETTLE).await;
        empty_rss.push(service.rss_bytes()?);
        service.stop(Duration::from_secs(5));
    }
    empty.process.stop(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&empty_store);

    let nats = Nats::start(&paths.nats_server, &log.dir)?;
    let client = nats.client().await?;
    let jetstream = jetstream::new(client.clone());
    let before = jetstream.get_stream("WAYBILL").await?.info().await?.state.last_sequence;

    let mut raw_reads = Vec::new();
    for how in RawRead::ALL {
        let nats_cpu_before = nats.process.cpu_seconds();
        let took = raw_replay(&client, before, how).await?;
        let nats_cpu = nats.process.cpu_seconds() - nats_cpu_before;
        eprintln!(
            "  rebuild run {run_index}: raw read ({}) of {before} events {:.2} s ({:.0}/s), nats-server CPU {nats_cpu:.1} s",
            how.describe(),
            took.as_secs_f64(),
            before as f64 / took.as_secs_f64()
        );
        raw_reads.push((how, took, nats_cpu));
    }
    let mut services = Vec::new();
    let mut cpu = Vec::new();
    for (name, empty_rss) in lifecycle::SERVICES.into_iter().zip(empty_rss) {
        let nats_cpu_before = nats.process.cpu_seconds();
        let service = Service::start(
            &paths.service(name),
            waybill_system_tests::grpc_service(name)?,
            &nats.url,
            &paths.log(&format!("rebuild-{run_index}-{name}"))?,
            &[],
            Duration::from_secs(900),
        )
        .await?;
        let peak_rss = service.peak_rss_bytes()?;
        let (nats_cpu, service_cpu) = (nats.process.cpu_seconds() - nats_cpu_before, service.cpu_seconds());
        cpu.push((nats_cpu, service_cpu));
        tokio::time::sleep(SETTLE).await;
        let settled_rss = service.rss_bytes()?;
        eprintln!(
            "  rebuild run {run_index}: {name:<10} SERVING after {:>6.2} s, peak RSS {:>5.0} MB, settled {:>5.0} MB, CPU s: nats-server {nats_cpu:.1}, {name} {service_cpu:.1}",
            service.started_in.as_secs_f64(),
            peak_rss as f64 / 1e6,
            settled_rss as f64 / 1e6
        );
        services.push(ServiceRebuild {
            name,
            started_in: service.started_in,
            peak_rss,
            settled_rss,
            empty_rss,
        });
        service.stop(Duration::from_secs(5));
    }
    let after = jetstream.get_stream("WAYBILL").await?.info().await?.state.last_sequence;
    nats.process.stop(Duration::from_secs(30));
    Ok(RebuildRun { services, cpu, raw_reads, log_grew_by: after - before })
}

/// The ways of reading the whole log the rebuild is held against; the fastest in each run is
/// the baseline (issue 13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawRead {
    /// An ordered push consumer filtered on `waybill.>`, as the services replay.
    OrderedFiltered,
    /// An ordered push consumer with no filter.
    OrderedUnfiltered,
    /// A pull consumer with no acks, fetched in batches.
    PullNoAck,
}

impl RawRead {
    pub const ALL: [RawRead; 3] = [RawRead::OrderedFiltered, RawRead::OrderedUnfiltered, RawRead::PullNoAck];

    pub fn describe(self) -> &'static str {
        match self {
            RawRead::OrderedFiltered => "ordered push consumer, filter `waybill.>`",
            RawRead::OrderedUnfiltered => "ordered push consumer, no filter",
            RawRead::PullNoAck => "pull consumer, no acks, batches of 10,000",
        }
    }
}

/// Reads the whole stream to `last` the given way; returns how long it took.
async fn raw_replay(client: &async_nats::Client, last: u64, how: RawRead) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let jetstream = jetstream::new(client.clone());
    let stream = jetstream.get_stream("WAYBILL").await?;
    let mut count = 0u64;
    let mut read_to = |message: &jetstream::Message| -> anyhow::Result<bool> {
        count += 1;
        let sequence = message.info().map_err(|error| anyhow::anyhow!("{error}"))?.stream_sequence;
        Ok(sequence >= last)
    };
    match how {
        RawRead::OrderedFiltered | RawRead::OrderedUnfiltered => {
            let consumer = stream
                .create_consumer(consumer::push::OrderedConfig {
                    deliver_subject: client.new_inbox(),
                    filter_subject: if how == RawRead::OrderedFiltered {
                        "waybill.>".into()
                    } else {
                        String::new()
                    },
                    replay_policy: consumer::ReplayPolicy::Instant,
                    ..Default::default()
                })
                .await?;
            let mut messages = consumer.messages().await?;
            while let Some(message) = messages.next().await {
                if read_to(&message?)? {
                    break;
                }
            }
        }
        RawRead::PullNoAck => {
            let consumer = stream
                .create_consumer(consumer::pull::Config {
                    ack_policy: consumer::AckPolicy::None,
                    replay_policy: consumer::ReplayPolicy::Instant,
                    inactive_threshold: Duration::from_secs(60),
                    ..Default::default()
                })
                .await?;
            let mut messages = consumer.stream().max_messages_per_batch(10_000).messages().await?;
            while let Some(message) = messages.next().await {
                if read_to(&message?)? {
                    break;
                }
            }
        }
    }
    anyhow::ensure!(count > 0, "the raw replay read nothing");
    Ok(started.elapsed())
}
