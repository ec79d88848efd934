//! Who is signed in, and the protection of every form.
//!
//! Sign-in takes a Waybill token (`waybill token mint` in development, the identity
//! provider's in production), verifies it with the keys the services trust, and keeps it in
//! the `waybill_session` cookie: HttpOnly (no script reads it), SameSite=Strict (no other
//! site's page makes the browser send it), `Secure` behind TLS (`--secure-cookies`). Every
//! request verifies it again, so an expired token ends the session.
//!
//! CSRF: besides SameSite, every POST carries the `csrf` field, which must equal the
//! `waybill_csrf` cookie (a random value, made when the sign-in form is first shown and
//! made anew at sign-in). The sign-in form itself is protected the same way, so another
//! site cannot sign a browser in under its own token.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, RawQuery, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use waybill_auth::{Identity, Permission};

use crate::pages::layout;
use crate::{Console, State as Shared};

const SESSION_COOKIE: &str = "waybill_session";
const CSRF_COOKIE: &str = "waybill_csrf";
/// The form field every POST carries.
pub const CSRF_FIELD: &str = "csrf";

/// A signed-in person: the verified identity, the token to call the services with, when
/// it expires, and the CSRF value the page's forms carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub identity: Identity,
    pub token: String,
    /// The token's `exp`: the end of the session (an open live page stops then).
    pub expires_at: std::time::SystemTime,
    pub csrf: String,
}

impl Session {
    /// Whether any of the person's roles grants `permission` (what the navigation shows;
    /// the services decide what a call may do).
    pub fn may(&self, permission: Permission) -> bool {
        self.identity.roles.iter().any(|role| role.grants(permission))
    }
}

/// A page for signed-in people only: without a valid session the browser is sent to the
/// sign-in form.
impl FromRequestParts<Shared> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Shared) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or_else(|| to_sign_in(false))?;
        let claims = console.verifier.verify_claims(token).map_err(|error| {
            tracing::info!(%error, "session token refused");
            to_sign_in(true)
        })?;
        let csrf = cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default().to_owned();
        let expires_at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(claims.exp);
        Ok(Session { identity: claims.identity, token: token.to_owned(), expires_at, csrf })
    }
}

fn to_sign_in(expired: bool) -> Response {
    Redirect::to(if expired { "/sign-in?expired=1" } else { "/sign-in" }).into_response()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(key, value)| (key == name && !value.is_empty()).then_some(value))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, the whole site; `max_age` 0 deletes.
fn set_cookie(console: &Console, name: &str, value: &str, max_age: Option<u32>) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    if console.secure_cookies {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn new_csrf() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Whether the form's `csrf` field is the browser's CSRF cookie (compared in constant time).
pub fn csrf_matches(headers: &HeaderMap, form: &Form) -> bool {
    let (Some(expected), Some(sent)) = (cookie(headers, CSRF_COOKIE), form.get(CSRF_FIELD)) else {
        return false;
    };
    expected.len() == sent.len()
        && expected.bytes().zip(sent.bytes()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
}

/// The refusal of a POST whose CSRF field is missing or wrong; nothing was done.
pub fn csrf_refused() -> Response {
    let detail = "The form did not carry this browser's CSRF token, so nothing was done. \
                  Open the page again and resubmit.";
    (StatusCode::FORBIDDEN, layout::problem("Form expired or forged", detail)).into_response()
}

/// A form or query string, decoded (`application/x-www-form-urlencoded`).
#[derive(Clone, Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(encoded: &[u8]) -> Form {
        Form(form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// A request's query string (absent: empty).
    pub fn query(query: Option<String>) -> Form {
        Form::parse(query.unwrap_or_default().as_bytes())
    }

    /// [`Form::get`], owned.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    /// The first value of `key`, trimmed; `None` when absent or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

/// GET /sign-in: the form; makes this browser's CSRF cookie if it has none.
pub async fn sign_in_form(State(console): State<Shared>, headers: HeaderMap, query: RawQuery) -> Response {
    let expired = Form::query(query.0).get("expired").is_some();
    let notice = expired
        .then_some("Your session has ended (the token expired or is no longer trusted): sign in again.");
    sign_in_page(&console, &headers, StatusCode::OK, notice)
}

fn sign_in_page(
    console: &Console,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let existing = cookie(headers, CSRF_COOKIE).map(str::to_owned);
    let csrf = existing.clone().unwrap_or_else(new_csrf);
    let mut response = (status, layout::sign_in(&csrf, notice)).into_response();
    if existing.is_none() {
        response.headers_mut().append(SET_COOKIE, set_cookie(console, CSRF_COOKIE, &csrf, None));
    }
    response
}

/// POST /sign-in: verifies the pasted token; on success sets the session cookie (and a
/// new CSRF value) and goes to the first page the person's roles may see.
pub async fn sign_in(State(console): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form = Form::parse(&body);
    if !csrf_matches(&headers, &form) {
        return csrf_refused();
    }
    let token = form.get("token").map(|token| token.strip_prefix("Bearer ").unwrap_or(token).trim());
    let Some(token) = token else {
        return sign_in_page(
            &console,
            &headers,
            StatusCode::BAD_REQUEST,
            Some("token: paste a Waybill token."),
        );
    };
    let identity = match console.verifier.verify(token) {
        Ok(identity) => identity,
        Err(error) => {
            let message = format!("token: {error}.");
            return sign_in_page(&console, &headers, StatusCode::UNAUTHORIZED, Some(&message));
        }
    };
    tracing::info!(sub = %identity.sub, "signed in");
    let mut response = Redirect::to("/").into_response();
    let cookies = response.headers_mut();
    cookies.append(SET_COOKIE, set_cookie(&console, SESSION_COOKIE, token, None));
    cookies.append(SET_COOKIE, set_cookie(&console, CSRF_COOKIE, &new_csrf(), None));
    response
}

/// POST /sign-out: forgets the token (both cookies deleted).
pub async fn sign_out(State(console): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if !csrf_matches(&headers, &Form::parse(&body)) {
        return csrf_refused();
    }
    let mut response = Redirect::to("/sign-in").into_response();
    let cookies = response.headers_mut();
    cookies.append(SET_COOKIE, set_cookie(&console, SESSION_COOKIE, "", Some(0)));
    cookies.append(SET_COOKIE, set_cookie(&console, CSRF_COOKIE, "", Some(0)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie_header: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie_header).expect("header"));
        headers
    }

    #[test]
    fn a_post_needs_the_csrf_field_to_equal_the_cookie() {
        let browser = headers("other=1; waybill_csrf=abc123; waybill_session=t");
        assert!(csrf_matches(&browser, &Form::parse(b"csrf=abc123&x=1")));
        assert!(!csrf_matches(&browser, &Form::parse(b"csrf=abc124")));
        assert!(!csrf_matches(&browser, &Form::parse(b"csrf=abc12")));
        assert!(!csrf_matches(&browser, &Form::parse(b"x=1")));
        assert!(!csrf_matches(&headers("waybill_session=t"), &Form::parse(b"csrf=")));
    }

    #[test]
    fn form_values_are_decoded_and_blank_ones_are_absent() {
        let form = Form::parse(b"reason=too+heavy%21&empty=+&customer=c-1");
        assert_eq!(form.get("reason"), Some("too heavy!"));
        assert_eq!(form.get("empty"), None);
        assert_eq!(form.get("missing"), None);
        assert_eq!(form.get("customer"), Some("c-1"));
    }
}
