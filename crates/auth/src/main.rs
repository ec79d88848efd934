//! `waybill-token`: dev keys and tokens, and the policy tables for docs/SECURITY.md.
//!
//! ```text
//! waybill-token keygen --dir var/dev/auth [--kid waybill-dev]
//! waybill-token mint --key var/dev/auth/waybill-dev.key.pem --role dispatcher --sub dana [--ttl 8h]
//! waybill-token dev-certs --dir var/dev/tls
//! waybill-token policy-markdown
//! waybill-token privacy-markdown
//! ```

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use waybill_auth::Signer;

#[derive(Parser)]
#[command(name = "waybill-token", about = "Dev signing keys, dev tokens, and the access policy as Markdown")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make an Ed25519 signing key: `<kid>.key.pem` (private), `<kid>.pub.pem`, and the key
    /// added to `jwks.json` (keys already there stay: rotation). Never overwrites a key.
    Keygen {
        #[arg(long)]
        dir: PathBuf,
        /// The key id tokens name (`kid`).
        #[arg(long, default_value = "waybill-dev")]
        kid: String,
    },
    /// Print a token signed with a private key made by `keygen` (also `waybill token mint`).
    Mint(waybill_auth::mint::MintArgs),
    /// Make a dev CA and a certificate for localhost/127.0.0.1 signed by it: `ca.pem`,
    /// `cert.pem`, `key.pem` in `--dir`. Keeps them when all three are there already, so
    /// clients that trust the CA keep working across runs.
    DevCerts {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Print the roles and policy tables as docs/SECURITY.md carries them.
    PolicyMarkdown,
    /// Print the personal-data-by-role table as docs/SECURITY.md carries it.
    PrivacyMarkdown,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { dir, kid } => keygen(&dir, &kid),
        Command::Mint(args) => {
            println!("{}", args.mint()?);
            Ok(())
        }
        Command::DevCerts { dir } => {
            let files = waybill_auth::dev_certs::DevCertificates::ensure(&dir)?;
            println!("{}\n{}\n{}", files.ca.display(), files.cert.display(), files.key.display());
            Ok(())
        }
        Command::PolicyMarkdown => {
            print!("{}", waybill_auth::policy::markdown());
            Ok(())
        }
        Command::PrivacyMarkdown => {
            print!("{}", waybill_auth::privacy::markdown());
            Ok(())
        }
    }
}

fn keygen(dir: &Path, kid: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !kid.is_empty() && kid.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte)),
        "--kid must be letters, digits, '-', '_' or '.'"
    );
    std::fs::create_dir_all(dir)?;
    let private = dir.join(format!("{kid}.key.pem"));
    let public = dir.join(format!("{kid}.pub.pem"));
    for path in [&private, &public] {
        anyhow::ensure!(!path.exists(), "{} exists; refusing to overwrite a key", path.display());
    }
    let jwks_path = dir.join("jwks.json");
    let mut jwks: serde_json::Value = match std::fs::read_to_string(&jwks_path) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => serde_json::json!({"keys": []}),
        Err(error) => return Err(error.into()),
    };
    let keys = jwks["keys"]
        .as_array_mut()
        .ok_or_else(|| anyhow::anyhow!("{} has no keys array", jwks_path.display()))?;
    anyhow::ensure!(
        !keys.iter().any(|key| key["kid"] == kid),
        "{} already has a key {kid:?}",
        jwks_path.display()
    );

    let signer = Signer::generate(kid)?;
    keys.push(signer.jwk());
    write_private(&private, &signer.private_key_pem()?)?;
    std::fs::write(&public, signer.public_key_pem()?)?;
    std::fs::write(&jwks_path, serde_json::to_string_pretty(&jwks)? + "\n")?;
    println!("{}\n{}\n{}", private.display(), public.display(), jwks_path.display());
    Ok(())
}

/// The private key readable by its owner only.
fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}
