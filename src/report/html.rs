//! `postmortem.html`: the drafted document as one self-contained page for people who would
//! rather open a page than a Markdown file. Charts are inlined as `data:` URIs; there is no
//! script and no external resource, and a Content-Security-Policy says so to the browser, so
//! even a mistake here could not load or run anything. Every text is HTML-escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use base64::Engine;

use super::doc::{Block, Doc, Inline, Line, sanitize};

/// The page allows nothing but its own styles and inline images.
const CSP: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; color: #1d1d1f; font: 15px/1.5 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 40px 60px; background: #fff; }
h1 { font-size: 28px; margin: 8px 0 16px; }
h2 { font-size: 21px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 17px; margin: 22px 0 8px; }
p, li { overflow-wrap: anywhere; }
blockquote { margin: 0 0 16px; padding: 10px 14px; background: #f6f8fa; border-left: 4px solid #8aa4c8; color: #3a3a3a; }
code { font: 13px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f1f1f1; padding: 1px 4px; border-radius: 3px; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 16px; font-size: 13.5px; }
th, td { border: 1px solid #d8d8d8; padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
/* Times and sources are short: keep them on one line; long log text wraps instead. */
td:first-child { white-space: nowrap; }
th { background: #f0f2f5; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
ul.tasks { list-style: none; padding-left: 6px; }
ul.tasks li::before { content: "\2610\00a0"; }
figure { margin: 18px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e2e2; }
figcaption { color: #555; font-size: 13px; }
"#;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let text = sanitize(text);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn inline(run: &Inline, images: &BTreeMap<String, Vec<u8>>) -> String {
    match run {
        Inline::Text(t) => escape(t),
        Inline::Strong(t) => format!("<strong>{}</strong>", escape(t)),
        Inline::Emph(t) => format!("<em>{}</em>", escape(t)),
        Inline::Code(t) => format!("<code>{}</code>", escape(t)),
        // Files of the output folder: the page stands alone, so they are named, not linked
        // (a chart is already shown inline).
        Inline::Link { text, href } if images.contains_key(href) || text == href => {
            format!("<code>{}</code>", escape(text))
        }
        Inline::Link { text, href } => {
            format!("{} (<code>{}</code>)", escape(text), escape(href))
        }
    }
}

fn line(runs: &Line, images: &BTreeMap<String, Vec<u8>>) -> String {
    runs.iter().map(|r| inline(r, images)).collect()
}

fn media_type(path: &str) -> &'static str {
    if path.ends_with(".svg") {
        "image/svg+xml"
    } else {
        "image/png"
    }
}

/// Renders the page. `images` maps a chart's path (as the document names it) to its bytes.
pub fn render(doc: &Doc, images: &BTreeMap<String, Vec<u8>>) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        escape(&doc.title),
        escape(&doc.title)
    );
    for block in &doc.blocks {
        match block {
            Block::Heading { level, text } => {
                let level = (*level).clamp(2, 6);
                let _ = writeln!(html, "<h{level}>{}</h{level}>", escape(text));
            }
            Block::Paragraph(runs) => {
                let _ = writeln!(html, "<p>{}</p>", line(runs, images));
            }
            Block::Note(runs) => {
                let _ = writeln!(html, "<blockquote>{}</blockquote>", line(runs, images));
            }
            Block::List(items) | Block::Numbered(items) | Block::Checklist(items) => {
                let (open, close) = match block {
                    Block::Numbered(_) => ("<ol>", "</ol>"),
                    Block::Checklist(_) => ("<ul class=\"tasks\">", "</ul>"),
                    _ => ("<ul>", "</ul>"),
                };
                html.push_str(open);
                html.push('\n');
                for item in items {
                    let _ = writeln!(html, "<li>{}</li>", line(item, images));
                }
                html.push_str(close);
                html.push('\n');
            }
            Block::Table {
                header,
                numeric,
                rows,
            } => {
                let class = |i: usize| {
                    if numeric.get(i).copied().unwrap_or(false) {
                        " class=\"num\""
                    } else {
                        ""
                    }
                };
                html.push_str("<table>\n<thead><tr>");
                for (i, h) in header.iter().enumerate() {
                    let _ = write!(html, "<th{}>{}</th>", class(i), escape(h));
                }
                html.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    html.push_str("<tr>");
                    for i in 0..header.len() {
                        let cell = row.get(i).map_or(String::new(), |c| line(c, images));
                        let _ = write!(html, "<td{}>{cell}</td>", class(i));
                    }
                    html.push_str("</tr>\n");
                }
                html.push_str("</tbody>\n</table>\n");
            }
            Block::Image { path, alt, .. } => {
                html.push_str("<figure>");
                match images.get(path) {
                    Some(bytes) => {
                        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                        let _ = write!(
                            html,
                            "<img src=\"data:{};base64,{data}\" alt=\"{}\">",
                            media_type(path),
                            escape(alt)
                        );
                    }
                    None => {
                        let _ = write!(html, "<p>(chart {} not available)</p>", escape(path));
                    }
                }
                let _ = writeln!(
                    html,
                    "<figcaption>{} — <code>{}</code></figcaption></figure>",
                    escape(alt),
                    escape(path)
                );
            }
        }
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::doc::{code, text};

    #[test]
    fn text_is_escaped_everywhere() {
        let hostile = "<script>alert(1)</script> \"'&\u{202E}";
        let doc = Doc {
            title: hostile.into(),
            blocks: vec![
                Block::Paragraph(vec![text(hostile), code(hostile)]),
                Block::Table {
                    header: vec![hostile.into()],
                    numeric: vec![false],
                    rows: vec![vec![vec![text(hostile)]]],
                },
                Block::Image {
                    path: "charts/x.png".into(),
                    alt: hostile.into(),
                    also: vec![],
                },
            ],
        };
        let mut images = BTreeMap::new();
        images.insert("charts/x.png".to_string(), vec![0x89, b'P', b'N', b'G']);
        let html = render(&doc, &images);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains('\u{202E}'));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;&#39;&amp;\u{FFFD}"));
        assert!(html.contains("src=\"data:image/png;base64,iVBORw==\""));
        assert!(!html.contains("://"), "no external reference: {html}");
    }
}
