//! After-sales through gRPC on a real nats-server: bad requests name their fields, unknown
//! cases are NOT_FOUND, forbidden transitions FAILED_PRECONDITION, and a retried request
//! gets its first answer without writing twice.

mod support;

use support::*;
use tonic::Code;
use waybill_aftersales::server::Settings;
use waybill_fixtures::Caller;
use waybill_fixtures::Refusal;
use waybill_proto::v1;
use waybill_testkit::{InProcess, NatsServer};

/// Intake and after-sales on a nats-server of their own, and an agent's after-sales client.
async fn intake_and_aftersales() -> (NatsServer, InProcess<Intake>, InProcess<AfterSales>, AfterSales) {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    let client = aftersales.client(agent()).await;
    (nats, intake, aftersales, client)
}

fn complaint(request_id: &str) -> v1::FileComplaintRequest {
    v1::FileComplaintRequest {
        request_id: request_id.into(),
        complaint_id: String::new(),
        customer_id: "cust-1".into(),
        order_id: String::new(),
        category: v1::ComplaintCategory::BillingError.into(),
        severity: v1::ComplaintSeverity::Medium.into(),
        description: "charged twice".into(),
    }
}

#[tokio::test]
async fn bad_requests_name_every_offending_field() {
    let nats = NatsServer::start();
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    let mut client = aftersales.client(agent()).await;

    let status = client
        .file_complaint(v1::FileComplaintRequest {
            request_id: String::new(),
            complaint_id: "not-a-uuid".into(),
            customer_id: "bad id!".into(),
            order_id: "nope".into(),
            category: 0,
            severity: 42,
            description: "  ".into(),
        })
        .await
        .refused(Code::InvalidArgument, "invalid");
    assert_eq!(
        violated_fields(&status),
        ["request_id", "complaint_id", "customer_id", "order_id", "category", "severity", "description"]
    );

    client
        .request_return(v1::RequestReturnRequest {
            request_id: "r".into(),
            return_id: String::new(),
            order_id: "nope".into(),
            reason: String::new(),
            lines: vec![],
        })
        .await
        .invalid("invalid", &["order_id", "reason", "lines"]);

    let nothing_in_lowercase_euros = v1::Money { amount_minor: 0, currency: "eur".into() };
    let return_id = uuid::Uuid::now_v7().to_string();
    client
        .refund_return(waybill_fixtures::refund("r", &return_id, nothing_in_lowercase_euros))
        .await
        .invalid("invalid", &["amount.currency", "amount.amount_minor"]);

    client
        .record_survey_response(v1::RecordSurveyResponseRequest {
            request_id: "s".into(),
            case_kind: 0,
            case_id: uuid::Uuid::now_v7().to_string(),
            csat: 6,
            nps: 11,
            comment: String::new(),
        })
        .await
        .invalid("invalid", &["case_kind", "csat", "nps"]);
}

#[tokio::test]
async fn unknown_cases_and_orders_are_not_found() {
    let nats = NatsServer::start();
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    let mut client = aftersales.client(agent()).await;
    let unknown = uuid::Uuid::now_v7().to_string();

    client
        .get_return(v1::GetReturnRequest { return_id: unknown.clone(), min_position: 0 })
        .await
        .refused(Code::NotFound, "unknown");
    client.approve_return(return_approval("a", &unknown)).await.refused(Code::NotFound, "unknown");
    client
        .pay_claim(v1::PayClaimRequest { request_id: "p".into(), claim_id: unknown.clone() })
        .await
        .refused(Code::NotFound, "unknown");
    client
        .open_claim(agent_claim("o", &unknown, "missing pieces"))
        .await
        .refused(Code::NotFound, "no such order");
}

#[tokio::test]
async fn a_transition_the_state_forbids_fails_its_precondition() {
    let (_nats, intake, _aftersales, mut client) = intake_and_aftersales().await;

    let filed = client.file_complaint(complaint("c-1")).await.expect("filed").into_inner();
    let complaint_id = filed.complaint.expect("complaint").complaint_id;
    let status = client
        .close_complaint(v1::CloseComplaintRequest { request_id: "close".into(), complaint_id })
        .await
        .refused(Code::FailedPrecondition, "not resolved yet");
    assert!(status.message().contains("filed"), "names the status: {}", status.message());

    // A return for an order that was never delivered.
    let placed = place_order(&mut intake.client(Caller::customer_service("shop")).await, "order-1").await;
    client
        .request_return(return_request("r", &placed.order_id, 1, "changed my mind"))
        .await
        .refused(Code::FailedPrecondition, "not delivered");
}

#[tokio::test]
async fn a_retried_request_gets_its_first_answer_and_writes_once() {
    let (nats, intake, aftersales, mut client) = intake_and_aftersales().await;
    // Money is a separate duty from opening the case (docs/SECURITY.md).
    let finance = aftersales.client(Caller::finance("fin")).await;

    let first = client.file_complaint(complaint("same-request")).await.expect("filed").into_inner();
    let again = client.file_complaint(complaint("same-request")).await.expect("retried").into_inner();
    let id = first.complaint.as_ref().expect("complaint").complaint_id.clone();
    assert_eq!(again.complaint.expect("complaint").complaint_id, id, "the id derives from the request id");
    assert_eq!(again.position, first.position);
    let acknowledge = v1::AcknowledgeComplaintRequest {
        request_id: "ack".into(),
        complaint_id: id.clone(),
        note: "looking into it".into(),
    };
    let acknowledged = client.acknowledge_complaint(acknowledge.clone()).await.expect("ack").into_inner();
    let retried = client.acknowledge_complaint(acknowledge).await.expect("ack retried").into_inner();
    assert_eq!(retried.position, acknowledged.position);
    assert_eq!(
        event_types(&nats, &format!("waybill.aftersales.complaint.{id}")).await,
        ["waybill.aftersales.complaint_filed.v1", "waybill.aftersales.complaint_acknowledged.v1"]
    );

    // A refund (case and ledger together) retried.
    let log = log(&nats).await;
    let placed = place_order(&mut intake.client(Caller::customer_service("shop")).await, "order-2").await;
    deliver(&log, &placed.order_id, chrono::Utc::now()).await;
    let return_id = client
        .request_return(return_request("ret", &placed.order_id, 2, "wrong colour"))
        .await
        .expect("requested")
        .into_inner()
        .return_case
        .expect("case")
        .return_id;
    client.approve_return(return_approval("approve", &return_id)).await.expect("approved");
    client.receive_return(return_receipt("receive", &return_id, "")).await.expect("received");
    let refund = waybill_fixtures::refund("refund", &return_id, eur(100));
    let refunded = finance.clone().refund_return(refund.clone()).await.expect("refunded").into_inner();
    let retried = finance.clone().refund_return(refund).await.expect("retried").into_inner();
    assert_eq!(retried.position, refunded.position);
    assert_eq!(retried.return_case.expect("case").refunded, Some(eur(100)), "refunded once");
    assert_eq!(ledger_event_types(&nats, &placed.order_id).await, ["waybill.aftersales.refund_issued.v1"]);
}

#[tokio::test]
async fn cases_are_listed_by_customer_kind_and_status_a_page_at_a_time() {
    let nats = NatsServer::start();
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    let mut client = aftersales.client(agent()).await;
    let mut last = 0;
    for (request_id, customer_id) in
        [("c-1", "cust-1"), ("c-2", "cust-1"), ("c-3", "cust-1"), ("c-4", "cust-2")]
    {
        let request = v1::FileComplaintRequest { customer_id: customer_id.into(), ..complaint(request_id) };
        last = client.file_complaint(request).await.expect("filed").into_inner().position;
    }
    let first_id = client
        .list_cases(v1::ListCasesRequest {
            customer_id: "cust-1".into(),
            min_position: last,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .cases[0]
        .clone();
    let Some(v1::case::Case::Complaint(first)) = first_id.case else { panic!("a complaint") };
    let acknowledged = client
        .acknowledge_complaint(v1::AcknowledgeComplaintRequest {
            request_id: "ack".into(),
            complaint_id: first.complaint_id.clone(),
            note: String::new(),
        })
        .await
        .expect("acknowledged")
        .into_inner()
        .position;

    // Every read below waits for the acknowledgement (read-your-writes).
    let by_customer = v1::ListCasesRequest {
        customer_id: "cust-1".into(),
        page_size: 2,
        min_position: acknowledged,
        ..Default::default()
    };
    let page = client.list_cases(by_customer.clone()).await.expect("page 1").into_inner();
    assert_eq!(page.cases.len(), 2);
    assert!(!page.next_page_token.is_empty());
    let rest = client
        .list_cases(v1::ListCasesRequest { page_token: page.next_page_token, ..by_customer })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.cases.len(), 1);
    assert!(rest.next_page_token.is_empty());

    let filed_only = v1::ListCasesRequest {
        complaint_status: v1::ComplaintStatus::Filed.into(),
        min_position: acknowledged,
        ..Default::default()
    };
    assert_eq!(client.list_cases(filed_only).await.expect("list").into_inner().cases.len(), 3);
    let returns = v1::ListCasesRequest { kind: v1::CaseKind::Return.into(), ..Default::default() };
    assert!(client.list_cases(returns).await.expect("list").into_inner().cases.is_empty());
    client
        .list_cases(v1::ListCasesRequest { page_token: "garbage".into(), ..Default::default() })
        .await
        .invalid("a token we never handed out", &["page_token"]);
}

#[tokio::test]
async fn a_customer_sees_and_files_its_own_cases_only() {
    let nats = NatsServer::start();
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    let mut anna = aftersales.client(Caller::customer("anna", "cust-1")).await;
    let mut bert = aftersales.client(Caller::customer("bert", "cust-2")).await;
    let mut agent = aftersales.client(Caller::after_sales("agent")).await;

    let filed = anna.file_complaint(complaint("anna-1")).await.expect("filed").into_inner();
    let complaint_id = filed.complaint.expect("complaint").complaint_id;
    let position = filed.position;

    // Bert neither sees Anna's complaint nor tells it from one that does not exist.
    let get = |id: &str| v1::GetComplaintRequest { complaint_id: id.into(), min_position: position };
    let missing = "0190f0f0-0000-7000-8000-00000000beef";
    for id in [complaint_id.as_str(), missing] {
        let status = bert.get_complaint(get(id)).await.refused(Code::NotFound, "not his");
        assert_eq!(status.message(), format!("complaint {id} not found"));
    }
    let survey = v1::RecordSurveyResponseRequest {
        request_id: "bert-survey".into(),
        case_id: complaint_id.clone(),
        case_kind: v1::CaseKind::Complaint.into(),
        csat: 1,
        nps: 0,
        comment: String::new(),
    };
    assert_eq!(bert.record_survey_response(survey).await.expect_err("not his").code(), Code::NotFound);
    // Nor files one in Anna's name.
    bert.file_complaint(complaint("bert-1")).await.refused(Code::PermissionDenied, "not his name");

    // Lists: each customer its own, whatever the filter; the agent everything.
    let all = v1::ListCasesRequest { min_position: position, ..Default::default() };
    let asking_for_anna = v1::ListCasesRequest { customer_id: "cust-1".into(), ..all.clone() };
    assert!(bert.list_cases(all.clone()).await.expect("listed").into_inner().cases.is_empty());
    assert!(bert.list_cases(asking_for_anna).await.expect("listed").into_inner().cases.is_empty());
    assert_eq!(anna.list_cases(all.clone()).await.expect("listed").into_inner().cases.len(), 1);
    assert_eq!(agent.list_cases(all).await.expect("listed").into_inner().cases.len(), 1);
    anna.get_complaint(get(&complaint_id)).await.expect("hers");
    agent.get_complaint(get(&complaint_id)).await.expect("the agent's to handle");
}

#[tokio::test]
async fn a_customer_complaining_about_another_customers_order_finds_no_such_order() {
    let nats = NatsServer::start();
    let intake = start_intake(&nats).await;
    let aftersales = start_aftersales(&nats, Settings::default()).await;
    // The standard order is cust-1's (Anna's).
    let placed = place_order(&mut intake.client(Caller::customer_service("shop")).await, "order-1").await;
    let mut anna = aftersales.client(Caller::customer("anna", "cust-1")).await;
    let mut bert = aftersales.client(Caller::customer("bert", "cust-2")).await;
    let about = |request_id: &str, customer_id: &str, order_id: &str| v1::FileComplaintRequest {
        customer_id: customer_id.into(),
        order_id: order_id.into(),
        ..complaint(request_id)
    };

    // Bert, complaining in his own name about Anna's order, hears what a missing order says.
    let missing = uuid::Uuid::now_v7().to_string();
    let foreign =
        bert.file_complaint(about("bert-1", "cust-2", &placed.order_id)).await.expect_err("not his");
    let absent = bert.file_complaint(about("bert-2", "cust-2", &missing)).await.expect_err("no such order");
    assert_eq!(foreign.code(), Code::NotFound, "{foreign:?}");
    assert_eq!(absent.code(), Code::NotFound, "{absent:?}");
    assert_eq!(foreign.message(), absent.message().replace(&missing, &placed.order_id));
    let all = v1::ListCasesRequest::default();
    let agent = &mut aftersales.client(Caller::after_sales("agent")).await;
    assert!(
        agent.list_cases(all.clone()).await.expect("listed").into_inner().cases.is_empty(),
        "nothing filed"
    );

    // Anna's complaint about her own order is filed.
    let filed = anna.file_complaint(about("anna-1", "cust-1", &placed.order_id)).await.expect("hers");
    let complaint = filed.into_inner().complaint.expect("complaint");
    assert_eq!(complaint.order_id, placed.order_id);
}
