//! An order's page, live: new timeline entries appear while the page is open.
//!
//! The page opens `/orders/{id}/live` with the browser's `EventSource` (a few lines of
//! script, inline; no library). That request holds one intake WatchOrder stream, called with
//! the signed-in person's token, so a person follows only an order intake lets them read,
//! and intake's per-caller cap on open watches applies to open pages too. Each new event is
//! sent as a server-sent event `entry` whose data is the timeline row rendered here (the
//! same markup as the page's rows, escaped by maud) and whose id is its log position;
//! `status` carries the order's status after it.
//!
//! No entry is lost between the page and the stream, nor across a reconnect: the stream
//! starts after the position the page (`?after=`) or the browser (`Last-Event-ID`, sent by
//! `EventSource` when it reconnects) last saw. The watch is opened first, then TrackOrder
//! lists what happened since that position; the watch's own updates follow, each sent only
//! if it is newer than the last one sent. A refused watch (not found, not the person's
//! order, too many open watches) answers with the failure's status, which makes the
//! browser stop retrying; the page then says live updates stopped.
//!
//! A session ends while the page is open: intake does not end a watch when the token it was
//! opened with expires, so the stream ends itself at the token's `exp`, with a `signed-out`
//! event; so does a watch that intake ends as UNAUTHENTICATED, and a reconnect whose
//! session is no longer valid. The script then closes the `EventSource` (no retries) and
//! the page says "Signed out — sign in again" instead of claiming to follow the order.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use maud::{Markup, PreEscaped, html};
use waybill_proto::v1;

use crate::backend::{Failure, as_person};
use crate::format;
use crate::pages::orders::timeline_row;
use crate::session::{Form, Session};

/// How often an idle stream sends a comment, so a closed tab is noticed (the write fails)
/// and its watch freed within this long, and proxies keep the connection open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The script of an order's page, run once the page is parsed (it stands above the
/// timeline): adds each `entry` to the timeline (once: a row already there is skipped) and
/// shows each `status`; `#live` says whether it is following.
const SCRIPT: &str = r#"document.addEventListener("DOMContentLoaded", () => {
  const timeline = document.getElementById("timeline");
  const live = document.getElementById("live");
  if (!timeline || !live || !window.EventSource) return;
  const rows = timeline.querySelector("tbody");
  const source = new EventSource(live.dataset.source);
  const say = (state, text) => { live.dataset.state = state; live.textContent = text; };
  source.addEventListener("open", () => say("open", "Following new events live."));
  source.addEventListener("entry", (event) => {
    if (rows.querySelector(`tr[data-position="${CSS.escape(event.lastEventId)}"]`)) return;
    rows.insertAdjacentHTML("beforeend", event.data);
  });
  source.addEventListener("status", (event) => {
    const status = document.getElementById("status");
    if (status) status.textContent = event.data;
  });
  source.addEventListener("signed-out", () => {
    source.close();
    live.dataset.state = "signed-out";
    live.innerHTML = 'Signed out \u2014 <a href="/sign-in">sign in again</a> to follow this order live.';
  });
  source.addEventListener("error", () => {
    if (live.dataset.state === "signed-out") return;
    if (source.readyState === EventSource.CLOSED) say("closed", "Live updates stopped: reload the page to see new events.");
    else say("connecting", "Reconnecting for live updates…");
  });
});"#;

/// The notice above the timeline and the script that follows the order from `after` on.
pub fn follower(order_id: &str, after: u64) -> Markup {
    let source = format!("/orders/{}/live?after={after}", encode(order_id));
    html! {
        p #live data-state="connecting" data-source=(source) { "Connecting for live updates…" }
        script { (PreEscaped(SCRIPT)) }
    }
}

/// An order id as one path segment (ids are UUIDs; anything else is escaped anyway).
fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}

/// GET /orders/{order_id}/live: the order's new timeline entries as server-sent events,
/// until the browser closes the page or the session ends.
pub async fn follow(
    State(console): State<crate::State>,
    session: Result<Session, Response>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // A reconnect after the session ended: say so (a redirect would only be retried).
    let Ok(session) = session else { return signed_out() };
    let Ok(remaining) = session.expires_at.duration_since(SystemTime::now()) else { return signed_out() };
    let resumed = headers.get("last-event-id").and_then(|value| value.to_str().ok());
    let after = match resumed.or(Form::query(query).get("after")).map(str::parse::<u64>).transpose() {
        Ok(after) => after.unwrap_or(0),
        Err(_) => return Failure::bad_input("after", "not a log position").into_response(),
    };
    let watch = v1::WatchOrderRequest { order_id: order_id.clone(), min_position: 0 };
    let updates = match console.services.intake().watch_order(as_person(&session, watch)).await {
        Ok(updates) => updates.into_inner(),
        Err(status) if status.code() == tonic::Code::Unauthenticated => return signed_out(),
        Err(status) => return Failure::service("intake")(status).into_response(),
    };
    let track = v1::TrackOrderRequest { order_id, min_position: 0 };
    let missed = match console.services.intake().track_order(as_person(&session, track)).await {
        Ok(timeline) => timeline.into_inner(),
        Err(status) if status.code() == tonic::Code::Unauthenticated => return signed_out(),
        Err(status) => return Failure::service("intake")(status).into_response(),
    };

    let mut last_sent = after;
    let mut backlog = Vec::new();
    for entry in missed.timeline.iter().filter(|entry| entry.position > after) {
        backlog.push(entry_event(entry));
        last_sent = last_sent.max(entry.position);
    }
    backlog.push(status_event(missed.status));
    let following =
        Following { updates, session_ends: Box::pin(tokio::time::sleep(remaining)), last_sent, ended: false };
    let followed = futures::stream::unfold(following, Following::next).flat_map(futures::stream::iter);
    let events = futures::stream::iter(backlog).chain(followed).map(Ok::<_, Infallible>);
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response()
}

/// An open watch, until the session ends.
struct Following {
    updates: tonic::Streaming<v1::WatchOrderResponse>,
    /// Fires at the token's `exp`.
    session_ends: Pin<Box<tokio::time::Sleep>>,
    /// The newest position sent: an update at or before it is not sent again.
    last_sent: u64,
    /// `signed-out` was sent: nothing follows.
    ended: bool,
}

impl Following {
    /// The next events to send, `None` when the stream ends.
    async fn next(mut self) -> Option<(Vec<Event>, Following)> {
        if self.ended {
            return None;
        }
        loop {
            let update = tokio::select! {
                () = &mut self.session_ends => None,
                update = self.updates.next() => Some(update),
            };
            match update {
                // The token expired: the person is signed out; the watch is dropped.
                None => {
                    self.ended = true;
                    return Some((vec![signed_out_event()], self));
                }
                Some(Some(Err(status))) if status.code() == tonic::Code::Unauthenticated => {
                    self.ended = true;
                    return Some((vec![signed_out_event()], self));
                }
                Some(Some(Err(status))) => {
                    // The browser reconnects from its last entry (intake restarting, say).
                    tracing::info!(code = ?status.code(), message = status.message(), "order watch ended");
                    return None;
                }
                Some(None) => return None,
                Some(Some(Ok(v1::WatchOrderResponse { order, event: Some(entry) })))
                    if entry.position > self.last_sent =>
                {
                    self.last_sent = entry.position;
                    let status = order.map_or(0, |order| order.status);
                    return Some((vec![entry_event(&entry), status_event(status)], self));
                }
                Some(Some(Ok(_))) => continue,
            }
        }
    }
}

/// The stream of a person whose session has ended: one `signed-out` event.
fn signed_out() -> Response {
    let events = futures::stream::iter([Ok::<_, Infallible>(signed_out_event())]);
    Sse::new(events).into_response()
}

fn signed_out_event() -> Event {
    Event::default().event("signed-out").data("signed out: sign in again")
}

fn entry_event(entry: &v1::TimelineEntry) -> Event {
    Event::default().event("entry").id(entry.position.to_string()).data(timeline_row(entry).into_string())
}

fn status_event(status: i32) -> Event {
    Event::default().event("status").data(format::order_status(status))
}
