//! The pages. Each handler takes the [`Session`](crate::session::Session), calls the
//! services as that person, and renders; a refusal becomes a
//! [`Failure`](crate::backend::Failure) page.

pub mod layout;
pub mod orders;
pub mod reports;
pub mod review;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use waybill_auth::Permission;

use crate::session::Session;

/// `/`: the first page the person's roles may see.
pub async fn home(session: Session) -> Response {
    let first = [
        (Permission::ReviewOrders, "/review"),
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
