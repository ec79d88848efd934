//! Orders: the list with its filters (intake's ListOrders), its CSV export, and an order's
//! page with its timeline across services (TrackOrder), kept up to date while it is open
//! ([`live`]). A customer's token lists only its own orders: intake scopes the answer, the
//! console shows what it gets.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use waybill_proto::v1;

use tonic::transport::Channel;
use waybill_proto::v1::intake_service_client::IntakeServiceClient;

use crate::backend::{Failure, as_person, bearing};
use crate::csv::Csv;
use crate::format;
use crate::pages::{Page, day_filter, layout, live, query_string};
use crate::session::{Form, Session};

/// The most rows one export holds (20 pages of 500).
const EXPORT_LIMIT: usize = 10_000;

/// The list's filters as the query string gives them.
struct Filters {
    customer: Option<String>,
    status: Option<String>,
    from: Option<String>,
    until: Option<String>,
    page: Option<String>,
}

impl Filters {
    fn parse(query: Option<String>) -> Filters {
        let form = Form::query(query);
        let text = |key: &str| form.text(key);
        Filters {
            customer: text("customer"),
            status: text("status"),
            from: text("from"),
            until: text("until"),
            page: text("page"),
        }
    }

    /// The request these filters make; a filter that does not parse is a 400 naming it.
    fn request(&self, page_size: u32) -> Result<v1::ListOrdersRequest, Failure> {
        let status = match &self.status {
            Some(name) => format::parse_order_status(name)
                .ok_or_else(|| Failure::bad_input("status", format!("{name:?} is not an order status")))?
                as i32,
            None => 0,
        };
        Ok(v1::ListOrdersRequest {
            customer_id: self.customer.clone().unwrap_or_default(),
            status,
            placed_from: day_filter("from", &self.from)?,
            placed_until: day_filter("until", &self.until)?,
            page_size,
            page_token: self.page.clone().unwrap_or_default(),
            min_position: 0,
        })
    }

    /// The query string of these filters on another page (`page` empty: the first).
    fn query(&self, page: &str) -> String {
        let page = (!page.is_empty()).then(|| page.to_owned());
        query_string(&[
            ("customer", &self.customer),
            ("status", &self.status),
            ("from", &self.from),
            ("until", &self.until),
            ("page", &page),
        ])
    }
}

/// GET /orders
pub async fn list(Page { console, session, query }: Page) -> Response {
    let filters = Filters::parse(query);
    let result = async {
        let request = filters.request(50)?;
        let answer = console.services.intake().list_orders(as_person(&session, request)).await;
        answer.map(tonic::Response::into_inner).map_err(Failure::service("intake"))
    }
    .await;
    let answer = match result {
        Ok(answer) => answer,
        Err(failure) => return failure.into_response(),
    };
    let body = html! {
        (filter_form(&filters))
        p { a #export href=(format!("/orders.csv?{}", filters.query(""))) { "Export CSV" } }
        @if answer.orders.is_empty() {
            p #no-orders { "No orders match." }
        } @else {
            (table(&answer.orders))
        }
        @if !answer.next_page_token.is_empty() {
            p { a #next-page href=(format!("/orders?{}", filters.query(&answer.next_page_token))) { "Next page" } }
        }
    };
    layout::page(&session, "Orders", body).into_response()
}

fn filter_form(filters: &Filters) -> Markup {
    let selected = filters.status.as_deref().unwrap_or_default();
    html! {
        form.filters method="get" action="/orders" {
            label { "Customer" input name="customer" value=(filters.customer.as_deref().unwrap_or_default()); }
            label { "Status"
                select name="status" {
                    option value="" { "any" }
                    @for status in format::order_statuses() {
                        option value=(status) selected[status == selected] { (status) }
                    }
                }
            }
            label { "Placed from" input type="date" name="from" value=(filters.from.as_deref().unwrap_or_default()); }
            label { "Placed before" input type="date" name="until" value=(filters.until.as_deref().unwrap_or_default()); }
            button type="submit" { "Search" }
        }
    }
}

fn table(orders: &[v1::Order]) -> Markup {
    html! {
        table #orders {
            thead { tr { th { "Order" } th { "Customer" } th { "Status" } th { "Service" } th { "Placed" } th { "Total" } } }
            tbody {
                @for order in orders {
                    tr data-order-id=(order.order_id) {
                        td { a href=(format!("/orders/{}", order.order_id)) { (order.order_id) } }
                        td { (order.customer_id) }
                        td.status { (format::order_status(order.status)) }
                        td { (format::service_level(order.service_level)) }
                        td { (format::time(order.placed_at.as_ref())) }
                        td.number { (format::money(order.quote.as_ref().and_then(|quote| quote.total.as_ref()))) }
                    }
                }
            }
        }
    }
}

/// The order list as CSV, filtered as the query string `query` of `/orders.csv` says, as
/// the holder of `token` may see it; also what `waybill export orders` prints.
pub async fn orders_csv(
    mut intake: IntakeServiceClient<Channel>,
    token: &str,
    query: Option<String>,
) -> Result<Csv, Failure> {
    let mut filters = Filters::parse(query);
    let mut csv = Csv::new(&[
        "order_id",
        "customer_id",
        "status",
        "service_level",
        "placed_at",
        "currency",
        "total_minor",
    ]);
    let mut rows = 0;
    loop {
        let request = filters.request(500)?;
        let page = intake.list_orders(bearing(token, request)).await.map_err(Failure::service("intake"))?;
        let page = page.into_inner();
        for order in &page.orders {
            let total = order.quote.as_ref().and_then(|quote| quote.total.as_ref());
            let minor = total.map(|total| total.amount_minor.to_string()).unwrap_or_default();
            csv.row([
                order.order_id.as_str(),
                &order.customer_id,
                &format::order_status(order.status),
                &format::service_level(order.service_level),
                &format::time(order.placed_at.as_ref()),
                total.map(|total| total.currency.as_str()).unwrap_or_default(),
                &minor,
            ]);
        }
        rows += page.orders.len();
        if page.next_page_token.is_empty() || rows >= EXPORT_LIMIT {
            break;
        }
        filters.page = Some(page.next_page_token);
    }
    Ok(csv)
}

/// GET /orders/{order_id}: the order and its timeline.
pub async fn show(
    State(console): State<crate::State>,
    session: Session,
    Path(order_id): Path<String>,
) -> Response {
    let get = v1::GetOrderRequest { order_id: order_id.clone(), min_position: 0 };
    let track = v1::TrackOrderRequest { order_id: order_id.clone(), min_position: 0 };
    let (mut orders, mut timelines) = (console.services.intake(), console.services.intake());
    let (order, timeline) = tokio::join!(
        orders.get_order(as_person(&session, get)),
        timelines.track_order(as_person(&session, track)),
    );
    let (order, timeline) = match (order, timeline) {
        (Ok(order), Ok(timeline)) => (order.into_inner().order.unwrap_or_default(), timeline.into_inner()),
        (Err(status), _) | (_, Err(status)) => return Failure::service("intake")(status).into_response(),
    };
    let last = timeline.timeline.iter().map(|entry| entry.position).max().unwrap_or(0);
    let body = html! {
        (details(&order))
        @if let Some(eta) = &timeline.eta { p #eta { "Courier expected: " (format::time(Some(eta))) } }
        h2 { "Timeline" }
        (live::follower(&order_id, last))
        table #timeline {
            thead { tr { th { "#" } th { "When" } th { "Service" } th { "Event" } th { "By" } th { "What" } } }
            tbody {
                @for entry in &timeline.timeline { (timeline_row(entry)) }
            }
        }
    };
    layout::page(&session, &format!("Order {order_id}"), body).into_response()
}

/// One row of an order's timeline: on the page, and as a live update adds it.
pub(crate) fn timeline_row(entry: &v1::TimelineEntry) -> Markup {
    html! {
        tr data-event-type=(entry.event_type) data-position=(entry.position) {
            td.number { (entry.position) }
            td { (format::time(entry.occurred_at.as_ref())) }
            td { (entry.service) }
            td { (entry.event_type) }
            td { (entry.actor.as_ref().map(|actor| actor.id.as_str()).unwrap_or_default()) }
            td { (entry.summary) }
        }
    }
}

fn details(order: &v1::Order) -> Markup {
    let city = |party: &Option<v1::Party>| {
        party
            .as_ref()
            .and_then(|party| party.address.as_ref())
            .map(|address| address.city.clone())
            .unwrap_or_default()
    };
    html! {
        table #order {
            tr { th { "Customer" } td { (order.customer_id) } }
            tr { th { "Status" } td #status { (format::order_status(order.status)) } }
            tr { th { "Service level" } td { (format::service_level(order.service_level)) } }
            tr { th { "From" } td { (city(&order.shipper)) } }
            tr { th { "To" } td { (city(&order.consignee)) } }
            tr { th { "Cargo" } td { @for line in &order.cargo { (line.quantity) " × " (line.description) br; } } }
            tr { th { "Total" } td { (format::money(order.quote.as_ref().and_then(|quote| quote.total.as_ref()))) } }
            tr { th { "Placed" } td { (format::time(order.placed_at.as_ref())) } }
            @if !order.review_reasons.is_empty() {
                tr { th { "Review reasons" } td { (order.review_reasons.join("; ")) } }
            }
            @if !order.rejection_reason.is_empty() { tr { th { "Rejected because" } td { (order.rejection_reason) } } }
            @if !order.cancellation_reason.is_empty() { tr { th { "Cancelled because" } td { (order.cancellation_reason) } } }
        }
    }
}
