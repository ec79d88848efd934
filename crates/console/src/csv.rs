//! CSV exports (RFC 4180): every field quoted, quotes doubled, CRLF line ends. A text
//! field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
//! prefixed with `'` (OWASP's advice on CSV injection); numbers are left as they are.

use std::future::Future;

use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use crate::backend::Failure;
use crate::pages::Page;
use crate::session::Session;

/// The GET route of an export: `build` writes the whole file from the query string, as the
/// signed-in person may see it (their token), and it is sent as `file_name`; a failed call
/// is answered as on any page.
pub fn export<F, Fut>(file_name: &'static str, build: F) -> MethodRouter<crate::State>
where
    F: Fn(crate::State, Session, Option<String>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Csv, Failure>> + Send + 'static,
{
    get(move |Page { console, session, query }: Page| async move {
        match build(console, session, query).await {
            Ok(csv) => csv.download(file_name),
            Err(failure) => failure.into_response(),
        }
    })
}

/// A table being written as CSV.
pub struct Csv {
    text: String,
}

impl Csv {
    pub fn new(header: &[&str]) -> Csv {
        let mut csv = Csv { text: String::new() };
        csv.row(header.iter().copied());
        csv
    }

    pub fn row<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) {
        let fields: Vec<String> = fields.into_iter().map(field).collect();
        self.text.push_str(&fields.join(","));
        self.text.push_str("\r\n");
    }

    /// The download, named `file_name`.
    pub fn download(self, file_name: &str) -> Response {
        let disposition = format!("attachment; filename=\"{file_name}\"");
        (
            [(CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (CONTENT_DISPOSITION, disposition)],
            self.text,
        )
            .into_response()
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

fn field(value: &str) -> String {
    let is_number = value.parse::<f64>().is_ok();
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let value = if risky && !is_number { format!("'{value}") } else { value.to_owned() };
    format!("\"{}\"", value.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let mut csv = Csv::new(&["id", "note"]);
        csv.row(["o-1", "says \"hi\", then leaves"]);
        csv.row(["-12.5", "=HYPERLINK(\"x\")"]);
        assert_eq!(
            csv.text(),
            "\"id\",\"note\"\r\n\"o-1\",\"says \"\"hi\"\", then leaves\"\r\n\"-12.5\",\"'=HYPERLINK(\"\"x\"\")\"\r\n"
        );
    }
}
