//! Who is calling. Every event records its actor, read here from request metadata.
//!
//! This is the one interceptor slot for authentication: today it trusts the
//! `x-waybill-actor` header ("user:alice", "system:billing"); a later issue replaces the
//! body of `identify_caller` with real authentication (mTLS identity or a token) without
//! touching any service.

use tonic::{Request, Status};
use waybill_types::Actor;

/// Metadata key naming the caller: `<user|system>:<id>`.
pub const ACTOR_HEADER: &str = "x-waybill-actor";
/// Optional metadata key carrying a correlation id across systems.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// Optional metadata key on a command: the log position the caller has seen (a write it
/// made through another replica or service). The command decides on a state that has
/// applied at least that much, as queries do with their `min_position` field.
pub const MIN_POSITION_HEADER: &str = "waybill-min-position";

/// What the interceptor learned about a call; handlers read it from the extensions.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub actor: Actor,
    pub correlation_id: Option<String>,
    /// From [`MIN_POSITION_HEADER`]; 0 when absent.
    pub min_position: u64,
}

impl RequestContext {
    /// The metadata a command records and honours, for the request `request_id`.
    pub fn command_meta(self, request_id: String) -> waybill_command::CommandMeta {
        let correlation_id = self.correlation_id.unwrap_or_else(|| request_id.clone());
        waybill_command::CommandMeta {
            request_id,
            actor: self.actor,
            correlation_id,
            min_position: self.min_position,
        }
    }
}

/// The interceptor: identifies the caller and stores a [`RequestContext`] in the request.
/// A malformed header is refused rather than guessed.
#[allow(clippy::result_large_err)] // tonic's interceptor signature
pub fn identify_caller(mut request: Request<()>) -> Result<Request<()>, Status> {
    let actor = match request.metadata().get(ACTOR_HEADER) {
        None => Actor::system("anonymous"),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| Status::unauthenticated(format!("{ACTOR_HEADER} must be ASCII")))?;
            parse_actor(text).ok_or_else(|| {
                Status::unauthenticated(format!(
                    "{ACTOR_HEADER} must look like user:<id> or system:<id> (id 1-64 visible characters)"
                ))
            })?
        }
    };
    let correlation_id = request
        .metadata()
        .get(CORRELATION_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_owned);
    let min_position = match request.metadata().get(MIN_POSITION_HEADER) {
        None => 0,
        Some(value) => {
            value.to_str().ok().and_then(|text| text.trim().parse::<u64>().ok()).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "{MIN_POSITION_HEADER} must be a log position (a whole number)"
                ))
            })?
        }
    };
    request.extensions_mut().insert(RequestContext { actor, correlation_id, min_position });
    Ok(request)
}

fn parse_actor(text: &str) -> Option<Actor> {
    let (kind, id) = text.split_once(':')?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|byte| byte.is_ascii_graphic()) {
        return None;
    }
    match kind {
        "user" => Some(Actor::user(id)),
        "system" => Some(Actor::system(id)),
        _ => None,
    }
}

/// The context the interceptor stored; a call that bypassed it counts as anonymous.
pub fn context_of<T>(request: &Request<T>) -> RequestContext {
    request.extensions().get::<RequestContext>().cloned().unwrap_or(RequestContext {
        actor: Actor::system("anonymous"),
        correlation_id: None,
        min_position: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_parse_from_the_header() {
        assert_eq!(parse_actor("user:alice"), Some(Actor::user("alice")));
        assert_eq!(parse_actor("system:billing"), Some(Actor::system("billing")));
        // Services act as themselves only from inside; callers cannot claim to be one.
        assert_eq!(parse_actor("service:intake"), None);
        assert_eq!(parse_actor("alice"), None);
        assert_eq!(parse_actor("user:"), None);
        assert_eq!(parse_actor("user:has space"), None);
    }

    #[test]
    fn a_malformed_actor_header_is_refused() {
        let mut request = Request::new(());
        request.metadata_mut().insert(ACTOR_HEADER, "nobody".parse().expect("ascii"));
        let status = identify_caller(request).expect_err("refused");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }
}
