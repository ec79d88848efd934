//! `waybill migrate-backup <from> <to>`: a backup of a log written before subjects carried
//! the order's id (`waybill.<service>.<aggregate>.<id>` for every aggregate), rewritten for
//! the current scheme (`waybill.<service>.<aggregate>.<order id>.<id>` for an aggregate about
//! an order; docs/EVENTS.md, "Subjects"), to be restored with `waybill restore`.
//!
//! Only subjects change (`waybill_proto::ownership::current_subject` says how); positions,
//! headers and payloads stay as they were. Every message of one aggregate moves to the same
//! new subject, and no two aggregates share one, so the expected-last-subject-sequence
//! checks the stored headers carry hold again on restore. Dead letters keep their subjects
//! (they name the consumer, not the aggregate). docs/OPERATIONS.md walks through an upgrade.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;

use crate::backup::{self, MANIFEST, Manifest};

/// What a migration did.
#[derive(Debug, PartialEq, Eq)]
pub struct Migrated {
    pub messages: u64,
    /// Messages whose subject changed.
    pub moved: u64,
}

/// Rewrites the backup in `from` into `to` (a new directory, refused if it holds anything).
pub fn migrate_backup(from: &Path, to: &Path) -> anyhow::Result<Migrated> {
    let manifest: Manifest = backup::read_manifest(from)?;
    if to.exists() && std::fs::read_dir(to)?.next().is_some() {
        anyhow::bail!("{} is not empty: migrate into a new directory", to.display());
    }
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut migrated = Migrated { messages: 0, moved: 0 };
    for stream in &manifest.streams {
        let path = to.join(&stream.file);
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        for message in backup::messages(from, stream)? {
            let mut message = message?;
            let payload = message.payload_bytes()?;
            if let Some(current) = waybill_proto::ownership::current_subject(&message.subject, &payload) {
                message.subject = current;
                migrated.moved += 1;
            }
            migrated.messages += 1;
            serde_json::to_writer(&mut out, &message)?;
            out.write_all(b"\n")?;
        }
        out.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    // The manifest last, as `backup` does: a directory without it is an unfinished copy.
    std::fs::write(to.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(migrated)
}
