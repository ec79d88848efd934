//! Waybill's web console: a small HTTP server that renders pages on the server (HTML from
//! [maud], charts as SVG; the only script is the few lines that keep an order's timeline
//! live) from the five services' gRPC APIs.
//!
//! The console holds no data and no authority of its own. A person signs in by pasting a
//! Waybill token (the JWT the services verify); the console checks it with the same keys
//! the services trust, keeps it in an HttpOnly, SameSite=Strict cookie and sends it as the
//! bearer token of every gRPC call it makes for that person. So what a page shows is what
//! the services let that person see: a customer's order list holds its own orders, a
//! reviewer sees the review queue, an analyst the reports; a refusal is the service's.
//!
//! - [`session`]: sign-in, sign-out, the session cookie and the CSRF token on every form.
//! - [`backend`]: the gRPC channels and a failed call turned into a page.
//! - [`pages`]: the layout and each page (orders, an order, the review queue, the
//!   operations board, reports, the finance report).
//! - [`csv`] and [`chart`]: the exports and the SVG bar chart.
//! - [`log`]: the dead letters, read from the event log (off unless `--dead-letters`).
//!
//! Traces: every request runs in a span of its own (in the browser's trace if it sent a
//! `traceparent`, else in a new one), logged as `page request` with its `trace_id`, and
//! every gRPC call it makes carries that trace ([`backend::bearing`]), so the events an
//! operator's click causes are in the same trace as the click (docs/OPERATIONS.md, "Traces").

pub mod backend;
pub mod chart;
pub mod csv;
pub mod format;
pub mod log;
pub mod pages;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use waybill_auth::Verifier;

pub use backend::{Backends, Channels};

/// What every handler shares: the token verifier, the services' channels, cookie settings.
pub struct Console {
    pub verifier: Arc<Verifier>,
    pub services: Channels,
    /// Whether cookies are marked `Secure` (the console is served over HTTPS by a proxy).
    pub secure_cookies: bool,
    /// Where the board reads dead letters; `None`: it does not show them.
    pub dead_letters: Option<log::DeadLetters>,
}

pub type State = Arc<Console>;

impl Console {
    pub fn new(
        verifier: Arc<Verifier>,
        services: Channels,
        secure_cookies: bool,
        dead_letters: Option<log::DeadLetters>,
    ) -> State {
        Arc::new(Console { verifier, services, secure_cookies, dead_letters })
    }
}

/// The console's routes.
pub fn router(console: State) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/sign-in", get(session::sign_in_form).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/orders", get(pages::orders::list))
        // The list with the same filters, every page (up to 10,000 rows).
        .route(
            "/orders.csv",
            csv::export("orders.csv", |console, session, query| async move {
                pages::orders::orders_csv(console.services.intake(), &session.token, query).await
            }),
        )
        .route("/orders/{order_id}", get(pages::orders::show))
        .route("/orders/{order_id}/live", get(pages::live::follow))
        .route("/review", get(pages::review::queue))
        .route("/review/{order_id}", post(pages::review::decide))
        .route("/board", get(pages::board::show))
        .route("/board.csv", get(pages::board::export))
        .route("/reports", get(pages::reports::show))
        // The KPI table of the same scope.
        .route(
            "/reports.csv",
            csv::export("kpis.csv", |console, session, query| async move {
                pages::reports::kpis_csv(console.services.crm(), &session.token, query).await
            }),
        )
        .route("/finance", get(pages::finance::show))
        // The finance report's rows.
        .route(
            "/finance.csv",
            csv::export("finance.csv", |console, session, query| async move {
                pages::finance::finance_csv(console.services.crm(), &session.token, query).await
            }),
        )
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn(traced))
        .with_state(console)
}

/// Runs one request in its trace (see the module docs) and logs it with the trace id.
async fn traced(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use waybill_eventlog::trace::{SPAN_TARGET, current_trace_id, in_span, parent_from};
    let headers = request.headers();
    let parent = parent_from(|name| headers.get(name).and_then(|value| value.to_str().ok()));
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "page",
        otel.name = %format_args!("{method} {path}"),
        otel.kind = "server",
    );
    in_span(span, parent, async move {
        let trace_id = current_trace_id().unwrap_or_default();
        tracing::info!(%trace_id, %method, %path, "page request");
        next.run(request).await
    })
    .await
}

/// Serves the console on `listener` until `shutdown` resolves.
pub async fn serve(
    console: State,
    listener: tokio::net::TcpListener,
    shutdown: impl waybill_runtime::Shutdown,
) -> anyhow::Result<()> {
    axum::serve(listener, router(console)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}
