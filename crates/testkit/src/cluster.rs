//! Three nats-servers clustered on loopback with JetStream, the production shape: R3
//! streams, a meta leader elected among them, any node killed and started again. Ports are
//! picked by the servers themselves (`-p -1`, cluster port `-1` on the first node) and
//! read back from their logs; a restart keeps both.

use std::time::{Duration, Instant};

use crate::NatsServer;

/// A 3-node JetStream cluster; every node is killed on drop.
pub struct NatsCluster {
    pub nodes: Vec<NatsServer>,
    route_ports: Vec<u16>,
}

const NODES: usize = 3;

impl NatsCluster {
    /// Starts three nodes and waits until the cluster has a JetStream meta leader.
    pub fn start() -> NatsCluster {
        NatsCluster::start_with(crate::Durability::Default)
    }

    /// [`NatsCluster::start`] with the given JetStream durability on every node.
    pub fn start_with(durability: crate::Durability) -> NatsCluster {
        let name = format!("waybill-test-{}", std::process::id());
        let users = crate::TestUsers::generate();
        let mut nodes: Vec<NatsServer> = Vec::with_capacity(NODES);
        let mut route_ports: Vec<u16> = Vec::with_capacity(NODES);
        for index in 0..NODES {
            let mut args =
                vec!["-n".to_owned(), format!("n{index}"), "--cluster_name".to_owned(), name.clone()];
            args.extend(["--cluster".to_owned(), "nats://127.0.0.1:-1".to_owned()]);
            // JetStream in a cluster refuses to start without a route; the first node's
            // peers are not up yet, so it gets a route nobody answers (port 1), which the
            // others' routes to it make moot. Restarts get the real ones (pin_ports).
            let seed = route_ports.first().copied().unwrap_or(1);
            args.extend(["--routes".to_owned(), format!("nats://127.0.0.1:{seed}")]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let node = NatsServer::start_empty_with(&args, users.clone(), durability);
            // The route listener may be logged a moment after the client one.
            let deadline = Instant::now() + Duration::from_secs(20);
            let port = loop {
                if let Some(port) = route_port_in_log(&node.log()) {
                    break port;
                }
                assert!(
                    Instant::now() < deadline,
                    "node n{index} reported no route port; log:\n{}",
                    node.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            route_ports.push(port);
            nodes.push(node);
        }
        let mut cluster = NatsCluster { nodes, route_ports };
        // From now on every node keeps its ports and knows all routes, for restarts.
        for index in 0..NODES {
            cluster.pin_ports(index);
        }
        cluster.wait_for_meta_leader();
        let settings = waybill_eventlog::StreamSettings { replicas: NODES, ..Default::default() };
        let ops = crate::User::Ops.name();
        let flags = waybill_runtime::NatsFlags::as_user(
            &cluster.urls_without_credentials(),
            ops,
            users.password(ops),
        );
        crate::bootstrap_streams(&flags, &settings);
        cluster
    }

    /// `nats://test:<password>@127.0.0.1:P1,...` (the test's own user on every node): what
    /// the services get.
    pub fn urls(&self) -> String {
        self.nodes.iter().map(NatsServer::url).collect::<Vec<_>>().join(",")
    }

    fn urls_without_credentials(&self) -> String {
        self.nodes.iter().map(NatsServer::address).collect::<Vec<_>>().join(",")
    }

    /// A client that may connect to any node and reconnects across all of them.
    pub async fn client(&self) -> async_nats::Client {
        let servers: Vec<String> = self.nodes.iter().map(NatsServer::address).collect();
        let users = self.nodes[0].users();
        async_nats::ConnectOptions::with_user_and_password(
            crate::TEST_USER.to_owned(),
            users.password(crate::TEST_USER).to_owned(),
        )
        .retry_on_initial_connect()
        .connect(servers)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test cluster: {error}"))
    }

    /// SIGKILL node `index`, like a crashed machine.
    pub fn kill(&mut self, index: usize) {
        self.nodes[index].kill();
    }

    /// Starts node `index` again on its ports and data, routed to the others.
    pub fn start_again(&mut self, index: usize) {
        self.nodes[index].start_again();
    }

    fn pin_ports(&mut self, index: usize) {
        let routes: Vec<String> = (0..NODES)
            .filter(|other| *other != index)
            .map(|other| format!("nats://127.0.0.1:{}", self.route_ports[other]))
            .collect();
        let node = &mut self.nodes[index];
        // The first two arguments are the configuration (`-c <file>`): kept.
        node.extra_args.truncate(2);
        node.extra_args.extend([
            "-n".to_owned(),
            format!("n{index}"),
            "--cluster_name".to_owned(),
            format!("waybill-test-{}", std::process::id()),
            "--cluster".to_owned(),
            format!("nats://127.0.0.1:{}", self.route_ports[index]),
            "--routes".to_owned(),
            routes.join(","),
        ]);
    }

    /// Polls each node's `/jsz`-equivalent through the log: a meta leader is elected once a
    /// node logs that it is the leader or that one was elected (within 30 s).
    fn wait_for_meta_leader(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let elected = self.nodes.iter().any(|node| {
                let log = node.log();
                log.contains("JetStream cluster new metadata leader")
                    || log.contains("Self is new JetStream cluster metadata leader")
            });
            if elected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no JetStream meta leader within 30 s; first node's log:\n{}",
                self.nodes[0].log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl crate::NatsAccess for NatsCluster {
    fn service_env(&self, service: &str) -> Vec<(&'static str, String)> {
        crate::users::own_user_env(self.urls_without_credentials(), self.nodes[0].users(), service)
    }
}

/// The route (cluster) port a nats-server's log says it listens on.
fn route_port_in_log(log: &str) -> Option<u16> {
    log.lines().find_map(|line| {
        let (_, address) = line.split_once("Listening for route connections on ")?;
        address.trim().rsplit(':').next()?.parse::<u16>().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_r3_stream_keeps_its_writes_across_a_node_killed_and_restarted() {
        let mut cluster = NatsCluster::start();
        let jetstream = async_nats::jetstream::new(cluster.client().await);
        let config = async_nats::jetstream::stream::Config {
            name: "KEEP".into(),
            subjects: vec!["keep.>".into()],
            num_replicas: 3,
            ..Default::default()
        };
        // The meta leader may still be settling: creating the stream may need a retry.
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Err(error) = jetstream.get_or_create_stream(config.clone()).await {
            assert!(Instant::now() < deadline, "no R3 stream: {error}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        jetstream.publish("keep.one", "1".into()).await.expect("sent").await.expect("stored");
        cluster.kill(1);
        // If the killed node led the stream, the others elect a leader first: publish again
        // with the same message id until it is stored, as the services do.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let message = async_nats::jetstream::message::PublishMessage::build()
                .message_id("keep-two")
                .payload("2".into());
            match jetstream.send_publish("keep.two", message).await {
                Ok(ack) => match ack.await {
                    Ok(_) => break,
                    Err(error) => assert!(Instant::now() < deadline, "not stored with a node down: {error}"),
                },
                Err(error) => assert!(Instant::now() < deadline, "not sent with a node down: {error}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        cluster.start_again(1);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let messages = match jetstream.get_stream("KEEP").await {
                Ok(mut stream) => stream.info().await.map(|info| info.state.messages).ok(),
                Err(_) => None,
            };
            if messages == Some(2) {
                break;
            }
            assert!(Instant::now() < deadline, "the stream holds {messages:?} messages, not 2");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
