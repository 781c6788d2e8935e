//! Application logs as JSON lines: time, level and message found by the usual field names.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{self, get, get_f64, get_str, get_text};
use super::{LineFormat, LineOutcome, ParseContext, append_continuation};
use crate::event::{Event, Severity, SourceKind};
use crate::time::{epoch_by_magnitude, parse_iso};

pub struct JsonApp;

const TIME_KEYS: &[&str] = &[
    "timestamp",
    "@timestamp",
    "time",
    "ts",
    "datetime",
    "date",
    "t",
    "eventTime",
    "logged_at",
    // journalctl -o json: microseconds since the epoch, as a string.
    "__REALTIME_TIMESTAMP",
];
const LEVEL_KEYS: &[&str] = &[
    "level",
    "log.level",
    "severity",
    "lvl",
    "levelname",
    "loglevel",
    "log_level",
    "severity_text",
];
const MESSAGE_KEYS: &[&str] = &["message", "msg", "MESSAGE", "event", "text", "body", "log"];
const USER_KEYS: &[&str] = &[
    "user_id",
    "userId",
    "user.id",
    "uid",
    "user",
    "username",
    "user_name",
    "usr.id",
    "account_id",
];
const CLIENT_KEYS: &[&str] = &[
    "client_ip",
    "clientIp",
    "remote_addr",
    "client.ip",
    "source.ip",
    "ip",
    "remote_ip",
    "http.client_ip",
];
const STATUS_KEYS: &[&str] = &[
    "status",
    "status_code",
    "statusCode",
    "http_status",
    "http.status_code",
    "http.response.status_code",
    "response_status",
    "res.statusCode",
];
const LATENCY_MS_KEYS: &[&str] = &[
    "latency_ms",
    "duration_ms",
    "elapsed_ms",
    "response_time_ms",
    "took_ms",
    "responseTime",
    "response_time",
];
const REQUEST_ID_KEYS: &[&str] = &[
    "request_id",
    "requestId",
    "req_id",
    "reqId",
    "x_request_id",
    "trace_id",
    "traceId",
    "http.request.id",
];
const SERVICE_KEYS: &[&str] = &[
    "service",
    "service.name",
    "app",
    "application",
    "component",
    "name",
];
const METHOD_KEYS: &[&str] = &["method", "http.method", "http.request.method", "req.method"];
const PATH_KEYS: &[&str] = &[
    "path",
    "url",
    "uri",
    "http.path",
    "url.path",
    "req.url",
    "route",
];
const STACK_KEYS: &[&str] = &[
    "stack",
    "stack_trace",
    "stacktrace",
    "exception",
    "exc_info",
    "error.stack_trace",
];

fn time_of(obj: &Map<String, Value>, ctx: &ParseContext) -> Option<i64> {
    let (value, _) = json::first(obj, TIME_KEYS)?;
    match value {
        Value::String(s) => parse_iso(s, &ctx.time).ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .and_then(|n| epoch_by_magnitude(n).ok())
        }),
        Value::Number(n) => n.as_f64().and_then(|n| epoch_by_magnitude(n).ok()),
        // MongoDB's extended JSON: {"$date": "..."} or {"$date": {"$numberLong": "..."}}.
        Value::Object(inner) => match inner.get("$date")? {
            Value::String(s) => parse_iso(s, &ctx.time).ok(),
            Value::Number(n) => n.as_f64().and_then(|n| epoch_by_magnitude(n).ok()),
            Value::Object(long) => long
                .get("$numberLong")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<f64>().ok())
                .and_then(|n| epoch_by_magnitude(n).ok()),
            _ => None,
        },
        _ => None,
    }
}

fn severity_of(obj: &Map<String, Value>) -> Option<Severity> {
    let (value, _) = json::first(obj, LEVEL_KEYS)?;
    match value {
        Value::String(s) => Severity::from_word(s),
        Value::Number(n) => n.as_i64().map(Severity::from_pino),
        _ => None,
    }
}

fn status_of(obj: &Map<String, Value>) -> Option<u16> {
    STATUS_KEYS.iter().find_map(|k| match get(obj, k)? {
        Value::Number(n) => n
            .as_u64()
            .filter(|s| (100..600).contains(s))
            .map(|s| s as u16),
        Value::String(s) => s.parse::<u16>().ok().filter(|s| (100..600).contains(s)),
        _ => None,
    })
}

impl LineFormat for JsonApp {
    fn name(&self) -> &'static str {
        "json"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"timestamp":"2023-10-15T15:00:01.204-04:00","level":"error","service":"auth-service","message":"login failed","user_id":"u-00412","status":500,"latency_ms":12.5}"#
    }

    fn fields(&self) -> &'static str {
        "time, level, message, service, user, client, status, latency, request id, method, path, stack"
    }

    fn sniff(&self, line: &str) -> u8 {
        let Ok(obj) = json::parse_object(line) else {
            return 0;
        };
        let mut score = 30;
        if json::first(&obj, TIME_KEYS).is_some() {
            score += 25;
        }
        if json::first(&obj, LEVEL_KEYS).is_some() {
            score += 10;
        }
        if json::first(&obj, MESSAGE_KEYS).is_some() {
            score += 10;
        }
        score
    }

    fn parse(&self, line: &str, ctx: &ParseContext, out: &mut Vec<Event>) -> LineOutcome {
        let obj = match json::parse_object(line) {
            Ok(obj) => obj,
            Err(reason) => return LineOutcome::Unparsed(Cow::Borrowed(reason)),
        };
        let Some(time) = time_of(&obj, ctx) else {
            return LineOutcome::Unparsed(Cow::Borrowed("JSON line without a readable time field"));
        };
        let status = status_of(&obj);
        let severity = severity_of(&obj).unwrap_or(match status {
            Some(s) if s >= 500 => Severity::Error,
            Some(s) if s >= 400 => Severity::Warn,
            _ => Severity::Info,
        });
        let message = json::first(&obj, MESSAGE_KEYS)
            .and_then(|(v, _)| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut event = Event::new(time, SourceKind::App, severity, message);
        event.status = status;
        event.service = SERVICE_KEYS
            .iter()
            .find_map(|k| get_str(&obj, k))
            .map(str::to_string);
        event.user = USER_KEYS.iter().find_map(|k| get_text(&obj, k));
        event.client = CLIENT_KEYS.iter().find_map(|k| get_text(&obj, k));
        event.request_id = REQUEST_ID_KEYS.iter().find_map(|k| get_text(&obj, k));
        event.method = METHOD_KEYS
            .iter()
            .find_map(|k| get_str(&obj, k))
            .map(str::to_string);
        event.path = PATH_KEYS
            .iter()
            .find_map(|k| get_str(&obj, k))
            .map(str::to_string);
        event.latency_ms = LATENCY_MS_KEYS.iter().find_map(|k| get_f64(&obj, k));
        if let Some(error) = get_text(&obj, "error").or_else(|| get_text(&obj, "err")) {
            event.attrs.push(("error".to_string(), error));
        }
        if let Some(stack) = STACK_KEYS.iter().find_map(|k| get_text(&obj, k)) {
            append_continuation(&mut event, "stack", &stack);
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "stack", line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::format_utc;

    fn parse(line: &str) -> (LineOutcome, Vec<Event>) {
        let mut out = Vec::new();
        let outcome = JsonApp.parse(line, &ParseContext::default(), &mut out);
        (outcome, out)
    }

    #[test]
    fn request_line_with_offset_time() {
        let (outcome, events) = parse(
            r#"{"timestamp":"2023-10-15T15:00:01.204-04:00","level":"error","service":"auth-service","message":"login failed: relation \"sessions\" does not exist","user_id":"u-00412","request_id":"9f1c2a","method":"POST","path":"/api/v1/login","status":500,"latency_ms":12.5,"client_ip":"203.0.113.7"}"#,
        );
        assert_eq!(outcome, LineOutcome::Parsed);
        let e = &events[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.status, Some(500));
        assert_eq!(e.user.as_deref(), Some("u-00412"));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.latency_ms, Some(12.5));
        assert_eq!(e.service.as_deref(), Some("auth-service"));
        assert!(e.is_failed_request());
    }

    #[test]
    fn pino_numeric_level_and_epoch_ms() {
        let (_, events) = parse(
            r#"{"level":50,"time":1697396401204,"pid":7,"hostname":"auth-1","msg":"upstream timeout"}"#,
        );
        assert_eq!(events[0].severity, Severity::Error);
        assert_eq!(format_utc(events[0].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(events[0].message, "upstream timeout");
    }

    #[test]
    fn nested_and_epoch_string_times() {
        let (_, events) = parse(
            r#"{"t":{"$date":"2020-05-20T19:18:40.604+00:00"},"s":"I","c":"NETWORK","msg":"Listening on"}"#,
        );
        assert_eq!(format_utc(events[0].time), "2020-05-20T19:18:40.604Z");
        let (_, events) = parse(
            r#"{"__REALTIME_TIMESTAMP":"1697396401204000","PRIORITY":"3","MESSAGE":"unit failed"}"#,
        );
        assert_eq!(format_utc(events[0].time), "2023-10-15T19:00:01.204Z");
    }

    #[test]
    fn truncated_line_is_unparsed_with_reason() {
        let (outcome, events) = parse(r#"{"timestamp":"2023-10-15T15:00:01.204-04:00","lev"#);
        assert_eq!(
            outcome,
            LineOutcome::Unparsed(Cow::Borrowed("JSON cut short (truncated line)"))
        );
        assert!(events.is_empty());
    }

    #[test]
    fn sniff_prefers_lines_with_time_level_message() {
        assert!(JsonApp.sniff(r#"{"ts":"2023-10-15T15:00:00Z","level":"info","msg":"x"}"#) >= 70);
        assert_eq!(
            JsonApp.sniff("127.0.0.1 - - [15/Oct/2023:15:00:00 -0400]"),
            0
        );
    }
}
