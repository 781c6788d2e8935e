//! The input formats retrace knows: one file each, all registered in [`FORMATS`].

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::NaiveDateTime;
use regex::Regex;
use serde_json::Value;

use crate::event::{Event, EventView, Severity, SourceKind, TimeNs};
use crate::time::{
    ClfMinute, IsoMinute, MinuteCache, TimeContext, TimeError, TimeNotes, YearlessTime,
    local_to_utc, split_iso, yearless_near, yearless_to_utc, zone_to_utc,
};

pub mod alertmanager;
pub mod alertmanager_api;
pub mod apache_error;
pub mod aws_alb;
pub mod bunyan;
pub mod container;
pub mod csv_metrics;
pub mod dmesg;
pub mod docker_json;
pub mod ecs;
pub mod envoy;
pub mod gcp;
pub mod go_log;
pub mod gokit;
pub mod grafana;
pub mod haproxy;
pub mod journald;
pub mod json_app;
pub mod klog;
pub mod log4j;
pub mod logfmt;
pub mod logrus;
pub mod mongodb;
pub mod mysql_error;
pub mod mysql_general;
pub mod mysql_slow;
pub mod nginx_access;
pub mod nginx_error;
pub mod opsgenie;
pub mod otlp;
pub mod pagerduty;
pub mod pagerduty_log;
pub mod pino;
pub mod postgres_csv;
pub mod postgres_json;
pub mod postgres_stderr;
pub mod postgres_syslog;
pub mod prometheus;
pub mod python_logging;
pub mod redis;
pub mod spring_boot;
pub mod structlog;
pub mod syslog;
pub mod syslog5424;
pub mod text;
pub mod tracing_json;
pub mod zap;

/// What a format made of one line.
#[derive(Debug, Clone, PartialEq)]
pub enum LineOutcome {
    /// A record: zero or more events were pushed (zero for a line that holds no event of its
    /// own, such as a CSV header).
    Parsed,
    /// The line belongs to the record before it (the format says so, e.g. PostgreSQL `STATEMENT:`).
    Continuation,
    /// The line opens a record that a later line completes (the lines of a MySQL slow-log entry
    /// before its `SET timestamp`, a CSV record whose quoted field runs on): the format keeps what
    /// it needs in its file state; the line is counted as joined once the record completes.
    Prefix,
    /// Not a record of this format, and the format has no use for it; the reason is reported.
    Unparsed(Cow<'static, str>),
}

/// What a format's fast path made of a line (see [`LineFormat::parse_view`]).
#[derive(Debug, Clone, PartialEq)]
pub enum FastLine<'a> {
    /// A record holding one event.
    Record(EventView<'a>),
    /// The line belongs to the record before it.
    Continuation,
}

/// How lines that are not records of the format are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiline {
    /// Only the rules of [`crate::ingest::multiline`] (indented lines, stack traces) continue a record.
    Rules,
    /// Any line that is not a record continues the record above: plain-text layouts print
    /// multi-line messages as they come (`logger.info("a\nb")`).
    AnyLine,
}

/// Everything a parser may need besides the line, the same for every line of a file.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseContext {
    pub time: TimeContext,
    /// Reference time for timestamps without a year: the other sources' last time, else the
    /// file's modification time.
    pub anchor: Option<TimeNs>,
    /// Time given by an enclosing record (a container runtime or syslog wrapper) for inner text
    /// that carries none.
    pub record_time: Option<TimeNs>,
    /// When the machine booted, for kernel times counted from boot.
    pub boot_time: Option<TimeNs>,
}

/// Notes kept per file (each said once).
const MAX_NOTES: usize = 16;

/// Per-file parsing context: the shared settings, what was noticed on the way (ambiguous zone
/// abbreviations...), and the state a format keeps between lines (a CSV header, the record a
/// slow-log entry is building, the inner format of a container log).
pub struct FileContext {
    pub parse: ParseContext,
    pub time_notes: TimeNotes,
    /// Set once a year-less timestamp took its year from the reference time.
    pub yearless_used: bool,
    /// Time of the last event of this file, the best reference for the next year-less line.
    pub last_time: Option<TimeNs>,
    /// Notes in the order first made (the order decides which are kept past [`MAX_NOTES`]).
    notes: Vec<String>,
    state: Option<Box<dyn Any + Send>>,
    /// The last minute converted to UTC (most lines share their minute with the line before).
    minute_cache: MinuteCache,
    /// The last ISO timestamp's minute as written, for lines of the same minute.
    iso_minute: IsoMinute,
    /// The same for Common Log Format times.
    clf_minute: ClfMinute,
    /// Where the JSON fast path found its keys in the line before.
    pub json_keys: json_app::KeyCache,
}

impl FileContext {
    pub fn new(parse: ParseContext) -> FileContext {
        FileContext {
            parse,
            time_notes: TimeNotes::default(),
            yearless_used: false,
            last_time: None,
            notes: Vec::new(),
            state: None,
            minute_cache: MinuteCache::default(),
            iso_minute: IsoMinute::default(),
            clf_minute: ClfMinute::default(),
            json_keys: json_app::KeyCache::default(),
        }
    }

    pub fn time(&self) -> &TimeContext {
        &self.parse.time
    }

    /// An ISO 8601 timestamp with or without zone, ambiguous abbreviations noted.
    #[inline]
    pub fn iso(&mut self, s: &str) -> Result<TimeNs, TimeError> {
        if let Some(t) = self.iso_minute.get(s) {
            return Ok(t);
        }
        let (naive, zone) = split_iso(s)?;
        let t = self.zoned(&naive, zone)?;
        self.iso_minute
            .remember(s, &naive, zone, self.minute_cache.linear_minute());
        Ok(t)
    }

    /// A Common Log Format time ([`crate::time::parse_clf`]).
    pub fn clf(&mut self, s: &str) -> Result<TimeNs, TimeError> {
        if let Some(t) = self.clf_minute.get(s) {
            return Ok(t);
        }
        let t = crate::time::parse_clf(s)?;
        self.clf_minute.remember(s, t);
        Ok(t)
    }

    /// A local time with what the log wrote as its zone (possibly nothing).
    pub fn zoned(&mut self, naive: &NaiveDateTime, zone: &str) -> Result<TimeNs, TimeError> {
        let time = &self.parse.time;
        let notes = &mut self.time_notes;
        self.minute_cache.to_utc(naive, zone, |n, noted| {
            zone_to_utc(n, zone, time, noted.then_some(&mut *notes))
        })
    }

    /// A local time without zone: `--assume-tz`.
    pub fn local(&self, naive: &NaiveDateTime) -> Result<TimeNs, TimeError> {
        local_to_utc(naive, self.parse.time.assume_tz)
    }

    /// A timestamp without a year: the year of the enclosing record, else the one nearest the
    /// file's previous line, else the one that puts it just before the file's reference time.
    pub fn yearless(&mut self, t: &YearlessTime) -> Result<TimeNs, TimeError> {
        let tz = self.parse.time.assume_tz;
        if let Some(record) = self.parse.record_time {
            return yearless_to_utc(t, record, tz);
        }
        self.yearless_used = true;
        match (self.last_time, self.parse.anchor) {
            (Some(previous), _) => yearless_near(t, previous, tz),
            (None, Some(anchor)) => yearless_to_utc(t, anchor, tz),
            (None, None) => Err(TimeError::NoYear),
        }
    }

    /// Records something the reader should know about this file (said once).
    pub fn note(&mut self, text: &str) {
        if self.notes.len() < MAX_NOTES && !self.notes.iter().any(|n| n == text) {
            self.notes.push(text.to_string());
        }
    }

    /// Everything noted (sorted), time notes included.
    pub fn notes(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .notes
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        all.extend(self.time_notes.describe());
        all
    }

    /// Takes in what a later part of the same file noticed (its lines come after this part's):
    /// the result is what one context reading both parts in order would hold.
    pub fn absorb(&mut self, later: &FileContext) {
        for note in &later.notes {
            self.note(note);
        }
        for (abbr, tz) in &later.time_notes.ambiguous {
            self.time_notes.ambiguous.entry(abbr.clone()).or_insert(*tz);
        }
        self.yearless_used |= later.yearless_used;
        if later.last_time.is_some() {
            self.last_time = later.last_time;
        }
    }

    /// The format's state for this file, created on first use.
    pub fn state<T: Default + Send + 'static>(&mut self) -> &mut T {
        let fresh = !self.state.as_ref().is_some_and(|s| s.is::<T>());
        if fresh {
            self.state = Some(Box::new(T::default()));
        }
        match self.state.as_mut().and_then(|s| s.downcast_mut::<T>()) {
            Some(state) => state,
            // Just created above with this very type.
            None => unreachable!("state of the type just stored"),
        }
    }

    /// Takes the state out (a wrapper format lends the context to its inner format meanwhile).
    pub fn take_state(&mut self) -> Option<Box<dyn Any + Send>> {
        self.state.take()
    }

    pub fn put_state(&mut self, state: Option<Box<dyn Any + Send>>) {
        self.state = state;
    }
}

/// One input format. Text formats implement `sniff` and `parse`; JSON formats implement
/// `sniff_json` and `parse_json`, which serve both JSON lines and JSON documents.
pub trait LineFormat: Send + Sync {
    /// Short stable name, used in `--format` and `summary.json`.
    fn name(&self) -> &'static str;
    /// What kind of system writes it.
    fn kind(&self) -> SourceKind;
    /// A one-line example, for `retrace formats`.
    fn example(&self) -> &'static str;
    /// The normalized fields this format fills, for `retrace formats`.
    fn fields(&self) -> &'static str;
    /// How sure we are that this (non-JSON) line is in this format: 0 (no) to 100 (certain).
    /// Specific formats answer 85 and more on a match; catch-alls stay at 60 or below.
    fn sniff(&self, _line: &str) -> u8 {
        0
    }
    /// Same for a JSON value: a JSON line, or one record of a JSON document.
    fn sniff_json(&self, _value: &Value) -> u8 {
        0
    }
    /// A faster reading of a line for sinks that only aggregate: the fields aggregation reads,
    /// borrowed from the line. `None` when the format has no fast path or the line needs the
    /// full parse (then [`LineFormat::parse`] decides); when `Some`, it must agree with `parse`
    /// on the outcome, on every field of the view and on what is noted in `cx`.
    fn parse_view<'a>(&self, _line: &'a str, _cx: &mut FileContext) -> Option<FastLine<'a>> {
        None
    }
    /// Whether a file of this format can be cut into chunks parsed apart: every line reads the
    /// same whatever came before it. Formats that keep state between lines (a CSV header, a
    /// record spanning lines, the inner format of a wrapper, the time of the line before) say
    /// no and are read in one pass; so are formats that need a reference time.
    fn chunkable(&self) -> bool {
        !self.needs_anchor()
    }
    /// Parses one line, pushing the events it holds. JSON formats keep this default.
    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        match json::parse_value(line) {
            Ok(value) => self.parse_json(&value, cx, out),
            Err(reason) => LineOutcome::Unparsed(Cow::Borrowed(reason)),
        }
    }
    /// Parses one JSON record (a line, or an element of a document).
    fn parse_json(
        &self,
        _value: &Value,
        _cx: &mut FileContext,
        _out: &mut Vec<Event>,
    ) -> LineOutcome {
        LineOutcome::Unparsed(Cow::Borrowed("not a JSON format"))
    }
    /// Attaches a continuation line to the event it belongs to.
    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "continuation", line);
    }
    /// How lines that are not records are treated.
    fn multiline(&self) -> Multiline {
        Multiline::Rules
    }
    /// Whether some timestamps of this format lack a year or count from boot: such files are
    /// read after the others, so the year can come from them.
    fn needs_anchor(&self) -> bool {
        false
    }
    /// Words in a file name that suggest this format (`postgres`, `access`...).
    fn name_hints(&self) -> &'static [&'static str] {
        &[]
    }
    /// Seconds since boot written on the line, for formats that count from boot.
    fn uptime(&self, _line: &str) -> Option<f64> {
        None
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

/// Every known format. Detection tries them all; order breaks exact ties (specific first,
/// catch-alls last).
pub static FORMATS: &[&dyn LineFormat] = &[
    // Alerts and paging.
    &alertmanager::AlertmanagerWebhook,
    &grafana::GrafanaWebhook,
    &alertmanager_api::AlertmanagerApi,
    &pagerduty::PagerDutyWebhook,
    &pagerduty_log::PagerDutyLogEntries,
    &opsgenie::Opsgenie,
    // Metrics.
    &prometheus::PrometheusQueryRange,
    &csv_metrics::CsvMetrics,
    // Wrappers whose inner text is another format.
    &docker_json::DockerJson,
    &container::CriLog,
    // JSON dialects.
    &otlp::OtlpJson,
    &gcp::GcpLogEntry,
    &journald::Journald,
    &mongodb::MongoDb,
    &postgres_json::PostgresJson,
    &envoy::EnvoyAccess,
    &bunyan::Bunyan,
    &pino::Pino,
    &zap::Zap,
    &gokit::GoKit,
    &tracing_json::TracingJson,
    &ecs::Ecs,
    &logrus::Logrus,
    &structlog::Structlog,
    // Web.
    &nginx_access::NginxAccess,
    &nginx_error::NginxError,
    &apache_error::ApacheError,
    &haproxy::Haproxy,
    &aws_alb::AwsAlb,
    // Databases.
    &postgres_stderr::PostgresStderr,
    &postgres_syslog::PostgresSyslog,
    &postgres_csv::PostgresCsv,
    &mysql_error::MysqlError,
    &mysql_slow::MysqlSlow,
    &mysql_general::MysqlGeneral,
    &redis::Redis,
    // System.
    &syslog5424::Syslog5424,
    &syslog::Syslog,
    &klog::Klog,
    &dmesg::Dmesg,
    // Plain-text application layouts.
    &spring_boot::SpringBoot,
    &log4j::Log4j,
    &python_logging::PythonLogging,
    &go_log::GoLog,
    &logfmt::Logfmt,
    // Catch-alls.
    &json_app::JsonApp,
    &text::PlainText,
];

pub fn by_name(name: &str) -> Option<&'static dyn LineFormat> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// Severity of an HTTP answer: 5xx is an error, 4xx a warning.
pub fn http_severity(status: u16) -> Severity {
    match status {
        500.. => Severity::Error,
        400..=499 => Severity::Warn,
        _ => Severity::Info,
    }
}

static SEVERITY_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:(panic|fatal|emergency|kernel bug)|(errors?|failed|failure|segfault|exception|out of memory|oom-kill\w*|unreachable)|(warn|warning|timed out|timeout|refused|unable|cannot|denied))\b",
    )
    .expect("static regex")
});

/// Severity suggested by a message's words, for formats that carry no level (BSD syslog without
/// priority, the kernel ring buffer, Go's `log`), or a coarse one (Redis's `#`).
pub fn severity_from_text(message: &str) -> Severity {
    match SEVERITY_WORDS.captures(message) {
        Some(c) if c.get(1).is_some() => Severity::Fatal,
        Some(c) if c.get(2).is_some() => Severity::Error,
        Some(_) => Severity::Warn,
        None => Severity::Info,
    }
}

/// An address without its port: `203.0.113.7:5123` → `203.0.113.7`, `[2001:db8::1]:443` →
/// `2001:db8::1`; a bare IPv6 address is left whole.
pub fn strip_port(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

/// The path of a URL (`https://api.example.com:443/v1/login?x=1` → `/v1/login?x=1`); a path is
/// returned as is.
pub fn url_path(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            match rest.find('/') {
                Some(j) => &rest[j..],
                None => "/",
            }
        }
        None => url,
    }
}

/// `GET /path HTTP/1.1` → method and path (the path of a full URL).
pub fn split_request(request: &str) -> (Option<&str>, Option<&str>) {
    let mut parts = request.splitn(3, ' ');
    let method = parts
        .next()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_uppercase()));
    let path = parts.next().filter(|p| !p.is_empty()).map(url_path);
    (method, path)
}

/// Sets the HTTP request fields of an event from a request line and a status.
pub fn set_request(event: &mut Event, request: &str, status: Option<u16>) {
    let (method, path) = split_request(request);
    event.method = method.map(str::to_string);
    event.path = path.map(str::to_string);
    event.status = status;
}

/// Quote-aware splitting of space-separated fields (`a "b c" [d e] f`), as access logs write
/// them: quoted fields lose their quotes (backslash escapes kept verbatim), bracketed ones keep
/// their brackets.
pub fn split_fields(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let mut fields = Vec::with_capacity(32);
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        match b[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                fields.push(&line[start..i.min(b.len())]);
                i += 1;
            }
            b'[' => {
                let start = i;
                while i < b.len() && b[i] != b']' {
                    i += 1;
                }
                i = (i + 1).min(b.len());
                fields.push(&line[start..i]);
            }
            _ => {
                let start = i;
                while i < b.len() && b[i] != b' ' {
                    i += 1;
                }
                fields.push(&line[start..i]);
            }
        }
    }
    fields
}

/// Helpers for formats that are JSON objects.
pub mod json {
    use serde_json::{Map, Value};

    /// Looks a dotted path up (`log.level`), trying the flat key with dots first (ECS writes both).
    pub fn get<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
        if let Some(v) = obj.get(path) {
            return Some(v);
        }
        if !path.contains('.') {
            return None;
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
        value_text(get(obj, path)?)
    }

    /// A scalar as text (strings that are empty are absent).
    pub fn value_text(value: &Value) -> Option<String> {
        match value {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
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

    pub fn get_i64(obj: &Map<String, Value>, path: &str) -> Option<i64> {
        match get(obj, path)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// An HTTP status written as a number or a string.
    pub fn get_status(obj: &Map<String, Value>, path: &str) -> Option<u16> {
        get_i64(obj, path)
            .filter(|s| (100..600).contains(s))
            .map(|s| s as u16)
    }

    /// The first of several candidate keys that is present.
    pub fn first<'a>(obj: &'a Map<String, Value>, keys: &[&str]) -> Option<(&'a Value, usize)> {
        keys.iter()
            .enumerate()
            .find_map(|(i, k)| get(obj, k).map(|v| (v, i)))
    }

    pub fn has(obj: &Map<String, Value>, key: &str) -> bool {
        get(obj, key).is_some()
    }

    /// Parses a line as a JSON value, or says why not.
    pub fn parse_value(line: &str) -> Result<Value, &'static str> {
        let trimmed = line.trim();
        if !trimmed.starts_with('{') {
            return Err("not a JSON object");
        }
        match serde_json::from_str::<Value>(trimmed) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err("not a JSON object"),
            Err(e) if e.is_eof() => Err("JSON cut short (truncated line)"),
            Err(_) => Err("invalid JSON"),
        }
    }

    /// Parses a line as a JSON object, or says why not.
    pub fn parse_object(line: &str) -> Result<Map<String, Value>, &'static str> {
        match parse_value(line)? {
            Value::Object(map) => Ok(map),
            _ => Err("not a JSON object"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_of_a_remembered_minute_read_as_a_fresh_parse_reads_them() {
        let lines = [
            "2023-10-15T15:00:01.204-04:00",
            "2023-10-15T15:00:02.2-04:00",
            "2023-10-15T15:00:02,123456789123-04:00",
            "2023-10-15T15:00:59-04:00",
            "2023-10-15T15:00:60-04:00",
            "2023-10-15T15:00:03.-04:00",
            "2023-10-15T15:00:04.5Z",
            "2023-10-15T15:00:05.5-04:00 ",
            "2023-10-15T15:00:06.5 -04:00",
            "2023-10-15T15:00:07.5-04:00",
            "2023-10-15T15:00:08.123456789-04:00",
            "2023-10-15T15:00:09.0000000019-04:00",
            "2023-10-15T15:00:1",
            "2023-10-15T15:00:10.25-04:0",
            "2023-10-15T15:01:07.5-04:00",
            "2023-10-15 15:01:08.5-04:00",
            "2023-10-15T15:01:09.5",
            "2023-10-15T15:01:10.5",
            "2023-11-05T01:30:00.5",
            "2023-11-05T01:30:01.5",
            "2023-10-15T15:01:11.5 EDT",
            "2023-10-15T15:01:12.5 EDT",
            "2023-10-15T15:01:13.5 +0000 UTC m=+0.001",
            "2023-10-15T15:01:14.5 +0000 UTC m=+0.002",
        ];
        let context = || {
            let mut parse = ParseContext::default();
            parse.time.assume_tz = chrono_tz::America::New_York;
            FileContext::new(parse)
        };
        let mut warm = context();
        for line in lines {
            let fresh = context().iso(line);
            assert_eq!(warm.iso(line), fresh, "{line}");
        }
    }

    #[test]
    fn clf_times_of_a_remembered_minute_read_as_a_fresh_parse_reads_them() {
        let lines = [
            "15/Oct/2023:15:00:01 -0400",
            "15/Oct/2023:15:00:02 -0400",
            "15/Oct/2023:15:00:03.143 -0400",
            "15/Oct/2023:15:00:04,1 -0400",
            "15/Oct/2023:15:00:60 -0400",
            "15/Oct/2023:15:00:05. -0400",
            "15/Oct/2023:15:00:06 +0000",
            "15/Oct/2023:15:00:07",
            "15/Oct/2023:15:00:08",
            "15/Oct/2023:15:00:09 -0400 ",
            "15/Oct/2023:15:00:10 -0400",
            "15/Oct/2023:15:01:10 -0400",
            "15/oct/2023:15:01:11 -0400",
            "15/Oct/2023:15:01:1x -0400",
        ];
        let mut warm = FileContext::new(ParseContext::default());
        for line in lines {
            assert_eq!(warm.clf(line), crate::time::parse_clf(line), "{line}");
        }
    }

    #[test]
    fn names_are_unique_and_every_format_has_an_example() {
        let mut names = BTreeSet::new();
        for f in FORMATS {
            assert!(names.insert(f.name()), "duplicate {}", f.name());
            assert!(!f.example().is_empty() && !f.fields().is_empty());
        }
        assert!(FORMATS.len() >= 30, "{} formats", FORMATS.len());
    }

    #[test]
    fn every_example_is_recognised_as_its_own_format() {
        for f in FORMATS {
            let example = f.example();
            let score = match json::parse_value(example) {
                Ok(v) => f.sniff_json(&v),
                Err(_) => f.sniff(example),
            };
            assert!(score > 0, "{} does not sniff its own example", f.name());
            let mut cx = FileContext::new(ParseContext {
                anchor: Some(1_700_000_000_000_000_000),
                boot_time: Some(1_700_000_000_000_000_000),
                ..ParseContext::default()
            });
            let mut out = Vec::new();
            let outcome = f.parse(example, &mut cx, &mut out);
            assert!(
                matches!(outcome, LineOutcome::Parsed | LineOutcome::Prefix),
                "{} does not parse its own example: {outcome:?}",
                f.name()
            );
        }
    }

    #[test]
    fn no_format_panics_on_cut_or_odd_lines() {
        let odd = [
            "",
            " ",
            "\t",
            "é",
            "{",
            "[",
            "{}",
            "[]",
            "\u{0}\u{1}",
            "2023-10-15T15:00:0é",
            "<999>1 - - - - - -",
            "# Time: ",
            "SET timestamp=;",
            "Oct 15 15:00:0é host app: x",
        ];
        for f in FORMATS {
            let example = f.example();
            let cuts = example
                .char_indices()
                .map(|(i, _)| &example[..i])
                .chain(odd.iter().copied());
            let mut cx = FileContext::new(ParseContext {
                anchor: Some(1_700_000_000_000_000_000),
                boot_time: Some(1_700_000_000_000_000_000),
                ..ParseContext::default()
            });
            for line in cuts {
                let mut out = Vec::new();
                let _ = f.sniff(line);
                let _ = f.parse(line, &mut cx, &mut out);
                if let Some(last) = out.last_mut() {
                    f.join(last, line);
                }
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(strip_port("203.0.113.7:5123"), "203.0.113.7");
        assert_eq!(strip_port("[2001:db8::1]:443"), "2001:db8::1");
        assert_eq!(strip_port("2001:db8::1"), "2001:db8::1");
        assert_eq!(
            url_path("https://api.example.com:443/v1/login?x=1"),
            "/v1/login?x=1"
        );
        assert_eq!(
            split_request("GET /health HTTP/1.1"),
            (Some("GET"), Some("/health"))
        );
        assert_eq!(
            split_fields(r#"a "b \"c\" d" [e f] g"#),
            vec!["a", r#"b \"c\" d"#, "[e f]", "g"]
        );
        assert_eq!(severity_from_text("connection refused"), Severity::Warn);
        assert_eq!(
            severity_from_text("Out of memory: Killed process 42"),
            Severity::Error
        );
        assert_eq!(
            severity_from_text("kernel panic - not syncing"),
            Severity::Fatal
        );
        assert_eq!(
            severity_from_text("session opened for user root"),
            Severity::Info
        );
    }
}
