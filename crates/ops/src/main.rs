//! `waybill`: the operator's command line (docs/OPERATIONS.md walks through a day with it).
//!
//! - `waybill status` shows the streams, every consumer with its lag, and the dead letters;
//!   `--json` for machines.
//! - `waybill events get <position>` and `waybill events tail` print the log as JSON, one
//!   event a line, filtered by order, service or type, from a position or a time,
//!   `--follow` for live.
//! - `waybill dead-letters list | show <seq> | redrive <seq>`: what reactions gave up on,
//!   and having one handled again (once) after the fix, recorded with who and why.
//! - `waybill accounts` prints the nats-server `accounts` block for the users of
//!   crates/ops/src/users.rs, passwords as `$VARIABLES` (deploy/nats/accounts.conf), or,
//!   with `--password-dir DIR`, with the passwords in `DIR/<user>` (creating missing ones:
//!   what `make run` does for its dev server); `--helm` prints them as YAML for the NATS
//!   Helm chart (deploy/k8s/nats-values.yaml).
//! - `waybill bootstrap` creates or updates the streams as the `ops` user.
//! - `waybill backup | restore | verify`: the streams to a directory and back; `verify`
//!   compares a backup with a server, and the read models of services on the source and on
//!   a restored copy, which `verify --scratch` starts itself (crates/ops/src/scratch.rs).
//! - `waybill export orders | kpis | finance` prints the console's CSV exports, calling the services
//!   with the token in `--token-file`.
//! - `waybill migrate-backup <from> <to>` rewrites a backup taken before subjects carried
//!   the order's id, for `waybill restore` (docs/OPERATIONS.md, "Upgrading").
//! - `waybill token mint` prints a development token (the same code as `waybill-token mint`).
//! - `waybill waive` writes an operator's waiver of an event a read model cannot apply
//!   (crates/eventlog waiver.rs; docs/OPERATIONS.md walks through it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use waybill_eventlog::{EventLog, StreamSettings};
use waybill_ops::dead_letters::{self, Outcome};
use waybill_ops::events::{self, Start, TailFilter};
use waybill_ops::read_models::Side;
use waybill_ops::{Passwords, User, render_accounts};
use waybill_runtime::NatsFlags;

#[derive(Parser)]
#[command(
    name = "waybill",
    about = "Operate Waybill: its log, reactions, dead letters, NATS users and streams"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Streams, every consumer of the event stream with its lag, and dead letters.
    Status {
        #[command(flatten)]
        nats: NatsFlags,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Read the event log as JSON, one event a line.
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// Events reactions gave up on: list, show, and re-drive once fixed.
    #[command(name = "dead-letters")]
    DeadLetters {
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
    /// Back up both streams into DIR (a new directory): every message, headers and position.
    Backup {
        #[command(flatten)]
        nats: NatsFlags,
        dir: PathBuf,
    },
    /// Restore a backup into empty streams (bootstrapped if missing), every message at its
    /// position. Needs a NATS user that may publish on the streams' subjects.
    Restore {
        #[command(flatten)]
        nats: NatsFlags,
        dir: PathBuf,
        /// Replicas of the streams, if restore has to create them.
        #[arg(long, env = "WAYBILL_STREAM_REPLICAS", default_value_t = 1)]
        replicas: usize,
    },
    /// Rewrite a backup taken before subjects carried the order's id (Waybill before
    /// 2026-12-04) into DIR_TO for the current subjects; then `waybill restore DIR_TO`.
    #[command(name = "migrate-backup")]
    MigrateBackup { from: PathBuf, to: PathBuf },
    /// Compare a backup with the server's streams, message by message (subject, headers,
    /// payload at each position); with `--source-services` and `--copy-services`, also the
    /// read models of the services run on the source and on the restored copy; with
    /// `--scratch` and `--source-services`, restore into a scratch server, start the
    /// services on it and compare theirs. Exits non-zero on any difference.
    Verify {
        #[command(flatten)]
        nats: NatsFlags,
        dir: PathBuf,
        #[command(flatten)]
        services: ServicesToCompare,
        #[command(flatten)]
        scratch: ScratchFlags,
    },
    /// Print the nats-server `accounts` block (users and permissions).
    Accounts {
        /// Read each user's password from DIR/<user>, creating a random one where missing
        /// (development); without it, passwords are `$VARIABLES` the server reads from
        /// its environment.
        #[arg(long, conflicts_with = "helm")]
        password_dir: Option<PathBuf>,
        /// Print the same accounts as YAML for the NATS Helm chart's `config.merge`
        /// (deploy/k8s/nats-values.yaml).
        #[arg(long)]
        helm: bool,
    },
    /// Create or update the event and dead-letter streams (run as the ops user).
    Bootstrap {
        #[command(flatten)]
        nats: NatsFlags,
        /// Replicas of both streams: 1 in development, 3 in production.
        #[arg(long, env = "WAYBILL_STREAM_REPLICAS", default_value_t = 1)]
        replicas: usize,
        /// Give up after this many seconds (NATS unreachable, no JetStream leader, refused).
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// The console's CSV exports from the command line, to standard output: what the
    /// holder of the token may see, as `/orders.csv` and `/reports.csv` give it.
    Export {
        #[command(flatten)]
        services: waybill_console::Backends,
        /// A file holding the Waybill token (JWT) to act with, as the console's sign-in takes it.
        #[arg(long, env = "WAYBILL_TOKEN_FILE")]
        token_file: PathBuf,
        #[command(subcommand)]
        table: ExportTable,
    },
    /// Waive the event at POSITION: read models that cannot apply it skip it and resume.
    /// Once per position; the waiver (who, why) stays on the log as the audit trail.
    Waive {
        #[command(flatten)]
        nats: NatsFlags,
        /// The position (stream sequence) a halted read model names in its log and health.
        #[arg(long)]
        position: u64,
        /// Who decides (your name or account), recorded in the waiver.
        #[arg(long)]
        operator: String,
        /// Why skipping is right (an incident reference), recorded in the waiver.
        #[arg(long)]
        reason: String,
    },
    /// Development tokens (`waybill-token` makes the keys): what the console's sign-in
    /// and `waybill export --token-file` take.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a token for SUB with the given roles, signed with a private key made by
    /// `waybill-token keygen` (`make run` makes var/dev/auth/waybill-dev.key.pem).
    Mint(waybill_auth::mint::MintArgs),
}

#[derive(Subcommand)]
enum ExportTable {
    /// The order list (intake's ListOrders), every page, up to 10,000 rows.
    Orders {
        #[arg(long)]
        customer: Option<String>,
        /// A status by its short name: `placed`, `in_review`, `delivered`, ...
        #[arg(long)]
        status: Option<String>,
        /// Placed on or after this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: Option<String>,
        /// Placed before this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        until: Option<String>,
    },
    /// The service-quality KPIs (CRM's GetKpis), for everyone or one customer, over all
    /// time or the orders placed in a period.
    Kpis(ReportScope),
    /// The finance report (CRM's GetKpis money): revenue, refunds, claims paid, cost
    /// estimate and profit contribution per month, per customer and in total, in minor
    /// units; by default the current month and the five before it.
    Finance(ReportScope),
}

/// A report's scope: one customer or all, the orders placed in `[from, to)`.
#[derive(Args)]
struct ReportScope {
    #[arg(long)]
    customer: Option<String>,
    /// Placed on or after this day (YYYY-MM-DD, UTC).
    #[arg(long)]
    from: Option<String>,
    /// Placed before this day (YYYY-MM-DD, UTC).
    #[arg(long)]
    to: Option<String>,
}

impl ReportScope {
    /// The query string the console's report pages take.
    fn query(&self) -> String {
        waybill_console::pages::query_string(&[
            ("customer", &self.customer),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

#[derive(Subcommand)]
enum EventsCommand {
    /// The event at POSITION.
    Get {
        #[command(flatten)]
        nats: NatsFlags,
        position: u64,
    },
    /// Events from the beginning (or a position, or a time) to the end of the log, or on.
    Tail {
        #[command(flatten)]
        nats: NatsFlags,
        /// Only events about this order (its envelope's order id, or the subject's id).
        #[arg(long)]
        order: Option<String>,
        /// Only this service's events (intake, dispatch, delivery, aftersales, crm; ops).
        #[arg(long)]
        service: Option<String>,
        /// Only this type: `order_placed` or `waybill.intake.order_placed.v1`.
        #[arg(long = "type")]
        event_type: Option<String>,
        /// Start at this position.
        #[arg(long, conflicts_with = "since")]
        from_seq: Option<u64>,
        /// Start at the first event stored at or after this time (RFC 3339,
        /// `2026-12-04T08:00:00Z`).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Keep following new events until interrupted.
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// Every dead letter, with who re-drove it.
    List {
        #[command(flatten)]
        nats: NatsFlags,
        /// Only this consumer's (`delivery-arrivals`).
        #[arg(long)]
        consumer: Option<String>,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One dead letter: its headers, the event decoded, the redrives made.
    Show {
        #[command(flatten)]
        nats: NatsFlags,
        /// Its position in the dead-letter stream (the `seq` of `list`).
        seq: u64,
    },
    /// Have the reaction handle the letter's event again, once the cause is fixed. The
    /// effect happens once however often it is re-driven; each request is recorded.
    Redrive {
        #[command(flatten)]
        nats: NatsFlags,
        /// Its position in the dead-letter stream (the `seq` of `list`).
        seq: u64,
        #[command(flatten)]
        who: Operator,
        /// How long to wait for the reaction to handle it (0: do not wait).
        #[arg(long, default_value_t = 30)]
        wait_secs: u64,
    },
}

/// The services whose read models `verify` compares.
#[derive(Args)]
struct ServicesToCompare {
    /// The services run on the source: five gRPC addresses, comma-separated, in the order
    /// intake,dispatch,delivery,aftersales,crm.
    #[arg(long)]
    source_services: Option<String>,
    /// The services run on the restored copy, in the same order.
    #[arg(long)]
    copy_services: Option<String>,
    /// A file holding a token that may read everything (an administrator's), for both.
    #[arg(long, env = "WAYBILL_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The CA (PEM) that signed the services' certificates, for `https://` addresses.
    #[arg(long, env = "WAYBILL_CONSOLE_TLS_CA")]
    tls_ca: Option<PathBuf>,
}

/// `verify --scratch`: the copy started by `verify` itself (crates/ops/src/scratch.rs).
#[derive(Args)]
struct ScratchFlags {
    /// Restore the backup into a scratch nats-server started for the check (its own port,
    /// directory and users; the NATS flags are not used), start the five services on it and
    /// compare their read models with the `--source-services`'; everything is stopped and
    /// removed at the end, also on failure or Ctrl-C.
    #[arg(long, requires = "source_services", conflicts_with = "copy_services")]
    scratch: bool,
    /// The nats-server binary for the scratch server (default: `nats-server` on PATH).
    #[arg(long, env = "NATS_SERVER_BIN")]
    nats_server_bin: Option<PathBuf>,
    /// Where the service binaries (`waybill-intake`, ...) are (default: next to `waybill`).
    #[arg(long, requires = "scratch")]
    service_bin_dir: Option<PathBuf>,
    /// How long the scratch server, and then the services, may take to be ready.
    #[arg(long, default_value_t = 120)]
    scratch_timeout_secs: u64,
}

impl ServicesToCompare {
    /// The token in `--token-file`.
    fn token(&self) -> anyhow::Result<String> {
        let token_file = self.token_file.as_ref().ok_or_else(|| {
            anyhow::anyhow!("comparing the services needs --token-file (an administrator's token)")
        })?;
        let token = std::fs::read_to_string(token_file)
            .map_err(|error| anyhow::anyhow!("--token-file {}: {error}", token_file.display()))?;
        Ok(token.trim().to_owned())
    }

    /// Channels to the five addresses in `list`, the value of `--<flag>`.
    fn backends(&self, flag: &str, list: &str) -> anyhow::Result<waybill_console::Channels> {
        let urls: Vec<&str> = list.split(',').map(str::trim).collect();
        let [intake, dispatch, delivery, aftersales, crm] = urls[..] else {
            anyhow::bail!(
                "--{flag} takes five addresses (intake,dispatch,delivery,aftersales,crm), not {}",
                urls.len()
            );
        };
        waybill_console::Backends {
            intake_url: intake.to_owned(),
            dispatch_url: dispatch.to_owned(),
            delivery_url: delivery.to_owned(),
            aftersales_url: aftersales.to_owned(),
            crm_url: crm.to_owned(),
            call_timeout_ms: 60_000,
            tls_ca: self.tls_ca.clone(),
        }
        .connect()
    }

    /// The source's services and the token for them.
    fn source(&self) -> anyhow::Result<(waybill_console::Channels, String)> {
        let source =
            self.source_services.as_ref().ok_or_else(|| anyhow::anyhow!("--source-services is missing"))?;
        Ok((self.backends("source-services", source)?, self.token()?))
    }

    /// The two sides' channels and the token, or `None` when no comparison was asked for.
    fn connect(
        &self,
    ) -> anyhow::Result<Option<(waybill_console::Channels, waybill_console::Channels, String)>> {
        let copy = match (&self.source_services, &self.copy_services) {
            (None, None) => return Ok(None),
            (Some(_), Some(copy)) => copy,
            _ => anyhow::bail!("--source-services and --copy-services go together (or --scratch)"),
        };
        let (source, token) = self.source()?;
        Ok(Some((source, self.backends("copy-services", copy)?, token)))
    }
}

/// Prints each stream's comparison with the backup; whether any differed.
fn print_streams(comparisons: &[waybill_ops::backup::Comparison]) -> bool {
    let mut differ = false;
    for comparison in comparisons {
        println!(
            "{}: {} messages compared, {} differences",
            comparison.stream,
            comparison.compared,
            comparison.differences.len()
        );
        for difference in &comparison.differences {
            println!("  {difference}");
            differ = true;
        }
    }
    differ
}

/// Prints each read-model question's answer; whether any differed.
fn print_checks(checks: &[waybill_ops::read_models::Check]) -> bool {
    let mut differ = false;
    for check in checks {
        match &check.difference {
            None => println!("{}: {} compared, 0 differences", check.question, check.compared),
            Some(difference) => {
                println!("{}: {} compared, differs: {difference}", check.question, check.compared);
                differ = true;
            }
        }
    }
    differ
}

/// The event stream's last position in the backup in `dir`: what the services must have
/// read before they are asked.
fn backup_end(dir: &Path) -> anyhow::Result<u64> {
    let manifest = waybill_ops::backup::read_manifest(dir)?;
    let events = StreamSettings::default().name;
    Ok(manifest.streams.iter().find(|stream| stream.name == events).map_or(0, |stream| stream.last_seq))
}

/// `verify DIR --scratch`: the backup restored into a scratch copy `verify` starts, its
/// streams compared with the backup and its services' answers with the source's. The copy
/// is dropped (stopped and removed) however this ends, a signal included.
async fn verify_on_scratch(
    dir: &Path,
    services: &ServicesToCompare,
    flags: &ScratchFlags,
) -> anyhow::Result<()> {
    let (source, source_token) = services.source()?;
    let at = backup_end(dir)?;
    let options = waybill_ops::scratch::ScratchOptions {
        nats_server_bin: flags.nats_server_bin.clone(),
        service_bin_dir: flags.service_bin_dir.clone(),
        timeout: Duration::from_secs(flags.scratch_timeout_secs),
    };
    let work = async {
        let copy = waybill_ops::scratch::ScratchCopy::start(dir, &options).await?;
        let restored = waybill_ops::backup::compare(&copy.client().await?, dir, 10).await?;
        let mut differ = print_streams(&restored);
        let (copy_services, copy_token) = (copy.channels()?, copy.token()?);
        let checks = waybill_ops::read_models::compare(
            &Side { services: &source, token: &source_token },
            &Side { services: &copy_services, token: &copy_token },
            at,
        )
        .await?;
        differ |= print_checks(&checks);
        drop(copy);
        println!("the scratch copy is stopped and removed");
        anyhow::ensure!(
            !differ,
            "the services on a scratch copy restored from {} answer differently from the source's",
            dir.display()
        );
        Ok::<(), anyhow::Error>(())
    };
    tokio::select! {
        done = work => done,
        () = waybill_runtime::shutdown::signal() => {
            anyhow::bail!("interrupted: the scratch copy is stopped and removed")
        }
    }
}

/// Who acts and why: recorded on the log with what they did.
#[derive(Args)]
struct Operator {
    /// Who acts (your name or account).
    #[arg(long, env = "WAYBILL_OPERATOR")]
    operator: String,
    /// Why (what was fixed, an incident reference).
    #[arg(long)]
    reason: String,
}

/// Opens the log as an operator (read and write `waybill.ops.`, nothing of the services').
async fn open_log(nats: &NatsFlags) -> anyhow::Result<EventLog> {
    let client = nats.connect("waybill").await?;
    Ok(EventLog::open(client, StreamSettings::default(), "/waybill/ops").await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber_init();
    match Cli::parse().command {
        Command::Status { nats, json } => {
            let client = nats.connect("waybill").await?;
            let status = waybill_ops::status::read(&client, &StreamSettings::default()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", waybill_ops::status::render(&status));
            }
            Ok(())
        }
        Command::Backup { nats, dir } => {
            let client = nats.connect("waybill").await?;
            let manifest = waybill_ops::backup::backup(&client, &StreamSettings::default(), &dir).await?;
            for stream in &manifest.streams {
                println!(
                    "{}: {} messages (positions {} to {})",
                    stream.name, stream.messages, stream.first_seq, stream.last_seq
                );
            }
            println!("backed up into {}", dir.display());
            Ok(())
        }
        Command::Restore { nats, dir, replicas } => {
            let client = nats.connect("waybill").await?;
            let settings = StreamSettings { replicas, ..StreamSettings::default() };
            let manifest = waybill_ops::backup::restore(&client, &settings, &dir).await?;
            for stream in &manifest.streams {
                println!(
                    "{}: {} messages restored (positions {} to {})",
                    stream.name, stream.messages, stream.first_seq, stream.last_seq
                );
            }
            Ok(())
        }
        Command::MigrateBackup { from, to } => {
            let migrated = waybill_ops::migrate::migrate_backup(&from, &to)?;
            println!(
                "{} messages, {} moved to a subject with the order's id, into {}",
                migrated.messages,
                migrated.moved,
                to.display()
            );
            Ok(())
        }
        Command::Verify { dir, services, scratch, .. } if scratch.scratch => {
            verify_on_scratch(&dir, &services, &scratch).await
        }
        Command::Verify { nats, dir, services, .. } => {
            let services = services.connect()?;
            let client = nats.connect("waybill").await?;
            let comparisons = waybill_ops::backup::compare(&client, &dir, 10).await?;
            let differ = print_streams(&comparisons);
            anyhow::ensure!(!differ, "the server's streams differ from the backup in {}", dir.display());
            let Some((source, copy, token)) = services else { return Ok(()) };
            // The services answer once their read models have read the whole backup.
            let at = backup_end(&dir)?;
            let checks = waybill_ops::read_models::compare(
                &Side { services: &source, token: &token },
                &Side { services: &copy, token: &token },
                at,
            )
            .await?;
            let differ = print_checks(&checks);
            anyhow::ensure!(!differ, "the services on the copy answer differently from the source's");
            Ok(())
        }
        Command::Events { command: EventsCommand::Get { nats, position } } => {
            let log = open_log(&nats).await?;
            println!("{}", serde_json::to_string(&events::get(&log, position).await?)?);
            Ok(())
        }
        Command::Events {
            command: EventsCommand::Tail { nats, order, service, event_type, from_seq, since, follow },
        } => {
            let log = open_log(&nats).await?;
            let filter = TailFilter { order, service, event_type };
            let start = match (from_seq, since) {
                (Some(position), _) => Start::Position(position),
                (None, Some(time)) => Start::Time(time),
                (None, None) => Start::Beginning,
            };
            let mut out = std::io::stdout().lock();
            let interrupted = async {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                written = events::tail(&log, &filter, start, follow, &mut out) => { written?; }
                () = interrupted => {}
            }
            Ok(())
        }
        Command::DeadLetters { command: DeadLettersCommand::List { nats, consumer, json } } => {
            let log = open_log(&nats).await?;
            let letters = dead_letters::list(&log, consumer.as_deref()).await?;
            if json {
                for letter in &letters {
                    println!("{}", serde_json::to_string(letter)?);
                }
            } else {
                print!("{}", dead_letters::render_list(&log, &letters).await?);
            }
            Ok(())
        }
        Command::DeadLetters { command: DeadLettersCommand::Show { nats, seq } } => {
            let log = open_log(&nats).await?;
            let letter = dead_letters::get(&log, seq).await?;
            println!("{}", serde_json::to_string_pretty(&dead_letters::show(&log, &letter).await?)?);
            Ok(())
        }
        Command::DeadLetters { command: DeadLettersCommand::Redrive { nats, seq, who, wait_secs } } => {
            let log = open_log(&nats).await?;
            let letter = dead_letters::get(&log, seq).await?;
            let earlier = log.redrives(&letter.consumer, letter.original_position).await?;
            for (at, redrive) in &earlier {
                eprintln!(
                    "note: re-driven before by {} at position {at}: {}",
                    redrive.operator, redrive.reason
                );
            }
            let wait = Duration::from_secs(wait_secs);
            match dead_letters::redrive(&log, &letter, who.operator, who.reason, wait).await? {
                Outcome::Handled { request } => println!(
                    "dead letter {seq}: {} handled event {} again (request at position {request})",
                    letter.consumer, letter.original_position
                ),
                Outcome::Requested { request } => println!(
                    "dead letter {seq}: redrive requested at position {request}; not waiting for {}",
                    letter.consumer
                ),
                Outcome::DeadLetteredAgain { request, dead_letter, error } => anyhow::bail!(
                    "dead letter {seq}: {} failed on event {} again (request at position {request}), \
                     new dead letter {dead_letter}: {error}",
                    letter.consumer,
                    letter.original_position
                ),
            }
            Ok(())
        }
        Command::Accounts { helm: true, .. } => {
            print!("{}", waybill_ops::accounts::render_accounts_helm(&StreamSettings::default()));
            Ok(())
        }
        Command::Accounts { password_dir, helm: false } => {
            let passwords = match password_dir {
                Some(dir) => Passwords::Literal(dev_passwords(&dir)?),
                None => Passwords::Variables,
            };
            print!("{}", render_accounts(&passwords, &StreamSettings::default(), &[]));
            Ok(())
        }
        Command::Bootstrap { nats, replicas, timeout_secs } => {
            let client = nats.connect("waybill").await?;
            let settings = StreamSettings { replicas, ..StreamSettings::default() };
            tokio::time::timeout(
                Duration::from_secs(timeout_secs),
                waybill_ops::bootstrap::bootstrap(&client, &settings),
            )
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the streams were not bootstrapped within {timeout_secs} s (is this the ops user?)"
                )
            })??;
            println!(
                "streams {} and {} ready ({replicas} replicas)",
                settings.name, settings.dead_letter_stream
            );
            Ok(())
        }
        Command::Export { services, token_file, table } => {
            let token = std::fs::read_to_string(&token_file)
                .map_err(|error| anyhow::anyhow!("--token-file {}: {error}", token_file.display()))?;
            let (token, channels) = (token.trim(), services.connect()?);
            let query = waybill_console::pages::query_string;
            let csv = match table {
                ExportTable::Orders { customer, status, from, until } => {
                    let filters =
                        [("customer", &customer), ("status", &status), ("from", &from), ("until", &until)];
                    waybill_console::pages::orders::orders_csv(
                        channels.intake(),
                        token,
                        Some(query(&filters)),
                    )
                    .await?
                }
                ExportTable::Kpis(scope) => {
                    waybill_console::pages::reports::kpis_csv(channels.crm(), token, Some(scope.query()))
                        .await?
                }
                ExportTable::Finance(scope) => {
                    waybill_console::pages::finance::finance_csv(channels.crm(), token, Some(scope.query()))
                        .await?
                }
            };
            print!("{}", csv.text());
            Ok(())
        }
        Command::Token { command: TokenCommand::Mint(args) } => {
            println!("{}", args.mint()?);
            Ok(())
        }
        Command::Waive { nats, position, operator, reason } => {
            let client = nats.connect("waybill").await?;
            let log =
                waybill_eventlog::EventLog::open(client, StreamSettings::default(), "/waybill/ops").await?;
            let event = log.get(position).await?;
            let waiver = waybill_eventlog::Waiver { position, operator, reason };
            let (stored, at) = log.waive(waiver).await?;
            println!(
                "event {position} ({} on {}) waived by {} at position {at}: {}",
                event.event_type, event.subject, stored.operator, stored.reason
            );
            Ok(())
        }
    }
}

fn tracing_subscriber_init() {
    waybill_runtime::telemetry::init_for_tool();
}

/// Each user's password from `dir/<user>`, generating missing ones (owner-only files).
fn dev_passwords(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    std::fs::create_dir_all(dir)?;
    let mut passwords = BTreeMap::new();
    for user in User::all() {
        let path = dir.join(user.name());
        let password = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim_end().to_owned(),
            Err(_) => {
                let password = waybill_ops::accounts::random_password();
                write_private(&path, &password)?;
                password
            }
        };
        passwords.insert(user.name().to_owned(), password);
    }
    Ok(passwords)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}
