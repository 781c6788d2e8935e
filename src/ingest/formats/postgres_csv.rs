//! PostgreSQL csvlog (`log_destination = csvlog`): one CSV record per message, in the column
//! order the server documents. A quoted field may hold newlines; such a record spans lines and is
//! counted from its first line.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::postgres_stderr::severity_of;
use super::{FileContext, LineFormat, LineOutcome, strip_port};
use crate::event::{Event, SourceKind};

pub struct PostgresCsv;

/// A record longer than this (a runaway quoted field) is given up.
const MAX_RECORD_BYTES: usize = 1 << 20;

/// The start of a record: the time with its zone, then a comma; the level column later on.
static RECORD_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z0-9+/_-]+)?,")
        .expect("static regex")
});
static LEVEL_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r",(?:DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC),[0-9A-Z]{5},")
        .expect("static regex")
});

/// Column positions (PostgreSQL 9.0 and later; later versions only add columns at the end).
mod col {
    pub const TIME: usize = 0;
    pub const USER: usize = 1;
    pub const DATABASE: usize = 2;
    pub const PID: usize = 3;
    pub const CONNECTION: usize = 4;
    pub const SEVERITY: usize = 11;
    pub const SQLSTATE: usize = 12;
    pub const MESSAGE: usize = 13;
    pub const DETAIL: usize = 14;
    pub const HINT: usize = 15;
    pub const CONTEXT: usize = 18;
    pub const QUERY: usize = 19;
    pub const APPLICATION: usize = 22;
}

/// A record still open (its quoted field runs on to the next line).
#[derive(Default)]
struct OpenRecord {
    text: String,
}

/// Whether the text ends inside a quoted field (quotes inside fields are doubled, so an odd
/// count means one is open).
fn quote_open(text: &str) -> bool {
    memchr::memchr_iter(b'"', text.as_bytes()).count() % 2 == 1
}

fn record_event(text: &str, cx: &mut FileContext) -> Result<Event, Cow<'static, str>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let record = match reader.records().next() {
        Some(Ok(r)) => r,
        Some(Err(e)) => return Err(Cow::Owned(format!("invalid CSV record ({e})"))),
        None => return Err(Cow::Borrowed("empty CSV record")),
    };
    let field = |i: usize| record.get(i).filter(|s| !s.is_empty());
    if record.len() <= col::MESSAGE {
        return Err(Cow::Borrowed("too few columns for a csvlog record"));
    }
    let time = field(col::TIME)
        .ok_or(Cow::Borrowed("no log_time"))
        .and_then(|t| cx.iso(t).map_err(|e| Cow::Owned(e.to_string())))?;
    let level = field(col::SEVERITY).unwrap_or("LOG");
    let mut event = Event::new(
        time,
        SourceKind::Db,
        severity_of(level),
        field(col::MESSAGE).unwrap_or_default().to_string(),
    );
    event.service = Some("postgresql".to_string());
    event.user = field(col::USER).map(str::to_string);
    event.client = field(col::CONNECTION)
        .filter(|c| *c != "[local]")
        .map(|c| strip_port(c).to_string());
    let mut attr = |key: &str, i: usize| {
        if let Some(v) = field(i) {
            event.attrs.push((key.to_string(), v.to_string()));
        }
    };
    attr("database", col::DATABASE);
    attr("pid", col::PID);
    attr("sqlstate", col::SQLSTATE);
    attr("detail", col::DETAIL);
    attr("hint", col::HINT);
    attr("context", col::CONTEXT);
    attr("statement", col::QUERY);
    attr("application", col::APPLICATION);
    event.attrs.push(("level".to_string(), level.to_string()));
    Ok(event)
}

impl LineFormat for PostgresCsv {
    /// Not cut into chunks: a quoted field may run on over lines.
    fn chunkable(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "postgres-csvlog"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        r#"2023-10-15 15:00:01.002 EDT,"app","auth",48301,"10.0.3.7:51544",652c3a11.bcad,3,"SELECT",2023-10-15 14:58:09 EDT,5/3,0,ERROR,42P01,"relation ""sessions"" does not exist",,,,,,"SELECT user_id FROM sessions WHERE token = $1",15,,"auth-api","client backend",,0"#
    }

    fn fields(&self) -> &'static str {
        "time, user, database, pid, client, level, SQLSTATE, message, detail, hint, context, statement, application (multi-line quoted fields joined)"
    }

    fn sniff(&self, line: &str) -> u8 {
        if RECORD_START.is_match(line) && LEVEL_COLUMN.is_match(line) {
            95
        } else {
            0
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let open = std::mem::take(&mut cx.state::<OpenRecord>().text);
        let text = if open.is_empty() {
            if !RECORD_START.is_match(line) {
                return LineOutcome::Unparsed(Cow::Borrowed("not a csvlog record"));
            }
            Cow::Borrowed(line)
        } else {
            Cow::Owned(open + "\n" + line)
        };
        if quote_open(&text) {
            if text.len() > MAX_RECORD_BYTES {
                return LineOutcome::Unparsed(Cow::Borrowed(
                    "csvlog record longer than 1 MiB (unclosed quote?)",
                ));
            }
            cx.state::<OpenRecord>().text = text.into_owned();
            return LineOutcome::Prefix;
        }
        match record_event(&text, cx) {
            Ok(event) => {
                out.push(event);
                LineOutcome::Parsed
            }
            Err(reason) => LineOutcome::Unparsed(reason),
        }
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["postgres", "pg", ".csv"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn one_line_record() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let line = PostgresCsv.example();
        assert!(PostgresCsv.sniff(line) > 90);
        assert_eq!(
            PostgresCsv.parse(line, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.002Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.message, "relation \"sessions\" does not exist");
        assert_eq!(e.user.as_deref(), Some("app"));
        assert_eq!(e.client.as_deref(), Some("10.0.3.7"));
        assert_eq!(e.attr("sqlstate"), Some("42P01"));
        assert_eq!(
            e.attr("statement"),
            Some("SELECT user_id FROM sessions WHERE token = $1")
        );
    }

    #[test]
    fn record_with_a_newline_in_a_quoted_field() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let first = r#"2024-03-01 08:00:00.100 UTC,"ops","inventory",911,"[local]",65e18b2a.38f,1,"idle",2024-03-01 07:59:58 UTC,3/12,0,LOG,00000,"automatic vacuum of table ""inventory.public.items"": index scans: 1"#;
        assert_eq!(
            PostgresCsv.parse(first, &mut cx, &mut out),
            LineOutcome::Prefix
        );
        let last = r#"pages: 0 removed, 88 remain",,,,,,,,,"""#;
        assert_eq!(
            PostgresCsv.parse(last, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert!(out[0].message.ends_with("pages: 0 removed, 88 remain"));
        assert_eq!(out[0].client, None);
    }
}
