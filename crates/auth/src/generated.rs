//! The tables this crate writes for docs/SECURITY.md (`waybill-token policy-markdown`,
//! `privacy-markdown`): each sits between two marker comments, so the doc can be checked
//! against the code and regenerated in place.

/// `body` as the doc carries it: after `begin` and a blank line, before a blank line and `end`.
pub(crate) fn between_markers(begin: &str, body: &str, end: &str) -> String {
    format!("{begin}\n\n{body}\n{end}\n")
}

/// Fails unless docs/SECURITY.md carries `generated` (markers included) exactly; `tables`
/// names what differs, `command` is the `waybill-token` subcommand that prints it.
#[cfg(test)]
pub(crate) fn assert_security_md_carries(
    generated: &str,
    begin: &str,
    end: &str,
    tables: &str,
    command: &str,
) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/SECURITY.md");
    let text = std::fs::read_to_string(path).expect("docs/SECURITY.md exists");
    let from = text.find(begin).expect("docs/SECURITY.md has the BEGIN marker");
    let to = text.find(end).expect("docs/SECURITY.md has the END marker") + end.len() + 1;
    assert!(
        text.get(from..to) == Some(generated),
        "docs/SECURITY.md's {tables} from crates/auth: replace the text between the markers with the \
         output of `cargo run -q -p waybill-auth --bin waybill-token -- {command}`"
    );
}
