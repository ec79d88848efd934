//! `waybill-ops`: the operator's tool for the NATS side.
//!
//! - `waybill-ops accounts` prints the nats-server `accounts` block for the users of
//!   crates/ops/src/users.rs, passwords as `$VARIABLES` (deploy/nats/accounts.conf), or,
//!   with `--password-dir DIR`, with the passwords in `DIR/<user>` (creating missing ones:
//!   what `make run` does for its dev server); `--helm` prints them as YAML for the NATS
//!   Helm chart (deploy/k8s/nats-values.yaml).
//! - `waybill-ops bootstrap` creates or updates the streams as the `ops` user.
//! - `waybill-ops waive` writes an operator's waiver of an event a read model cannot apply
//!   (crates/eventlog waiver.rs; docs/OPERATIONS.md walks through it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use waybill_eventlog::StreamSettings;
use waybill_ops::{Passwords, User, render_accounts};
use waybill_runtime::NatsFlags;

#[derive(Parser)]
#[command(name = "waybill-ops", about = "Waybill's NATS users and streams")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber_init();
    match Cli::parse().command {
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
            let client = nats.connect("waybill-ops").await?;
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
        Command::Waive { nats, position, operator, reason } => {
            let client = nats.connect("waybill-ops").await?;
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
    waybill_runtime::telemetry::init(waybill_runtime::telemetry::LogFormat::Text);
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
