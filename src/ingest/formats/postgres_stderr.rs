//! PostgreSQL's stderr log with any `log_line_prefix` made of the usual escapes (`%m`, `%t`, `%n`
//! for the time, `%p`, `%c`, `%l`, `%u`, `%d`, `%a`, `%h`/`%r`, `%e`, `%q`...), then
//! `LEVEL:  message`. DETAIL/HINT/QUERY/CONTEXT/LOCATION/STATEMENT lines, tab-indented lines and
//! the `[N-2]`, `[N-3]`... lines of a split message join the message before them.
//!
//! The prefix is not configured: the level marker (a level word, a colon and two spaces) ends it,
//! and the time, pid, user, database and client are picked out of it wherever they stand.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FastLine, FileContext, LineFormat, LineOutcome, append_continuation, strip_port};
use crate::event::{Event, EventView, Severity, SourceKind, TimeNs};
use crate::time::{is_known_zone, parse_epoch_text, parse_naive};

pub struct PostgresStderr;

/// The level marker that ends the prefix.
static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[\s\]:])(DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT):  ",
    )
    .expect("static regex")
});

/// `%m`/`%t` (with the zone that follows, if any) or `%n` anywhere in the prefix.
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)(?:(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)| (?P<offset2>[+-]\d{2}(?::?\d{2})?)\b| (?P<zone>[A-Za-z][A-Za-z0-9/_+-]*))?|(?P<epoch>\b\d{10}\.\d{3}\b)",
    )
    .expect("static regex")
});

static PID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(\d+)\]|\bpid=(\d+)").expect("static regex"));
/// `[%l-N]` session line numbers: `N` > 1 marks a continuation of a split message.
static LINE_PART: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\d+-(\d+)\]").expect("static regex"));
static KEY_VALUES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(user|db|database|app|application|client|host|remote|sql_error_code)\s?=\s?([^\s,\]]*)",
    )
    .expect("static regex")
});
static USER_AT_DB: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s\[])(?P<user>[A-Za-z_][\w$-]*)@(?P<db>[A-Za-z_\[][\w$\]-]*)")
        .expect("static regex")
});

pub fn is_continuation_level(level: &str) -> bool {
    matches!(
        level,
        "DETAIL" | "HINT" | "QUERY" | "CONTEXT" | "LOCATION" | "STATEMENT"
    )
}

/// PostgreSQL's message levels to severities.
pub fn severity_of(level: &str) -> Severity {
    match level {
        "ERROR" => Severity::Error,
        "FATAL" | "PANIC" => Severity::Fatal,
        "WARNING" => Severity::Warn,
        l if l.starts_with("DEBUG") => Severity::Debug,
        _ => Severity::Info,
    }
}

/// A line split at its level marker: prefix, level, message.
pub struct Split<'a> {
    pub prefix: &'a str,
    pub level: &'a str,
    pub message: &'a str,
}

/// Finds the level marker (`ERROR:  `) and splits the line there.
pub fn split_level(line: &str) -> Option<Split<'_>> {
    // Cheap refusal: every PostgreSQL message line holds ":  ".
    memchr::memmem::find(line.as_bytes(), b":  ")?;
    let c = LEVEL.captures(line)?;
    let level = c.get(1)?;
    let whole = c.get(0)?;
    Some(Split {
        prefix: &line[..level.start()],
        level: level.as_str(),
        message: &line[whole.end()..],
    })
}

/// The time written in a prefix, if any.
pub fn prefix_time(prefix: &str, cx: &mut FileContext) -> Option<TimeNs> {
    let c = TIME.captures(prefix)?;
    if let Some(epoch) = c.name("epoch") {
        return parse_epoch_text(epoch.as_str()).ok();
    }
    let naive = parse_naive(c.name("time")?.as_str())?;
    let zone = c
        .name("offset")
        .or(c.name("offset2"))
        .map(|m| m.as_str())
        .or_else(|| {
            // A word after the time is a zone only if it is one (`%t %u` has none).
            c.name("zone")
                .map(|m| m.as_str())
                .filter(|z| is_known_zone(z))
        })
        .unwrap_or("");
    cx.zoned(&naive, zone).ok()
}

/// Whether a line without a level marker is the next part of a split message (`[7-2] ...`).
pub fn is_split_part(line: &str) -> bool {
    LINE_PART
        .captures(line)
        .and_then(|c| c[1].parse::<u32>().ok())
        .is_some_and(|n| n > 1)
}

/// The database event of a message, with what the prefix says about who and where.
pub fn db_event(time: TimeNs, prefix: &str, level: &str, message: &str) -> Event {
    let mut event = Event::new(
        time,
        SourceKind::Db,
        severity_of(level),
        message.to_string(),
    );
    event.service = Some("postgresql".to_string());
    if let Some(c) = PID.captures(prefix) {
        let pid = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        event.attrs.push(("pid".to_string(), pid.to_string()));
    }
    let known = |v: &str| !v.is_empty() && v != "unknown" && v != "local";
    let mut found_user = false;
    for c in KEY_VALUES.captures_iter(prefix) {
        let value = c[2].trim_matches(|ch| ch == '[' || ch == ']');
        if !known(value) {
            continue;
        }
        match &c[1] {
            "user" => {
                event.user = Some(value.to_string());
                found_user = true;
            }
            "db" | "database" => event
                .attrs
                .push(("database".to_string(), value.to_string())),
            "app" | "application" => event
                .attrs
                .push(("application".to_string(), value.to_string())),
            "client" | "host" | "remote" => {
                // %r writes host(port).
                let host = value.split('(').next().unwrap_or(value);
                event.client = Some(strip_port(host).to_string());
            }
            "sql_error_code" => event
                .attrs
                .push(("sqlstate".to_string(), value.to_string())),
            _ => {}
        }
    }
    if !found_user && let Some(c) = USER_AT_DB.captures(prefix) {
        let db = c["db"].trim_matches(|ch| ch == '[' || ch == ']');
        if known(&c["user"]) && known(db) {
            event.user = Some(c["user"].to_string());
            event.attrs.push(("database".to_string(), db.to_string()));
        }
    }
    event.attrs.push(("level".to_string(), level.to_string()));
    event
}

/// The level words of the marker, as [`LEVEL`] lists them.
const LEVEL_WORDS: &[&str] = &[
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "LOG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "FATAL",
    "PANIC",
    "DETAIL",
    "HINT",
    "QUERY",
    "CONTEXT",
    "LOCATION",
    "STATEMENT",
];

/// ASCII whitespace as the regex's `\s` sees it.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// [`split_level`] without the regex, for lines whose prefix is ASCII (`None` otherwise, and
/// when there is no marker: the regex decides). The first `:  ` preceded by a level word that
/// starts the line or follows a space, `]` or `:` is the regex's leftmost match.
fn fast_split_level(line: &str) -> Option<Split<'_>> {
    let b = line.as_bytes();
    for at in memchr::memmem::find_iter(b, b":  ") {
        let before = &b[..at];
        let Some(word) = LEVEL_WORDS.iter().find(|w| before.ends_with(w.as_bytes())) else {
            continue;
        };
        let start = at - word.len();
        let boundary = match start.checked_sub(1).map(|i| b[i]) {
            None => true,
            Some(c) => is_space(c) || c == b']' || c == b':',
        };
        if !boundary {
            continue;
        }
        let prefix = &line[..start];
        if !prefix.is_ascii() {
            return None;
        }
        return Some(Split {
            prefix,
            level: &line[start..at],
            message: &line[at + 3..],
        });
    }
    None
}

/// `[+-]HH(:?MM)?` at the start of `s`: the longest the offset pattern takes, then shorter.
fn offset_lengths(s: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let two = |i: usize| {
        s.get(i..i + 2)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let signed = matches!(s.first(), Some(b'+' | b'-')) && two(1);
    let long = if !signed {
        None
    } else if s.get(3) == Some(&b':') && two(4) {
        Some(6)
    } else if two(3) {
        Some(5)
    } else {
        None
    };
    long.into_iter().chain(signed.then_some(3))
}

/// [`prefix_time`] without the regex, for a prefix that starts with `%m`/`%t` (`None` for any
/// other prefix: the regex decides).
fn fast_prefix_time(prefix: &str, cx: &mut FileContext) -> Option<Option<TimeNs>> {
    let b = prefix.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b' ' | b'T'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut end = 19;
    if matches!(b.get(end), Some(b'.' | b',')) && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    let rest = &b[end..];
    let zone: &str = if rest.first() == Some(&b'Z') {
        "Z"
    } else if let Some(n) = offset_lengths(rest).next() {
        &prefix[end..end + n]
    } else if rest.first() == Some(&b' ') {
        let after = &rest[1..];
        // ` offset` then a word boundary (the longest that has one).
        let spaced = offset_lengths(after).find(|n| after.get(*n).is_none_or(|c| !is_word(*c)));
        match spaced {
            Some(n) => &prefix[end + 1..end + 1 + n],
            None if after.first().is_some_and(u8::is_ascii_alphabetic) => {
                let n = after
                    .iter()
                    .position(|c| !(c.is_ascii_alphanumeric() || b"/_+-".contains(c)))
                    .unwrap_or(after.len());
                let word = &prefix[end + 1..end + 1 + n];
                // A word after the time is a zone only if it is one (`%t %u` has none).
                if is_known_zone(word) { word } else { "" }
            }
            None => "",
        }
    } else {
        ""
    };
    let Some(naive) = parse_naive(&prefix[..end]) else {
        return Some(None);
    };
    Some(cx.zoned(&naive, zone).ok())
}

/// The user [`db_event`] finds in an ASCII prefix: the last known `user=` value, else a known
/// `user@db`. (The same rules as [`KEY_VALUES`] and [`USER_AT_DB`], written out.)
fn fast_user(prefix: &str) -> Option<&str> {
    const KEYS: &[&str] = &[
        "user",
        "db",
        "database",
        "app",
        "application",
        "client",
        "host",
        "remote",
        "sql_error_code",
    ];
    let known = |v: &str| !v.is_empty() && v != "unknown" && v != "local";
    let b = prefix.as_bytes();
    let mut user = None;
    // Every `key=value` has an `=`: most prefixes have none, and skip the scan.
    let mut i = if memchr::memchr(b'=', b).is_some() {
        0
    } else {
        b.len()
    };
    while i < b.len() {
        if i > 0 && is_word(b[i - 1]) {
            i += 1;
            continue;
        }
        let matched = KEYS.iter().find_map(|key| {
            if !b[i..].starts_with(key.as_bytes()) {
                return None;
            }
            let mut j = i + key.len();
            if b.get(j).is_some_and(|c| is_space(*c)) && b.get(j + 1) == Some(&b'=') {
                j += 1;
            }
            if b.get(j) != Some(&b'=') {
                return None;
            }
            j += 1;
            if b.get(j).is_some_and(|c| is_space(*c)) {
                j += 1;
            }
            let value_end = j + b[j..]
                .iter()
                .position(|c| is_space(*c) || *c == b',' || *c == b']')
                .unwrap_or(b.len() - j);
            Some((*key, j, value_end))
        });
        match matched {
            Some((key, start, end)) => {
                let value = prefix[start..end].trim_matches(|c| c == '[' || c == ']');
                if key == "user" && known(value) {
                    user = Some(value);
                }
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    if user.is_some() {
        return user;
    }
    // `user@db`: at the start or after a space or `[`, leftmost.
    memchr::memchr(b'@', b)?;
    let starts = std::iter::once(0).chain(
        b.iter()
            .enumerate()
            .filter(|(_, c)| is_space(**c) || **c == b'[')
            .map(|(k, _)| k + 1),
    );
    for start in starts {
        let Some(first) = b.get(start) else {
            continue;
        };
        if !(first.is_ascii_alphabetic() || *first == b'_') {
            continue;
        }
        let user_end = start
            + b[start..]
                .iter()
                .position(|c| !(is_word(*c) || *c == b'$' || *c == b'-'))
                .unwrap_or(b.len() - start);
        if b.get(user_end) != Some(&b'@') {
            continue;
        }
        let db_start = user_end + 1;
        let Some(db_first) = b.get(db_start) else {
            continue;
        };
        if !(db_first.is_ascii_alphabetic() || *db_first == b'_' || *db_first == b'[') {
            continue;
        }
        let db_end = db_start
            + 1
            + b[db_start + 1..]
                .iter()
                .position(|c| !(is_word(*c) || b"$]-".contains(c)))
                .unwrap_or(b.len() - db_start - 1);
        let user = &prefix[start..user_end];
        let db = prefix[db_start..db_end].trim_matches(|c| c == '[' || c == ']');
        return (known(user) && known(db)).then_some(user);
    }
    None
}

/// Attaches a continuation to a PostgreSQL event: a `DETAIL:  ...` line under its level's name,
/// anything else as plain continuation text (`#011` is a tab escaped by syslog).
pub fn join_continuation(event: &mut Event, line: &str) {
    match split_level(line) {
        Some(s) if is_continuation_level(s.level) => {
            let key = s.level.to_ascii_lowercase();
            append_continuation(event, &key, s.message);
        }
        _ => {
            let text = match LINE_PART.find(line) {
                Some(m) => &line[m.end()..],
                None => line,
            };
            let text = text.trim_start().trim_start_matches("#011").trim();
            append_continuation(event, "continuation", text);
        }
    }
}

impl LineFormat for PostgresStderr {
    fn name(&self) -> &'static str {
        "postgres-stderr"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Db
    }

    fn example(&self) -> &'static str {
        "2023-10-15 14:59:50.123 EDT [48213] app@auth LOG:  statement: DROP TABLE sessions;"
    }

    fn fields(&self) -> &'static str {
        "time (%m/%t/%n, zone abbreviation or offset), pid, user, database, application, client, SQLSTATE, level, message; DETAIL/HINT/STATEMENT/CONTEXT... joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        let Some(split) = split_level(line) else {
            return 0;
        };
        let mut cx = FileContext::new(Default::default());
        if prefix_time(split.prefix, &mut cx).is_some() {
            92
        } else {
            // A level marker alone may come from a wrapper (syslog, a container runtime).
            30
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(split) = split_level(line) else {
            if is_split_part(line) {
                return LineOutcome::Continuation;
            }
            return LineOutcome::Unparsed(Cow::Borrowed(
                "no PostgreSQL level (LOG:, ERROR:...) after a log_line_prefix",
            ));
        };
        if is_continuation_level(split.level) {
            return LineOutcome::Continuation;
        }
        let Some(time) = prefix_time(split.prefix, cx).or(cx.parse.record_time) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable time in the log_line_prefix"));
        };
        out.push(db_event(time, split.prefix, split.level, split.message));
        LineOutcome::Parsed
    }

    fn parse_view<'a>(&self, line: &'a str, cx: &mut FileContext) -> Option<FastLine<'a>> {
        let split = fast_split_level(line)?;
        if is_continuation_level(split.level) {
            return Some(FastLine::Continuation);
        }
        // A client named in the prefix (`client=%h`) is left to the full parse, which reads it.
        if ["client", "host", "remote"]
            .iter()
            .any(|key| split.prefix.contains(key))
        {
            return None;
        }
        let time = fast_prefix_time(split.prefix, cx)??;
        Some(FastLine::Record(EventView {
            time,
            kind: Some(SourceKind::Db),
            service: Some(Cow::Borrowed("postgresql")),
            severity: severity_of(split.level),
            message: Cow::Borrowed(split.message),
            user: fast_user(split.prefix).map(Cow::Borrowed),
            ..EventView::default()
        }))
    }

    fn join(&self, event: &mut Event, line: &str) {
        join_continuation(event, line);
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["postgres", "pg"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    fn parse(line: &str) -> (LineOutcome, Vec<Event>) {
        let mut out = Vec::new();
        let mut cx = FileContext::new(ParseContext::default());
        let o = PostgresStderr.parse(line, &mut cx, &mut out);
        (o, out)
    }

    #[test]
    fn statement_line_with_zone_abbreviation() {
        let (o, events) =
            parse("2023-10-15 14:59:50.123 EDT [48213] LOG:  statement: DROP TABLE sessions;");
        assert_eq!(o, LineOutcome::Parsed);
        let e = &events[0];
        assert_eq!(format_utc(e.time), "2023-10-15T18:59:50.123Z");
        assert_eq!(e.message, "statement: DROP TABLE sessions;");
        assert_eq!(e.attr("pid"), Some("48213"));
        assert_eq!(e.severity, Severity::Info);
    }

    #[test]
    fn error_then_statement_continuation() {
        let (_, events) = parse(
            "2023-10-15 15:00:01.002 EDT [48301] ERROR:  relation \"sessions\" does not exist at character 31",
        );
        let mut e = events[0].clone();
        assert_eq!(e.severity, Severity::Error);
        let cont = "2023-10-15 15:00:01.002 EDT [48301] STATEMENT:  SELECT user_id FROM sessions WHERE token = $1";
        assert_eq!(parse(cont).0, LineOutcome::Continuation);
        PostgresStderr.join(&mut e, cont);
        assert_eq!(
            e.attr("statement"),
            Some("SELECT user_id FROM sessions WHERE token = $1")
        );
    }

    #[test]
    fn prefix_with_user_and_database() {
        let (_, events) = parse(
            "2025-08-16 13:02:58 CEST [885178-1] app@shop FATAL:  password authentication failed for user \"app\"",
        );
        let e = &events[0];
        assert_eq!(e.severity, Severity::Fatal);
        assert_eq!(e.user.as_deref(), Some("app"));
        assert_eq!(e.attr("database"), Some("shop"));
        assert_eq!(format_utc(e.time), "2025-08-16T11:02:58Z");
    }

    #[test]
    fn other_prefixes() {
        // '%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h '
        let (_, e) = parse(
            "2024-02-01 09:12:44 UTC [311]: [4-1] user=billing,db=ledger,app=psql,client=10.2.0.15 ERROR:  deadlock detected",
        );
        assert_eq!(e[0].user.as_deref(), Some("billing"));
        assert_eq!(e[0].client.as_deref(), Some("10.2.0.15"));
        assert_eq!(e[0].attr("database"), Some("ledger"));
        assert_eq!(e[0].severity, Severity::Error);
        // '%p %m ' with a numeric zone, time not first.
        let (_, e) = parse("7781 2024-02-01 09:12:44.250 +03 LOG:  checkpoint starting: time");
        assert_eq!(format_utc(e[0].time), "2024-02-01T06:12:44.250Z");
        // '%n [%p] ' epoch.
        let (_, e) = parse("1706778764.250 [7781] WARNING:  could not flush dirty data");
        assert_eq!(format_utc(e[0].time), "2024-02-01T09:12:44.250Z");
        // Heroku's logplex line: ISO time with offset, then a router prefix.
        let (_, e) = parse(
            "2024-02-01T09:12:44+00:00 app[postgres.1812]: [RED] [22-1]  sql_error_code = 57014 ERROR:  canceling statement due to statement timeout",
        );
        assert_eq!(e[0].attr("sqlstate"), Some("57014"));
        assert_eq!(
            parse("2024-02-01T09:12:44+00:00 app[postgres.1812]: [RED] [22-2]  #011  FROM orders")
                .0,
            LineOutcome::Continuation
        );
        // '%t %u' with no zone: the word after the time is the user, not a zone.
        let (o, e) = parse("2024-02-01 09:12:44 alice LOG:  connection authorized");
        assert_eq!(o, LineOutcome::Parsed);
        assert_eq!(format_utc(e[0].time), "2024-02-01T09:12:44Z");
    }

    #[test]
    fn other_text_is_not_postgres() {
        assert_eq!(PostgresStderr.sniff("\tpages: 0 removed, 1234 remain"), 0);
        assert_eq!(PostgresStderr.sniff(r#"{"level":"info"}"#), 0);
        assert!(PostgresStderr.sniff("[4-1] LOG:  ready") < 50);
    }
}
