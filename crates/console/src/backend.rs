//! The five services as the console reaches them: one lazily connected gRPC channel each,
//! every call carrying the signed-in person's token, and a failed call turned into the
//! page that tells that person why.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use waybill_proto::v1::{
    after_sales_service_client::AfterSalesServiceClient, crm_service_client::CrmServiceClient,
    delivery_service_client::DeliveryServiceClient, dispatch_service_client::DispatchServiceClient,
    intake_service_client::IntakeServiceClient,
};

use crate::pages::layout;
use crate::session::Session;

/// Where the services listen (the defaults are `make run`'s ports).
#[derive(Clone, Debug, clap::Args)]
pub struct Backends {
    /// Intake's gRPC address.
    #[arg(long, env = "WAYBILL_CONSOLE_INTAKE_URL", default_value = "http://127.0.0.1:50051")]
    pub intake_url: String,
    /// Dispatch's gRPC address.
    #[arg(long, env = "WAYBILL_CONSOLE_DISPATCH_URL", default_value = "http://127.0.0.1:50052")]
    pub dispatch_url: String,
    /// Delivery's gRPC address.
    #[arg(long, env = "WAYBILL_CONSOLE_DELIVERY_URL", default_value = "http://127.0.0.1:50053")]
    pub delivery_url: String,
    /// After-sales' gRPC address.
    #[arg(long, env = "WAYBILL_CONSOLE_AFTERSALES_URL", default_value = "http://127.0.0.1:50054")]
    pub aftersales_url: String,
    /// CRM's gRPC address.
    #[arg(long, env = "WAYBILL_CONSOLE_CRM_URL", default_value = "http://127.0.0.1:50055")]
    pub crm_url: String,
    /// How long one gRPC call may take before the page says the service did not answer.
    #[arg(long, env = "WAYBILL_CONSOLE_CALL_TIMEOUT_MS", default_value_t = 10_000)]
    pub call_timeout_ms: u64,
    /// The CA (PEM) that signed the services' certificates: `https://` addresses are
    /// trusted through it (`make run` passes its dev CA, var/dev/tls/ca.pem). There are no
    /// built-in roots: an `https://` address needs this.
    #[arg(long, env = "WAYBILL_CONSOLE_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
}

/// One channel per service; cheap to clone, connected on first use and reconnected by
/// tonic when a service restarts.
#[derive(Clone, Debug)]
pub struct Channels {
    pub intake: Channel,
    pub dispatch: Channel,
    pub delivery: Channel,
    pub aftersales: Channel,
    pub crm: Channel,
}

impl Backends {
    /// The channels; a malformed address, an unreadable CA or an `https://` address without
    /// one fails the start, naming the flag.
    pub fn connect(&self) -> anyhow::Result<Channels> {
        let timeout = Duration::from_millis(self.call_timeout_ms);
        let ca = match &self.tls_ca {
            Some(path) => Some(Certificate::from_pem(
                std::fs::read(path)
                    .map_err(|error| anyhow::anyhow!("--tls-ca {}: {error}", path.display()))?,
            )),
            None => None,
        };
        let lazy = |flag: &str, url: &str| -> anyhow::Result<Channel> {
            let mut endpoint = Endpoint::from_shared(url.to_owned())
                .map_err(|error| anyhow::anyhow!("--{flag} {url:?} is not a gRPC address: {error}"))?;
            if url.starts_with("https://") {
                let ca = ca.clone().ok_or_else(|| {
                    anyhow::anyhow!("--{flag} {url:?} is https: name the CA that signed it with --tls-ca")
                })?;
                endpoint = endpoint
                    .tls_config(ClientTlsConfig::new().ca_certificate(ca))
                    .map_err(|error| anyhow::anyhow!("--{flag} {url:?}: {error}"))?;
            }
            Ok(endpoint
                .connect_timeout(Duration::from_secs(2))
                .timeout(timeout)
                .tcp_nodelay(true)
                .connect_lazy())
        };
        Ok(Channels {
            intake: lazy("intake-url", &self.intake_url)?,
            dispatch: lazy("dispatch-url", &self.dispatch_url)?,
            delivery: lazy("delivery-url", &self.delivery_url)?,
            aftersales: lazy("aftersales-url", &self.aftersales_url)?,
            crm: lazy("crm-url", &self.crm_url)?,
        })
    }
}

impl Channels {
    pub fn intake(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.intake.clone())
    }

    pub fn dispatch(&self) -> DispatchServiceClient<Channel> {
        DispatchServiceClient::new(self.dispatch.clone())
    }

    pub fn delivery(&self) -> DeliveryServiceClient<Channel> {
        DeliveryServiceClient::new(self.delivery.clone())
    }

    pub fn aftersales(&self) -> AfterSalesServiceClient<Channel> {
        AfterSalesServiceClient::new(self.aftersales.clone())
    }

    pub fn crm(&self) -> CrmServiceClient<Channel> {
        CrmServiceClient::new(self.crm.clone())
    }
}

/// `body` as a request made by the signed-in person: their token as the bearer token.
pub fn as_person<T>(session: &Session, body: T) -> tonic::Request<T> {
    bearing(&session.token, body)
}

/// `body` as a request carrying `token` as its bearer token, in the current trace (the
/// page request's: W3C `traceparent`, which the services continue).
pub fn bearing<T>(token: &str, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    for (name, value) in waybill_eventlog::trace::current_headers() {
        if let Ok(value) = value.parse() {
            request.metadata_mut().insert(name, value);
        }
    }
    request
}

/// Why a page could not be shown: a service's refusal, or a mistake in what was asked.
#[derive(Debug)]
pub enum Failure {
    /// A gRPC call failed; the page names the service and says what it answered.
    Service { service: &'static str, status: tonic::Status },
    /// The request itself is wrong (a filter that does not parse): 400 naming the field.
    BadInput { field: &'static str, problem: String },
}

impl Failure {
    pub fn service(service: &'static str) -> impl FnOnce(tonic::Status) -> Failure {
        move |status| Failure::Service { service, status }
    }

    pub fn bad_input(field: &'static str, problem: impl Into<String>) -> Failure {
        Failure::BadInput { field, problem: problem.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::BadInput { field, problem } => write!(f, "{field}: {problem}"),
            Failure::Service { service, status } => {
                write!(f, "{service} answered {:?}: {}", status.code(), status.message())?;
                for violation in waybill_proto::status::field_violations(status) {
                    write!(f, "; {}: {}", violation.field, violation.description)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Failure {}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, title, detail) = match self {
            Failure::BadInput { field, problem } => (
                StatusCode::BAD_REQUEST,
                "That request is not valid".to_owned(),
                format!("{field}: {problem}"),
            ),
            Failure::Service { status, .. } if status.code() == tonic::Code::Unauthenticated => {
                // An expired or revoked token: sign in again.
                return Redirect::to("/sign-in?expired=1").into_response();
            }
            Failure::Service { service, status } => {
                let (http, title) = match status.code() {
                    tonic::Code::InvalidArgument => (StatusCode::BAD_REQUEST, "That request is not valid"),
                    tonic::Code::NotFound => (StatusCode::NOT_FOUND, "Not found"),
                    tonic::Code::PermissionDenied => (StatusCode::FORBIDDEN, "Your role does not allow this"),
                    tonic::Code::FailedPrecondition => (StatusCode::CONFLICT, "Not possible now"),
                    tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => {
                        (StatusCode::SERVICE_UNAVAILABLE, "The service did not answer")
                    }
                    _ => (StatusCode::BAD_GATEWAY, "The service failed"),
                };
                let detail = Failure::Service { service, status }.to_string();
                (http, title.to_owned(), detail)
            }
        };
        (status, layout::problem(&title, &detail)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(url: &str, tls_ca: Option<&str>) -> Backends {
        Backends {
            intake_url: url.to_owned(),
            dispatch_url: url.to_owned(),
            delivery_url: url.to_owned(),
            aftersales_url: url.to_owned(),
            crm_url: url.to_owned(),
            call_timeout_ms: 1_000,
            tls_ca: tls_ca.map(PathBuf::from),
        }
    }

    #[tokio::test]
    async fn an_https_service_needs_the_ca_that_signed_it() {
        backends("http://127.0.0.1:50051", None).connect().expect("plaintext needs no CA");
        let error = backends("https://127.0.0.1:50051", None).connect().expect_err("no CA to trust");
        assert!(error.to_string().contains("--tls-ca"), "{error}");
        let missing = "/nonexistent/waybill/ca.pem";
        let error = backends("https://127.0.0.1:50051", Some(missing)).connect().expect_err("unreadable CA");
        assert!(error.to_string().contains(missing), "{error}");
    }
}
