//! deploy/nats/nats-cluster.conf (with the generated accounts.conf) is a configuration
//! nats-server accepts, given exactly the variables docs/NATS-SECURITY.md names, set here
//! to generated passwords and certificates made at test time.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use waybill_ops::User;
use waybill_testkit::TestCertificates;

/// The variables the production configuration reads, with generated values.
fn variables(certificates: &TestCertificates) -> Vec<(String, String)> {
    let mut variables: Vec<(String, String)> = User::all()
        .into_iter()
        .map(|user| (user.password_variable(), waybill_ops::accounts::random_password()))
        .collect();
    variables.push(("NATS_SERVER_NAME".to_owned(), "nats-1".to_owned()));
    variables.push(("NATS_TLS_CERT_FILE".to_owned(), certificates.cert.display().to_string()));
    variables.push(("NATS_TLS_KEY_FILE".to_owned(), certificates.key.display().to_string()));
    variables.push(("NATS_TLS_CA_FILE".to_owned(), certificates.ca.display().to_string()));
    variables
}

fn check(variables: &[(String, String)]) -> std::process::Output {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats/nats-cluster.conf");
    Command::new(waybill_testkit::find_binary())
        .args(["-c", &config.display().to_string(), "-t"])
        .env_clear()
        .envs(variables.iter().map(|(name, value)| (name.as_str(), value.as_str())))
        .output()
        .unwrap()
}

#[test]
fn nats_server_accepts_the_production_config_with_the_documented_variables() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = TestCertificates::generate(dir.path()).expect("test certificates");
    let variables = variables(&certificates);
    let output = check(&variables);
    assert!(
        output.status.success(),
        "nats-server -t refused deploy/nats/nats-cluster.conf:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The documentation names every variable the file needs: each one left out fails.
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/NATS-SECURITY.md"))
            .unwrap();
    for (name, _) in &variables {
        assert!(docs.contains(name.as_str()), "docs/NATS-SECURITY.md does not name {name}");
        let without: Vec<_> = variables.iter().filter(|(other, _)| other != name).cloned().collect();
        assert!(!check(&without).status.success(), "the config does not need {name}: is it still used?");
    }
}
