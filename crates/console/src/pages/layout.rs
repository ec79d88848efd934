//! The frame of every page: title, navigation for what the person's roles may see, who is
//! signed in, sign-out; the sign-in form and the problem page. One small stylesheet,
//! inline; the only script is an order page's live timeline (`live`).

use maud::{DOCTYPE, Markup, html};
use waybill_auth::Permission;

use crate::session::{CSRF_FIELD, Session};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2733; }
header { background: #1d3b53; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.2rem; align-items: center; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
header .who { margin-left: auto; font-size: .9rem; }
header form { display: inline; }
main { padding: 1rem 1.2rem; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { border-bottom: 1px solid #d5dbe0; padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f5f7; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
form.filters { display: flex; gap: .8rem; align-items: end; flex-wrap: wrap; margin-bottom: .6rem; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
.notice { background: #e7f4e4; border: 1px solid #9cc795; padding: .5rem .8rem; }
.problem { background: #fbeaea; border: 1px solid #d99; padding: .5rem .8rem; }
textarea { width: 40rem; max-width: 100%; height: 8rem; font-family: monospace; }
";

fn document(title: &str, header: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Waybill" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                (header)
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page for a signed-in person.
pub fn page(session: &Session, title: &str, body: Markup) -> Markup {
    let roles: Vec<&str> = session.identity.roles.iter().map(|role| role.as_str()).collect();
    let header = html! {
        header {
            a href="/" { "Waybill" }
            @if session.may(Permission::ReadOrders) { a href="/orders" { "Orders" } }
            @if session.may(Permission::ReviewOrders) { a href="/review" { "Review queue" } }
            @if [Permission::ReadOperations, Permission::ReadDeliveries, Permission::ReadCases].into_iter().any(|permission| session.may(permission)) {
                a href="/board" { "Operations" }
            }
            @if session.may(Permission::ReadKpis) { a href="/reports" { "Reports" } a href="/finance" { "Finance" } }
            span.who {
                "Signed in as " strong #who { (session.identity.sub) } " (" (roles.join(", ")) ")"
                @if let Some(customer) = &session.identity.customer_id { " for customer " (customer) }
                " "
                form method="post" action="/sign-out" {
                    (csrf_field(session))
                    button type="submit" { "Sign out" }
                }
            }
        }
    };
    document(title, header, body)
}

/// The hidden CSRF field every POST form carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// The sign-in form.
pub fn sign_in(csrf: &str, notice: Option<&str>) -> Markup {
    let header = html! { header { a href="/" { "Waybill" } } };
    let body = html! {
        @if let Some(notice) = notice { p.problem role="alert" { (notice) } }
        p { "Paste your Waybill token. In development: "
            code { "waybill token mint --key var/dev/auth/waybill-dev.key.pem --role order-reviewer --sub you" } }
        form method="post" action="/sign-in" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            p { textarea name="token" id="token" required placeholder="eyJ..." {} }
            button type="submit" id="sign-in" { "Sign in" }
        }
    };
    document("Sign in", header, body)
}

/// A page saying why something could not be shown or done.
pub fn problem(title: &str, detail: &str) -> Markup {
    let header = html! { header { a href="/" { "Waybill" } } };
    document(title, header, html! { p.problem role="alert" { (detail) } p { a href="/" { "Back" } } })
}
