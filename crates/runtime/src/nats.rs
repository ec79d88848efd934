//! How a Waybill process reaches NATS: which servers, as which user, over which TLS. The
//! same flags for every service (flattened into `ServiceFlags`) and for `waybill`, so a
//! user, a password file or a CA is given the same way everywhere.
//!
//! The password comes from `WAYBILL_NATS_PASSWORD` or a file (`--nats-password-file`, a
//! mounted secret), never from a flag value a process listing would show. The user is the
//! service's own (docs/NATS-SECURITY.md): a service connected as another user is refused
//! by the server the moment it publishes.

use std::path::PathBuf;

/// The NATS connection flags.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct NatsFlags {
    /// NATS server(s) holding the event log: one URL or several, comma-separated.
    #[arg(long, env = "WAYBILL_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// The NATS user (each service has its own: intake, dispatch, ...). Unset: none, for a
    /// development server without authorization.
    #[arg(long, env = "WAYBILL_NATS_USER")]
    pub nats_user: Option<String>,
    /// The user's password (only from the environment: a flag would show in `ps`).
    #[arg(long = "nats-password", env = "WAYBILL_NATS_PASSWORD", hide = true, hide_env_values = true)]
    pub nats_password: Option<String>,
    /// A file holding the user's password (a mounted secret); trailing whitespace ignored.
    #[arg(long, env = "WAYBILL_NATS_PASSWORD_FILE")]
    pub nats_password_file: Option<PathBuf>,
    /// CA certificate (PEM) the NATS servers' certificates are checked against; setting it
    /// requires TLS.
    #[arg(long, env = "WAYBILL_NATS_TLS_CA")]
    pub nats_tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for servers that verify clients (mutual TLS).
    #[arg(long, env = "WAYBILL_NATS_TLS_CERT", requires = "nats_tls_key")]
    pub nats_tls_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, env = "WAYBILL_NATS_TLS_KEY", requires = "nats_tls_cert")]
    pub nats_tls_key: Option<PathBuf>,
}

impl NatsFlags {
    /// Flags for `urls`, no user, no TLS.
    pub fn anonymous(urls: &str) -> NatsFlags {
        NatsFlags { nats_url: urls.to_owned(), ..NatsFlags::default() }
    }

    /// Flags for `urls` as `user` with `password`.
    pub fn as_user(urls: &str, user: &str, password: &str) -> NatsFlags {
        NatsFlags {
            nats_url: urls.to_owned(),
            nats_user: Some(user.to_owned()),
            nats_password: Some(password.to_owned()),
            ..NatsFlags::default()
        }
    }

    /// The password, from the environment or the file.
    fn password(&self) -> anyhow::Result<Option<String>> {
        if let Some(path) = &self.nats_password_file {
            let text = std::fs::read_to_string(path).map_err(|error| {
                anyhow::anyhow!("cannot read the NATS password file {}: {error}", path.display())
            })?;
            return Ok(Some(text.trim_end().to_owned()));
        }
        Ok(self.nats_password.clone())
    }

    /// Connects as `name` (the client name the server shows), retrying while no server is
    /// up yet (services and nats-server often start together).
    pub async fn connect(&self, name: &str) -> anyhow::Result<async_nats::Client> {
        let servers = crate::parse_nats_urls(&self.nats_url)?;
        let mut options = match (&self.nats_user, self.password()?) {
            (Some(user), password) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.unwrap_or_default())
            }
            (None, Some(_)) => anyhow::bail!("a NATS password was given without --nats-user"),
            // async-nats parses credentials in a URL but does not send them: pass them on.
            (None, None) => match crate::url_credentials(&servers)? {
                Some((user, password)) => async_nats::ConnectOptions::with_user_and_password(user, password),
                None => async_nats::ConnectOptions::new(),
            },
        };
        if let Some(ca) = &self.nats_tls_ca {
            options = options.add_root_certificates(ca.clone()).require_tls(true);
        }
        if let (Some(cert), Some(key)) = (&self.nats_tls_cert, &self.nats_tls_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        options.name(name).retry_on_initial_connect().connect(servers).await.map_err(|error| {
            anyhow::anyhow!(
                "cannot connect to NATS at {}: {error}",
                crate::redact_credentials(&self.nats_url)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_file_wins_and_loses_its_newline() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("waybill-nats-password-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("password");
        std::fs::write(&file, "s3cret\n")?;
        let flags = NatsFlags {
            nats_password: Some("from-env".to_owned()),
            nats_password_file: Some(file),
            ..NatsFlags::anonymous("nats://127.0.0.1:4222")
        };
        let password = flags.password()?;
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(password.as_deref(), Some("s3cret"));
        Ok(())
    }
}
