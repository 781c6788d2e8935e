//! `postmortem.md`: renders the drafted document as GitHub-flavoured Markdown. Every piece of
//! text is escaped here, so a log line can neither break the layout (tables, lists) nor inject
//! markup, links, images or raw HTML.

use std::fmt::Write;

use super::doc::{Block, Doc, Inline, Line, sanitize};

pub use crate::timeline::{duration, thousands};

/// Where text is going: a table cell must also escape the column separator inside code.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Flow,
    Cell,
}

/// Escapes text for Markdown inline context (table cells included): no markup, no raw HTML,
/// no entity, no link, no line break, no control character.
pub fn escape(text: &str) -> String {
    let text = sanitize(text);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        match c {
            // An underscore inside a word (`login_attempts`, `New_York`) can neither open nor
            // close emphasis in CommonMark: left as is, names stay readable in the source.
            '_' if i > 0
                && chars[i - 1].is_alphanumeric()
                && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) =>
            {
                out.push(c);
            }
            // Every ASCII punctuation that starts inline markup in CommonMark or GFM: emphasis,
            // code, links and images, strikethrough, tables, math ($), footnotes (^).
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' | '!' | '$' | '^' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// Text that begins a line could still open a block (a list, a heading underline): its first
/// character is escaped.
fn escape_line_start(rendered: String) -> String {
    // Leading spaces could make an indented code block.
    let rendered = match rendered.trim_start() {
        t if t.len() == rendered.len() => rendered,
        t => t.to_string(),
    };
    let starts_block = rendered.starts_with(['-', '+', '=', '>'])
        || rendered
            .split_once(['.', ')'])
            .is_some_and(|(digits, rest)| {
                !digits.is_empty()
                    && digits.len() <= 9
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (rest.is_empty() || rest.starts_with(' '))
            });
    if !starts_block {
        return rendered;
    }
    match rendered.find(['.', ')']) {
        Some(i) if rendered.as_bytes()[0].is_ascii_digit() => {
            format!("{}\\{}", &rendered[..i], &rendered[i..])
        }
        _ => format!("\\{rendered}"),
    }
}

/// An inline code span that holds any text: the fence is longer than any run of backticks in
/// it, and it is padded when the text starts or ends with a backtick or a space.
fn code_span(text: &str, context: Context) -> String {
    let mut text = sanitize(text);
    if context == Context::Cell {
        // GFM splits table rows on unescaped pipes before it sees code spans.
        text = text.replace('|', "\\|");
    }
    if text.trim().is_empty() {
        // An empty or all-space span renders as nothing useful; quote it instead.
        return format!("\"{}\"", text);
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Our own relative paths, with the characters that would end a link destination encoded.
fn href(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn inline(run: &Inline, context: Context) -> String {
    match run {
        Inline::Text(t) => escape(t),
        Inline::Strong(t) if t.is_empty() => String::new(),
        Inline::Strong(t) => format!("**{}**", escape(t)),
        Inline::Emph(t) if t.is_empty() => String::new(),
        Inline::Emph(t) => format!("_{}_", escape(t)),
        Inline::Code(t) => code_span(t, context),
        Inline::Link { text, href: h } => format!("[{}]({})", escape(text), href(h)),
    }
}

fn line(runs: &Line, context: Context) -> String {
    let rendered: String = runs.iter().map(|r| inline(r, context)).collect();
    escape_line_start(rendered)
}

/// Renders the document.
pub fn render(doc: &Doc) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {}\n", escape_line_start(escape(&doc.title)));
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text } => {
                let hashes = "#".repeat(usize::from((*level).clamp(2, 6)));
                let _ = writeln!(md, "{hashes} {}\n", escape(text));
            }
            Block::Paragraph(runs) => {
                let _ = writeln!(md, "{}\n", line(runs, Context::Flow));
            }
            Block::Note(runs) => {
                let _ = writeln!(md, "> {}\n", line(runs, Context::Flow));
            }
            Block::List(items) => {
                for item in items {
                    let _ = writeln!(md, "- {}", line(item, Context::Flow));
                }
                md.push('\n');
            }
            Block::Numbered(items) => {
                for (n, item) in items.iter().enumerate() {
                    let _ = writeln!(md, "{}. {}", n + 1, line(item, Context::Flow));
                }
                md.push('\n');
            }
            Block::Checklist(items) => {
                for item in items {
                    let _ = writeln!(md, "- [ ] {}", line(item, Context::Flow));
                }
                md.push('\n');
            }
            Block::Table {
                header,
                numeric,
                rows,
            } => {
                let heads: Vec<String> = header.iter().map(|h| escape(h)).collect();
                let _ = writeln!(md, "| {} |", heads.join(" | "));
                let rule: Vec<&str> = (0..header.len())
                    .map(|i| {
                        if numeric.get(i).copied().unwrap_or(false) {
                            "---:"
                        } else {
                            "---"
                        }
                    })
                    .collect();
                let _ = writeln!(md, "|{}|", rule.join("|"));
                for row in rows {
                    let cells: Vec<String> = (0..header.len())
                        .map(|i| row.get(i).map_or(String::new(), |c| line(c, Context::Cell)))
                        .collect();
                    let _ = writeln!(md, "| {} |", cells.join(" | "));
                }
                md.push('\n');
            }
            Block::Image { path, alt, also } => {
                let _ = write!(md, "![{}]({})", escape(alt), href(path));
                if !also.is_empty() {
                    let links: Vec<String> = also
                        .iter()
                        .map(|p| format!("[{}]({})", escape(p), href(p)))
                        .collect();
                    let _ = write!(md, "\n_Also as {}._", links.join(", "));
                }
                md.push_str("\n\n");
            }
        }
    }
    // One newline at the end, as text files have.
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::doc::{code, strong, text};

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("[x](javascript:alert(1))"),
            "\\[x\\](javascript:alert(1))"
        );
        assert_eq!(
            escape("![img](http://x/y.png)"),
            "\\!\\[img\\](http://x/y.png)"
        );
        assert_eq!(escape("&lt;b&gt;"), "&amp;lt;b&amp;gt;");
        assert_eq!(escape("line\nbreak"), "line break");
        assert_eq!(escape("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(escape("a\u{202E}b"), "a\u{FFFD}b");
        assert_eq!(escape("$x^2$ ~~gone~~"), "\\$x\\^2\\$ \\~\\~gone\\~\\~");
        assert_eq!(
            escape("login_attempts _em_ x_ _y"),
            "login_attempts \\_em\\_ x\\_ \\_y"
        );
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(thousands(14212), "14,212");
        assert_eq!(thousands(999), "999");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(3900), "1 h 5 min");
        assert_eq!(duration(310), "5 min 10 s");
        assert_eq!(duration(42), "42 s");
    }

    #[test]
    fn code_spans_cannot_be_closed_by_log_text() {
        assert_eq!(
            code_span("DROP `x`\nTABLE", Context::Flow),
            "``DROP `x` TABLE``"
        );
        assert_eq!(code_span("`tick", Context::Flow), "`` `tick ``");
        assert_eq!(code_span("a|b", Context::Cell), "`a\\|b`");
        assert_eq!(code_span("a|b", Context::Flow), "`a|b`");
        assert_eq!(code_span(" ", Context::Flow), "\" \"");
    }

    #[test]
    fn lines_cannot_open_blocks() {
        assert_eq!(
            line(&vec![text("- not a list")], Context::Flow),
            "\\- not a list"
        );
        assert_eq!(
            line(&vec![text("12. not a list")], Context::Flow),
            "12\\. not a list"
        );
        assert_eq!(line(&vec![text("=== ")], Context::Flow), "\\=== ");
        assert_eq!(
            line(&vec![text("3.5 s later")], Context::Flow),
            "3.5 s later"
        );
        assert_eq!(line(&vec![text("    indented")], Context::Flow), "indented");
        assert_eq!(line(&vec![text("15:00 fine")], Context::Flow), "15:00 fine");
    }

    #[test]
    fn renders_tables_and_lists() {
        let doc = Doc {
            title: "T".into(),
            blocks: vec![
                Block::Table {
                    header: vec!["A".into(), "N".into()],
                    numeric: vec![false, true],
                    rows: vec![vec![vec![code("x|y")], vec![text("1")]]],
                },
                Block::Checklist(vec![vec![strong("do"), text(" it")]]),
            ],
        };
        assert_eq!(
            render(&doc),
            "# T\n\n| A | N |\n|---|---:|\n| `x\\|y` | 1 |\n\n- [ ] **do** it\n"
        );
    }
}
