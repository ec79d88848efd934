//! The operations board: what is in motion right now and what went wrong on the way.
//! Transport tasks not yet at their hub, with their open transport exceptions (dispatch's
//! ListTasks); last-mile deliveries not yet finished, with their exceptions (delivery's
//! ListDeliveries); complaints past their SLA deadline (after-sales' ListCases, overdue
//! only); escalated complaints not yet resolved, by hand or by the SLA clock, with each
//! escalation's reason (ListCases, status escalated: the only escalation a service's API
//! answers today; dispatch's and delivery's exceptions have no escalation of their own).
//! Every section is also a CSV download (`/board.csv?section=...`, [`export`]), from the
//! same cells. Each section shows only if the person's roles may read it; a service that does
//! not answer leaves a notice in its section, not an error page, because the rest of the
//! board is still worth seeing at 3 a.m.
//!
//! Dead letters live on the event log, not behind an API: when the console is started with
//! `--dead-letters` ([`crate::log`]), people whose roles may read the event log see them
//! here as `waybill dead-letters list` shows them; `waybill dead-letters show | redrive`
//! acts on one (docs/OPERATIONS.md).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use waybill_auth::Permission;
use waybill_proto::v1;

use crate::backend::{Failure, as_person};
use crate::csv::Csv;
use crate::format;
use crate::pages::{Page, layout};
use crate::session::Session;

/// The most rows one status contributes to a section; more are counted, not listed.
const ROWS_PER_STATUS: u32 = 200;

/// Tasks in these states are on their way to the destination hub.
const TASKS_IN_MOTION: [v1::TaskStatus; 5] = [
    v1::TaskStatus::Planned,
    v1::TaskStatus::Assigned,
    v1::TaskStatus::Packed,
    v1::TaskStatus::PickedUp,
    v1::TaskStatus::InTransit,
];

/// Deliveries in these states are not finished.
const DELIVERIES_IN_MOTION: [v1::DeliveryStatus; 4] = [
    v1::DeliveryStatus::Scheduled,
    v1::DeliveryStatus::Assigned,
    v1::DeliveryStatus::OutForDelivery,
    v1::DeliveryStatus::AttemptFailed,
];

/// One section's rows, whether some were left out, or why there are none.
struct Section<T> {
    rows: Vec<T>,
    truncated: bool,
    failure: Option<String>,
}

impl<T> Section<T> {
    /// The pages of several one-status queries put together; the first failure wins.
    fn gather(pages: Vec<Result<(Vec<T>, bool), tonic::Status>>, service: &str) -> Section<T> {
        let mut section = Section { rows: Vec::new(), truncated: false, failure: None };
        for page in pages {
            match page {
                Ok((rows, more)) => {
                    section.rows.extend(rows);
                    section.truncated |= more;
                }
                Err(status) => {
                    section.failure.get_or_insert_with(|| {
                        format!("{service} answered {:?}: {}", status.code(), status.message())
                    });
                }
            }
        }
        section
    }
}

/// GET /board.csv?section=tasks|deliveries|complaints|escalations|dead-letters: one
/// section's table as the board shows it (exceptions and escalations one per line, joined
/// with "; "). A section the person may not read is 403; one whose service did not answer
/// is 502 with what it answered, never a partial file.
pub async fn export(Page { console, session, query }: Page) -> Response {
    let section = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "section")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let csv = match section.as_str() {
        "tasks" => tasks_in_motion(&console, &session).await.map(|tasks| {
            section_csv(tasks, &TASK_COLUMNS, |task| {
                let (status, vehicle, destination, open) = task_cells(task);
                vec![task.order_id.clone(), status, vehicle, destination, open.join("; ")]
            })
        }),
        "deliveries" => deliveries_in_motion(&console, &session).await.map(|deliveries| {
            section_csv(deliveries, &DELIVERY_COLUMNS, |delivery| {
                let (status, zone, courier, promised, raised) = delivery_cells(delivery);
                vec![delivery.order_id.clone(), status, zone, courier, promised, raised.join("; ")]
            })
        }),
        "complaints" => overdue_complaints(&console, &session).await.map(|complaints| {
            section_csv(complaints, &COMPLAINT_COLUMNS, |complaint| {
                let (severity, status, acknowledge_by, resolve_by) = complaint_cells(complaint);
                let (id, order) = (complaint.complaint_id.clone(), complaint.order_id.clone());
                vec![id, order, severity, status, acknowledge_by, resolve_by]
            })
        }),
        "escalations" => escalated_complaints(&console, &session).await.map(|escalated| {
            section_csv(escalated, &ESCALATION_COLUMNS, |complaint| {
                let (severity, escalated_at, reasons, resolve_by) = escalation_cells(complaint);
                let (id, order) = (complaint.complaint_id.clone(), complaint.order_id.clone());
                vec![id, order, severity, escalated_at, reasons.join("; "), resolve_by]
            })
        }),
        "dead-letters" => dead_letters(&console, &session).await.map(|letters| {
            section_csv(letters, &DEAD_LETTER_COLUMNS, |letter| {
                vec![
                    letter.seq.to_string(),
                    letter.stored_at.clone(),
                    letter.consumer.clone(),
                    letter.original_position.to_string(),
                    letter.original_subject.clone(),
                    letter.deliveries.clone(),
                    letter.error.clone(),
                ]
            })
        }),
        _ => {
            let problem = "one of tasks, deliveries, complaints, escalations, dead-letters";
            return Failure::bad_input("section", problem).into_response();
        }
    };
    match csv {
        None => {
            let problem =
                layout::problem("Not allowed", "Your roles may not read this section of the board.");
            (StatusCode::FORBIDDEN, problem).into_response()
        }
        Some(Err(failure)) => {
            (StatusCode::BAD_GATEWAY, layout::problem("No answer", &failure)).into_response()
        }
        Some(Ok(csv)) => csv.download(&format!("board-{section}.csv")),
    }
}

/// A section as CSV, one row per item as `cells` writes it; its failure if it has one.
fn section_csv<T>(
    section: Section<T>,
    columns: &[&str],
    cells: impl Fn(&T) -> Vec<String>,
) -> Result<Csv, String> {
    if let Some(failure) = section.failure {
        return Err(failure);
    }
    let mut csv = Csv::new(columns);
    for item in &section.rows {
        csv.row(cells(item).iter().map(String::as_str));
    }
    Ok(csv)
}

fn csv_link(id: &str) -> Markup {
    html! { a.csv href=(format!("/board.csv?section={id}")) download { "CSV" } }
}

/// GET /board
pub async fn show(State(console): State<crate::State>, session: Session) -> Response {
    let (tasks, deliveries, complaints, escalated, letters) = tokio::join!(
        tasks_in_motion(&console, &session),
        deliveries_in_motion(&console, &session),
        overdue_complaints(&console, &session),
        escalated_complaints(&console, &session),
        dead_letters(&console, &session),
    );
    let body = html! {
        @if let Some(tasks) = tasks { (task_section(&tasks)) }
        @if let Some(deliveries) = deliveries { (delivery_section(&deliveries)) }
        @if let Some(complaints) = complaints { (complaint_section(&complaints)) }
        @if let Some(escalated) = escalated { (escalation_section(&escalated)) }
        @if let Some(letters) = letters { (dead_letter_section(&letters)) }
        @else if session.may(Permission::ReadEventLog) {
            p #no-dead-letters { "Dead letters are on the event log: " code { "waybill dead-letters list" }
                " (this console was started without " code { "--dead-letters" } ")." }
        }
    };
    layout::page(&session, "Operations board", body).into_response()
}

async fn tasks_in_motion(console: &crate::State, session: &Session) -> Option<Section<v1::DispatchTask>> {
    if !session.may(Permission::ReadOperations) {
        return None;
    }
    let pages = futures::future::join_all(TASKS_IN_MOTION.map(|status| async move {
        let request =
            v1::ListTasksRequest { status: status as i32, page_size: ROWS_PER_STATUS, ..Default::default() };
        let page = console.services.dispatch().list_tasks(as_person(session, request)).await?.into_inner();
        Ok((page.tasks, !page.next_page_token.is_empty()))
    }))
    .await;
    Some(Section::gather(pages, "dispatch"))
}

async fn deliveries_in_motion(
    console: &crate::State,
    session: &Session,
) -> Option<Section<v1::DeliveryTask>> {
    if !session.may(Permission::ReadDeliveries) {
        return None;
    }
    let pages = futures::future::join_all(DELIVERIES_IN_MOTION.map(|status| async move {
        let request = v1::ListDeliveriesRequest {
            status: status as i32,
            page_size: ROWS_PER_STATUS,
            ..Default::default()
        };
        let page =
            console.services.delivery().list_deliveries(as_person(session, request)).await?.into_inner();
        Ok((page.deliveries, !page.next_page_token.is_empty()))
    }))
    .await;
    Some(Section::gather(pages, "delivery"))
}

async fn overdue_complaints(console: &crate::State, session: &Session) -> Option<Section<v1::Complaint>> {
    let request = v1::ListCasesRequest { overdue_only: true, ..Default::default() };
    complaints(console, session, request).await
}

async fn escalated_complaints(console: &crate::State, session: &Session) -> Option<Section<v1::Complaint>> {
    let request = v1::ListCasesRequest {
        complaint_status: v1::ComplaintStatus::Escalated as i32,
        ..Default::default()
    };
    complaints(console, session, request).await
}

/// The complaints `filter` selects, for people who may read after-sales cases.
async fn complaints(
    console: &crate::State,
    session: &Session,
    filter: v1::ListCasesRequest,
) -> Option<Section<v1::Complaint>> {
    if !session.may(Permission::ReadCases) {
        return None;
    }
    let request =
        v1::ListCasesRequest { kind: v1::CaseKind::Complaint as i32, page_size: ROWS_PER_STATUS, ..filter };
    let page = console.services.aftersales().list_cases(as_person(session, request)).await.map(|answer| {
        let page = answer.into_inner();
        let complaints = page.cases.into_iter().filter_map(|case| match case.case {
            Some(v1::case::Case::Complaint(complaint)) => Some(complaint),
            _ => None,
        });
        (complaints.collect(), !page.next_page_token.is_empty())
    });
    Some(Section::gather(vec![page], "aftersales"))
}

/// The most recent dead letters listed; more are counted.
const DEAD_LETTERS_LISTED: usize = 200;

async fn dead_letters(
    console: &crate::State,
    session: &Session,
) -> Option<Section<waybill_eventlog::DeadLetter>> {
    let source = console.dead_letters.as_ref().filter(|_| session.may(Permission::ReadEventLog))?;
    Some(match source.list().await {
        Ok(mut letters) => {
            let truncated = letters.len() > DEAD_LETTERS_LISTED;
            letters.reverse();
            letters.truncate(DEAD_LETTERS_LISTED);
            Section { rows: letters, truncated, failure: None }
        }
        Err(failure) => Section { rows: Vec::new(), truncated: false, failure: Some(failure) },
    })
}

fn header<T>(id: &str, title: &str, section: &Section<T>) -> Markup {
    html! {
        h2 { (title) " " span.count id=(format!("{id}-count")) { (section.rows.len()) } }
        (csv_link(id))
        @if let Some(failure) = &section.failure { p.problem role="alert" { (failure) } }
        @if section.truncated { p.notice { "More than shown: the first " (ROWS_PER_STATUS) " of each status are listed." } }
    }
}

fn table(id: &str, columns: &[&str], rows: Markup) -> Markup {
    html! {
        table id=(id) {
            thead { tr { @for column in columns { th { (column) } } } }
            tbody { (rows) }
        }
    }
}

/// One exception as a line of text: its kind, description and when it was raised.
fn exception_line(kind: String, description: &str, at: Option<&prost_types::Timestamp>) -> String {
    format!("{kind}: {description} ({})", format::time(at))
}

/// A cell of several lines (exceptions, escalations): one `div` each.
fn lines(class: &str, lines: &[String]) -> Markup {
    html! { td class=(class) { @for line in lines { div { (line) } } } }
}

fn order_link(order_id: &str) -> Markup {
    html! { td { a href=(format!("/orders/{order_id}")) { (order_id) } } }
}

const TASK_COLUMNS: [&str; 5] = ["Order", "Status", "Vehicle", "Destination", "Open exceptions"];

/// A task's cells after the order: status, vehicle, destination, open exceptions.
fn task_cells(task: &v1::DispatchTask) -> (String, String, String, Vec<String>) {
    let status = v1::TaskStatus::try_from(task.status).map(|status| status.as_str_name());
    let open = task.exceptions.iter().filter(|exception| exception.resolved_at.is_none()).map(|exception| {
        let kind = v1::ExceptionKind::try_from(exception.kind).map(|kind| kind.as_str_name());
        let kind = format::wire_name(kind, "EXCEPTION_KIND_");
        exception_line(kind, &exception.description, exception.reported_at.as_ref())
    });
    let destination =
        task.destination.as_ref().map(|destination| destination.city.clone()).unwrap_or_default();
    (format::wire_name(status, "TASK_STATUS_"), task.vehicle_id.clone(), destination, open.collect())
}

fn task_section(tasks: &Section<v1::DispatchTask>) -> Markup {
    let rows = html! {
        @for task in &tasks.rows {
            @let (status, vehicle, destination, open) = task_cells(task);
            tr data-order=(task.order_id) data-task=(task.task_id) {
                (order_link(&task.order_id))
                td.status { (status) }
                td { (vehicle) }
                td { (destination) }
                (lines("exceptions", &open))
            }
        }
    };
    html! { (header("tasks", "Transport tasks under way", tasks)) (table("tasks", &TASK_COLUMNS, rows)) }
}

const DELIVERY_COLUMNS: [&str; 6] = ["Order", "Status", "Zone", "Courier", "Promised by", "Exceptions"];

/// A delivery's cells after the order: status, zone, courier, promised by, exceptions.
fn delivery_cells(delivery: &v1::DeliveryTask) -> (String, String, String, String, Vec<String>) {
    let status = v1::DeliveryStatus::try_from(delivery.status).map(|status| status.as_str_name());
    let raised = delivery.exceptions.iter().map(|exception| {
        let kind = v1::DeliveryExceptionKind::try_from(exception.kind).map(|kind| kind.as_str_name());
        let kind = format::wire_name(kind, "DELIVERY_EXCEPTION_KIND_");
        exception_line(kind, &exception.description, exception.raised_at.as_ref())
    });
    let promised = format::time(delivery.promised_window.as_ref().and_then(|window| window.end.as_ref()));
    let status = format::wire_name(status, "DELIVERY_STATUS_");
    (status, delivery.zone.clone(), delivery.courier_id.clone(), promised, raised.collect())
}

fn delivery_section(deliveries: &Section<v1::DeliveryTask>) -> Markup {
    let rows = html! {
        @for delivery in &deliveries.rows {
            @let (status, zone, courier, promised, raised) = delivery_cells(delivery);
            tr data-order=(delivery.order_id) data-delivery=(delivery.delivery_id) {
                (order_link(&delivery.order_id))
                td.status { (status) }
                td { (zone) }
                td { (courier) }
                td { (promised) }
                (lines("exceptions", &raised))
            }
        }
    };
    html! { (header("deliveries", "Deliveries not finished", deliveries)) (table("deliveries", &DELIVERY_COLUMNS, rows)) }
}

const COMPLAINT_COLUMNS: [&str; 6] =
    ["Complaint", "Order", "Severity", "Status", "Acknowledge by", "Resolve by"];

/// A complaint's cells after its id and order: severity, status, acknowledge by, resolve by.
fn complaint_cells(complaint: &v1::Complaint) -> (String, String, String, String) {
    let severity = v1::ComplaintSeverity::try_from(complaint.severity).map(|severity| severity.as_str_name());
    let status = v1::ComplaintStatus::try_from(complaint.status).map(|status| status.as_str_name());
    (
        format::wire_name(severity, "COMPLAINT_SEVERITY_"),
        format::wire_name(status, "COMPLAINT_STATUS_"),
        format::time(complaint.acknowledge_by.as_ref()),
        format::time(complaint.resolve_by.as_ref()),
    )
}

fn complaint_section(complaints: &Section<v1::Complaint>) -> Markup {
    let rows = complaint_rows(&complaints.rows, |complaint| {
        let (severity, status, acknowledge_by, resolve_by) = complaint_cells(complaint);
        html! { td { (severity) } td.status { (status) } td { (acknowledge_by) } td { (resolve_by) } }
    });
    html! { (header("complaints", "Complaints past their SLA", complaints)) (table("complaints", &COMPLAINT_COLUMNS, rows)) }
}

const ESCALATION_COLUMNS: [&str; 6] = ["Complaint", "Order", "Severity", "Escalated", "Why", "Resolve by"];

/// An escalated complaint's cells after its id and order: severity, escalated at, why, resolve by.
fn escalation_cells(complaint: &v1::Complaint) -> (String, String, Vec<String>, String) {
    let severity = v1::ComplaintSeverity::try_from(complaint.severity).map(|severity| severity.as_str_name());
    (
        format::wire_name(severity, "COMPLAINT_SEVERITY_"),
        format::time(complaint.escalations.last().and_then(|last| last.at.as_ref())),
        complaint.escalations.iter().map(escalation_reason).collect(),
        format::time(complaint.resolve_by.as_ref()),
    )
}

fn escalation_section(escalated: &Section<v1::Complaint>) -> Markup {
    let rows = complaint_rows(&escalated.rows, |complaint| {
        let (severity, escalated_at, reasons, resolve_by) = escalation_cells(complaint);
        html! { td { (severity) } td { (escalated_at) } (lines("escalations", &reasons)) td { (resolve_by) } }
    });
    html! { (header("escalations", "Escalated complaints", escalated)) (table("escalations", &ESCALATION_COLUMNS, rows)) }
}

/// A row per complaint: its id and its order's link, then the section's own `cells`.
fn complaint_rows(complaints: &[v1::Complaint], cells: impl Fn(&v1::Complaint) -> Markup) -> Markup {
    html! {
        @for complaint in complaints {
            tr data-complaint=(complaint.complaint_id) data-order=(complaint.order_id) {
                td { (complaint.complaint_id) }
                (order_link(&complaint.order_id))
                (cells(complaint))
            }
        }
    }
}

/// Why a complaint was escalated: the person's reason, or the deadline the SLA clock saw missed.
fn escalation_reason(escalation: &v1::ComplaintEscalation) -> String {
    if !escalation.automatic {
        return escalation.reason.clone();
    }
    let breach = v1::SlaBreach::try_from(escalation.breach).map(|breach| breach.as_str_name());
    let missed = format::wire_name(breach, "SLA_BREACH_");
    format!("SLA clock: {missed} deadline {} missed", format::time(escalation.deadline.as_ref()))
}

const DEAD_LETTER_COLUMNS: [&str; 7] =
    ["Seq", "Stored", "Consumer", "Position", "Subject", "Deliveries", "Error"];

fn dead_letter_section(letters: &Section<waybill_eventlog::DeadLetter>) -> Markup {
    let columns = DEAD_LETTER_COLUMNS;
    let rows = html! {
        @for letter in &letters.rows {
            tr data-seq=(letter.seq) data-consumer=(letter.consumer) {
                td.number { (letter.seq) }
                td { (letter.stored_at) }
                td.consumer { (letter.consumer) }
                td.number { (letter.original_position) }
                td { (letter.original_subject) }
                td.number { (letter.deliveries) }
                td.error { (letter.error) }
            }
        }
    };
    html! {
        h2 { "Dead letters " span.count #dead-letters-count { (letters.rows.len()) } }
        (csv_link("dead-letters"))
        @if let Some(failure) = &letters.failure { p.problem role="alert" { (failure) } }
        @if letters.truncated { p.notice { "More than shown: the newest " (DEAD_LETTERS_LISTED) " are listed." } }
        p { "Newest first. " code { "waybill dead-letters show SEQ" } " shows one; "
            code { "waybill dead-letters redrive SEQ" } " has it handled again once its cause is fixed." }
        (table("dead-letters", &columns, rows))
    }
}
