//! The operator's `waybill` command line against a real nats-server with the production
//! users (it runs as `ops`) and, where reactions matter, the real delivery binary: status,
//! events as JSON, a dead letter re-driven exactly once after its cause is fixed, backups
//! restored and verified (against services the test starts on the copy, and against the
//! scratch copy `verify --scratch` starts itself, interrupted once).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use waybill_eventlog::{EventLog, subject};
use waybill_proto::v1::{self, event_envelope::Payload};
use waybill_system_tests::system::eventually;
use waybill_system_tests::{Service, binary};
use waybill_testkit::{NatsServer, TestUsers, User};

/// Runs `waybill ARGS` as the ops user; its stdout, or the failure with stderr.
async fn waybill(nats: &NatsServer, args: &[&str]) -> anyhow::Result<String> {
    waybill_at(&nats.url_as(User::Ops), args).await
}

/// Runs `waybill ARGS` against the NATS URL `url` (with its credentials).
async fn waybill_at(url: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = tokio::process::Command::new(binary("waybill")?)
        .args(args)
        .env("WAYBILL_NATS_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("WAYBILL_OPERATOR")
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(
        output.status.success(),
        "waybill {args:?} failed ({}): {}{stdout}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

fn json_lines(text: &str) -> anyhow::Result<Vec<Value>> {
    text.lines().map(|line| Ok(serde_json::from_str(line)?)).collect()
}

async fn place(log: &EventLog, order_id: &str) -> anyhow::Result<u64> {
    let placed = v1::OrderPlaced {
        customer_id: "cust-1".into(),
        shipper: Some(waybill_fixtures::party("Acme GmbH", "Berlin")),
        consignee: Some(waybill_fixtures::party("Erika Mustermann", "Munich")),
        cargo: Vec::new(),
        service_level: v1::ServiceLevel::Express.into(),
        quote: None,
    };
    let payload =
        Payload::Intake(v1::IntakeEvent { event: Some(v1::intake_event::Event::OrderPlaced(placed)) });
    let subject = subject::in_order("intake", "order", order_id, order_id);
    let appended = waybill_fixtures::foreign::append_now(
        log,
        &subject,
        order_id,
        "waybill.intake.order_placed.v1",
        payload,
    )
    .await;
    Ok(appended.position)
}

async fn arrive(log: &EventLog, order_id: &str) -> anyhow::Result<u64> {
    Ok(waybill_fixtures::foreign::task_arrived_at_hub(log, order_id).await)
}

/// A nats-server with delivery running on it (delivery schedules an order whose task arrives
/// at the hub, and dead-letters the arrival of one intake never placed), and the log on it.
async fn server_with_delivery() -> anyhow::Result<(NatsServer, Service, EventLog)> {
    let nats = NatsServer::start();
    let delivery = Service::start("delivery", &nats, &[]).await?;
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    Ok((nats, delivery, log))
}

/// A new order, placed, whose forward task then arrives at the hub; returns its id.
async fn arrived_order(log: &EventLog) -> anyhow::Result<String> {
    let order = uuid::Uuid::now_v7().to_string();
    place(log, &order).await?;
    arrive(log, &order).await?;
    Ok(order)
}

#[tokio::test]
async fn events_get_and_tail_print_the_log_decoded_one_json_object_a_line() -> anyhow::Result<()> {
    let nats = NatsServer::start();
    let log = waybill_fixtures::foreign::open_log(nats.client().await).await;
    let order = uuid::Uuid::now_v7().to_string();
    let other = uuid::Uuid::now_v7().to_string();
    let placed = place(&log, &order).await?;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let other_placed = place(&log, &other).await?;
    let arrived = arrive(&log, &order).await?;

    let got: Value = serde_json::from_str(&waybill(&nats, &["events", "get", &placed.to_string()]).await?)?;
    assert_eq!(got["position"], placed);
    assert_eq!(got["type"], "waybill.intake.order_placed.v1");
    assert_eq!(got["payload"]["order_id"], order.as_str());
    assert_eq!(
        got["payload"]["intake"]["order_placed"]["consignee"]["contact"]["name"], "Erika Mustermann",
        "{got}"
    );

    let all = json_lines(&waybill(&nats, &["events", "tail"]).await?)?;
    let positions: Vec<u64> = all.iter().filter_map(|event| event["position"].as_u64()).collect();
    assert_eq!(positions, vec![placed, other_placed, arrived]);

    let about_order = json_lines(&waybill(&nats, &["events", "tail", "--order", &order]).await?)?;
    let positions: Vec<u64> = about_order.iter().filter_map(|event| event["position"].as_u64()).collect();
    assert_eq!(positions, vec![placed, arrived], "the order's events across services");

    let dispatch = json_lines(&waybill(&nats, &["events", "tail", "--service", "dispatch"]).await?)?;
    assert_eq!(dispatch.len(), 1);
    assert_eq!(dispatch[0]["payload"]["dispatch"]["task_arrived_at_hub"]["hub"], "MUC-HUB");

    let placements = json_lines(&waybill(&nats, &["events", "tail", "--type", "order_placed"]).await?)?;
    assert_eq!(placements.len(), 2);

    let from =
        json_lines(&waybill(&nats, &["events", "tail", "--from-seq", &other_placed.to_string()]).await?)?;
    assert_eq!(from.len(), 2);

    let since = all[1]["stored_at"].as_str().unwrap_or_default().to_owned();
    let later = json_lines(&waybill(&nats, &["events", "tail", "--since", &since]).await?)?;
    assert_eq!(
        later.first().and_then(|event| event["position"].as_u64()),
        Some(other_placed),
        "since {since}"
    );

    // A bad filter is named, and a position past the end said so.
    let missing = waybill(&nats, &["events", "get", "999"]).await.expect_err("no such event");
    assert!(missing.to_string().contains("no event at position 999"), "{missing}");
    let bad = waybill(&nats, &["events", "tail", "--service", "billing"]).await.expect_err("no such service");
    assert!(bad.to_string().contains("--service"), "{bad}");

    // --follow prints what is appended after it started.
    let mut follow = tokio::process::Command::new(binary("waybill")?)
        .args([
            "events",
            "tail",
            "--follow",
            "--type",
            "order_placed",
            "--from-seq",
            &(arrived + 1).to_string(),
        ])
        .env("WAYBILL_NATS_URL", nats.url_as(User::Ops))
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = follow.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let live = place(&log, &uuid::Uuid::now_v7().to_string()).await?;
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await??.unwrap_or_default();
    let event: Value = serde_json::from_str(&line)?;
    assert_eq!(event["position"], live);
    follow.kill().await?;
    Ok(())
}

#[tokio::test]
async fn a_dead_letter_is_listed_and_redriven_exactly_once_after_its_cause_is_fixed() -> anyhow::Result<()> {
    let (nats, _delivery, log) = server_with_delivery().await?;

    // The forward task of an order intake never placed arrives at the hub: delivery's
    // `delivery-arrivals` cannot schedule it and dead-letters the event.
    let order = uuid::Uuid::now_v7().to_string();
    let arrived = arrive(&log, &order).await?;
    let letters = eventually("the arrival to be dead-lettered", || async {
        let letters = json_lines(&waybill(&nats, &["dead-letters", "list", "--json"]).await.ok()?).ok()?;
        (!letters.is_empty()).then_some(letters)
    })
    .await?;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter["consumer"], "delivery-arrivals");
    assert_eq!(letter["original_position"], arrived);
    assert!(letter["error"].as_str().unwrap_or_default().contains("never placed"), "{letter}");
    let seq = letter["seq"].as_u64().unwrap_or_default().to_string();

    let status: Value = serde_json::from_str(&waybill(&nats, &["status", "--json"]).await?)?;
    let reactions: Vec<&str> = status["consumers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|consumer| consumer["durable"] == true)
        .filter_map(|consumer| consumer["name"].as_str())
        .collect();
    assert_eq!(
        reactions,
        vec!["delivery-arrivals", "delivery-notifications", "delivery-orders", "delivery-routes"]
    );
    assert_eq!(status["streams"][0]["name"], "WAYBILL");
    assert_eq!(status["streams"][0]["last_seq"], arrived);
    assert_eq!(status["dead_letters"][0]["subject"], "deadletter.delivery.delivery-arrivals");
    assert_eq!(status["dead_letters"][0]["count"], 1);
    let table = waybill(&nats, &["status"]).await?;
    assert!(table.contains("delivery-arrivals") && table.contains("DEAD LETTERS: 1"), "{table}");

    let shown: Value = serde_json::from_str(&waybill(&nats, &["dead-letters", "show", &seq]).await?)?;
    assert_eq!(shown["payload"]["order_id"], order.as_str());
    assert_eq!(shown["headers"]["waybill-original-position"], arrived.to_string());

    // Re-driven before the fix: handled and given up on again, said so, a new letter.
    let who = ["--operator", "ana@ops", "--reason", "INC-7: try again"];
    let early = waybill(&nats, &[&["dead-letters", "redrive", &seq][..], &who].concat()).await;
    let early = early.expect_err("the cause is not fixed yet");
    assert!(
        early.to_string().contains("failed on event") && early.to_string().contains("never placed"),
        "{early}"
    );
    let scheduled_subject = subject::in_order("delivery", "task", &order, &order);
    assert!(log.read_subject(&scheduled_subject).await?.is_empty(), "nothing scheduled yet");

    // The fix: the placement is on the log now. Re-driven: scheduled, once.
    place(&log, &order).await?;
    let who = ["--operator", "ana@ops", "--reason", "INC-7: placement restored"];
    let done = waybill(&nats, &[&["dead-letters", "redrive", &seq][..], &who].concat()).await?;
    assert!(done.contains("handled event"), "{done}");
    let scheduled = log.read_subject(&scheduled_subject).await?;
    assert!(!scheduled.is_empty(), "the delivery is scheduled");
    assert!(scheduled.iter().any(|event| event.event_type == "waybill.delivery.delivery_scheduled.v1"));

    // A second redrive of the same letter changes nothing.
    let again = waybill(&nats, &[&["dead-letters", "redrive", &seq][..], &who].concat()).await?;
    assert!(again.contains("handled event"), "{again}");
    let after = log.read_subject(&scheduled_subject).await?;
    let positions =
        |events: &[waybill_eventlog::RecordedEvent]| events.iter().map(|e| e.position).collect::<Vec<_>>();
    assert_eq!(positions(&after), positions(&scheduled), "the second redrive wrote nothing");

    // Who did it is on the log, under waybill.ops.
    let requests = json_lines(&waybill(&nats, &["events", "tail", "--service", "ops"]).await?)?;
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request["type"], "waybill.ops.redrive_requested.v1");
        assert_eq!(request["payload"]["operator"], "ana@ops");
        assert_eq!(request["payload"]["position"], arrived);
    }
    let listed = waybill(&nats, &["dead-letters", "list"]).await?;
    assert!(listed.contains("3 by ana@ops"), "{listed}");
    Ok(())
}

/// Every message of `stream` on `nats` as (position, subject, headers, payload).
async fn every_message(
    nats: &NatsServer,
    stream: &str,
) -> anyhow::Result<Vec<(u64, String, String, Vec<u8>)>> {
    let jetstream = async_nats::jetstream::new(nats.client().await);
    let mut stream = jetstream.get_stream(stream).await?;
    let last = stream.info().await?.state.last_sequence;
    let mut messages = Vec::new();
    for seq in 1..=last {
        let message = stream.direct_get(seq).await?;
        // Without what a direct get's answer adds (the stream, the position, the time).
        let added = ["Nats-Stream", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Subject"];
        let mut headers: Vec<String> = message
            .headers
            .iter()
            .filter(|(name, _)| !added.iter().any(|added| name.to_string().eq_ignore_ascii_case(added)))
            .flat_map(|(name, values)| values.iter().map(move |value| format!("{name}: {}", value.as_str())))
            .collect();
        headers.sort();
        messages.push((
            message.sequence,
            message.subject.to_string(),
            headers.join("\n"),
            message.payload.to_vec(),
        ));
    }
    Ok(messages)
}

#[tokio::test]
async fn a_backup_restored_into_a_fresh_server_is_the_same_log_at_the_same_positions() -> anyhow::Result<()> {
    let (source, _delivery, log) = server_with_delivery().await?;
    // Real traffic: intake's and dispatch's events, delivery's own appends, a dead letter.
    let order = arrived_order(&log).await?;
    arrive(&log, &uuid::Uuid::now_v7().to_string()).await?;
    let scheduled_subject = subject::in_order("delivery", "task", &order, &order);
    eventually("delivery to schedule the order and dead-letter the stray arrival", || async {
        let scheduled = !log.read_subject(&scheduled_subject).await.ok()?.is_empty();
        let letters = json_lines(&waybill(&source, &["dead-letters", "list", "--json"]).await.ok()?).ok()?;
        (scheduled && letters.len() == 1).then_some(())
    })
    .await?;

    let scratch = tempfile::tempdir()?;
    let dir = scratch.path().join("backup");
    let dir_text = dir.to_string_lossy().into_owned();
    let said = waybill(&source, &["backup", &dir_text]).await?;
    assert!(said.contains("WAYBILL: "), "{said}");
    let again = waybill(&source, &["backup", &dir_text]).await.expect_err("the directory is not empty");
    assert!(again.to_string().contains("not empty"), "{again}");

    // A fresh server with the production users and no streams; restore as a user that may
    // publish on the streams' subjects (the test's own; the ops user may not).
    let target = NatsServer::start_empty(&[], TestUsers::generate());
    waybill_at(&target.url(), &["restore", &dir_text]).await?;
    for stream in ["WAYBILL", "WAYBILL_DEADLETTER"] {
        let original = every_message(&source, stream).await?;
        let restored = every_message(&target, stream).await?;
        assert!(!original.is_empty(), "{stream} has messages");
        assert_eq!(restored, original, "{stream}: every position, subject, header and payload");
    }
    let verified = waybill(&target, &["verify", &dir_text]).await?;
    assert!(verified.contains("0 differences"), "{verified}");

    // A stream that holds anything is never overwritten.
    let refused = waybill_at(&target.url(), &["restore", &dir_text]).await.expect_err("not empty");
    assert!(refused.to_string().contains("not empty"), "{refused}");

    // verify notices a difference: the backup no longer matches the source once edited.
    let events_file = dir.join("WAYBILL.jsonl");
    let text = std::fs::read_to_string(&events_file)?;
    let edited = text.replacen("waybill.intake.order.", "waybill.intake.orders.", 1);
    std::fs::write(&events_file, edited)?;
    let differs = waybill(&source, &["verify", &dir_text]).await.expect_err("a difference");
    assert!(differs.to_string().contains("subject"), "{differs}");
    Ok(())
}

/// A backup as the scheme before subjects carried the order's id wrote it: every
/// `waybill.<service>.<aggregate>.<order id>.<id>` as `waybill.<service>.<aggregate>.<id>`.
fn as_before_order_tokens(line: &str) -> anyhow::Result<String> {
    let mut message: Value = serde_json::from_str(line)?;
    if let Some(subject) = message["subject"].as_str() {
        let tokens: Vec<&str> = subject.split('.').collect();
        if tokens.len() == 5 && tokens[0] == "waybill" {
            message["subject"] = Value::from([tokens[0], tokens[1], tokens[2], tokens[4]].join("."));
        }
    }
    Ok(serde_json::to_string(&message)?)
}

#[tokio::test]
async fn a_backup_from_before_order_tokens_is_migrated_restored_and_read_by_order() -> anyhow::Result<()> {
    let (source, _delivery, log) = server_with_delivery().await?;
    let order = arrived_order(&log).await?;
    let scheduled_subject = subject::in_order("delivery", "task", &order, &order);
    eventually("delivery to schedule the order", || async {
        (!log.read_subject(&scheduled_subject).await.ok()?.is_empty()).then_some(())
    })
    .await?;
    let scratch = tempfile::tempdir()?;
    let text = |name: &str| scratch.path().join(name).to_string_lossy().into_owned();
    waybill(&source, &["backup", &text("current")]).await?;

    // The same log as it was stored before: the subjects without the order's id.
    std::fs::create_dir(scratch.path().join("legacy"))?;
    for file in ["manifest.json", "WAYBILL.jsonl", "WAYBILL_DEADLETTER.jsonl"] {
        let original = std::fs::read_to_string(scratch.path().join("current").join(file))?;
        let legacy = if file == "WAYBILL.jsonl" {
            original.lines().map(as_before_order_tokens).collect::<anyhow::Result<Vec<_>>>()?.join("\n")
                + "\n"
        } else {
            original
        };
        std::fs::write(scratch.path().join("legacy").join(file), legacy)?;
    }

    let said = waybill(&source, &["migrate-backup", &text("legacy"), &text("migrated")]).await?;
    for file in ["WAYBILL.jsonl", "WAYBILL_DEADLETTER.jsonl"] {
        let current = std::fs::read_to_string(scratch.path().join("current").join(file))?;
        let migrated = std::fs::read_to_string(scratch.path().join("migrated").join(file))?;
        assert_eq!(migrated, current, "{file}: the migration gives back every subject");
    }

    // Restored into a fresh server: the same log, and the order's story under one filter.
    let target = NatsServer::start_empty(&[], TestUsers::generate());
    waybill_at(&target.url(), &["restore", &text("migrated")]).await?;
    let verified = waybill(&target, &["verify", &text("current")]).await?;
    assert!(verified.contains("0 differences"), "{verified}");
    let restored = waybill_fixtures::foreign::open_log(target.client().await).await;
    let story = restored.read_matching(&subject::order_filter(&order)).await?;
    let types: Vec<&str> = story.iter().map(|event| event.event_type.as_str()).collect();
    assert_eq!(
        types[..3],
        [
            "waybill.intake.order_placed.v1",
            "waybill.dispatch.task_arrived_at_hub.v1",
            "waybill.delivery.delivery_scheduled.v1"
        ],
        "{types:?}"
    );
    // Every event of the log is about the order here, and each one moved.
    let moved = format!("{} messages, {} moved", story.len(), story.len());
    assert!(said.contains(&moved), "{said}");
    Ok(())
}

/// `waybill token mint` prints a token the services' verifier accepts, naming the person
/// and roles asked for; an identity the services would refuse (a customer without its
/// customer id) is refused, saying why, and prints no token.
#[tokio::test]
async fn token_mint_prints_a_token_the_services_accept() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let signer = waybill_auth::Signer::generate("ops-test")?;
    let (key, public) = (dir.path().join("ops-test.key.pem"), dir.path().join("ops-test.pub.pem"));
    std::fs::write(&key, signer.private_key_pem()?)?;
    std::fs::write(&public, signer.public_key_pem()?)?;
    let minted =
        mint(&key, &["--role", "dispatcher", "--role", "analyst", "--sub", "dana", "--ttl", "30m"]).await?;
    assert!(minted.status.success(), "{}", String::from_utf8_lossy(&minted.stderr));
    let token = String::from_utf8(minted.stdout)?;
    let verifier = waybill_auth::Verifier::from_config(&waybill_auth::VerifierConfig {
        public_keys: vec![public],
        issuer: waybill_auth::token::DEFAULT_ISSUER.to_owned(),
        audience: waybill_auth::token::DEFAULT_AUDIENCE.to_owned(),
        ..Default::default()
    })?;
    let identity = verifier.verify(token.trim())?;
    assert_eq!(identity.sub, "dana");
    assert_eq!(identity.roles, vec![waybill_auth::Role::Dispatcher, waybill_auth::Role::Analyst]);

    let refused = mint(&key, &["--role", "customer", "--sub", "carl"]).await?;
    assert!(!refused.status.success(), "a customer without its customer id is refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("the customer role needs a customer_id"), "{stderr}");
    assert!(refused.stdout.is_empty(), "no token printed");
    Ok(())
}

/// Runs `waybill token mint --key KEY ARGS`.
async fn mint(key: &std::path::Path, args: &[&str]) -> anyhow::Result<std::process::Output> {
    let mut command = tokio::process::Command::new(binary("waybill")?);
    command.args(["token", "mint", "--key"]).arg(key).args(args).env("RUST_LOG", "warn");
    Ok(command.output().await?)
}

/// The whole system on a source server; a backup restored into a fresh server with the five
/// services started on it: `waybill verify --source-services --copy-services` finds the
/// copy's read models answering as the source's (orders, tasks, deliveries, cases,
/// customers, ABC, KPIs and finance). Once the source moves on (an order placed there
/// only), verify says which answer differs and fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_compares_the_read_models_of_services_run_on_the_restored_copy() -> anyhow::Result<()> {
    use waybill_system_tests::system::{Caller, Settings, System, request};
    let source = NatsServer::start();
    let system = System::start(&source, Settings::default()).await?;
    let clients = system.clients().await?;
    clients.set_up_fleet("verify").await?;
    clients.deliver_new_order("verify-delivered", "acme").await?;
    clients.place("verify-placed", "globex").await?;
    let analyst = Caller::analyst("vera");
    eventually("crm to count both orders, one delivered", || async {
        let kpis =
            clients.crm.clone().get_kpis(request(&analyst, v1::GetKpisRequest::default())).await.ok()?;
        let kpis = kpis.into_inner().kpis?;
        (kpis.orders == 2 && kpis.on_time_delivery.is_some_and(|rate| rate.denominator == 1)).then_some(())
    })
    .await?;
    quiet(&source).await?;

    let scratch = tempfile::tempdir()?;
    let dir = scratch.path().join("backup");
    let dir_text = dir.to_string_lossy().into_owned();
    waybill(&source, &["backup", &dir_text]).await?;
    let target = NatsServer::start_empty(&[], TestUsers::generate());
    waybill_at(&target.url(), &["restore", &dir_text]).await?;
    let copy = System::start(&target, Settings::default()).await?;

    let token = scratch.path().join("token");
    std::fs::write(&token, Caller::administrator("audrey").authorization().trim_start_matches("Bearer "))?;
    let addresses = |system: &System| {
        [&system.intake, &system.dispatch, &system.delivery, &system.aftersales, &system.crm]
            .map(|service| service.address.clone())
            .join(",")
    };
    let (source_services, copy_services) = (addresses(&system), addresses(&copy));
    let token_text = token.to_string_lossy().into_owned();
    let verify = [
        "verify",
        &dir_text,
        "--source-services",
        &source_services,
        "--copy-services",
        &copy_services,
        "--token-file",
        &token_text,
    ];
    let same = waybill(&target, &verify).await?;
    for question in ["intake orders: 2 compared", "dispatch tasks", "delivery deliveries", "crm customers"] {
        assert!(same.contains(question), "{question} in {same}");
    }
    assert!(same.contains("crm kpis and finance: 1 compared, 0 differences"), "{same}");
    assert!(!same.contains("differs"), "{same}");

    // The same check with the copy made by verify itself: a scratch nats-server, the
    // backup restored into it, the five services started on it, all gone afterwards.
    let scratch_verify = [
        "verify",
        &dir_text,
        "--scratch",
        "--source-services",
        &source_services,
        "--token-file",
        &token_text,
    ];
    let before = scratch_dirs()?;
    let same = waybill(&source, &scratch_verify).await?;
    assert!(same.contains("WAYBILL: ") && same.contains("messages compared, 0 differences"), "{same}");
    assert!(same.contains("intake orders: 2 compared, 0 differences"), "{same}");
    assert!(same.contains("crm kpis and finance: 1 compared, 0 differences"), "{same}");
    assert!(!same.contains("differs"), "{same}");
    assert!(same.contains("the scratch copy is stopped and removed"), "{same}");
    assert_eq!(scratch_dirs()?, before, "the scratch copy's directory is removed");

    // Interrupted once its services run: everything it started is stopped and removed.
    let interrupted = interrupt_scratch_verify(&source, &scratch_verify).await?;
    assert!(interrupted.contains("interrupted: the scratch copy is stopped and removed"), "{interrupted}");
    assert_eq!(scratch_dirs()?, before, "the interrupted copy's directory is removed");

    // A backup altered after it was taken (one byte of an order's customer id, the protobuf
    // still valid): the copy restored from it answers differently from the source, and
    // verify says which answer and fails.
    let tampered = scratch.path().join("tampered");
    let altered = alter_first_payload(&dir, &tampered, b"globex", b"globey")?;
    assert!(altered.starts_with("waybill.intake."), "the order's own event is altered: {altered}");
    let tampered_text = tampered.to_string_lossy().into_owned();
    let mut tampered_verify = scratch_verify;
    tampered_verify[1] = &tampered_text;
    let differs = waybill(&source, &tampered_verify).await.expect_err("a tampered backup").to_string();
    assert!(
        differs.lines().any(|line| line.contains("intake orders:") && line.contains("differs")),
        "{differs}"
    );
    assert_eq!(scratch_dirs()?, before, "the scratch copy's directory is removed after a tampered backup");

    clients.place("verify-after-the-backup", "globex").await?;
    eventually("crm to count the new order", || async {
        let kpis =
            clients.crm.clone().get_kpis(request(&analyst, v1::GetKpisRequest::default())).await.ok()?;
        (kpis.into_inner().kpis?.orders == 3).then_some(())
    })
    .await?;
    let differs = waybill(&target, &verify).await.expect_err("the source moved on").to_string();
    assert!(differs.contains("intake orders: 3 compared, differs"), "{differs}");
    assert!(differs.contains("answer differently"), "{differs}");
    let differs = waybill(&source, &scratch_verify).await.expect_err("the source moved on").to_string();
    assert!(differs.contains("intake orders: 3 compared, differs"), "{differs}");
    assert!(differs.contains("crm kpis and finance: 1 compared, differs"), "{differs}");
    assert!(differs.contains("scratch copy restored from"), "{differs}");
    assert_eq!(scratch_dirs()?, before, "the scratch copy's directory is removed after a difference");
    Ok(())
}

/// Copies the backup in `from` to `to`, replacing `was` with `now` (the same length) in the
/// payload of the first message that holds it; that message's subject.
fn alter_first_payload(from: &Path, to: &Path, was: &[u8], now: &[u8]) -> anyhow::Result<String> {
    use base64::Engine as _;
    let base64 = base64::engine::general_purpose::STANDARD;
    std::fs::create_dir(to)?;
    let mut altered = None;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default();
        let text = std::fs::read_to_string(&path)?;
        if name == "manifest.json" || altered.is_some() {
            std::fs::write(to.join(name), text)?;
            continue;
        }
        let mut lines = Vec::new();
        for line in text.lines() {
            let mut message: Value = serde_json::from_str(line)?;
            let payload = base64.decode(message["payload"].as_str().unwrap_or_default())?;
            match payload.windows(was.len()).position(|window| window == was) {
                Some(at) if altered.is_none() => {
                    let mut payload = payload;
                    payload[at..at + was.len()].copy_from_slice(now);
                    message["payload"] = Value::String(base64.encode(&payload));
                    altered = message["subject"].as_str().map(str::to_owned);
                    lines.push(serde_json::to_string(&message)?);
                }
                _ => lines.push(line.to_owned()),
            }
        }
        std::fs::write(to.join(name), lines.join("\n") + "\n")?;
    }
    altered.ok_or_else(|| anyhow::anyhow!("no payload in {} holds the bytes to alter", from.display()))
}

/// The scratch copies' directories (`waybill-verify-*`) in the temporary directory.
fn scratch_dirs() -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(std::env::temp_dir())?
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("waybill-verify-"))
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Starts `waybill ARGS` (a scratch verify), sends it SIGINT (Ctrl-C) once the scratch
/// intake has written its address, and checks that it exits non-zero and that the scratch
/// intake is gone; its stderr.
async fn interrupt_scratch_verify(nats: &NatsServer, args: &[&str]) -> anyhow::Result<String> {
    let before = scratch_dirs()?;
    let verify = tokio::process::Command::new(binary("waybill")?)
        .args(args)
        .env("WAYBILL_NATS_URL", nats.url_as(User::Ops))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let intake_address = eventually("the scratch copy's intake to start", || async {
        let dir = scratch_dirs().ok()?.into_iter().find(|dir| !before.contains(dir))?;
        let address = dir.join("intake.address");
        address.exists().then_some(address)
    })
    .await?;
    let intake_pid = std::fs::read_to_string(&intake_address)?
        .lines()
        .find_map(|line| line.strip_prefix("pid=")?.parse::<i32>().ok())
        .ok_or_else(|| anyhow::anyhow!("no pid in {}", intake_address.display()))?;
    let pid = verify.id().ok_or_else(|| anyhow::anyhow!("verify already exited"))?;
    let signal = tokio::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().await?;
    anyhow::ensure!(signal.success(), "kill -INT {pid} failed");
    let output = tokio::time::timeout(Duration::from_secs(30), verify.wait_with_output()).await??;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    anyhow::ensure!(!output.status.success(), "an interrupted verify exits non-zero: {stderr}");
    let alive = std::path::Path::new(&format!("/proc/{intake_pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{intake_pid}/stat")).unwrap_or_default().contains(") Z ");
    anyhow::ensure!(!alive, "the scratch intake (pid {intake_pid}) outlived the interrupted verify");
    Ok(stderr)
}

/// Waits until the event stream's last position stays put for half a second (reactions
/// done), so a backup taken now is what the services have read.
async fn quiet(nats: &NatsServer) -> anyhow::Result<()> {
    let jetstream = async_nats::jetstream::new(nats.client().await);
    let mut last = u64::MAX;
    for _ in 0..60 {
        let mut stream = jetstream.get_stream("WAYBILL").await?;
        let now = stream.info().await?.state.last_sequence;
        if now == last {
            return Ok(());
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    anyhow::bail!("the log kept growing for 30 s")
}
