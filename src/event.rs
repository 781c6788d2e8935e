//! The normalized event every input format is parsed into (modelled on the OpenTelemetry log data model).

use std::borrow::Cow;
use std::fmt;

/// Nanoseconds since the Unix epoch, UTC.
pub type TimeNs = i64;

pub const NS_PER_SEC: i64 = 1_000_000_000;

/// What kind of system wrote the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    App,
    Web,
    Db,
    Alert,
    Page,
    Metric,
    System,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::App => "app",
            SourceKind::Web => "web",
            SourceKind::Db => "db",
            SourceKind::Alert => "alert",
            SourceKind::Page => "page",
            SourceKind::Metric => "metric",
            SourceKind::System => "system",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity on the OpenTelemetry scale, reduced to its six ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Severity {
    Trace,
    Debug,
    #[default]
    Info,
    Warn,
    Error,
    Fatal,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
        }
    }

    /// Maps the level words used across logging libraries and servers.
    #[inline]
    pub fn from_word(word: &str) -> Option<Severity> {
        // The words most lines carry, as most programs write them: no trimming or lowering.
        match word.as_bytes() {
            b"info" | b"INFO" => return Some(Severity::Info),
            b"error" | b"ERROR" => return Some(Severity::Error),
            b"warn" | b"WARN" => return Some(Severity::Warn),
            b"debug" | b"DEBUG" => return Some(Severity::Debug),
            _ => {}
        }
        let w = word.trim().as_bytes();
        // Lower-cased on the stack: this runs once per line.
        let mut buf = [0u8; 16];
        if w.is_empty() || w.len() > buf.len() {
            return None;
        }
        for (b, c) in buf.iter_mut().zip(w) {
            *b = c.to_ascii_lowercase();
        }
        Some(match &buf[..w.len()] {
            b"trace" | b"finest" | b"finer" => Severity::Trace,
            b"debug" | b"debug1" | b"debug2" | b"debug3" | b"debug4" | b"debug5" | b"fine"
            | b"d" | b"verbose" | b"dbug" => Severity::Debug,
            b"info" | b"information" | b"informational" | b"notice" | b"log" | b"i"
            | b"default" | b"config" | b"statement" | b"detail" | b"hint" | b"context"
            | b"note" | b"system" => Severity::Info,
            b"warn" | b"warning" | b"w" => Severity::Warn,
            b"error" | b"err" | b"e" | b"severe" | b"alert_error" => Severity::Error,
            b"fatal" | b"critical" | b"crit" | b"panic" | b"emerg" | b"emergency" | b"alert"
            | b"f" | b"dpanic" => Severity::Fatal,
            _ => return None,
        })
    }

    /// Numeric levels: bunyan/pino (10..60) and syslog-like small numbers are handled by callers;
    /// this maps the bunyan/pino scale.
    pub fn from_pino(n: i64) -> Severity {
        match n {
            i64::MIN..=10 => Severity::Trace,
            11..=20 => Severity::Debug,
            21..=30 => Severity::Info,
            31..=40 => Severity::Warn,
            41..=50 => Severity::Error,
            _ => Severity::Fatal,
        }
    }

    /// Syslog priorities (RFC 5424 severity, journald's PRIORITY): 0 emergency .. 7 debug.
    pub fn from_syslog(n: u8) -> Severity {
        match n {
            0..=2 => Severity::Fatal,
            3 => Severity::Error,
            4 => Severity::Warn,
            5 | 6 => Severity::Info,
            _ => Severity::Debug,
        }
    }

    /// OpenTelemetry's SeverityNumber (1..=24, four steps per range).
    pub fn from_otel(n: i64) -> Severity {
        match n {
            i64::MIN..=4 => Severity::Trace,
            5..=8 => Severity::Debug,
            9..=12 => Severity::Info,
            13..=16 => Severity::Warn,
            17..=20 => Severity::Error,
            _ => Severity::Fatal,
        }
    }

    pub fn is_error(self) -> bool {
        self >= Severity::Error
    }
}

/// State of an alert as reported by the alerting system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    Firing,
    Resolved,
}

/// What a paging system did to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageAction {
    Triggered,
    Acknowledged,
    Escalated,
    Reassigned,
    Annotated,
    Resolved,
    Other,
}

impl PageAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PageAction::Triggered => "triggered",
            PageAction::Acknowledged => "acknowledged",
            PageAction::Escalated => "escalated",
            PageAction::Reassigned => "reassigned",
            PageAction::Annotated => "annotated",
            PageAction::Resolved => "resolved",
            PageAction::Other => "other",
        }
    }
}

/// Alert fields for alert-kind events.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertInfo {
    pub name: String,
    pub state: AlertState,
    /// Stable identity of the alert instance (fingerprint, or the label set).
    pub fingerprint: String,
    /// Severity label as the alert rule names it (critical, warning...).
    pub severity_label: Option<String>,
}

/// Paging fields for page-kind events.
#[derive(Debug, Clone, PartialEq)]
pub struct PageInfo {
    pub action: PageAction,
    pub incident_id: String,
    pub title: String,
    /// Who acted (the responder acknowledging, the escalation target...).
    pub agent: Option<String>,
}

/// One sample of a metric series (Prometheus query results, CSV metric exports); the series'
/// labels are in the event's attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// The series name (`__name__`, or the CSV column).
    pub name: String,
    pub value: f64,
}

/// Where an event came from: the input file (index into the run's input list) and its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Origin {
    pub file: u32,
    /// 1-based line number of the event's first line.
    pub line: u64,
}

/// One normalized event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub time: TimeNs,
    pub origin: Origin,
    pub kind: Option<SourceKind>,
    pub service: Option<String>,
    pub severity: Severity,
    pub message: String,
    pub user: Option<String>,
    pub client: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    pub request_id: Option<String>,
    pub alert: Option<AlertInfo>,
    pub page: Option<PageInfo>,
    /// For metric-kind events: the sample.
    pub metric: Option<MetricSample>,
    /// Everything else worth keeping, small.
    pub attrs: Vec<(String, String)>,
}

impl Event {
    pub fn new(time: TimeNs, kind: SourceKind, severity: Severity, message: String) -> Event {
        Event {
            time,
            kind: Some(kind),
            severity,
            message,
            ..Event::default()
        }
    }

    /// A request event is one that carries an HTTP status.
    pub fn is_request(&self) -> bool {
        self.status.is_some()
    }

    /// A request failed when the server answered 5xx.
    pub fn is_failed_request(&self) -> bool {
        matches!(self.status, Some(s) if (500..600).contains(&s))
    }

    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The fields aggregation reads, borrowed from the line where they can be: what the formats' fast
/// paths fill for sinks that only count (no allocation per line), and what [`Event::view`] gives
/// of a full event, so both reach the aggregates the same way. Alerts, pages and metrics are never
/// views: they are kept whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventView<'a> {
    pub time: TimeNs,
    pub origin: Origin,
    pub kind: Option<SourceKind>,
    pub service: Option<Cow<'a, str>>,
    pub severity: Severity,
    pub message: Cow<'a, str>,
    pub user: Option<Cow<'a, str>>,
    pub client: Option<Cow<'a, str>>,
    pub method: Option<Cow<'a, str>>,
    pub path: Option<Cow<'a, str>>,
    pub status: Option<u16>,
}

impl EventView<'_> {
    /// A request event is one that carries an HTTP status.
    pub fn is_request(&self) -> bool {
        self.status.is_some()
    }

    /// A request failed when the server answered 5xx.
    pub fn is_failed_request(&self) -> bool {
        matches!(self.status, Some(s) if (500..600).contains(&s))
    }

    /// The event with the viewed fields (for sinks that keep events; the rest stays empty).
    pub fn to_event(&self) -> Event {
        let owned = |v: &Option<Cow<'_, str>>| v.as_deref().map(str::to_string);
        Event {
            time: self.time,
            origin: self.origin,
            kind: self.kind,
            service: owned(&self.service),
            severity: self.severity,
            message: self.message.to_string(),
            user: owned(&self.user),
            client: owned(&self.client),
            method: owned(&self.method),
            path: owned(&self.path),
            status: self.status,
            ..Event::default()
        }
    }
}

impl Event {
    /// The fields aggregation reads, borrowed.
    pub fn view(&self) -> EventView<'_> {
        fn borrowed(v: &Option<String>) -> Option<Cow<'_, str>> {
            v.as_deref().map(Cow::Borrowed)
        }
        EventView {
            time: self.time,
            origin: self.origin,
            kind: self.kind,
            service: borrowed(&self.service),
            severity: self.severity,
            message: Cow::Borrowed(&self.message),
            user: borrowed(&self.user),
            client: borrowed(&self.client),
            method: borrowed(&self.method),
            path: borrowed(&self.path),
            status: self.status,
        }
    }
}
