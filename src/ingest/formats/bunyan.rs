//! node-bunyan JSON lines: `v` 0, numeric `level` (10..60), `name`, `hostname`, `pid`, `time`,
//! `msg`, errors as `err.stack`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, get_text, has};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome, append_continuation};
use crate::event::{Event, SourceKind};

pub struct Bunyan;

impl LineFormat for Bunyan {
    fn name(&self) -> &'static str {
        "bunyan"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"name":"auth-api","hostname":"auth-1","pid":2211,"level":50,"err":{"message":"relation \"sessions\" does not exist","name":"error","stack":"error: relation \"sessions\" does not exist\n    at Parser.parseErrorMessage (parser.js:287:98)"},"req_id":"9f1c2a","msg":"login failed","time":"2023-10-15T19:00:01.204Z","v":0}"#
    }

    fn fields(&self) -> &'static str {
        "time, level (10..60), name (service), hostname, pid, message, error message and stack, request fields by the usual names"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let v0 = get(obj, "v").and_then(Value::as_i64) == Some(0);
        let numeric_level = get(obj, "level").is_some_and(Value::is_number);
        if v0 && numeric_level && has(obj, "msg") && has(obj, "time") {
            if has(obj, "hostname") || has(obj, "pid") {
                97
            } else {
                90
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
        let severity = get(obj, "level").and_then(level_value);
        let mut event = app_event(obj, time, severity, message);
        if let Some(host) = get_text(obj, "hostname") {
            event.attrs.push(("host".to_string(), host));
        }
        if let Some(err) = get_text(obj, "err.message") {
            event.attrs.push(("error".to_string(), err));
        }
        if let Some(stack) = get_text(obj, "err.stack") {
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
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn error_with_stack() {
        let v: Value = serde_json::from_str(Bunyan.example()).unwrap();
        assert!(Bunyan.sniff_json(&v) > 90);
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            Bunyan.parse_json(&v, &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.service.as_deref(), Some("auth-api"));
        assert_eq!(e.request_id.as_deref(), Some("9f1c2a"));
        assert!(e.attr("stack").unwrap().contains("parseErrorMessage"));
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
    }
}
