//! The manual review queue (intake's ListReviewQueue) with accept and reject (ReviewOrder).
//!
//! Each decision form carries a request id made when the page was drawn, so a form sent
//! twice (a double click, a reload after a lost answer) is one decision: intake answers the
//! second as it did the first. After a decision the queue is drawn again at the position the
//! decision wrote (read-your-writes), so the decided order is gone from it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use waybill_proto::v1;

use crate::backend::{Failure, as_person};
use crate::format;
use crate::pages::Page;
use crate::pages::layout::{self, csrf_field};
use crate::session::{Form, Session, csrf_matches, csrf_refused};

/// GET /review
pub async fn queue(Page { console, session, query }: Page) -> Response {
    let query = Form::query(query);
    let min_position = query.get("at").and_then(|at| at.parse().ok()).unwrap_or(0);
    let request = v1::ListReviewQueueRequest {
        page_size: 50,
        page_token: query.get("page").unwrap_or_default().to_owned(),
        min_position,
    };
    let answer = match console.services.intake().list_review_queue(as_person(&session, request)).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return Failure::service("intake")(status).into_response(),
    };
    let done = query.get("done").zip(query.get("decision"));
    let body = html! {
        @if let Some((order_id, decision)) = done {
            p.notice #done role="status" { "Order " (order_id) " " (decision) "." }
        }
        @if answer.orders.is_empty() {
            p #queue-empty { "Nothing waits for review." }
        } @else {
            table #review-queue {
                thead { tr { th { "Order" } th { "Customer" } th { "Placed" } th { "Total" } th { "Why it waits" } th { "Decision" } } }
                tbody {
                    @for order in &answer.orders {
                        @let request_id = uuid::Uuid::new_v4().to_string();
                        tr data-order-id=(order.order_id) {
                            td { a href=(format!("/orders/{}", order.order_id)) { (order.order_id) } }
                            td { (order.customer_id) }
                            td { (format::time(order.placed_at.as_ref())) }
                            td.number { (format::money(order.quote.as_ref().and_then(|quote| quote.total.as_ref()))) }
                            td { (order.review_reasons.join("; ")) }
                            td {
                                form method="post" action=(format!("/review/{}", order.order_id)) {
                                    (csrf_field(&session))
                                    input type="hidden" name="request_id" value=(format!("console-{request_id}-accept"));
                                    input type="hidden" name="decision" value="accept";
                                    button type="submit" class="accept" { "Accept" }
                                }
                                form method="post" action=(format!("/review/{}", order.order_id)) {
                                    (csrf_field(&session))
                                    input type="hidden" name="request_id" value=(format!("console-{request_id}-reject"));
                                    input type="hidden" name="decision" value="reject";
                                    input name="reason" placeholder="reason" required;
                                    button type="submit" class="reject" { "Reject" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !answer.next_page_token.is_empty() {
            p { a href=(format!("/review?page={}", answer.next_page_token)) { "Next page" } }
        }
    };
    layout::page(&session, "Review queue", body).into_response()
}

/// POST /review/{order_id}: accept or reject, as the signed-in person.
pub async fn decide(
    State(console): State<crate::State>,
    session: Session,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    if !csrf_matches(&headers, &form) {
        return csrf_refused();
    }
    let (decision, done) = match form.get("decision") {
        Some("accept") => (v1::ReviewDecision::Accept, "accepted"),
        Some("reject") => (v1::ReviewDecision::Reject, "rejected"),
        other => {
            let problem = format!("{:?} is not a decision (accept or reject)", other.unwrap_or_default());
            return Failure::bad_input("decision", problem).into_response();
        }
    };
    let request = v1::ReviewOrderRequest {
        request_id: form.get("request_id").unwrap_or_default().to_owned(),
        order_id: order_id.clone(),
        decision: decision as i32,
        reason: form.get("reason").unwrap_or_default().to_owned(),
    };
    match console.services.intake().review_order(as_person(&session, request)).await {
        Ok(answer) => {
            let position = answer.into_inner().position;
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("done", &order_id)
                .append_pair("decision", done)
                .append_pair("at", &position.to_string())
                .finish();
            Redirect::to(&format!("/review?{query}")).into_response()
        }
        Err(status) => Failure::service("intake")(status).into_response(),
    }
}
