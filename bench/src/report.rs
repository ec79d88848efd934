//! The markdown report: the machine, the versions, and the medians of the runs.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::lifecycle::{self, LifecycleRun};
use crate::place::{self, PlaceRun};
use crate::procs::Paths;
use crate::rebuild::{GeneratedLog, RebuildRun};
use crate::routes::{self, RouteRun};
use crate::stats::{median, spread};

pub const BEGIN: &str = "<!-- bench:results:begin -->";
pub const END: &str = "<!-- bench:results:end -->";

pub struct Report {
    runs: usize,
    environment: String,
    load_before: String,
    /// PlaceOrder and lifecycles on one node, with the targets.
    pub single: ShapeRuns,
    /// The same on the production shape (3 nodes, R3, sync always), reported beside.
    pub cluster: ShapeRuns,
    pub rebuild: Vec<RebuildRun>,
    pub log: Option<GeneratedLog>,
    /// Per run, every size.
    pub routes: Vec<Vec<RouteRun>>,
}

/// The PlaceOrder and lifecycle runs on one broker shape.
#[derive(Default)]
pub struct ShapeRuns {
    pub place: Vec<PlaceRun>,
    pub place_settings: Option<place::Settings>,
    pub lifecycle: Vec<LifecycleRun>,
    pub lifecycle_settings: Option<lifecycle::Settings>,
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|output| {
            let text = if output.stdout.is_empty() { output.stderr } else { output.stdout };
            String::from_utf8_lossy(&text).trim().to_owned()
        })
        .unwrap_or_else(|error| format!("({program}: {error})"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

impl Report {
    pub fn new(paths: &Paths, runs: usize) -> anyhow::Result<Report> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| {
                line.strip_prefix("model name").map(|rest| rest.trim_start_matches([' ', '\t', ':']))
            })
            .unwrap_or("unknown")
            .to_owned();
        let nproc = std::thread::available_parallelism().map(|cores| cores.get()).unwrap_or(0);
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned))
            .unwrap_or_default();
        let mut environment = String::new();
        writeln!(environment, "| | |\n|---|---|")?;
        writeln!(environment, "| date (UTC) | {} |", command_output("date", &["-u", "+%Y-%m-%d %H:%M"]))?;
        writeln!(environment, "| `nproc` | {nproc} |")?;
        writeln!(environment, "| CPU | {cpu} |")?;
        writeln!(environment, "| memory | {} |", memory.trim_start_matches("MemTotal:").trim())?;
        writeln!(environment, "| kernel | {} |", command_output("uname", &["-sr"]))?;
        writeln!(environment, "| commit | {} |", command_output("git", &["rev-parse", "--short", "HEAD"]))?;
        writeln!(environment, "| rustc | {} |", command_output("rustc", &["-V"]))?;
        writeln!(
            environment,
            "| nats-server | {} (single node, `-js`, file storage, default sync: `sync_interval` 2 min, not `always`) |",
            command_output(&paths.nats_server.to_string_lossy(), &["--version"])
        )?;
        writeln!(
            environment,
            "| crates | tonic 0.14, prost 0.14, async-nats 0.51, tokio 1, mimalloc (services and bench) |"
        )?;
        Ok(Report {
            runs,
            environment,
            load_before: load_average(),
            single: ShapeRuns::default(),
            cluster: ShapeRuns::default(),
            rebuild: Vec::new(),
            routes: Vec::new(),
            log: None,
        })
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = self.write_markdown(&mut out);
        out
    }

    fn write_markdown(&self, out: &mut String) -> std::fmt::Result {
        writeln!(out, "### Machine and versions\n")?;
        write!(out, "{}", self.environment)?;
        writeln!(
            out,
            "| load average (1/5/15 min) | {} before, {} after |",
            self.load_before,
            load_average()
        )?;
        writeln!(
            out,
            "| runs | {} of each benchmark; tables give the median (spread: min–max) |\n",
            self.runs
        )?;
        let mut targets = Vec::new();
        const ONE_NODE: &str = "one nats-server";
        self.single.write_place(out, "1. PlaceOrder", &mut targets)?;
        self.write_rebuild(out, &mut targets)?;
        self.single.write_lifecycle(out, "3. Full lifecycles", ONE_NODE, &mut targets)?;
        // The targets are held on one node; the production shape is reported beside them.
        let mut beside = Vec::new();
        const CLUSTER: &str =
            "a 3-node R3 cluster on loopback with `sync_interval: always`, the services given all three URLs";
        self.cluster.write_place(out, &format!("4. PlaceOrder on {CLUSTER}"), &mut beside)?;
        self.cluster.write_lifecycle(out, "5. Full lifecycles on the cluster", CLUSTER, &mut beside)?;
        self.write_routes(out)?;
        if !targets.is_empty() {
            writeln!(out, "### Targets\n")?;
            writeln!(out, "| target | measured | |\n|---|---|---|")?;
            for (target, measured, met) in targets {
                writeln!(out, "| {target} | {measured} | {} |", if met { "met" } else { "**not met**" })?;
            }
            writeln!(out)?;
        }
        Ok(())
    }

    fn write_routes(&self, out: &mut String) -> std::fmt::Result {
        if self.routes.is_empty() {
            return Ok(());
        }
        writeln!(out, "### 6. Courier routes ({} run(s))\n", self.routes.len())?;
        writeln!(
            out,
            "One courier's day, stops in a 10 × 10 km square, each promised a window a quarter of the shift long; \
             distances are great-circle × 1.3. The solver is vrp-core with a fixed seed on one thread, capped per \
             size; the baseline always drives to the nearest stop left, ignoring the windows.\n"
        )?;
        writeln!(
            out,
            "| stops | solver cap | solver km | baseline km | solver windows kept | baseline windows kept | solver planned | time to plan: solver | baseline |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|")?;
        for (index, size) in routes::SIZES.iter().enumerate() {
            let runs = || self.routes.iter().filter_map(|run| run.get(index));
            let cap = routes::limits(*size);
            let kept = |outcome: fn(&RouteRun) -> (usize, usize)| {
                let (kept, of) = runs().map(outcome).next().unwrap_or_default();
                format!("{kept} of {of}")
            };
            writeln!(
                out,
                "| {size} | {} generations or {} s | {:.1} | {:.1} | {} | {} | {} | {:.2} s ({}) | {:.4} s |",
                cap.max_generations,
                cap.max_time.as_secs(),
                median(runs().map(|run| run.solver.distance_km)),
                median(runs().map(|run| run.baseline.distance_km)),
                kept(|run| (run.solver.windows_kept, run.stops)),
                kept(|run| (run.baseline.windows_kept, run.stops)),
                kept(|run| (run.solver.planned, run.stops)),
                median(runs().map(|run| run.solver.seconds)),
                spread(runs().map(|run| run.solver.seconds), 2),
                median(runs().map(|run| run.baseline.seconds)),
            )?;
        }
        writeln!(out)
    }

    fn write_rebuild(&self, out: &mut String, targets: &mut Vec<(String, String, bool)>) -> std::fmt::Result {
        let (Some(log), Some(first)) = (&self.log, self.rebuild.first()) else { return Ok(()) };
        writeln!(out, "### 2. Read-model rebuild ({} run(s))\n", self.rebuild.len())?;
        writeln!(
            out,
            "Log: {} events = {} full lifecycles of {} events each, generated once in {:.0} s and reused. \
             Time = process start to grpc health SERVING, each service alone; events/s = all {} events in the log ÷ that time \
             (each service reads the whole log and applies the subjects it follows). CPU s = CPU time used by nats-server and by the service meanwhile. \
             Peak RSS = VmHWM at SERVING (it includes the replay's transient buffers); settled RSS = VmRSS 2 s after SERVING; \
             MB per 1M orders = (settled RSS − settled RSS of the same service SERVING on an empty log) ÷ orders × 1M, \
             a linear extrapolation. Log growth during the runs: {} events.\n",
            log.events,
            log.orders,
            log.events_per_order,
            log.generation_secs,
            log.events,
            self.rebuild.iter().map(|run| run.log_grew_by.to_string()).collect::<Vec<_>>().join(", ")
        )?;
        writeln!(
            out,
            "| | time s | events/s | ÷ fastest raw read | CPU s nats-server / service | peak RSS MB | settled RSS MB | on an empty log MB | MB per 1M orders |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for (index, (how, ..)) in first.raw_reads.iter().enumerate() {
            let reads = || self.rebuild.iter().filter_map(|run| run.raw_reads.get(index));
            let times: Vec<f64> = reads().map(|read| read.1.as_secs_f64()).collect();
            let ratio = median(self.rebuild.iter().filter_map(|run| {
                Some(run.fastest_raw_read().as_secs_f64() / run.raw_reads.get(index)?.1.as_secs_f64())
            }));
            writeln!(
                out,
                "| raw read: {} | {:.2} ({}) | {:.0} | {ratio:.2} | {:.1} / – | | | | |",
                how.describe(),
                median(times.iter().copied()),
                spread(times.iter().copied(), 2),
                log.events as f64 / median(times.iter().copied()),
                median(reads().map(|read| read.2))
            )?;
        }
        let mut worst_ratio = f64::INFINITY;
        let mut worst_rss = 0.0f64;
        for (index, first_service) in first.services.iter().enumerate() {
            let name = first_service.name;
            let services = || self.rebuild.iter().filter_map(|run| run.services.get(index));
            let times: Vec<f64> = services().map(|s| s.started_in.as_secs_f64()).collect();
            let peak_rss = median(services().map(|s| s.peak_rss as f64 / 1e6));
            let rss = median(services().map(|s| s.settled_rss as f64 / 1e6));
            let empty_rss = median(services().map(|s| s.empty_rss as f64 / 1e6));
            let ratio = median(self.rebuild.iter().filter_map(|run| {
                let service = run.services.get(index)?;
                Some(run.fastest_raw_read().as_secs_f64() / service.started_in.as_secs_f64())
            }));
            let cpu = |pick: fn(&(f64, f64)) -> f64| {
                median(self.rebuild.iter().filter_map(|run| run.cpu.get(index)).map(pick))
            };
            let per_million = (rss - empty_rss).max(0.0) / log.orders as f64 * 1e6;
            worst_ratio = worst_ratio.min(ratio);
            worst_rss = worst_rss.max(per_million);
            writeln!(
                out,
                "| {name} | {:.2} ({}) | {:.0} | {:.2} | {:.1} / {:.1} | {:.0} | {:.0} | {:.0} | {:.0} |",
                median(times.iter().copied()),
                spread(times.iter().copied(), 2),
                log.events as f64 / median(times.iter().copied()),
                ratio,
                cpu(|cpu| cpu.0),
                cpu(|cpu| cpu.1),
                peak_rss,
                rss,
                empty_rss,
                per_million
            )?;
        }
        writeln!(out)?;
        targets.push((
            "rebuild ≥ 0.8 × the fastest raw read of the same log (slowest service)".into(),
            format!("{worst_ratio:.2} ×"),
            worst_ratio >= 0.8,
        ));
        targets.push((
            "≤ 600 MB RSS per million orders in a read model (largest service, extrapolated)".into(),
            format!("{worst_rss:.0} MB"),
            worst_rss <= 600.0,
        ));
        Ok(())
    }
}

impl ShapeRuns {
    fn write_place(
        &self,
        out: &mut String,
        heading: &str,
        targets: &mut Vec<(String, String, bool)>,
    ) -> std::fmt::Result {
        let (Some(settings), Some(first)) = (&self.place_settings, self.place.first()) else { return Ok(()) };
        writeln!(out, "### {heading}\n")?;
        writeln!(
            out,
            "Closed-loop clients, {:.0} s measured after {:.1} s warm-up per level and target; one HTTP/2 channel per {} gRPC clients. \
             (a) = bare tonic handler publishing one event and awaiting the ack; (b) = raw JetStream publish, that many acks in flight. \
             Latencies in ms.\n",
            settings.measure.as_secs_f64(),
            settings.warmup.as_secs_f64(),
            place::CLIENTS_PER_CHANNEL
        )?;
        writeln!(
            out,
            "| clients | intake orders/s | p50 | p99 | (a) calls/s | p50 | p99 | (b) acks/s | p50 | p99 | intake ÷ (a) | intake ÷ (b) | errors |"
        )?;
        writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for (index, (clients, ..)) in first.iter().enumerate() {
            let level = |pick: &dyn Fn(&place::LevelRow) -> f64| {
                median(self.place.iter().filter_map(|run| run.get(index)).map(pick))
            };
            let intake_rate: Vec<f64> =
                self.place.iter().filter_map(|run| run.get(index)).map(|r| r.1.per_second).collect();
            let ratio_a = level(&|r| r.1.per_second / r.2.per_second);
            let ratio_b = level(&|r| r.1.per_second / r.3.per_second);
            let errors: u64 = self
                .place
                .iter()
                .filter_map(|run| run.get(index))
                .map(|r| r.1.errors + r.2.errors + r.3.errors)
                .sum();
            writeln!(
                out,
                "| {clients} | {:.0} ({}) | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {errors} |",
                median(intake_rate.iter().copied()),
                spread(intake_rate.iter().copied(), 0),
                level(&|r| r.1.p50_ms),
                level(&|r| r.1.p99_ms),
                level(&|r| r.2.per_second),
                level(&|r| r.2.p50_ms),
                level(&|r| r.2.p99_ms),
                level(&|r| r.3.per_second),
                level(&|r| r.3.p50_ms),
                level(&|r| r.3.p99_ms),
                ratio_a,
                ratio_b,
            )?;
            if *clients == 64 {
                targets.push((
                    "PlaceOrder ≥ 0.8 × the bare handler (a) at 64 clients".into(),
                    format!("{ratio_a:.2} ×"),
                    ratio_a >= 0.8,
                ));
            }
        }
        writeln!(out)?;
        Ok(())
    }

    fn write_lifecycle(
        &self,
        out: &mut String,
        heading: &str,
        broker: &str,
        targets: &mut Vec<(String, String, bool)>,
    ) -> std::fmt::Result {
        let (Some(settings), Some(first)) = (&self.lifecycle_settings, self.lifecycle.first()) else {
            return Ok(());
        };
        writeln!(out, "### {heading}\n")?;
        writeln!(
            out,
            "{} workers, each driving one order at a time from PlaceOrder to intake's `order_delivered` (8 commands, 3 waits for a service's own reaction), \
             {:.0} s measured after 3 s warm-up, all five services on {broker}. Lag = storage time of a reacting event − storage time of its cause \
             (both stamped by JetStream), for the reactions stored in the measured window.\n",
            settings.workers,
            settings.measure.as_secs_f64(),
        )?;
        let runs = &self.lifecycle;
        let rate = median(runs.iter().map(|run| run.closed.per_second));
        let events = median(runs.iter().map(|run| run.events_per_lifecycle));
        let raw = median(runs.iter().map(|run| run.raw_publish_per_second));
        let broker_share = median(
            runs.iter()
                .map(|run| run.closed.per_second * run.events_per_lifecycle / run.raw_publish_per_second),
        );
        writeln!(
            out,
            "Closed loop (saturation). Events per lifecycle = events stored by every service in the window ÷ lifecycles completed in it. \
             Raw publish = acked JetStream publishes/s with {} in flight on the same broker just before the services started (baseline (b) of §1 or §4).\n",
            lifecycle::RAW_IN_FLIGHT
        )?;
        writeln!(
            out,
            "| lifecycles/s | events per lifecycle | raw publish/s | lifecycles × events ÷ raw publish | lifecycle p50 ms | lifecycle p99 ms | failed (all runs) |\n|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        writeln!(
            out,
            "| {rate:.0} ({}) | {events:.1} | {raw:.0} | {broker_share:.3} | {:.0} | {:.0} | {} |\n",
            spread(runs.iter().map(|run| run.closed.per_second), 0),
            median(runs.iter().map(|run| run.closed.p50_ms)),
            median(runs.iter().map(|run| run.closed.p99_ms)),
            runs.iter().map(|run| run.closed.failed).sum::<u64>()
        )?;
        write_lags(out, runs.iter().map(|run| &run.closed))?;
        writeln!(out, "CPU in the closed-loop window, % of one core (median of the runs):\n")?;
        writeln!(
            out,
            "| {} |",
            first.cpu_percent.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(" | ")
        )?;
        writeln!(out, "|{}", "---:|".repeat(first.cpu_percent.len()))?;
        let cpu: Vec<String> = (0..first.cpu_percent.len())
            .map(|index| {
                format!(
                    "{:.0}",
                    median(runs.iter().filter_map(|run| run.cpu_percent.get(index)).map(|cpu| cpu.1))
                )
            })
            .collect();
        writeln!(out, "| {} |\n", cpu.join(" | "))?;

        let open_rate = median(runs.iter().map(|run| run.open_rate));
        writeln!(
            out,
            "Open loop: a new lifecycle every 1/rate s at half the run's closed-loop rate ({open_rate:.0}/s median), \
             whatever the answers, each with a van and courier of its own; latency counted from the scheduled start.\n"
        )?;
        writeln!(
            out,
            "| arrival rate /s | completed | lifecycle p50 ms | lifecycle p99 ms | failed (all runs) |\n|---:|---:|---:|---:|---:|"
        )?;
        let open_p99 = median(runs.iter().map(|run| run.open.p99_ms));
        writeln!(
            out,
            "| {open_rate:.0} | {:.0} | {:.0} | {open_p99:.0} | {} |\n",
            median(runs.iter().map(|run| run.open.completed as f64)),
            median(runs.iter().map(|run| run.open.p50_ms)),
            runs.iter().map(|run| run.open.failed).sum::<u64>()
        )?;
        let open_lag_p99 = write_lags(out, runs.iter().map(|run| &run.open))?;
        targets.push((
            format!(
                "lifecycles/s × events per lifecycle ≥ 0.25 × raw acked publish rate ({} in flight)",
                lifecycle::RAW_IN_FLIGHT
            ),
            format!("{broker_share:.3} × ({rate:.0} × {events:.1} ÷ {raw:.0})"),
            broker_share >= 0.25,
        ));
        targets.push((
            "open loop at 50 % of the maximum: reaction lag p99 ≤ 20 ms".into(),
            format!("{open_lag_p99:.1} ms"),
            open_lag_p99 <= 20.0,
        ));
        targets.push((
            "open loop at 50 % of the maximum: lifecycle p99 ≤ 100 ms".into(),
            format!("{open_p99:.0} ms"),
            open_p99 <= 100.0,
        ));
        Ok(())
    }
}

/// The reaction-lag table of one window across the runs; returns the median p99 over all
/// reactions.
fn write_lags<'a>(
    out: &mut String,
    windows: impl Iterator<Item = &'a lifecycle::Window> + Clone,
) -> Result<f64, std::fmt::Error> {
    writeln!(out, "| reacting event | reactions per run | lag p50 ms | lag p99 ms |\n|---|---:|---:|---:|")?;
    let mut overall_p99 = f64::NAN;
    let Some(first) = windows.clone().next() else { return Ok(overall_p99) };
    for (event_type, ..) in &first.lags {
        let rows: Vec<&(String, usize, f64, f64)> = windows
            .clone()
            .filter_map(|window| window.lags.iter().find(|lag| &lag.0 == event_type))
            .collect();
        let p99 = median(rows.iter().map(|row| row.3));
        if event_type == "all reactions" {
            overall_p99 = p99;
        }
        writeln!(
            out,
            "| {event_type} | {:.0} | {:.1} | {:.1} |",
            median(rows.iter().map(|row| row.1 as f64)),
            median(rows.iter().map(|row| row.2)),
            p99
        )?;
    }
    writeln!(out)?;
    Ok(overall_p99)
}

/// Replaces what lies between [`BEGIN`] and [`END`] in `path` with `section`.
pub fn replace_section(path: &Path, section: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        anyhow::bail!("{} has no {BEGIN} ... {END} section", path.display());
    };
    anyhow::ensure!(begin < end, "{}: markers out of order", path.display());
    let updated = format!("{}{BEGIN}\n{section}\n{}", &text[..begin], &text[end..]);
    std::fs::write(path, updated)?;
    Ok(())
}
