//! A development CA and one certificate it signed for `localhost` and `127.0.0.1` (server
//! and client use), as PEM files: what `make run` serves gRPC with (`waybill-token
//! dev-certs`) and what the tests make per run (`waybill_testkit::TestCertificates`).
//! Production certificates come from the organisation's CA; these never leave the
//! machine that made them (var/ is git-ignored, the key is owner-only).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The PEM files of one CA and the certificate it signed.
#[derive(Clone, Debug)]
pub struct DevCertificates {
    /// The CA's certificate: what a client trusts (grpcurl `-cacert`).
    pub ca: PathBuf,
    /// The server's certificate (`--tls-cert`).
    pub cert: PathBuf,
    /// Its private key (`--tls-key`), readable by its owner only.
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DevCertsError {
    #[error("making the certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl DevCertificates {
    /// The files' places in `dir`: `ca.pem`, `cert.pem`, `key.pem`.
    pub fn in_dir(dir: &Path) -> Self {
        DevCertificates { ca: dir.join("ca.pem"), cert: dir.join("cert.pem"), key: dir.join("key.pem") }
    }

    /// Whether all three files are there already.
    pub fn exist(&self) -> bool {
        [&self.ca, &self.cert, &self.key].iter().all(|path| path.is_file())
    }

    /// The certificates in `dir`, made first if any of the three files is missing; kept
    /// otherwise, so clients that trust the CA keep working across runs (`make run`).
    pub fn ensure(dir: &Path) -> Result<Self, DevCertsError> {
        let files = Self::in_dir(dir);
        if files.exist() { Ok(files) } else { Self::generate(dir) }
    }

    /// Makes a new CA (its key is not kept: nothing else is ever signed with it) and a
    /// certificate for `localhost`/`127.0.0.1`, writing the three files into `dir`
    /// (created if missing; existing files are replaced).
    pub fn generate(dir: &Path) -> Result<Self, DevCertsError> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "waybill dev CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer)?;

        let files = Self::in_dir(dir);
        let fail = |path: &Path| {
            let path = path.to_owned();
            move |source| DevCertsError::Write { path, source }
        };
        std::fs::create_dir_all(dir).map_err(fail(dir))?;
        write(&files.key, &key.serialize_pem(), 0o600).map_err(fail(&files.key))?;
        write(&files.cert, &cert.pem(), 0o644).map_err(fail(&files.cert))?;
        write(&files.ca, &ca_cert.pem(), 0o644).map_err(fail(&files.ca))?;
        Ok(files)
    }
}

fn write(path: &Path, pem: &str, mode: u32) -> std::io::Result<()> {
    let mut file =
        std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path)?;
    file.write_all(pem.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_made_once_and_kept_with_an_owner_only_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let made = DevCertificates::ensure(&dir.path().join("tls")).expect("made");
        let ca = std::fs::read_to_string(&made.ca).expect("ca.pem");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
        let mode = std::fs::metadata(&made.key).expect("key.pem").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key is its owner's only");
        let again = DevCertificates::ensure(&dir.path().join("tls")).expect("kept");
        assert_eq!(std::fs::read_to_string(&again.ca).expect("ca.pem"), ca, "the same CA across runs");
        std::fs::remove_file(&made.cert).expect("remove cert.pem");
        let remade = DevCertificates::ensure(&dir.path().join("tls")).expect("remade");
        assert_ne!(std::fs::read_to_string(&remade.ca).expect("ca.pem"), ca, "a missing file makes all anew");
    }
}
