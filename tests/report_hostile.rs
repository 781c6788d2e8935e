//! Hostile log text cannot inject into the report: run the binary on an incident whose log lines
//! carry Markdown, HTML, links, control characters and personal data, then parse the Markdown
//! with a real CommonMark/GFM parser and read the HTML, and check that every piece of log text
//! stayed text, and that personal data is redacted unless `--no-redact` is given.

mod report_common;

use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use report_common::{HOSTILE_CONFIG, HOSTILE_DEPLOY, report, write_hostile_incident};

struct Outputs {
    _dir: tempfile::TempDir,
    md: String,
    html: String,
    summary: String,
    raw_md: String,
}

/// One redacted run with `--html`, and one `--no-redact` run, shared by the tests.
fn outputs() -> &'static Outputs {
    static OUT: OnceLock<Outputs> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = write_hostile_incident(dir.path());
        let out = dir.path().join("pm");
        let raw = dir.path().join("raw");
        let log_arg = log.to_str().expect("utf-8 path");
        report(&[log_arg, "-o", out.to_str().unwrap(), "--html", "--quiet"]);
        report(&[
            log_arg,
            "-o",
            raw.to_str().unwrap(),
            "--no-redact",
            "--quiet",
        ]);
        let read = |p: std::path::PathBuf| std::fs::read_to_string(&p).expect("read output");
        Outputs {
            md: read(out.join("postmortem.md")),
            html: read(out.join("postmortem.html")),
            summary: read(out.join("summary.json")),
            raw_md: read(raw.join("postmortem.md")),
            _dir: dir,
        }
    })
}

fn gfm() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_MATH
}

#[test]
fn the_incident_is_found_and_its_hostile_changes_are_reported() {
    let o = outputs();
    assert!(o.md.contains("## Timeline"), "{}", o.md);
    assert!(o.summary.contains("\"kind\": \"change\""), "{}", o.summary);
    // The change lines are in the timeline, as text.
    assert!(o.md.contains("deployed auth v1.2.3"), "{}", o.md);
    assert!(o.md.contains("received SIGHUP"), "{}", o.md);
}

#[test]
fn markdown_log_text_stays_text() {
    let o = outputs();
    for c in ['\u{1b}', '\u{202E}', '\u{202C}'] {
        assert!(!o.md.contains(c), "raw control {c:?} in the Markdown");
    }
    let mut in_cell = false;
    let mut cell = String::new();
    let mut cells_with_pipe = 0;
    let mut strong = 0;
    let mut in_strong = false;
    for event in Parser::new_ext(&o.md, gfm()) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML reached the Markdown: {h}"),
            Event::InlineMath(m) | Event::DisplayMath(m) => panic!("math from log text: {m}"),
            Event::Start(Tag::Link { dest_url, .. }) => {
                panic!("a link from log text: {dest_url}")
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                assert!(
                    dest_url.starts_with("charts/") && dest_url.ends_with(".png"),
                    "image from log text: {dest_url}"
                );
            }
            Event::Start(Tag::Strikethrough) => panic!("strikethrough from log text"),
            Event::Start(Tag::Heading { .. }) => {}
            Event::Start(Tag::Strong) => {
                strong += 1;
                in_strong = true;
            }
            Event::End(TagEnd::Strong) => in_strong = false,
            Event::Text(t) if in_strong => {
                assert_ne!(&*t, "bold", "emphasis from log text");
            }
            Event::Start(Tag::TableCell) => {
                in_cell = true;
                cell.clear();
            }
            Event::End(TagEnd::TableCell) => {
                in_cell = false;
                if cell.contains("| col |") {
                    cells_with_pipe += 1;
                    // The whole change line is one cell: nothing split it.
                    assert!(cell.contains("[a](javascript:alert(1))"), "{cell}");
                    assert!(cell.contains("<script>alert(1)</script>"), "{cell}");
                    assert!(cell.contains("`tick` **bold**"), "{cell}");
                }
            }
            Event::Text(t) | Event::Code(t) if in_cell => cell.push_str(&t),
            _ => {}
        }
    }
    assert!(
        cells_with_pipe >= 1,
        "the deploy line is not one table cell"
    );
    // Bold is ours only (labels), never the log's `**bold**`.
    assert!(strong > 0);
    // Headings come from the draft only.
    let headings = o.md.lines().filter(|l| l.starts_with('#')).count();
    let ours = o
        .md
        .lines()
        .filter(|l| l.starts_with("# Postmortem") || l.starts_with("## ") || l.starts_with("### "))
        .count();
    assert_eq!(headings, ours);
}

#[test]
fn html_log_text_stays_text() {
    let o = outputs();
    assert!(!o.html.contains("<script"), "script element in the page");
    assert!(!o.html.contains("<img src=x"), "injected image element");
    assert!(o.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(o.html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(o.html.contains("&amp;lt;b&amp;gt;"));
    assert!(
        !o.html.contains("</td></tr><tr><td>"),
        "table structure injected"
    );
    assert!(!o.html.contains('\u{202E}') && !o.html.contains('\u{1b}'));
    assert!(o.html.contains("Content-Security-Policy"));
    // Self-contained: every image is inline, nothing is fetched.
    let images = o.html.matches("<img ").count();
    let inline = o.html.matches("<img src=\"data:image/png;base64,").count();
    assert_eq!(images, 4);
    assert_eq!(images, inline);
    for external in [
        "src=\"http",
        "href=\"http",
        "url(",
        "@import",
        "<link",
        "<iframe",
    ] {
        assert!(!o.html.contains(external), "external reference {external}");
    }
}

#[test]
fn personal_data_is_redacted_by_default() {
    let o = outputs();
    for (name, text) in [("md", &o.md), ("html", &o.html), ("summary", &o.summary)] {
        for secret in [
            "jane.doe@example.com",
            "203.0.113.9",
            "eyJhbGciOiJIUzI1NiJ9",
            "u-1000",
            "u-1042",
        ] {
            assert!(!text.contains(secret), "{secret} in {name}");
        }
    }
    assert!(o.summary.contains("\"redacted\": true"));
    assert!(
        o.md.contains("&lt;email&gt;") || o.md.contains("<email>"),
        "{}",
        o.md
    );
    assert!(
        o.raw_md.contains("jane.doe@example.com"),
        "--no-redact keeps them"
    );
    assert!(o.raw_md.contains("203.0.113.9"));
}

#[test]
fn hostile_lines_are_quoted_whole() {
    // The fixtures' own text is what the tests look for: keep them in sync.
    assert!(HOSTILE_DEPLOY.contains("| col |"));
    assert!(HOSTILE_CONFIG.contains("onerror"));
}
