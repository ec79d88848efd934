//! A running service seen from outside, as whoever started it sees it: the address file it
//! wrote (`--address-file`, [`crate::flags::write_address_file`]) and what its
//! grpc.health.v1 answers. The test kit and `waybill verify --scratch` start service
//! binaries on port 0 and wait for them with these.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// What a service wrote to its address file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressFile {
    pub pid: u32,
    pub grpc: SocketAddr,
    pub metrics: Option<SocketAddr>,
}

/// The address file at `path`, once it exists (the service writes it whole, with a rename).
pub fn read_address_file(path: &Path) -> anyhow::Result<Option<AddressFile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let value = |key: &str| text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('='));
    let bad = || anyhow::anyhow!("{} is not an address file:\n{text}", path.display());
    Ok(Some(AddressFile {
        pid: value("pid").and_then(|pid| pid.parse().ok()).ok_or_else(bad)?,
        grpc: value("grpc").and_then(|grpc| grpc.parse().ok()).ok_or_else(bad)?,
        metrics: value("metrics").map(str::parse).transpose()?,
    }))
}

/// Why a health check got no status.
#[derive(Debug)]
pub enum Unanswered {
    /// The server there has no such service (NOT_FOUND): it is not the one expected.
    UnknownService,
    Other(String),
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unanswered::UnknownService => formatter.write_str("no such service there"),
            Unanswered::Other(why) => formatter.write_str(why),
        }
    }
}

impl std::error::Error for Unanswered {}

/// One health check of `grpc_service` at `url` (`http://host:port`), bounded: a listener
/// that is bound but not serving yet accepts the TCP connection and answers nothing.
pub async fn check_health(url: &str, grpc_service: &str) -> Result<ServingStatus, Unanswered> {
    let other = |error: &dyn std::fmt::Display| Unanswered::Other(error.to_string());
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|error| other(&error))?
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(2));
    let channel = endpoint.connect().await.map_err(|error| other(&format!("cannot connect: {error}")))?;
    let request = HealthCheckRequest { service: grpc_service.to_owned() };
    match HealthClient::new(channel).check(request).await {
        Ok(answer) => ServingStatus::try_from(answer.get_ref().status).map_err(|error| other(&error)),
        Err(status) if status.code() == tonic::Code::NotFound => Err(Unanswered::UnknownService),
        Err(status) => Err(other(&status)),
    }
}
