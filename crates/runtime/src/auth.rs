//! Who is calling, and may they: the one authentication and authorisation layer, on every
//! gRPC port (`grpc::serve` puts it in front of every service), so no service's code
//! decides it.
//!
//! Every call but health and reflection (`waybill_auth::is_public`) must carry
//! `authorization: Bearer <jwt>`. The token is verified (`waybill_auth::Verifier`: key id,
//! signature, issuer, audience, expiry) and the call's path looked up in
//! `waybill_auth::POLICY`; the caller's roles must grant the permission it names.
//! Missing or bad tokens get UNAUTHENTICATED with the reason, a missing permission
//! PERMISSION_DENIED naming it, a path the policy does not know PERMISSION_DENIED too.
//!
//! What the layer learned goes into the request's extensions as a [`RequestContext`]: the
//! actor recorded on every event is the verified subject, always `user:<sub>`, so no caller
//! can be recorded as `system:*` or `service:*` (those are the services' own doings).

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use tonic::{Request, Status};
use waybill_auth::{Identity, Verifier, VerifyError};
use waybill_types::Actor;

/// Optional metadata key carrying a correlation id across systems.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
/// Optional metadata key on a command: the log position the caller has seen (a write it
/// made through another replica or service). The command decides on a state that has
/// applied at least that much, as queries do with their `min_position` field.
pub const MIN_POSITION_HEADER: &str = "waybill-min-position";

/// What the layer learned about a call; handlers read it from the extensions.
#[derive(Clone, Debug)]
pub struct RequestContext {
    /// `user:<verified sub>`.
    pub actor: Actor,
    /// The verified caller: roles, and the customer or courier it is bound to (for
    /// scoping objects to their owner).
    pub identity: Arc<Identity>,
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

/// Separation of duties: work nobody does on what they started themselves, or for the
/// customer they act for. Each service checks its own duty on the record it is about to
/// change, before it writes, with [`RequestContext::check_duty`]; the rules are here, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// Accepting or rejecting an order out of the review queue.
    ReviewOrder,
    /// A customer's credit rating, limit or hold.
    SetCredit,
    /// Refunding a return.
    ApproveRefund,
    /// Approving or paying a claim.
    ApproveClaim,
}

impl Duty {
    /// The rule, as PERMISSION_DENIED and docs/SECURITY.md name it.
    pub fn rule(self) -> &'static str {
        match self {
            Duty::ReviewOrder => "nobody reviews an order they placed or one of the customer they act for",
            Duty::SetCredit => "nobody sets the credit of the customer they act for or registered themselves",
            Duty::ApproveRefund => {
                "nobody refunds a return they requested or one of the customer they act for"
            }
            Duty::ApproveClaim => {
                "nobody approves or pays a claim they opened or one of the customer they act for"
            }
        }
    }
}

/// Who started what a duty acts on: the actor of its first event (when the model knows
/// it) and the customer it belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Origin<'a> {
    pub started_by: Option<&'a Actor>,
    pub customer_id: &'a str,
}

impl RequestContext {
    /// PERMISSION_DENIED naming the rule when the caller started `origin` or acts for its
    /// customer; nothing has been written when it answers so.
    #[allow(clippy::result_large_err)] // a Status is what the caller gets back
    pub fn check_duty(&self, duty: Duty, origin: Origin<'_>) -> Result<(), Status> {
        let started_it = origin.started_by.is_some_and(|actor| *actor == self.actor);
        let acts_for_it = self.identity.customer_id.as_deref() == Some(origin.customer_id);
        if started_it || acts_for_it {
            return Err(Status::permission_denied(format!("separation of duties: {}", duty.rule())));
        }
        Ok(())
    }
}

/// The context the layer stored. Every call reaching a handler through `grpc::serve` has
/// one; a handler called without the layer (a unit test of an adapter) gets a caller with
/// no roles, recorded as `user:unauthenticated`, never a `system:` actor.
pub fn context_of<T>(request: &Request<T>) -> RequestContext {
    request.extensions().get::<RequestContext>().cloned().unwrap_or_else(|| RequestContext {
        actor: Actor::user("unauthenticated"),
        identity: Arc::new(Identity {
            sub: "unauthenticated".into(),
            roles: Vec::new(),
            customer_id: None,
            courier_id: None,
        }),
        correlation_id: None,
        min_position: 0,
    })
}

/// The tower layer `grpc::serve` installs.
#[derive(Clone, Debug)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
}

impl AuthLayer {
    pub fn new(verifier: Arc<Verifier>) -> Self {
        Self { verifier }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated { inner, verifier: self.verifier.clone() }
    }
}

/// A service behind [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct Authenticated<S> {
    inner: S,
    verifier: Arc<Verifier>,
}

type HttpResponse = http::Response<tonic::body::Body>;

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<B>, Response = HttpResponse>,
{
    type Response = HttpResponse;
    type Error = S::Error;
    type Future = Either<Ready<Result<HttpResponse, S::Error>>, S::Future>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if waybill_auth::is_public(request.uri().path()) {
            return Either::Right(self.inner.call(request));
        }
        match admit(&self.verifier, &request) {
            Ok(context) => {
                request.extensions_mut().insert(context);
                Either::Right(self.inner.call(request))
            }
            Err(status) => {
                let method = request.uri().path().to_owned();
                tracing::info!(%method, code = ?status.code(), reason = status.message(), "call refused");
                Either::Left(ready(Ok(status.into_http())))
            }
        }
    }
}

/// Authenticates and authorises one call, or says why not.
#[allow(clippy::result_large_err)] // a Status is what the caller gets back
fn admit<B>(verifier: &Verifier, request: &http::Request<B>) -> Result<RequestContext, Status> {
    let headers = request.headers();
    let token = bearer_token(headers).map_err(|error| Status::unauthenticated(error.to_string()))?;
    let identity = verifier.verify(token).map_err(|error| Status::unauthenticated(error.to_string()))?;
    waybill_auth::authorize(request.uri().path(), &identity.roles)
        .map_err(|denied| Status::permission_denied(denied.to_string()))?;
    let correlation_id = headers
        .get(CORRELATION_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_owned);
    let min_position = match headers.get(MIN_POSITION_HEADER) {
        None => 0,
        Some(value) => {
            value.to_str().ok().and_then(|text| text.trim().parse::<u64>().ok()).ok_or_else(|| {
                Status::invalid_argument(format!(
                    "{MIN_POSITION_HEADER} must be a log position (a whole number)"
                ))
            })?
        }
    };
    Ok(RequestContext {
        actor: Actor::user(identity.sub.clone()),
        identity: Arc::new(identity),
        correlation_id,
        min_position,
    })
}

/// The token in `authorization: Bearer <token>`.
fn bearer_token(headers: &http::HeaderMap) -> Result<&str, VerifyError> {
    let value = headers.get(http::header::AUTHORIZATION).ok_or(VerifyError::Missing)?;
    let text =
        value.to_str().map_err(|_| VerifyError::Malformed("the authorization header is not ASCII".into()))?;
    let (scheme, token) = text
        .split_once(' ')
        .ok_or_else(|| VerifyError::Malformed("the authorization header must be `Bearer <token>`".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(VerifyError::Malformed("the authorization header must be `Bearer <token>`".into()));
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use waybill_auth::{Role, Signer};

    use super::*;

    fn call(path: &str, authorization: Option<&str>) -> http::Request<()> {
        let mut request = http::Request::builder().uri(format!("http://localhost{path}"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.body(()).expect("request")
    }

    #[test]
    fn the_actor_is_the_verified_subject_never_a_system() -> anyhow::Result<()> {
        let signer = Signer::generate("unit")?;
        let token =
            signer.mint(Identity::new("system:sla-clock", Role::Administrator), Duration::from_secs(60))?;
        let context = admit(
            &signer.verifier(),
            &call("/waybill.v1.IntakeService/GetOrder", Some(&format!("Bearer {token}"))),
        )
        .expect("admitted");
        assert_eq!(context.actor.to_string(), "user:system:sla-clock");
        Ok(())
    }

    #[test]
    fn refusals_carry_their_codes() -> anyhow::Result<()> {
        let signer = Signer::generate("unit")?;
        let verifier = signer.verifier();
        let path = "/waybill.v1.CrmService/SetCreditRating";
        let status = admit(&verifier, &call(path, None)).expect_err("no token");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        let status = admit(&verifier, &call(path, Some("Basic abc"))).expect_err("not bearer");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        let token = signer.mint(Identity::new("ann", Role::Analyst), Duration::from_secs(60))?;
        let status = admit(&verifier, &call(path, Some(&format!("Bearer {token}")))).expect_err("analyst");
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        assert!(status.message().contains("manage credit"), "{}", status.message());
        Ok(())
    }
}
