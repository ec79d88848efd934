//! Reports: CRM's service-quality KPIs (GetKpis) for everyone or one customer, over all
//! time or a period, as a table and an SVG bar chart, with the ABC classification
//! (GetAbcReport) beside them; `/reports.csv` exports the KPI table. The numbers are CRM's,
//! untouched: the page only lays them out (definitions in docs/KPIS.md).

use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use waybill_proto::v1;

use tonic::transport::Channel;
use waybill_proto::v1::crm_service_client::CrmServiceClient;

use crate::backend::{Failure, as_person, bearing};
use crate::chart::{self, Bar};
use crate::csv::Csv;
use crate::format;
use crate::pages::{Page, day_filter, layout, query_string};
use crate::session::Form;

/// The report's scope as the query string gives it (the finance report's too).
pub(crate) struct Scope {
    pub(crate) customer: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
}

impl Scope {
    pub(crate) fn parse(query: Option<String>) -> Scope {
        let form = Form::query(query);
        let text = |key: &str| form.text(key);
        Scope { customer: text("customer"), from: text("from"), to: text("to") }
    }

    fn request(&self) -> Result<v1::GetKpisRequest, Failure> {
        let (from, to) = (day_filter("from", &self.from)?, day_filter("to", &self.to)?);
        let period = (from.is_some() || to.is_some()).then_some(v1::Period { from, to });
        Ok(v1::GetKpisRequest {
            customer_id: self.customer.clone().unwrap_or_default(),
            period,
            min_position: 0,
        })
    }

    pub(crate) fn query(&self) -> String {
        query_string(&[("customer", &self.customer), ("from", &self.from), ("to", &self.to)])
    }
}

/// The rates of the KPIs, in the order the page and the export show them.
fn rates(kpis: &v1::ServiceKpis) -> [(&'static str, &'static str, Option<&v1::Rate>); 9] {
    [
        ("on_time_delivery", "On-time delivery", kpis.on_time_delivery.as_ref()),
        ("order_completeness", "Order completeness", kpis.order_completeness.as_ref()),
        ("order_accuracy", "Order accuracy", kpis.order_accuracy.as_ref()),
        ("billing_accuracy", "Billing accuracy", kpis.billing_accuracy.as_ref()),
        ("perfect_order", "Perfect order", kpis.perfect_order.as_ref()),
        ("first_attempt_delivery", "First-attempt delivery", kpis.first_attempt_delivery.as_ref()),
        (
            "complaints_resolved_within_sla",
            "Complaints within SLA",
            kpis.complaints_resolved_within_sla.as_ref(),
        ),
        ("cancellation", "Cancellation", kpis.cancellation.as_ref()),
        ("returned_to_sender", "Returned to sender", kpis.returned_to_sender.as_ref()),
    ]
}

async fn kpis(
    mut crm: CrmServiceClient<Channel>,
    token: &str,
    scope: &Scope,
) -> Result<v1::ServiceKpis, Failure> {
    let request = scope.request()?;
    let answer = crm.get_kpis(bearing(token, request)).await.map_err(Failure::service("crm"))?;
    Ok(answer.into_inner().kpis.unwrap_or_default())
}

/// GET /reports
pub async fn show(Page { console, session, query }: Page) -> Response {
    let scope = Scope::parse(query);
    let abc_request = v1::GetAbcReportRequest { min_position: 0 };
    let mut crm = console.services.crm();
    let (kpis, abc) = tokio::join!(
        kpis(console.services.crm(), &session.token, &scope),
        crm.get_abc_report(as_person(&session, abc_request)),
    );
    let kpis = match kpis {
        Ok(kpis) => kpis,
        Err(failure) => return failure.into_response(),
    };
    let abc = match abc {
        Ok(abc) => abc.into_inner(),
        Err(status) => return Failure::service("crm")(status).into_response(),
    };
    let bars: Vec<Bar<'_>> = rates(&kpis)
        .into_iter()
        .map(|(key, label, rate)| Bar { key, label, percent: format::percent(rate) })
        .collect();
    let body = html! {
        (scope_form(&scope))
        p { a #export href=(format!("/reports.csv?{}", scope.query())) { "Export CSV" } }
        h2 { "Service quality" }
        p { "Orders placed in scope: " strong #orders-in-scope { (kpis.orders) } }
        (chart::bars("Service-quality KPIs, percent", &bars))
        (kpi_table(&kpis))
        h2 { "ABC classes by profit contribution" }
        (abc_table(&abc))
    };
    layout::page(&session, "Reports", body).into_response()
}

fn scope_form(scope: &Scope) -> Markup {
    html! {
        form.filters method="get" action="/reports" {
            label { "Customer (empty: all)" input name="customer" value=(scope.customer.as_deref().unwrap_or_default()); }
            label { "Placed from" input type="date" name="from" value=(scope.from.as_deref().unwrap_or_default()); }
            label { "Placed before" input type="date" name="to" value=(scope.to.as_deref().unwrap_or_default()); }
            button type="submit" { "Show" }
        }
    }
}

fn kpi_table(kpis: &v1::ServiceKpis) -> Markup {
    let lead = kpis.lead_time.unwrap_or_default();
    html! {
        table #kpis {
            thead { tr { th { "KPI" } th { "Counted" } th { "Of" } th { "Percent" } } }
            tbody {
                @for (key, label, rate) in rates(kpis) {
                    tr data-kpi=(key) {
                        td { (label) }
                        td.number.numerator { (rate.map(|rate| rate.numerator).unwrap_or_default()) }
                        td.number.denominator { (rate.map(|rate| rate.denominator).unwrap_or_default()) }
                        td.number.percent { (format::percent(rate).map_or_else(|| "n/a".to_owned(), |percent| format!("{percent:.1} %"))) }
                    }
                }
                tr data-kpi="lead_time" {
                    td { "Lead time (mean / p90), delivered orders" }
                    td.number { (lead.delivered_orders) }
                    td {}
                    td.number { (format::duration(lead.mean_seconds)) " / " (format::duration(lead.p90_seconds)) }
                }
            }
        }
    }
}

fn abc_table(abc: &v1::GetAbcReportResponse) -> Markup {
    html! {
        p { "Total positive profit: " (format::money(abc.total_positive_profit.as_ref())) }
        table #abc {
            thead { tr { th { "Class" } th { "Customers" } th { "Share of customers" } th { "Profit" } th { "Share of profit" } th { "Seed expects" } } }
            tbody {
                @for class in &abc.classes {
                    @let name = v1::AbcClass::try_from(class.abc_class).map_or("?", |class| class.as_str_name()).trim_start_matches("ABC_CLASS_");
                    tr data-class=(name) {
                        td { (name) }
                        td.number { (class.customers) }
                        td.number { (format::percent(class.customer_share.as_ref()).map_or_else(|| "n/a".to_owned(), |percent| format!("{percent:.1} %"))) }
                        td.number { (format::money(class.profit.as_ref())) }
                        td.number { (class.profit_share_basis_points.map_or_else(|| "n/a".to_owned(), |points| format!("{:.1} %", points as f64 / 100.0))) }
                        td { (class.seed_customer_percent) " % / " (class.seed_profit_percent) " %" }
                    }
                }
            }
        }
    }
}

/// The KPI table as CSV, for the scope the query string `query` of `/reports.csv` says, as
/// the holder of `token` may see it; also what `waybill export kpis` prints.
pub async fn kpis_csv(
    crm: CrmServiceClient<Channel>,
    token: &str,
    query: Option<String>,
) -> Result<Csv, Failure> {
    let kpis = kpis(crm, token, &Scope::parse(query)).await?;
    let mut csv = Csv::new(&["kpi", "numerator", "denominator", "ratio"]);
    csv.row(["orders", &kpis.orders.to_string(), "", ""]);
    for (key, _, rate) in rates(&kpis) {
        let rate = rate.cloned().unwrap_or_default();
        let ratio = rate.ratio.map(|ratio| ratio.to_string()).unwrap_or_default();
        csv.row([key, &rate.numerator.to_string(), &rate.denominator.to_string(), &ratio]);
    }
    let lead = kpis.lead_time.unwrap_or_default();
    let seconds = |value: Option<i64>| value.map(|value| value.to_string()).unwrap_or_default();
    csv.row(["lead_time_mean_seconds", &seconds(lead.mean_seconds), &lead.delivered_orders.to_string(), ""]);
    csv.row(["lead_time_p90_seconds", &seconds(lead.p90_seconds), &lead.delivered_orders.to_string(), ""]);
    Ok(csv)
}
