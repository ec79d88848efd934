//! The integrator example (examples/python/follow_order.py), run as an integrator would run
//! it: outside the Rust code, with nats-py and message classes generated from proto/,
//! following one order from placement to refund on the real log that the five binaries wrote.
//!
//! It is stopped part-way and started again (it must resume from its stored position, not
//! start over), and then started from the first position (it must print nothing twice,
//! deduplicating by `ce-id`). What it printed, across its runs, must be exactly the events
//! the log holds about the order, returns and refunds included.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use prost::Message;
use waybill_eventlog::{EventLog, StreamSettings};
use waybill_proto::v1;
use waybill_system_tests::system::{System, eur};
use waybill_system_tests::{tool, workspace_root};
use waybill_testkit::{NatsServer, User};

/// One line the follower printed.
#[derive(Debug)]
struct Followed {
    position: u64,
    id: String,
    event_type: String,
}

/// Runs the follower to its end and returns the lines it printed.
fn follow(nats_url: &str, order_id: &str, state: &PathBuf, extra: &[&str]) -> anyhow::Result<Vec<Followed>> {
    let python = tool("python")
        .ok_or_else(|| anyhow::anyhow!("no .tools/venv/bin/python: run `make example-python`"))?;
    let script = workspace_root().join("examples/python/follow_order.py");
    anyhow::ensure!(
        workspace_root().join("examples/python/gen/waybill/v1/envelope_pb2.py").exists(),
        "the example's generated code is missing: run `make example-python`"
    );
    let output = Command::new(python)
        .arg(script)
        .args(["--nats", nats_url, "--order", order_id, "--timeout", "20", "--state"])
        .arg(state)
        .args(extra)
        .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(output.status.success(), "the follower failed ({}): {stderr}", output.status);
    String::from_utf8(output.stdout)?
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line)?;
            Ok(Followed {
                position: value["position"].as_u64().unwrap_or_default(),
                id: value["id"].as_str().unwrap_or_default().to_owned(),
                event_type: value["type"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

#[tokio::test]
async fn the_python_follower_sees_an_order_from_placement_to_refund_once_each_and_resumes()
-> anyhow::Result<()> {
    let nats = NatsServer::start();
    let (_system, clients) = System::with_fleet(&nats, "example").await?;
    let order = clients.deliver_new_order("example", "cust-integrator").await?;
    clients.return_and_refund("example", &order.order_id, eur(500)).await?;

    let state_dir = tempfile::tempdir()?;
    let state = state_dir.path().join("follower.json");

    // Stopped after five events, then started again: it goes on where it stopped.
    let first = follow(&nats.url_as(User::Integrator), &order.order_id, &state, &["--stop-after", "5"])?;
    assert_eq!(first.len(), 5, "{first:?}");
    let second = follow(&nats.url_as(User::Integrator), &order.order_id, &state, &[])?;
    let last_of_first = first.last().map(|line| line.position).unwrap_or_default();
    assert!(
        second.iter().all(|line| line.position > last_of_first),
        "the second run started over instead of resuming after {last_of_first}: {second:?}"
    );
    assert_eq!(
        second.last().map(|line| line.event_type.as_str()),
        Some("waybill.aftersales.refund_issued.v1"),
        "it follows the order to its refund: {second:?}"
    );

    // (It reads as the integrator NATS user: read-only, its own consumers.)
    // From the very first position again: every event is one it has printed already.
    let replayed =
        follow(&nats.url_as(User::Integrator), &order.order_id, &state, &["--from-position", "1"])?;
    assert!(replayed.is_empty(), "events printed twice: {replayed:?}");

    // What it printed is exactly what the log holds about the order, in log order, once each.
    let printed: Vec<&Followed> = first.iter().chain(&second).collect();
    let printed_ids: Vec<&str> = printed.iter().map(|line| line.id.as_str()).collect();
    let distinct: BTreeSet<&str> = printed_ids.iter().copied().collect();
    assert_eq!(distinct.len(), printed_ids.len(), "an event printed twice: {printed_ids:?}");
    assert!(printed.windows(2).all(|pair| pair[0].position < pair[1].position), "not in log order");
    let until = printed.last().map(|line| line.position).unwrap_or_default();
    let log = EventLog::open(nats.client().await, StreamSettings::default(), "/waybill/test").await?;
    let mut about_order = Vec::new();
    for position in 1..=until {
        let recorded = log.get(position).await?;
        let envelope = v1::EventEnvelope::decode(recorded.payload)?;
        if envelope.order_id == order.order_id || envelope.aggregate_id == order.order_id {
            about_order.push((envelope.event_id, recorded.subject));
        }
    }
    let expected: Vec<&str> = about_order.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(printed_ids, expected, "the follower missed or invented events");
    // Among them, events of aggregates with ids of their own: the return's.
    assert!(
        about_order.iter().any(|(_, subject)| subject.starts_with("waybill.aftersales.return.")),
        "{about_order:?}"
    );
    // Every event whose envelope names the order is under the order's one subject filter.
    let filtered = log.read_matching(&waybill_eventlog::subject::order_filter(&order.order_id)).await?;
    let under_filter: Vec<(String, String)> = filtered
        .iter()
        .filter(|recorded| recorded.position <= until)
        .map(|recorded| {
            Ok((v1::EventEnvelope::decode(recorded.payload.clone())?.event_id, recorded.subject.clone()))
        })
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(under_filter, about_order, "the order filter and the envelopes disagree");
    for wanted in [
        "waybill.intake.order_placed.v1",
        "waybill.dispatch.task_arrived_at_hub.v1",
        "waybill.delivery.delivery_completed.v1",
        "waybill.aftersales.return_requested.v1",
        "waybill.aftersales.return_refunded.v1",
    ] {
        assert!(printed.iter().any(|line| line.event_type == wanted), "no {wanted} in {printed:?}");
    }
    Ok(())
}
