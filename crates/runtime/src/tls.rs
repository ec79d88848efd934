//! TLS on the gRPC port, the same flags for all five services: a certificate and key make
//! the port speak TLS only; a client CA on top makes it mutual (every caller must present a
//! certificate that CA signed: service callers, tools, probes). Without a certificate the
//! port is plaintext, which is for development and tests only (`make run` on loopback);
//! the service says so in its log at start.
//!
//! The files are read and checked when the service starts, so a missing or unreadable
//! certificate stops the start with the file's name instead of failing the first handshake.
//! tonic's `tls-ring` feature: ring is already in the tree through async-nats, and needs
//! no C toolchain beyond the one Rust uses (aws-lc would need cmake).

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// The gRPC port's TLS flags, flattened into `ServiceFlags`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TlsFlags {
    /// The server's certificate chain (PEM). With `--tls-key`, the gRPC port speaks TLS
    /// only; without both it is plaintext (development only).
    #[arg(long, env = "WAYBILL_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The server certificate's private key (PEM).
    #[arg(long, env = "WAYBILL_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A CA (PEM) whose certificates callers must present (mutual TLS): a caller without
    /// one is refused in the handshake. Needs `--tls-cert`.
    #[arg(long, env = "WAYBILL_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

impl TlsFlags {
    /// The server's TLS configuration, or `None` for plaintext; an error names the file
    /// that could not be read or used.
    pub fn server_config(&self) -> anyhow::Result<Option<ServerTlsConfig>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            anyhow::ensure!(
                self.tls_client_ca.is_none(),
                "--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)"
            );
            return Ok(None);
        };
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
        if let Some(ca) = &self.tls_client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        // tonic parses the PEM only when the server is built: build one now, so that a key
        // that does not parse or match fails the start, not every handshake.
        tonic::transport::Server::builder().tls_config(config.clone()).map_err(|error| {
            anyhow::anyhow!(
                "--tls-cert {} / --tls-key {}: not a usable certificate and key: {error}",
                cert.display(),
                key.display()
            )
        })?;
        Ok(Some(config))
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| anyhow::anyhow!("cannot read {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_certificate_is_plaintext_and_a_client_ca_alone_is_refused() {
        assert!(TlsFlags::default().server_config().expect("plaintext").is_none());
        let flags = TlsFlags { tls_client_ca: Some("ca.pem".into()), ..TlsFlags::default() };
        let error = flags.server_config().expect_err("a client CA without a certificate");
        assert!(error.to_string().contains("--tls-client-ca needs --tls-cert"), "{error}");
    }

    #[test]
    fn unreadable_or_unusable_files_are_named() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let flags = TlsFlags {
            tls_cert: Some(dir.path().join("missing.pem")),
            tls_key: Some(dir.path().join("key.pem")),
            tls_client_ca: None,
        };
        let error = flags.server_config().expect_err("missing file");
        assert!(error.to_string().contains("missing.pem"), "{error}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate")?;
        let flags = TlsFlags { tls_cert: Some(garbage.clone()), tls_key: Some(garbage), tls_client_ca: None };
        let error = flags.server_config().expect_err("garbage");
        assert!(error.to_string().contains("not a usable certificate and key"), "{error}");

        let certificates =
            waybill_testkit::TestCertificates::generate(dir.path()).expect("test certificates");
        let flags = TlsFlags {
            tls_cert: Some(certificates.cert),
            tls_key: Some(certificates.key),
            tls_client_ca: Some(certificates.ca),
        };
        assert!(flags.server_config()?.is_some());
        Ok(())
    }
}
