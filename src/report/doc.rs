//! The postmortem as a small document model: headings, paragraphs, lists and tables of inline
//! text. It is drafted once (`draft.rs`) and rendered by `markdown.rs` and `html.rs`, so both
//! outputs say the same thing. Text in the model is raw (redacted, not escaped): each renderer
//! escapes for its own format, at one place, so log text can never become markup.

/// A run of inline text.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Strong(String),
    Emph(String),
    /// Log text quoted as written (a statement, a message).
    Code(String),
    /// A link to a file inside the output folder (our own relative paths only).
    Link {
        text: String,
        href: String,
    },
}

/// One line of inline runs: a paragraph, a list item, a table cell.
pub type Line = Vec<Inline>;

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading {
        level: u8,
        text: String,
    },
    Paragraph(Line),
    /// A remark set apart (the draft's header note).
    Note(Line),
    List(Vec<Line>),
    Numbered(Vec<Line>),
    /// Items for the team to tick off.
    Checklist(Vec<Line>),
    Table {
        header: Vec<String>,
        /// Right-aligned (numeric) columns.
        numeric: Vec<bool>,
        rows: Vec<Vec<Line>>,
    },
    /// A chart: `path` relative to the output folder, `alt` its title; `also` names other
    /// renderings of it (the SVG).
    Image {
        path: String,
        alt: String,
        also: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

pub fn text(s: impl Into<String>) -> Inline {
    Inline::Text(s.into())
}

pub fn strong(s: impl Into<String>) -> Inline {
    Inline::Strong(s.into())
}

pub fn code(s: impl Into<String>) -> Inline {
    Inline::Code(s.into())
}

pub fn emph(s: impl Into<String>) -> Inline {
    Inline::Emph(s.into())
}

/// Makes text safe to lay out on one line, whatever the log held: ANSI colour sequences are
/// dropped, line breaks and tabs become spaces, other control characters and the invisible
/// bidirectional controls (which can make a line read differently than it is, "Trojan Source")
/// become U+FFFD so their presence stays visible.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters intermediates final-byte. Other escapes: drop ESC and
                // the one character after it.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    while let Some(&n) = chars.peek() {
                        chars.next();
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Shortens text to `max_chars`, marking the cut.
pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_flattens_and_marks() {
        assert_eq!(sanitize("a\nb\r\tc"), "a b  c");
        assert_eq!(sanitize("\u{1b}[31;1mred\u{1b}[0m text"), "red text");
        assert_eq!(sanitize("x\u{0}y\u{7f}"), "x\u{FFFD}y\u{FFFD}");
        assert_eq!(sanitize("evil\u{202E}txt.exe"), "evil\u{FFFD}txt.exe");
        assert_eq!(sanitize("trailing escape \u{1b}"), "trailing escape ");
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("ééé", 2), "éé…");
    }
}
