//! go-kit's JSON logger (Prometheus, Alertmanager, Thanos...): keys sorted, `ts` as RFC 3339,
//! `caller` as `file.go:line`, `level`, and `msg` or only key-values.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::{get, get_str, has, value_text};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct GoKit;

const OWN_KEYS: &[&str] = &["ts", "caller", "level", "msg", "component"];

/// A message for lines that have none: their other key-values.
fn key_values(obj: &Map<String, Value>) -> String {
    obj.iter()
        .filter(|(k, _)| !OWN_KEYS.contains(&k.as_str()))
        .filter_map(|(k, v)| value_text(v).map(|t| format!("{k}={t}")))
        .collect::<Vec<_>>()
        .join(" ")
}

impl LineFormat for GoKit {
    fn name(&self) -> &'static str {
        "gokit"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"caller":"notify.go:732","component":"dispatcher","err":"pagerduty/pagerduty[0]: notify retry canceled after 3 attempts: unexpected status code 503","level":"error","msg":"Notify for alerts failed","num_alerts":1,"ts":"2023-10-15T19:05:14.118Z"}"#
    }

    fn fields(&self) -> &'static str {
        "time (ts), level, caller, component (service), message (or the key-values), error"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let ts_text = get(obj, "ts").is_some_and(Value::is_string);
        let caller = get_str(obj, "caller").is_some_and(|c| c.contains(".go:"));
        match (ts_text, caller, has(obj, "level")) {
            (true, true, true) => 90,
            (true, true, false) => 80,
            _ => 0,
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get(obj, "ts").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable ts"));
        };
        let message = match get_str(obj, "msg") {
            Some(m) => m.to_string(),
            None => key_values(obj),
        };
        let mut event = app_event(obj, time, get(obj, "level").and_then(level_value), message);
        if let Some(caller) = get_str(obj, "caller") {
            event.attrs.push(("caller".to_string(), caller.to_string()));
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

    #[test]
    fn with_and_without_message() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(GoKit.example()).unwrap();
        assert!(GoKit.sniff_json(&v) >= 90);
        GoKit.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].service.as_deref(), Some("dispatcher"));
        assert!(out[0].attr("error").unwrap().contains("503"));
        GoKit.parse(
            r#"{"caller":"main.go:590","fd_limits":"(soft=1048576, hard=1048576)","level":"info","ts":"2023-10-15T19:00:00.001Z"}"#,
            &mut cx,
            &mut out,
        );
        assert_eq!(out[1].message, "fd_limits=(soft=1048576, hard=1048576)");
    }
}
