//! pino JSON lines: `time` in epoch milliseconds, `level` as a number (10..60) or a label,
//! `msg`, `pid`, `hostname`; pino-http's `req`/`res`/`responseTime`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_f64, get_status, get_str, has};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome, append_continuation};
use crate::event::{Event, SourceKind};

pub struct Pino;

impl LineFormat for Pino {
    fn name(&self) -> &'static str {
        "pino"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"level":50,"time":1697396401204,"pid":2211,"hostname":"auth-1","req":{"id":42,"method":"POST","url":"/api/v1/login","remoteAddress":"203.0.113.7"},"res":{"statusCode":500},"responseTime":12,"msg":"request errored"}"#
    }

    fn fields(&self) -> &'static str {
        "time (epoch ms), level (number or label), message, pid, hostname; pino-http request, status and response time"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let epoch_ms = get(obj, "time")
            .and_then(Value::as_f64)
            .is_some_and(|t| (1e12..1e13).contains(&t));
        // bunyan writes `v`: leave those to it.
        if epoch_ms && has(obj, "level") && has(obj, "msg") && !has(obj, "v") {
            if has(obj, "pid") || has(obj, "hostname") {
                92
            } else {
                85
            }
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get(obj, "time").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable time"));
        };
        let message = get_str(obj, "msg").unwrap_or_default().to_string();
        let mut event = app_event(obj, time, get(obj, "level").and_then(level_value), message);
        if event.status.is_none() {
            event.status = get_status(obj, "res.statusCode");
        }
        if event.latency_ms.is_none() {
            event.latency_ms = get_f64(obj, "responseTime");
        }
        if event.client.is_none() {
            event.client = get_str(obj, "req.remoteAddress").map(str::to_string);
        }
        if let Some(stack) = get_str(obj, "err.stack") {
            append_continuation(&mut event, "stack", stack);
        }
        out.push(event);
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn pino_http_line() {
        let v: Value = serde_json::from_str(Pino.example()).unwrap();
        assert!(Pino.sniff_json(&v) > 90);
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        Pino.parse_json(&v, &mut cx, &mut out);
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.status, Some(500));
        assert_eq!(e.method.as_deref(), Some("POST"));
        assert_eq!(e.path.as_deref(), Some("/api/v1/login"));
        assert_eq!(e.client.as_deref(), Some("203.0.113.7"));
        assert_eq!(e.latency_ms, Some(12.0));
    }
}
