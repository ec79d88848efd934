//! The pages. Each handler takes the [`Session`](crate::session::Session), calls the
//! services as that person, and renders; a refusal becomes a
//! [`Failure`](crate::backend::Failure) page.

pub mod board;
pub mod finance;
pub mod layout;
pub mod live;
pub mod orders;
pub mod reports;
pub mod review;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use waybill_auth::Permission;

use crate::backend::Failure;
use crate::session::Session;

/// What a page that reads its query string is given: the console, the signed-in person
/// (without a session the browser is sent to sign in) and the raw query string.
pub struct Page {
    pub console: crate::State,
    pub session: Session,
    pub query: Option<String>,
}

impl FromRequestParts<crate::State> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &crate::State) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, console).await?;
        let query = parts.uri.query().map(str::to_owned);
        Ok(Page { console: console.clone(), session, query })
    }
}

/// A day filter (`from`, `until`) as midnight UTC; one that does not parse is a 400
/// naming `field`.
pub(crate) fn day_filter(
    field: &'static str,
    value: &Option<String>,
) -> Result<Option<prost_types::Timestamp>, Failure> {
    let day = value.as_deref().map(crate::format::parse_day).transpose();
    day.map_err(|problem| Failure::bad_input(field, problem))
}

/// The query string of the filters that are set (for links that keep them).
pub fn query_string(filters: &[(&str, &Option<String>)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, value) in filters {
        if let Some(value) = value {
            query.append_pair(key, value);
        }
    }
    query.finish()
}

/// `/`: the first page the person's roles may see.
pub async fn home(session: Session) -> Response {
    let first = [
        (Permission::ReviewOrders, "/review"),
        (Permission::ReadOperations, "/board"),
        (Permission::ReadOrders, "/orders"),
        (Permission::ReadKpis, "/reports"),
    ]
    .into_iter()
    .find(|(permission, _)| session.may(*permission));
    match first {
        Some((_, page)) => Redirect::to(page).into_response(),
        None => layout::page(
            &session,
            "Nothing to show",
            maud::html! { p { "The console has no page yet for your roles." } },
        )
        .into_response(),
    }
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, layout::problem("Not found", "There is no such page.")).into_response()
}
