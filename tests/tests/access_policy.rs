//! Authentication and the access policy, against the real binaries started as operations
//! start them (token keys from `WAYBILL_AUTH_PUBLIC_KEYS`): every RPC of every service
//! called with a token of every role answers as `waybill_auth::POLICY` says, bad
//! credentials are refused with the reason, probes need no token, and what the log
//! records as the actor is the verified subject, never a claimed system.

use std::time::Duration;

use prost::Message;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use waybill_auth::{Identity, POLICY, Role, Signer};
use waybill_eventlog::{EventLog, StreamSettings};
use waybill_fixtures::{Caller, test_signer};
use waybill_proto::v1;
use waybill_system_tests::Service;
use waybill_system_tests::system::{Settings, System, place_order_request, request};
use waybill_testkit::NatsServer;

/// A token for `role`, bound to a customer or a courier where the role needs one.
fn caller_for(role: Role) -> Caller {
    let sub = format!("policy-{role}");
    match role {
        Role::Customer => Caller::customer(&sub, "cust-policy"),
        Role::Courier => Caller::courier(&sub, "k-policy"),
        _ => Caller::with_role(&sub, role),
    }
}

/// Calls `path` with an empty request message and `authorization` (if any): what tonic
/// answers, or OK. A call that is let in and still running after 2 s counts as OK (a
/// watch that opened).
async fn call(channel: &Channel, path: &str, authorization: Option<&str>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    if let Err(error) = grpc.ready().await {
        return tonic::Status::unavailable(error.to_string());
    }
    let mut request = tonic::Request::new(());
    if let Some(value) = authorization {
        request.metadata_mut().insert("authorization", value.parse().expect("ascii token"));
    }
    let path = PathAndQuery::try_from(path).expect("an RPC path");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    match tokio::time::timeout(Duration::from_secs(2), grpc.unary(request, path, codec)).await {
        Ok(Ok(_)) | Err(_) => tonic::Status::ok(""),
        Ok(Err(status)) => status,
    }
}

#[tokio::test]
async fn every_rpc_answers_every_role_as_the_policy_says() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let system = System::start(&nats.url(), Settings::default()).await?;
    let channels = [
        ("/waybill.v1.IntakeService/", system.intake.channel().await?),
        ("/waybill.v1.DispatchService/", system.dispatch.channel().await?),
        ("/waybill.v1.DeliveryService/", system.delivery.channel().await?),
        ("/waybill.v1.AfterSalesService/", system.aftersales.channel().await?),
        ("/waybill.v1.CrmService/", system.crm.channel().await?),
    ];
    let callers: Vec<(Role, Caller)> = Role::ALL.iter().map(|role| (*role, caller_for(*role))).collect();
    let mut checked = 0;
    for (path, permission) in POLICY {
        let (_, channel) =
            channels.iter().find(|(prefix, _)| path.starts_with(prefix)).expect("a service for every RPC");
        let status = call(channel, path, None).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{path} without a token: {status:?}");
        for (role, caller) in &callers {
            let status = call(channel, path, Some(caller.authorization())).await;
            if role.grants(*permission) {
                assert!(
                    !matches!(status.code(), Code::PermissionDenied | Code::Unauthenticated),
                    "{role} may {permission}, yet {path} answered {status:?}"
                );
            } else {
                assert_eq!(status.code(), Code::PermissionDenied, "{role} calling {path}: {status:?}");
                assert!(
                    status.message().contains(&format!("\"{permission}\""))
                        && status.message().contains(path),
                    "the refusal names the permission and the RPC: {}",
                    status.message()
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, POLICY.len() * Role::ALL.len());
    Ok(())
}

#[tokio::test]
async fn bad_credentials_are_unauthenticated_with_the_reason_and_probes_need_none() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let intake = Service::start("intake", &nats.url(), &[]).await?;
    let channel = intake.channel().await?;
    let path = "/waybill.v1.IntakeService/ListOrders";
    let signer = test_signer();
    let dana = Identity::new("dana", Role::CustomerServiceAgent);
    let hour = Duration::from_secs(3600);
    let bearer = |token: String| format!("Bearer {token}");

    let mut expired = signer.claims(dana.clone(), hour);
    expired.exp = expired.iat - 600;
    let mut foreign_audience = signer.claims(dana.clone(), hour);
    foreign_audience.aud = "another-system".into();
    // Same key id as the trusted key, another key: a forgery.
    let forger = Signer::generate(signer.kid())?;
    let stranger = Signer::generate("stranger")?;
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let unsigned = format!(
        "{}.{}.",
        b64(format!(r#"{{"alg":"none","typ":"JWT","kid":"{}"}}"#, signer.kid()).as_bytes()),
        b64(&serde_json::to_vec(&signer.claims(dana.clone(), hour))?)
    );
    let cases = [
        ("no token", None, "no bearer token"),
        ("not a bearer token", Some("Basic ZGFuYTpzZWNyZXQ=".to_owned()), "Bearer <token>"),
        ("expired", Some(bearer(signer.sign(&expired)?)), "expired"),
        ("wrong audience", Some(bearer(signer.sign(&foreign_audience)?)), "audience"),
        ("forged", Some(bearer(forger.mint(dana.clone(), hour)?)), "signature"),
        ("unknown key", Some(bearer(stranger.mint(dana.clone(), hour)?)), "key id"),
        ("alg none", Some(bearer(unsigned)), "token"),
        ("garbage", Some(bearer("x.y.z".into())), "malformed"),
    ];
    for (what, authorization, reason) in cases {
        let status = call(&channel, path, authorization.as_deref()).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{what}: {status:?}");
        assert!(status.message().contains(reason), "{what}: the reason is given: {}", status.message());
    }
    // The trusted key's own token is let in: the refusals above are about the tokens.
    let status = call(&channel, path, Some(&bearer(signer.mint(dana, hour)?))).await;
    assert_eq!(status.code(), Code::Ok, "{status:?}");

    // Probes: health answers without a token.
    assert_eq!(
        intake.process.health("waybill.v1.IntakeService").await.map_err(anyhow::Error::msg)?,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
    Ok(())
}

#[tokio::test]
async fn the_log_records_the_verified_subject_never_a_claimed_system() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let intake = Service::start("intake", &nats.url(), &[]).await?;
    let mut orders = v1::intake_service_client::IntakeServiceClient::new(intake.channel().await?);

    // A subject that looks like a service's clock is still a user; the old header is ignored.
    let impostor = Caller::customer_service("system:sla-clock");
    let mut claimed = request(&impostor, place_order_request("actor-1", "cust-actor"));
    claimed.metadata_mut().insert("x-waybill-actor", "system:sla-clock".parse()?);
    let first = orders.place_order(claimed).await?.into_inner().order.unwrap_or_default();
    let dana = Caller::customer_service("dana");
    let mut claimed = request(&dana, place_order_request("actor-2", "cust-actor"));
    claimed.metadata_mut().insert("x-waybill-actor", "system:billing".parse()?);
    let second = orders.place_order(claimed).await?.into_inner().order.unwrap_or_default();

    let log = EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test").await?;
    // The placements, whatever the automatic reviewer appended around them.
    let mut actors = Vec::new();
    let mut position = 1;
    while let Ok(recorded) = log.get(position).await {
        let envelope = v1::EventEnvelope::decode(recorded.payload)?;
        if envelope.event_type == "waybill.intake.order_placed.v1" {
            let actor = envelope.actor.unwrap_or_default();
            actors.push((envelope.aggregate_id, actor.kind(), actor.id));
        }
        position += 1;
    }
    assert_eq!(
        actors,
        [
            (first.order_id, v1::actor::Kind::User, "system:sla-clock".to_owned()),
            (second.order_id, v1::actor::Kind::User, "dana".to_owned()),
        ]
    );
    Ok(())
}

#[test]
fn a_service_without_token_keys_refuses_to_start_and_says_why() -> anyhow::Result<()> {
    let mut command = std::process::Command::new(waybill_system_tests::binary("waybill-intake")?);
    for variable in ["WAYBILL_AUTH_PUBLIC_KEYS", "WAYBILL_AUTH_JWKS"] {
        command.env_remove(variable);
    }
    // Nothing listens there: the keys are checked before anything is connected.
    let output = command
        .env("WAYBILL_NATS_URL", "nats://127.0.0.1:9")
        .env("WAYBILL_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started without keys: {stderr}");
    assert!(stderr.contains("no token keys configured"), "{stderr}");
    Ok(())
}
