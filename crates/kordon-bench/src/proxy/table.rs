//! A table of text cells, printed aligned for a terminal or as Markdown.

pub struct Table {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: header.iter().map(|cell| cell.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The title, then columns padded to their widest cell.
    pub fn plain(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate() {
                if index < widths.len() {
                    widths[index] = widths[index].max(cell.chars().count());
                }
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        let mut text = format!("{}\n{}\n", self.title, line(&self.header));
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        text.push_str(&line(&rule));
        text.push('\n');
        for row in &self.rows {
            text.push_str(&line(row));
            text.push('\n');
        }
        text
    }

    /// The title as a paragraph, then a pipe table.
    pub fn markdown(&self) -> String {
        let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut text = format!("{}\n\n{}", self.title, line(&self.header));
        text.push_str(&line(&vec!["---".to_owned(); self.header.len()]));
        for row in &self.rows {
            text.push_str(&line(row));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_ways() {
        let mut table = Table::new("Bulk:", &["lane", "MB/s"]);
        table.row(vec!["direct".into(), "2500".into()]);
        table.row(vec!["dante SOCKS5".into(), "800".into()]);
        assert_eq!(
            table.plain(),
            "Bulk:\nlane          MB/s\n------------  ----\ndirect        2500\ndante SOCKS5  800\n"
        );
        assert_eq!(
            table.markdown(),
            "Bulk:\n\n| lane | MB/s |\n| --- | --- |\n| direct | 2500 |\n| dante SOCKS5 | 800 |\n"
        );
    }
}
