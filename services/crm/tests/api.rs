//! CRM through its gRPC API on a real nats-server: what a calling system sees.

mod support;

use support::{
    Client, Crm, alice, credit_hold, eur, hold_release, listed_customer_ids, profile, registration,
    show_customer, start_crm,
};
use tonic::Code;
use waybill_fixtures::Refusal;
use waybill_fixtures::{Caller, Role};
use waybill_proto::status::field_violations;
use waybill_proto::v1;
use waybill_testkit::NatsServer;

fn fields(status: &tonic::Status) -> Vec<String> {
    field_violations(status).into_iter().map(|violation| violation.field).collect()
}

/// CRM on a nats-server of its own, and two callers: Alice, who sets credit, and the desk,
/// which registers customers (separate duties, docs/SECURITY.md).
async fn crm_with_credit_and_desk() -> (NatsServer, Crm, Client, Client) {
    let nats = NatsServer::start();
    let crm = start_crm(&nats).await;
    let alice = crm.client(alice()).await;
    let desk = crm.client(Caller::customer_service("desk")).await;
    (nats, crm, alice, desk)
}

#[tokio::test]
async fn a_customer_is_registered_rated_held_released_and_shown() {
    let (_nats, crm, mut client, mut desk) = crm_with_credit_and_desk().await;

    let registered = desk.register_customer(registration("reg-1", "cust-1")).await.expect("registered");
    // Separation of duties: Alice registers cust-own, so she may not set its credit; a
    // finance clerk who acts for cust-1 may not hold cust-1. Nothing is written.
    let own = client.register_customer(registration("reg-own", "cust-own")).await.expect("registered");
    let own_position = own.into_inner().position;
    let rate_own = v1::SetCreditRatingRequest {
        request_id: "rate-own".into(),
        customer_id: "cust-own".into(),
        rating: v1::CreditRating::A.into(),
        credit_limit: Some(eur(1_000_000_000_000)),
    };
    let refused =
        client.set_credit_rating(rate_own).await.refused(Code::PermissionDenied, "her own registration");
    assert!(refused.message().contains("separation of duties: nobody sets the credit"), "{refused:?}");
    let mut insider = crm.client(Caller::finance("ivo").for_customer("cust-1")).await;
    let hold_own = credit_hold("hold-own", "cust-1", "testing the rule");
    insider.place_credit_hold(hold_own).await.refused(Code::PermissionDenied, "the customer he acts for");
    let get_own = v1::GetCustomerRequest { customer_id: "cust-own".into(), min_position: own_position };
    let unchanged =
        client.get_customer(get_own).await.expect("read").into_inner().customer.expect("customer");
    assert!(unchanged.credit.and_then(|credit| credit.limit).is_none(), "nothing was written");
    let registered = registered.into_inner();
    let customer = registered.customer.expect("customer");
    assert!(customer.registered);
    assert_eq!(customer.profile.as_ref().map(|profile| profile.name.as_str()), Some("Acme GmbH"));
    assert_eq!(customer.lifecycle, v1::LifecycleClass::Prospect as i32);
    assert!(registered.position > 0);

    let rated = client
        .set_credit_rating(v1::SetCreditRatingRequest {
            request_id: "rate-1".into(),
            customer_id: "cust-1".into(),
            rating: v1::CreditRating::B.into(),
            credit_limit: Some(eur(500_000)),
        })
        .await
        .expect("rated")
        .into_inner();
    let held = client
        .place_credit_hold(credit_hold("hold-1", "cust-1", "invoices 90 days overdue"))
        .await
        .expect("held")
        .into_inner();
    assert!(held.position > rated.position);

    let shown = show_customer(&mut client, "cust-1", held.position).await.customer.expect("customer");
    let credit = shown.credit.expect("credit");
    assert_eq!(credit.rating, v1::CreditRating::B as i32);
    assert_eq!(credit.limit, Some(eur(500_000)));
    assert!(credit.on_hold);
    assert_eq!(credit.hold_reason, "invoices 90 days overdue");
    assert_eq!(shown.version, held.position);

    let on_hold = v1::ListCustomersRequest { on_hold_only: true, ..Default::default() };
    assert_eq!(listed_customer_ids(&mut client, on_hold).await, ["cust-1"]);

    let released = client
        .release_credit_hold(hold_release("release-1", "cust-1", "paid"))
        .await
        .expect("released")
        .into_inner();
    assert!(!released.customer.and_then(|customer| customer.credit).expect("credit").on_hold);
    let on_hold = v1::ListCustomersRequest {
        on_hold_only: true,
        min_position: released.position,
        ..Default::default()
    };
    assert!(listed_customer_ids(&mut client, on_hold).await.is_empty());
}

#[tokio::test]
async fn bad_requests_name_every_offending_field() {
    let nats = NatsServer::start();
    let crm = start_crm(&nats).await;
    let mut client = crm.client(alice()).await;

    let mut bad_profile = profile("");
    bad_profile.kind = v1::CustomerKind::Unspecified.into();
    if let Some(address) = bad_profile.addresses.first_mut() {
        address.country_code = "Germany".into();
    }
    if let Some(contact) = bad_profile.contacts.first_mut() {
        contact.email = "not-an-address".into();
    }
    let status = client
        .register_customer(v1::RegisterCustomerRequest {
            request_id: String::new(),
            customer_id: "cust 1".into(),
            profile: Some(bad_profile),
        })
        .await
        .refused(Code::InvalidArgument, "refused");
    let mut named = fields(&status);
    named.sort();
    assert_eq!(
        named,
        [
            "customer_id",
            "profile.addresses[0].country_code",
            "profile.contacts[0].email",
            "profile.kind",
            "profile.name",
            "request_id",
        ]
    );

    let status = client
        .set_credit_rating(v1::SetCreditRatingRequest {
            request_id: "rate-1".into(),
            customer_id: "cust-1".into(),
            rating: v1::CreditRating::Unspecified.into(),
            credit_limit: Some(v1::Money { amount_minor: -1, currency: "euro".into() }),
        })
        .await
        .expect_err("refused");
    let mut named = fields(&status);
    named.sort();
    assert_eq!(named, ["credit_limit.amount_minor", "credit_limit.currency", "rating"]);

    client.place_credit_hold(credit_hold("hold-1", "cust-1", "  ")).await.invalid("refused", &["reason"]);

    client
        .get_kpis(v1::GetKpisRequest {
            period: Some(v1::Period {
                from: Some(prost_types::Timestamp { seconds: 2_000, nanos: 0 }),
                to: Some(prost_types::Timestamp { seconds: 1_000, nanos: 0 }),
            }),
            ..Default::default()
        })
        .await
        .invalid("refused", &["period.to"]);

    client
        .list_customers(v1::ListCustomersRequest { page_size: 100_000, ..Default::default() })
        .await
        .invalid("refused", &["page_size"]);
}

#[tokio::test]
async fn unknown_customers_are_not_found_and_forbidden_transitions_fail_their_precondition() {
    let (_nats, _crm, mut client, mut desk) = crm_with_credit_and_desk().await;

    client
        .get_customer(v1::GetCustomerRequest { customer_id: "nobody".into(), min_position: 0 })
        .await
        .refused(Code::NotFound, "unknown");
    client
        .place_credit_hold(credit_hold("hold-x", "nobody", "overdue"))
        .await
        .refused(Code::NotFound, "unknown");
    client
        .get_kpis(v1::GetKpisRequest { customer_id: "nobody".into(), ..Default::default() })
        .await
        .refused(Code::NotFound, "unknown");

    desk.register_customer(registration("reg-1", "cust-1")).await.expect("registered");
    desk.register_customer(registration("reg-2", "cust-1")).await.refused(Code::AlreadyExists, "twice");

    let status = client
        .release_credit_hold(hold_release("release-1", "cust-1", ""))
        .await
        .refused(Code::FailedPrecondition, "not on hold");
    assert!(status.message().contains("not on credit hold"), "{}", status.message());

    client.place_credit_hold(credit_hold("hold-1", "cust-1", "overdue")).await.expect("held");
    let again = credit_hold("hold-2", "cust-1", "overdue");
    client.place_credit_hold(again).await.refused(Code::FailedPrecondition, "already held");
}

#[tokio::test]
async fn a_retried_request_answers_as_the_first_time_and_writes_nothing_twice() {
    let (_nats, _crm, mut client, mut desk) = crm_with_credit_and_desk().await;

    let first =
        desk.register_customer(registration("reg-1", "cust-1")).await.expect("registered").into_inner();
    let again = desk.register_customer(registration("reg-1", "cust-1")).await.expect("retried").into_inner();
    assert_eq!(again.position, first.position);

    let hold = credit_hold("hold-1", "cust-1", "overdue");
    let held = client.place_credit_hold(hold.clone()).await.expect("held").into_inner();
    // A retry of the same hold is not "already on hold": it is the same request.
    let retried = client.place_credit_hold(hold).await.expect("retried").into_inner();
    assert_eq!(retried.position, held.position);

    let updated = client
        .update_customer(v1::UpdateCustomerRequest {
            request_id: "update-1".into(),
            customer_id: "cust-1".into(),
            profile: Some(profile("Acme Logistics GmbH")),
        })
        .await
        .expect("updated")
        .into_inner();
    assert!(updated.position > held.position);
    let shown = show_customer(&mut client, "cust-1", updated.position).await.customer.expect("customer");
    // Registered, held, updated: three events, the last at the version.
    assert_eq!(shown.version, updated.position);
    assert_eq!(shown.profile.map(|profile| profile.name), Some("Acme Logistics GmbH".to_owned()));
}

/// Read your writes across replicas: a command carrying `waybill-min-position` decides on a
/// read model that has applied at least that position, and a malformed one is refused.
#[tokio::test]
async fn a_command_sent_to_another_replica_with_the_written_position_sees_the_write() {
    let nats = NatsServer::start();
    let (first, second) = (start_crm(&nats).await, start_crm(&nats).await);
    let mut writer = first.client(alice()).await;
    // Not Alice: whoever registers a customer may not set its credit (docs/SECURITY.md).
    let mut other = second.client(Caller::finance("fin")).await;
    for round in 0..20 {
        let customer_id = format!("cust-ryw-{round}");
        let registered = writer
            .register_customer(registration(&format!("reg-ryw-{round}"), &customer_id))
            .await
            .expect("registered")
            .into_inner();
        let mut request = tonic::Request::new(v1::SetCreditRatingRequest {
            request_id: format!("rate-ryw-{round}"),
            customer_id: customer_id.clone(),
            rating: v1::CreditRating::A.into(),
            credit_limit: Some(eur(100_000)),
        });
        request
            .metadata_mut()
            .insert("waybill-min-position", registered.position.to_string().parse().expect("ascii header"));
        let rated = other.set_credit_rating(request).await.expect("the other replica sees the customer");
        let customer = rated.into_inner().customer.expect("customer");
        assert_eq!(customer.credit.and_then(|credit| credit.limit), Some(eur(100_000)));
    }

    let mut request = tonic::Request::new(v1::SetCreditRatingRequest {
        request_id: "rate-bad-position".into(),
        customer_id: "cust-ryw-0".into(),
        rating: v1::CreditRating::A.into(),
        credit_limit: Some(eur(100_000)),
    });
    request.metadata_mut().insert("waybill-min-position", "soon".parse().expect("ascii header"));
    let refused = other.set_credit_rating(request).await.refused(Code::InvalidArgument, "not a position");
    assert!(refused.message().contains("waybill-min-position"), "{refused:?}");
}

#[tokio::test]
async fn a_customer_sees_its_own_profile_only() {
    let nats = NatsServer::start();
    let crm = start_crm(&nats).await;
    let mut desk = crm.client(Caller::customer_service("desk")).await;
    let mut position = 0;
    for (request_id, customer_id) in [("reg-anna", "cust-anna"), ("reg-bert", "cust-bert")] {
        position = desk
            .register_customer(registration(request_id, customer_id))
            .await
            .expect("registered")
            .into_inner()
            .position;
    }
    let mut anna = crm.client(Caller::customer("anna", "cust-anna")).await;

    let get = |customer_id: &str| v1::GetCustomerRequest {
        customer_id: customer_id.into(),
        min_position: position,
    };
    anna.get_customer(get("cust-anna")).await.expect("her own");
    for other in ["cust-bert", "cust-nobody"] {
        let status = anna.get_customer(get(other)).await.refused(Code::NotFound, "not hers");
        assert_eq!(
            status.message(),
            format!("customer {other} not found"),
            "a missing one and another's look alike"
        );
    }

    let list = v1::ListCustomersRequest { min_position: position, ..Default::default() };
    let listed = anna.list_customers(list.clone()).await.expect("listed").into_inner();
    let ids: Vec<String> = listed.customers.iter().map(|customer| customer.customer_id.clone()).collect();
    assert_eq!(ids, ["cust-anna"]);
    assert!(listed.next_page_token.is_empty(), "no token naming another customer");
    assert_eq!(desk.list_customers(list).await.expect("listed").into_inner().customers.len(), 2);
}

#[tokio::test]
async fn a_customers_phone_e_mail_and_street_go_only_to_roles_that_need_them() {
    let nats = NatsServer::start();
    let crm = start_crm(&nats).await;
    let mut desk = crm.client(Caller::customer_service("desk")).await;
    let registered = desk.register_customer(registration("reg-1", "cust-1")).await.expect("registered");
    let registered = registered.into_inner();
    let whole = registered.customer.expect("customer").profile.expect("profile");
    assert_eq!(whole, profile("Acme GmbH"), "customer service sees it all");
    let get = v1::GetCustomerRequest { customer_id: "cust-1".into(), min_position: registered.position };
    let list = v1::ListCustomersRequest { min_position: registered.position, ..Default::default() };

    for (caller, sees) in [
        (Caller::integrator("feed"), false),
        (Caller::with_roles("ann", &[Role::Analyst, Role::Integrator]), false),
        (Caller::with_role("rita", Role::OrderReviewer), false),
        (Caller::finance("fin"), true),
        (Caller::customer("anna", "cust-1"), true),
    ] {
        let mut client = crm.client(caller).await;
        let got =
            client.get_customer(get.clone()).await.expect("read").into_inner().customer.expect("customer");
        let listed = client.list_customers(list.clone()).await.expect("listed").into_inner().customers;
        assert_eq!(listed, std::slice::from_ref(&got), "the list withholds the same");
        let profile = got.profile.expect("profile");
        if sees {
            assert_eq!(profile, whole);
            assert!(got.withheld.is_empty(), "{:?}", got.withheld);
            continue;
        }
        let contact = &profile.contacts[0];
        let address = &profile.addresses[0];
        assert_eq!((contact.name.as_str(), contact.phone.as_str(), contact.email.as_str()), ("Ada", "", ""));
        assert_eq!((address.lines.len(), address.postal_code.as_str()), (0, ""));
        assert_eq!(address.city, whole.addresses[0].city, "the city stays for reports");
        assert_eq!(
            got.withheld,
            [
                "profile.contacts.phone",
                "profile.contacts.email",
                "profile.addresses.lines",
                "profile.addresses.postal_code",
                "profile.addresses.coordinates"
            ]
        );
    }
}
