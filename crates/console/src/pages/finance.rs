//! The finance report: revenue, refunds, claims paid, the cost estimate and the profit
//! contribution per month and per customer, as tables and SVG charts; `/finance.csv` (and
//! `waybill export finance`) exports the same rows.
//!
//! Every figure is CRM's: each month, each customer and the whole scope is one GetKpis call
//! (its `finance` totals) over the orders placed in that period, so a row here is what the
//! API answers for it (definitions in docs/KPIS.md, "Finance report"). The customers are
//! those CRM's ABC report classifies (every customer it knows), so the report needs only
//! the permission to read KPIs. The scope is `[from, to)` on the order's placed time, split
//! into calendar months (UTC); by default the current month and the five before it.

use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use futures::StreamExt;
use maud::{Markup, html};
use tonic::transport::Channel;
use waybill_proto::v1;
use waybill_proto::v1::crm_service_client::CrmServiceClient;

use crate::backend::{Failure, bearing};
use crate::chart::{self, Amount};
use crate::csv::Csv;
use crate::format;
use crate::pages::reports::Scope;
use crate::pages::{Page, layout};

/// The longest scope, in months (one GetKpis call each).
const MAX_MONTHS: usize = 36;
/// The most customers one report lists (one GetKpis call each).
const MAX_CUSTOMERS: usize = 500;
/// GetKpis calls in flight at once.
const CALLS_IN_FLIGHT: usize = 8;

/// The scope's `[from, to)` as days; unset ends are the current month and the five before it.
fn days(scope: &Scope, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), Failure> {
    let day = |field: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .map(|text| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| Failure::bad_input(field, format!("{text:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    };
    let this_month = first_of_month(today);
    let to = day("to", &scope.to)?.unwrap_or_else(|| next_month(this_month));
    let from =
        day("from", &scope.from)?.unwrap_or_else(|| (0..5).fold(this_month, |at, _| previous_month(at)));
    if to <= from {
        return Err(Failure::bad_input("to", "must be after from"));
    }
    Ok((from, to))
}

fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn next_month(first: NaiveDate) -> NaiveDate {
    first.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX)
}

fn previous_month(first: NaiveDate) -> NaiveDate {
    first.checked_sub_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MIN)
}

/// `[from, to)` cut at each month's first day: one period per calendar month it touches.
fn months(from: NaiveDate, to: NaiveDate) -> Result<Vec<(NaiveDate, NaiveDate)>, Failure> {
    let mut periods = Vec::new();
    let mut start = from;
    while start < to {
        let end = next_month(first_of_month(start)).min(to);
        periods.push((start, end));
        if periods.len() > MAX_MONTHS {
            return Err(Failure::bad_input("from", format!("the report covers at most {MAX_MONTHS} months")));
        }
        start = end;
    }
    Ok(periods)
}

fn timestamp(day: NaiveDate) -> prost_types::Timestamp {
    let seconds = day.and_hms_opt(0, 0, 0).map(|at| at.and_utc().timestamp()).unwrap_or_default();
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// One row of the report: a period (a month, or the whole scope) and a customer (or all).
pub struct Row {
    /// `2026-12`, a customer id, or `total`.
    pub key: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub customer: String,
    pub finance: v1::FinanceTotals,
}

impl Row {
    fn minor(money: &Option<v1::Money>) -> i64 {
        money.as_ref().map_or(0, |money| money.amount_minor)
    }

    fn figures(&self) -> [(&'static str, &'static str, &Option<v1::Money>); 5] {
        let finance = &self.finance;
        [
            ("revenue", "Revenue", &finance.revenue),
            ("refunds", "Refunds", &finance.refunds),
            ("claims-paid", "Claims paid", &finance.claims_paid),
            ("cost-estimate", "Cost estimate", &finance.cost_estimate),
            ("profit", "Profit contribution", &finance.profit_contribution),
        ]
    }
}

/// The whole report: per month, per customer, and the total of the scope.
pub struct Report {
    pub months: Vec<Row>,
    pub customers: Vec<Row>,
    pub total: Row,
    /// More customers than [`MAX_CUSTOMERS`]: the rest are left out of `customers`.
    pub customers_truncated: bool,
}

async fn finance(
    crm: &CrmServiceClient<Channel>,
    token: &str,
    customer: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<v1::FinanceTotals, Failure> {
    let request = v1::GetKpisRequest {
        customer_id: customer.to_owned(),
        period: Some(v1::Period { from: Some(timestamp(from)), to: Some(timestamp(to)) }),
        min_position: 0,
    };
    let answer = crm.clone().get_kpis(bearing(token, request)).await.map_err(Failure::service("crm"))?;
    Ok(answer.into_inner().finance.unwrap_or_default())
}

/// The report for the scope the query string `query` of `/finance` says, as the holder of
/// `token` may see it.
async fn report(
    crm: CrmServiceClient<Channel>,
    token: &str,
    query: Option<String>,
) -> Result<Report, Failure> {
    let scope = Scope::parse(query);
    let (from, to) = days(&scope, chrono::Utc::now().date_naive())?;
    let periods = months(from, to)?;
    let customer = scope.customer.clone().unwrap_or_default();
    let total = Row {
        key: "total".to_owned(),
        from,
        to,
        customer: customer.clone(),
        finance: finance(&crm, token, &customer, (from, to)).await?,
    };

    let crm_ref = &crm;
    let months: Vec<Result<Row, Failure>> = futures::stream::iter(periods)
        .map(|period| {
            let customer = customer.clone();
            async move {
                let totals = finance(crm_ref, token, &customer, period).await?;
                let key = period.0.format("%Y-%m").to_string();
                Ok(Row { key, from: period.0, to: period.1, customer, finance: totals })
            }
        })
        .buffered(CALLS_IN_FLIGHT)
        .collect()
        .await;
    let months = months.into_iter().collect::<Result<Vec<Row>, Failure>>()?;

    let mut customer_ids = if customer.is_empty() {
        let abc =
            crm.clone().get_abc_report(bearing(token, v1::GetAbcReportRequest { min_position: 0 })).await;
        let abc = abc.map_err(Failure::service("crm"))?.into_inner();
        abc.classes.into_iter().flat_map(|class| class.customer_ids).collect()
    } else {
        vec![customer.clone()]
    };
    customer_ids.sort();
    customer_ids.dedup();
    let customers_truncated = customer_ids.len() > MAX_CUSTOMERS;
    customer_ids.truncate(MAX_CUSTOMERS);
    let customers: Vec<Result<Row, Failure>> = futures::stream::iter(customer_ids)
        .map(|customer| async move {
            let totals = finance(crm_ref, token, &customer, (from, to)).await?;
            Ok(Row { key: customer.clone(), from, to, customer, finance: totals })
        })
        .buffered(CALLS_IN_FLIGHT)
        .collect()
        .await;
    let customers = customers.into_iter().collect::<Result<Vec<Row>, Failure>>()?;
    Ok(Report { months, customers, total, customers_truncated })
}

/// GET /finance
pub async fn show(Page { console, session, query }: Page) -> Response {
    let scope = Scope::parse(query.clone());
    let report = match report(console.services.crm(), &session.token, query).await {
        Ok(report) => report,
        Err(failure) => return failure.into_response(),
    };
    let profit = |rows: &[Row]| -> Vec<(String, i64, String)> {
        rows.iter()
            .map(|row| {
                let money = row.finance.profit_contribution.as_ref();
                (row.key.clone(), Row::minor(&row.finance.profit_contribution), format::money(money))
            })
            .collect()
    };
    let revenue: Vec<(String, i64, String)> = report
        .months
        .iter()
        .map(|row| {
            (row.key.clone(), Row::minor(&row.finance.revenue), format::money(row.finance.revenue.as_ref()))
        })
        .collect();
    let (month_profit, customer_profit) = (profit(&report.months), profit(&report.customers));
    let bars = |title: &str, values: &[(String, i64, String)]| -> Markup {
        let amounts: Vec<Amount<'_>> = values
            .iter()
            .map(|(key, minor, text)| Amount { key, label: key, minor: *minor, text: text.clone() })
            .collect();
        html! { h3 { (title) } (chart::amounts(title, &amounts)) }
    };
    let body = html! {
        (scope_form(&scope, &report.total))
        p { a #export href=(format!("/finance.csv?{}", scope.query())) { "Export CSV" } }
        p { "Orders placed from " (report.total.from) " to before " (report.total.to)
            @if !report.total.customer.is_empty() { ", customer " (report.total.customer) }
            ". Definitions: docs/KPIS.md, \"Finance report\"." }
        @if report.total.finance.orders_in_other_currencies > 0 {
            p.notice { (report.total.finance.orders_in_other_currencies) " orders quoted in another currency are left out of the money." }
        }
        h2 { "Per month" }
        div #chart-revenue { (bars("Revenue per month", &revenue)) }
        div #chart-profit { (bars("Profit contribution per month", &month_profit)) }
        (table("finance-months", "Month", &report.months, Some(&report.total)))
        h2 { "Per customer" }
        @if report.customers_truncated { p.notice { "More customers than shown: the first " (MAX_CUSTOMERS) " by id are listed." } }
        div #chart-customers { (bars("Profit contribution per customer", &customer_profit)) }
        (table("finance-customers", "Customer", &report.customers, None))
    };
    layout::page(&session, "Finance", body).into_response()
}

fn scope_form(scope: &Scope, total: &Row) -> Markup {
    html! {
        form.filters method="get" action="/finance" {
            label { "Customer (empty: all)" input name="customer" value=(scope.customer.as_deref().unwrap_or_default()); }
            label { "Placed from" input type="date" name="from" value=(total.from.to_string()); }
            label { "Placed before" input type="date" name="to" value=(total.to.to_string()); }
            button type="submit" { "Show" }
        }
    }
}

fn table(id: &str, first: &str, rows: &[Row], total: Option<&Row>) -> Markup {
    let row = |row: &Row| {
        html! {
            tr data-key=(row.key) {
                td { (row.key) }
                @for (class, _, money) in row.figures() {
                    td class=(format!("number {class}")) data-minor=(Row::minor(money)) { (format::money(money.as_ref())) }
                }
            }
        }
    };
    let labels = total.or(rows.first()).map(|row| row.figures().map(|(_, label, _)| label));
    html! {
        table id=(id) {
            thead { tr { th { (first) } @for label in labels.into_iter().flatten() { th { (label) } } } }
            tbody {
                @for entry in rows { (row(entry)) }
                @if let Some(total) = total { (row(total)) }
            }
        }
    }
}

/// The finance report as CSV: one row per month, per customer, and the total of the scope,
/// money in minor units; also what `waybill export finance` prints.
pub async fn finance_csv(
    crm: CrmServiceClient<Channel>,
    token: &str,
    query: Option<String>,
) -> Result<Csv, Failure> {
    let report = report(crm, token, query).await?;
    let mut csv = Csv::new(&[
        "row",
        "from",
        "to",
        "customer_id",
        "currency",
        "revenue_minor",
        "refunds_minor",
        "claims_paid_minor",
        "cost_estimate_minor",
        "profit_contribution_minor",
        "orders_in_other_currencies",
    ]);
    let rows = report.months.iter().map(|row| ("month", row));
    let rows = rows.chain(report.customers.iter().map(|row| ("customer", row)));
    for (kind, row) in rows.chain([("total", &report.total)]) {
        let currency = row.finance.revenue.as_ref().map(|money| money.currency.clone()).unwrap_or_default();
        let figures = row.figures().map(|(_, _, money)| Row::minor(money).to_string());
        let (from, to) = (row.from.to_string(), row.to.to_string());
        let other = row.finance.orders_in_other_currencies.to_string();
        let mut fields = vec![kind, from.as_str(), to.as_str(), row.customer.as_str(), currency.as_str()];
        fields.extend(figures.iter().map(String::as_str));
        fields.push(&other);
        csv.row(fields);
    }
    Ok(csv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a day")
    }

    #[test]
    fn a_scope_is_cut_into_calendar_months() {
        let periods = months(day("2026-10-15"), day("2026-12-02")).expect("a scope");
        assert_eq!(
            periods,
            vec![
                (day("2026-10-15"), day("2026-11-01")),
                (day("2026-11-01"), day("2026-12-01")),
                (day("2026-12-01"), day("2026-12-02")),
            ]
        );
        assert!(months(day("2020-01-01"), day("2026-01-01")).is_err(), "more than 36 months");
    }

    #[test]
    fn the_default_scope_is_this_month_and_the_five_before() {
        let scope = Scope { customer: None, from: None, to: None };
        assert_eq!(days(&scope, day("2026-12-04")).ok(), Some((day("2026-07-01"), day("2027-01-01"))));
        let backwards =
            Scope { customer: None, from: Some("2026-12-01".into()), to: Some("2026-11-01".into()) };
        assert!(matches!(days(&backwards, day("2026-12-04")), Err(Failure::BadInput { field: "to", .. })));
        let garbled = Scope { customer: None, from: Some("12/2026".into()), to: None };
        assert!(matches!(days(&garbled, day("2026-12-04")), Err(Failure::BadInput { field: "from", .. })));
    }
}
