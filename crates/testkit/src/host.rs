//! A service in this process, for its own tests: bound to port 0, started on a test's
//! nats-server, trusting the process's test signing key (`waybill_fixtures::test_signer`),
//! SERVING before the test gets it, stopped when dropped.
//!
//! Every service's `server::run(settings, started, shutdown)` has one shape, so one
//! host serves all five; what a service adds is its `run`, its settings and its client
//! type (which names the gRPC service health is asked about):
//!
//! ```ignore
//! let intake = InProcess::<IntakeClient>::start(&nats, waybill_intake::server::run, Settings::default()).await;
//! let mut clerk = intake.client(Caller::customer_service("clerk")).await;
//! intake.stop().await; // or drop it
//! ```
//!
//! To test the binary as operations start it, use [`crate::ServiceProcess`] instead.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use waybill_fixtures::{Caller, ServiceClient};

use crate::NatsServer;
use crate::service::check_health;

/// How long a service may take to be SERVING (rebuilding its read model included).
const SERVING_TIMEOUT: Duration = Duration::from_secs(10);

/// The shutdown future a hosted service is given: it resolves on [`InProcess::stop`] or
/// when the host is dropped.
pub struct Shutdown(oneshot::Receiver<()>);

impl Future for Shutdown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        // A dropped sender (the host dropped) stops the service as a sent one does.
        Pin::new(&mut self.0).poll(context).map(|_| ())
    }
}

/// One service running in this process, reached through clients of type `C`.
pub struct InProcess<C> {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    client: PhantomData<fn() -> C>,
}

impl<C: ServiceClient> InProcess<C> {
    /// Starts the service with `run` and `settings` on `nats` and waits until it is SERVING,
    /// as a load balancer would.
    pub async fn start<S, Run, Running>(nats: &NatsServer, run: Run, settings: S) -> Self
    where
        Run: FnOnce(S, waybill_runtime::Started, Shutdown) -> Running,
        Running: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let service = Self::start_unready(nats, run, settings).await;
        service.wait_serving().await;
        service
    }

    /// Starts the service without waiting for SERVING (it may never be): for tests of
    /// how it starts.
    pub async fn start_unready<S, Run, Running>(nats: &NatsServer, run: Run, settings: S) -> Self
    where
        Run: FnOnce(S, waybill_runtime::Started, Shutdown) -> Running,
        Running: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let (stop, stopped) = oneshot::channel();
        // The service connects as its own NATS user, as in production.
        let connection = match waybill_ops::Service::serving(C::GRPC_SERVICE) {
            Some(service) => nats.client_as(waybill_ops::User::Service(service)).await,
            None => nats.client().await,
        };
        let verifier = std::sync::Arc::new(waybill_fixtures::test_signer().verifier());
        let started = waybill_runtime::Started { nats: connection, listener, verifier, tls: None };
        let task = tokio::spawn(run(settings, started, Shutdown(stopped)));
        InProcess { url, stop: Some(stop), task: Some(task), client: PhantomData }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection to the service.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone()).expect("url").connect().await.expect("connect")
    }

    /// A client whose every call comes from `caller` (`Caller::dispatcher("dana")`).
    pub async fn client(&self, caller: Caller) -> C {
        C::new(self.channel().await, caller)
    }

    /// What grpc.health.v1 answers for this service now.
    pub async fn health(&self) -> ServingStatus {
        check_health(&self.url, C::GRPC_SERVICE).await.unwrap_or_else(|unanswered| {
            panic!("{} at {} has no health: {unanswered}", C::GRPC_SERVICE, self.url)
        })
    }

    /// Waits (bounded: 10 s) until health says SERVING.
    pub async fn wait_serving(&self) {
        if let Err(error) = crate::wait_serving(&self.url, C::GRPC_SERVICE, SERVING_TIMEOUT).await {
            panic!("{error}");
        }
    }

    /// Asserts that health says NOT_SERVING, again and again, for `period` (a service that
    /// must never claim SERVING, such as one whose read model cannot apply an event).
    pub async fn assert_not_serving_for(&self, period: Duration) {
        let deadline = tokio::time::Instant::now() + period;
        while tokio::time::Instant::now() < deadline {
            assert_eq!(self.health().await, ServingStatus::NotServing, "{} claimed SERVING", C::GRPC_SERVICE);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the service as SIGTERM would (the bounded drain) and checks it stopped cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let stopped = task.await.expect("the service task did not panic");
            stopped.unwrap_or_else(|error| panic!("{} did not stop cleanly: {error:#}", C::GRPC_SERVICE));
        }
    }
}

impl<C> Drop for InProcess<C> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
