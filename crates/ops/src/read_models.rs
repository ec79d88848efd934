//! `waybill verify DIR --source-services ... --copy-services ...`: after the streams, the
//! read models. The services run on the source and on the restored copy are asked the same
//! questions (every order, task, delivery, case and customer, the ABC report, the KPIs and
//! the finance totals) as an administrator, each once its read model has reached the
//! backup's last position, and their answers compared whole: a restored log that the
//! services read differently (a lost header, an event a projection now refuses) shows here
//! even when every message compared equal.
//!
//! The copy's services are either started by the operator (`--copy-services`, their
//! addresses) or by `verify --scratch` itself on a scratch server ([`crate::scratch`]).
//! Compare while the source is quiet, or the source's answers include what happened after
//! the backup.

use std::fmt::Debug;
use std::future::Future;

use waybill_console::Channels;
use waybill_console::backend::bearing;
use waybill_proto::v1;

/// The most items one list may hold (a guard against a paging loop that never ends).
const MAX_ITEMS: usize = 1_000_000;
const PAGE_SIZE: u32 = 500;

/// One question asked of both sides.
#[derive(Debug)]
pub struct Check {
    /// `intake orders`, `crm kpis`, ...
    pub question: &'static str,
    /// Items (or answers) compared.
    pub compared: usize,
    /// The first difference, if any.
    pub difference: Option<String>,
}

/// Every page of a listing: `page` takes a page token and answers the items and the next
/// token (empty on the last page).
async fn every_page<T, F, Fut>(mut page: F) -> Result<Vec<T>, tonic::Status>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let (mut items, mut token) = (Vec::new(), String::new());
    loop {
        let (found, next) = page(token).await?;
        items.extend(found);
        if next.is_empty() || items.len() >= MAX_ITEMS {
            return Ok(items);
        }
        token = next;
    }
}

/// One side of the comparison: its services and the token to ask them with.
pub struct Side<'a> {
    pub services: &'a Channels,
    pub token: &'a str,
}

/// What one side answers.
#[derive(Debug, PartialEq)]
struct Answers {
    orders: Vec<v1::Order>,
    tasks: Vec<v1::DispatchTask>,
    deliveries: Vec<v1::DeliveryTask>,
    cases: Vec<v1::Case>,
    customers: Vec<v1::Customer>,
    abc: v1::GetAbcReportResponse,
    kpis: v1::GetKpisResponse,
}

async fn ask(services: &Channels, token: &str, at: u64, side: &str) -> anyhow::Result<Answers> {
    let failed = |question: &'static str| {
        let side = side.to_owned();
        move |status: tonic::Status| {
            anyhow::anyhow!("{side} {question}: {:?} {}", status.code(), status.message())
        }
    };
    let orders = every_page(|page_token| async move {
        let request = v1::ListOrdersRequest {
            page_size: PAGE_SIZE,
            page_token,
            min_position: at,
            ..Default::default()
        };
        let page = services.intake().list_orders(bearing(token, request)).await?.into_inner();
        Ok((page.orders, page.next_page_token))
    })
    .await
    .map_err(failed("intake orders"))?;
    let tasks = every_page(|page_token| async move {
        let request =
            v1::ListTasksRequest { page_size: PAGE_SIZE, page_token, min_position: at, ..Default::default() };
        let page = services.dispatch().list_tasks(bearing(token, request)).await?.into_inner();
        Ok((page.tasks, page.next_page_token))
    })
    .await
    .map_err(failed("dispatch tasks"))?;
    let deliveries = every_page(|page_token| async move {
        let request = v1::ListDeliveriesRequest {
            page_size: PAGE_SIZE,
            page_token,
            min_position: at,
            ..Default::default()
        };
        let page = services.delivery().list_deliveries(bearing(token, request)).await?.into_inner();
        Ok((page.deliveries, page.next_page_token))
    })
    .await
    .map_err(failed("delivery deliveries"))?;
    let cases = every_page(|page_token| async move {
        let request =
            v1::ListCasesRequest { page_size: PAGE_SIZE, page_token, min_position: at, ..Default::default() };
        let page = services.aftersales().list_cases(bearing(token, request)).await?.into_inner();
        Ok((page.cases, page.next_page_token))
    })
    .await
    .map_err(failed("aftersales cases"))?;
    let customers = every_page(|page_token| async move {
        let request = v1::ListCustomersRequest {
            page_size: PAGE_SIZE,
            page_token,
            min_position: at,
            ..Default::default()
        };
        let page = services.crm().list_customers(bearing(token, request)).await?.into_inner();
        Ok((page.customers, page.next_page_token))
    })
    .await
    .map_err(failed("crm customers"))?;
    let abc =
        services.crm().get_abc_report(bearing(token, v1::GetAbcReportRequest { min_position: at })).await;
    let abc = abc.map_err(failed("crm abc report"))?.into_inner();
    let kpis = v1::GetKpisRequest { min_position: at, ..Default::default() };
    let kpis = services.crm().get_kpis(bearing(token, kpis)).await.map_err(failed("crm kpis"))?.into_inner();
    Ok(Answers { orders, tasks, deliveries, cases, customers, abc, kpis })
}

/// `source` and `copy` compared item by item: the first position where they differ.
fn check<T: PartialEq + Debug>(question: &'static str, source: &[T], copy: &[T]) -> Check {
    let first = source.iter().zip(copy).position(|(source, copy)| source != copy);
    let difference = match first {
        Some(index) => {
            Some(format!("item {index} differs:\n  source: {:?}\n  copy:   {:?}", source[index], copy[index]))
        }
        None if source.len() != copy.len() => {
            Some(format!("{} on the source, {} on the copy", source.len(), copy.len()))
        }
        None => None,
    };
    Check { question, compared: source.len().max(copy.len()), difference }
}

/// Asks both sides every question, each as the holder of its token (an administrator sees
/// everything; a scratch copy's services trust a key of their own), once their read models
/// have reached position `at`.
pub async fn compare(source: &Side<'_>, copy: &Side<'_>, at: u64) -> anyhow::Result<Vec<Check>> {
    let (source, copy) = tokio::try_join!(
        ask(source.services, source.token, at, "source"),
        ask(copy.services, copy.token, at, "copy")
    )?;
    Ok(vec![
        check("intake orders", &source.orders, &copy.orders),
        check("dispatch tasks", &source.tasks, &copy.tasks),
        check("delivery deliveries", &source.deliveries, &copy.deliveries),
        check("aftersales cases", &source.cases, &copy.cases),
        check("crm customers", &source.customers, &copy.customers),
        check("crm abc report", &[source.abc], &[copy.abc]),
        check("crm kpis and finance", &[source.kpis], &[copy.kpis]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_named() {
        assert_eq!(check("numbers", &[1, 2, 3], &[1, 2, 3]).difference, None);
        let changed = check("numbers", &[1, 2, 3], &[1, 5, 3]).difference.unwrap_or_default();
        assert!(changed.contains("item 1") && changed.contains('5'), "{changed}");
        let shorter = check("numbers", &[1, 2, 3], &[1, 2]).difference.unwrap_or_default();
        assert_eq!(shorter, "3 on the source, 2 on the copy");
    }
}
