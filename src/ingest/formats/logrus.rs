//! sirupsen/logrus's JSONFormatter: `time` (RFC 3339, or Go's `time.String()` with offset and
//! zone abbreviation), `level` (panic, fatal, error, warning, info, debug, trace), `msg`, and the
//! fields given `WithFields`.

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, has};
use super::json_app::{app_event, level_value, time_value};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, SourceKind};

pub struct Logrus;

const LEVELS: &[&str] = &[
    "panic", "fatal", "error", "warning", "info", "debug", "trace",
];

impl LineFormat for Logrus {
    fn name(&self) -> &'static str {
        "logrus"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"level":"error","msg":"login failed","user_id":"u-00412","status":500,"time":"2023-10-15 15:00:01.204131 -0400 EDT"}"#
    }

    fn fields(&self) -> &'static str {
        "time (RFC 3339 or Go's time.String), level, message, fields by the usual names"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        let Some(time) = get_str(obj, "time") else {
            return 0;
        };
        let level_ok = get_str(obj, "level").is_some_and(|l| LEVELS.contains(&l));
        if !(level_ok && has(obj, "msg")) {
            return 0;
        }
        // Go's time.String(): "2014-03-10 19:57:38.562264131 -0400 EDT".
        let go_time =
            time.as_bytes().get(10) == Some(&b' ') && (time.contains(" -") || time.contains(" +"));
        if go_time { 92 } else { 78 }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(time) = get(obj, "time").and_then(|t| time_value(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable time"));
        };
        let message = get_str(obj, "msg").unwrap_or_default().to_string();
        out.push(app_event(
            obj,
            time,
            get(obj, "level").and_then(level_value),
            message,
        ));
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
    fn go_time_string() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(Logrus.example()).unwrap();
        assert!(Logrus.sniff_json(&v) > 90);
        Logrus.parse_json(&v, &mut cx, &mut out);
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].status, Some(500));
    }
}
