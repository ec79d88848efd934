//! Plain text tables for people: columns padded to their widest cell, numbers right-aligned.

/// Renders `rows` under `header`; a cell that parses as a number is right-aligned.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|title| title.chars().count()).collect();
    for row in rows {
        for (column, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(column) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| {
                if cell.parse::<f64>().is_ok() {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut text = line(header.to_vec());
    text.push('\n');
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn pads_columns_and_right_aligns_numbers() {
        let text =
            super::render(&["name", "n"], &[vec!["a".into(), "10".into()], vec!["bbb".into(), "2".into()]]);
        assert_eq!(text, "name  n\na     10\nbbb    2\n");
    }
}
