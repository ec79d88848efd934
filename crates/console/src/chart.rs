//! Horizontal bar charts as inline SVG, drawn on the server: one bar per rate with its
//! percentage written beside it and an empty track where nothing was counted ([`bars`]), or
//! one bar per amount of money, scaled to the largest, negative ones in red ([`amounts`]).
//! No script and no chart library: what the page shows is what the service answered, in
//! the HTML.

use maud::{Markup, html};

/// One bar: a label and a percentage (0-100), or `None` when nothing was counted.
pub struct Bar<'a> {
    /// Machine name (`on_time_delivery`), on the bar as `data-kpi` for tests and styling.
    pub key: &'a str,
    pub label: &'a str,
    pub percent: Option<f64>,
}

const LABEL_WIDTH: f64 = 230.0;
const TRACK_WIDTH: f64 = 360.0;
const ROW_HEIGHT: f64 = 26.0;

/// The frame every chart shares, titled `title` (also its accessible name): one row of
/// `ROW_HEIGHT` per item, the labels, the track and `text_width` for what is written
/// beside it; `row` draws an item from the top `y` of its row.
fn frame<T>(title: &str, items: &[T], text_width: f64, row: impl Fn(&T, f64) -> Markup) -> Markup {
    let height = ROW_HEIGHT * items.len() as f64 + 10.0;
    let width = LABEL_WIDTH + TRACK_WIDTH + text_width;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label=(title)
            width=(width) height=(height) viewBox=(format!("0 0 {width} {height}")) {
            title { (title) }
            @for (index, item) in items.iter().enumerate() {
                (row(item, 5.0 + ROW_HEIGHT * index as f64))
            }
        }
    }
}

/// The chart, titled `title` (also its accessible name).
pub fn bars(title: &str, bars: &[Bar<'_>]) -> Markup {
    frame(title, bars, 70.0, |bar, y| {
        let filled = bar.percent.map_or(0.0, |percent| TRACK_WIDTH * percent.clamp(0.0, 100.0) / 100.0);
        html! {
            g data-kpi=(bar.key) data-percent=(bar.percent.map(|percent| format!("{percent:.1}")).unwrap_or_default()) {
                text x="0" y=(y + 16.0) font-size="13" { (bar.label) }
                rect x=(LABEL_WIDTH) y=(y + 3.0) width=(TRACK_WIDTH) height="16" fill="#e8ecef" {}
                rect x=(LABEL_WIDTH) y=(y + 3.0) width=(format!("{filled:.1}")) height="16" fill="#2f6f9f" {}
                text x=(LABEL_WIDTH + TRACK_WIDTH + 6.0) y=(y + 16.0) font-size="13" {
                    (bar.percent.map_or_else(|| "n/a".to_owned(), |percent| format!("{percent:.1} %")))
                }
            }
        }
    })
}

/// One amount: a label, the value in minor units, and how it reads (`EUR 12.50`).
pub struct Amount<'a> {
    /// Machine name (`2026-12`, a customer id), on the bar as `data-key`.
    pub key: &'a str,
    pub label: &'a str,
    pub minor: i64,
    pub text: String,
}

/// The chart of `amounts`, titled `title`: each bar as long as its amount's share of the
/// largest absolute amount.
pub fn amounts(title: &str, amounts: &[Amount<'_>]) -> Markup {
    let largest = amounts.iter().map(|amount| amount.minor.unsigned_abs()).max().unwrap_or(0).max(1) as f64;
    frame(title, amounts, 130.0, |amount, y| {
        let filled = TRACK_WIDTH * amount.minor.unsigned_abs() as f64 / largest;
        let colour = if amount.minor < 0 { "#b03a2e" } else { "#2f6f9f" };
        html! {
            g data-key=(amount.key) data-minor=(amount.minor) {
                text x="0" y=(y + 16.0) font-size="13" { (amount.label) }
                rect x=(LABEL_WIDTH) y=(y + 3.0) width=(TRACK_WIDTH) height="16" fill="#e8ecef" {}
                rect x=(LABEL_WIDTH) y=(y + 3.0) width=(format!("{filled:.1}")) height="16" fill=(colour) {}
                text x=(LABEL_WIDTH + TRACK_WIDTH + 6.0) y=(y + 16.0) font-size="13" { (amount.text) }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_as_long_as_its_share_and_says_its_number() {
        let svg = bars(
            "KPIs",
            &[
                Bar { key: "on_time", label: "On time", percent: Some(50.0) },
                Bar { key: "complaints", label: "Complaints", percent: None },
            ],
        )
        .into_string();
        assert!(svg.contains(r#"data-kpi="on_time" data-percent="50.0""#), "{svg}");
        assert!(svg.contains(r#"width="180.0""#), "half of the track: {svg}");
        assert!(svg.contains("50.0 %") && svg.contains("n/a"), "{svg}");
    }

    #[test]
    fn an_amount_is_as_long_as_its_share_of_the_largest_and_a_loss_is_red() {
        let amount = |key, minor| Amount { key, label: key, minor, text: format!("{minor}") };
        let svg = amounts("Profit", &[amount("2026-11", 2_000), amount("2026-12", -500)]).into_string();
        assert!(svg.contains(r#"data-key="2026-11" data-minor="2000""#), "{svg}");
        assert!(
            svg.contains(r##"width="360.0" height="16" fill="#2f6f9f""##),
            "the largest fills the track: {svg}"
        );
        assert!(svg.contains(r##"width="90.0" height="16" fill="#b03a2e""##), "a quarter, in red: {svg}");
    }
}
