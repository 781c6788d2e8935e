//! The input formats retrace knows: one file each, all registered in [`FORMATS`].

use std::borrow::Cow;

use crate::event::{Event, SourceKind};
use crate::time::TimeContext;

pub mod alertmanager;
pub mod json_app;
pub mod nginx_access;
pub mod pagerduty;
pub mod postgres_stderr;

/// What a format made of one line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineOutcome {
    /// One or more events were pushed.
    Parsed,
    /// The line belongs to the record before it (the format says so, e.g. PostgreSQL `STATEMENT:`).
    Continuation,
    /// Not a record of this format, and the format has no use for it; the reason is reported.
    Unparsed(Cow<'static, str>),
}

/// Everything a parser may need besides the line.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseContext {
    pub time: TimeContext,
}

/// One line-oriented input format.
pub trait LineFormat: Send + Sync {
    /// Short stable name, used in `--format` and `summary.json`.
    fn name(&self) -> &'static str;
    /// What kind of system writes it.
    fn kind(&self) -> SourceKind;
    /// A one-line example, for `retrace formats`.
    fn example(&self) -> &'static str;
    /// The normalized fields this format fills, for `retrace formats`.
    fn fields(&self) -> &'static str;
    /// How sure we are that this line is in this format: 0 (no) to 100 (certain).
    fn sniff(&self, line: &str) -> u8;
    /// Parses one line, pushing the events it holds.
    fn parse(&self, line: &str, ctx: &ParseContext, out: &mut Vec<Event>) -> LineOutcome;
    /// Attaches a continuation line to the event it belongs to.
    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "continuation", line);
    }
}

impl std::fmt::Debug for dyn LineFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Continuations kept per event; the rest is counted but not stored (a runaway trace must not
/// grow memory).
pub const MAX_CONTINUATION_BYTES: usize = 8 * 1024;

/// Appends a continuation line to an attribute, bounded by [`MAX_CONTINUATION_BYTES`].
pub fn append_continuation(event: &mut Event, key: &str, line: &str) {
    if let Some((_, value)) = event.attrs.iter_mut().find(|(k, _)| k == key) {
        if value.len() < MAX_CONTINUATION_BYTES {
            value.push('\n');
            value.push_str(truncate_str(line, MAX_CONTINUATION_BYTES - value.len()));
        }
    } else {
        event.attrs.push((
            key.to_string(),
            truncate_str(line, MAX_CONTINUATION_BYTES).to_string(),
        ));
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn truncate_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Every known format. Detection tries them all; order breaks exact ties (specific first).
pub static FORMATS: &[&dyn LineFormat] = &[
    &alertmanager::AlertmanagerWebhook,
    &pagerduty::PagerDutyWebhook,
    &postgres_stderr::PostgresStderr,
    &nginx_access::NginxAccess,
    &json_app::JsonApp,
];

pub fn by_name(name: &str) -> Option<&'static dyn LineFormat> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// Helpers for formats that are JSON objects.
pub mod json {
    use serde_json::{Map, Value};

    /// Looks a dotted path up (`log.level`), trying the flat key with dots first (ECS writes both).
    pub fn get<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
        if let Some(v) = obj.get(path) {
            return Some(v);
        }
        let mut parts = path.split('.');
        let mut current = obj.get(parts.next()?)?;
        for part in parts {
            current = current.as_object()?.get(part)?;
        }
        Some(current)
    }

    pub fn get_str<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a str> {
        get(obj, path).and_then(Value::as_str)
    }

    /// A value as text whether the log wrote it as a string or a number.
    pub fn get_text(obj: &Map<String, Value>, path: &str) -> Option<String> {
        match get(obj, path)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn get_f64(obj: &Map<String, Value>, path: &str) -> Option<f64> {
        match get(obj, path)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The first of several candidate keys that is present.
    pub fn first<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<(&'a Value, usize)> {
        keys.iter()
            .enumerate()
            .find_map(|(i, k)| get(obj, k).map(|v| (v, i)))
    }

    /// Parses a line as a JSON object, or says why not.
    pub fn parse_object(line: &str) -> Result<Map<String, Value>, &'static str> {
        let trimmed = line.trim();
        if !trimmed.starts_with('{') {
            return Err("not a JSON object");
        }
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err("not a JSON object"),
            Err(e) if e.is_eof() => Err("JSON cut short (truncated line)"),
            Err(_) => Err("invalid JSON"),
        }
    }
}
