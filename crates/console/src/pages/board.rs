//! The operations board: what is in motion right now and what went wrong on the way.
//! Transport tasks not yet at their hub, with their open transport exceptions (dispatch's
//! ListTasks); last-mile deliveries not yet finished, with their exceptions (delivery's
//! ListDeliveries); complaints past their SLA deadline (after-sales' ListCases, overdue
//! only); escalated complaints not yet resolved, by hand or by the SLA clock, with each
//! escalation's reason (ListCases, status escalated: the only escalation a service's API
//! answers today; dispatch's and delivery's exceptions have no escalation of their own).
//! Each section shows only if the person's roles may read it; a service that does
//! not answer leaves a notice in its section, not an error page, because the rest of the
//! board is still worth seeing at 3 a.m.
//!
//! Dead letters live on the event log, not behind an API: when the console is started with
//! `--dead-letters` ([`crate::log`]), people whose roles may read the event log see them
//! here as `waybill dead-letters list` shows them; `waybill dead-letters show | redrive`
//! acts on one (docs/OPERATIONS.md).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use waybill_auth::Permission;
use waybill_proto::v1;

use crate::backend::as_person;
use crate::format;
use crate::pages::layout;
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

/// The exceptions cell: each exception's kind, description and when it was raised.
fn exceptions<'a>(
    raised: impl Iterator<Item = (String, &'a str, Option<&'a prost_types::Timestamp>)>,
) -> Markup {
    html! {
        td.exceptions {
            @for (kind, description, at) in raised {
                div { (kind) ": " (description) " (" (format::time(at)) ")" }
            }
        }
    }
}

fn order_link(order_id: &str) -> Markup {
    html! { td { a href=(format!("/orders/{order_id}")) { (order_id) } } }
}

fn task_section(tasks: &Section<v1::DispatchTask>) -> Markup {
    let columns = ["Order", "Status", "Vehicle", "Destination", "Open exceptions"];
    let rows = html! {
        @for task in &tasks.rows {
            @let status = v1::TaskStatus::try_from(task.status).map(|status| status.as_str_name());
            @let open = task.exceptions.iter().filter(|exception| exception.resolved_at.is_none()).map(|exception| {
                let kind = v1::ExceptionKind::try_from(exception.kind).map(|kind| kind.as_str_name());
                (format::wire_name(kind, "EXCEPTION_KIND_"), exception.description.as_str(), exception.reported_at.as_ref())
            });
            tr data-order=(task.order_id) data-task=(task.task_id) {
                (order_link(&task.order_id))
                td.status { (format::wire_name(status, "TASK_STATUS_")) }
                td { (task.vehicle_id) }
                td { (task.destination.as_ref().map(|destination| destination.city.as_str()).unwrap_or_default()) }
                (exceptions(open))
            }
        }
    };
    html! { (header("tasks", "Transport tasks under way", tasks)) (table("tasks", &columns, rows)) }
}

fn delivery_section(deliveries: &Section<v1::DeliveryTask>) -> Markup {
    let columns = ["Order", "Status", "Zone", "Courier", "Promised by", "Exceptions"];
    let rows = html! {
        @for delivery in &deliveries.rows {
            @let status = v1::DeliveryStatus::try_from(delivery.status).map(|status| status.as_str_name());
            @let raised = delivery.exceptions.iter().map(|exception| {
                let kind = v1::DeliveryExceptionKind::try_from(exception.kind).map(|kind| kind.as_str_name());
                (format::wire_name(kind, "DELIVERY_EXCEPTION_KIND_"), exception.description.as_str(), exception.raised_at.as_ref())
            });
            tr data-order=(delivery.order_id) data-delivery=(delivery.delivery_id) {
                (order_link(&delivery.order_id))
                td.status { (format::wire_name(status, "DELIVERY_STATUS_")) }
                td { (delivery.zone) }
                td { (delivery.courier_id) }
                td { (format::time(delivery.promised_window.as_ref().and_then(|window| window.end.as_ref()))) }
                (exceptions(raised))
            }
        }
    };
    html! { (header("deliveries", "Deliveries not finished", deliveries)) (table("deliveries", &columns, rows)) }
}

fn complaint_section(complaints: &Section<v1::Complaint>) -> Markup {
    let columns = ["Complaint", "Order", "Severity", "Status", "Acknowledge by", "Resolve by"];
    let rows = html! {
        @for complaint in &complaints.rows {
            @let severity = v1::ComplaintSeverity::try_from(complaint.severity).map(|severity| severity.as_str_name());
            @let status = v1::ComplaintStatus::try_from(complaint.status).map(|status| status.as_str_name());
            tr data-complaint=(complaint.complaint_id) data-order=(complaint.order_id) {
                td { (complaint.complaint_id) }
                (order_link(&complaint.order_id))
                td { (format::wire_name(severity, "COMPLAINT_SEVERITY_")) }
                td.status { (format::wire_name(status, "COMPLAINT_STATUS_")) }
                td { (format::time(complaint.acknowledge_by.as_ref())) }
                td { (format::time(complaint.resolve_by.as_ref())) }
            }
        }
    };
    html! { (header("complaints", "Complaints past their SLA", complaints)) (table("complaints", &columns, rows)) }
}

fn escalation_section(escalated: &Section<v1::Complaint>) -> Markup {
    let columns = ["Complaint", "Order", "Severity", "Escalated", "Why", "Resolve by"];
    let rows = html! {
        @for complaint in &escalated.rows {
            @let severity = v1::ComplaintSeverity::try_from(complaint.severity).map(|severity| severity.as_str_name());
            tr data-complaint=(complaint.complaint_id) data-order=(complaint.order_id) {
                td { (complaint.complaint_id) }
                (order_link(&complaint.order_id))
                td { (format::wire_name(severity, "COMPLAINT_SEVERITY_")) }
                td { (format::time(complaint.escalations.last().and_then(|last| last.at.as_ref()))) }
                td.escalations {
                    @for escalation in &complaint.escalations {
                        div { (escalation_reason(escalation)) }
                    }
                }
                td { (format::time(complaint.resolve_by.as_ref())) }
            }
        }
    };
    html! { (header("escalations", "Escalated complaints", escalated)) (table("escalations", &columns, rows)) }
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

fn dead_letter_section(letters: &Section<waybill_eventlog::DeadLetter>) -> Markup {
    let columns = ["Seq", "Stored", "Consumer", "Position", "Subject", "Deliveries", "Error"];
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
        @if let Some(failure) = &letters.failure { p.problem role="alert" { (failure) } }
        @if letters.truncated { p.notice { "More than shown: the newest " (DEAD_LETTERS_LISTED) " are listed." } }
        p { "Newest first. " code { "waybill dead-letters show SEQ" } " shows one; "
            code { "waybill dead-letters redrive SEQ" } " has it handled again once its cause is fixed." }
        (table("dead-letters", &columns, rows))
    }
}
