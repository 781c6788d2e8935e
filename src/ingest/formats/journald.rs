//! `journalctl -o json` export: one JSON object per entry, `__REALTIME_TIMESTAMP` in
//! microseconds, `PRIORITY` 0..7, `MESSAGE` (a string, or bytes when not UTF-8).

use std::borrow::Cow;

use serde_json::Value;

use super::json::{get, get_str, get_text, has};
use super::{FileContext, LineFormat, LineOutcome, severity_from_text};
use crate::event::{Event, NS_PER_SEC, Severity, SourceKind};

pub struct Journald;

/// MESSAGE as text: journald writes non-UTF-8 messages as an array of bytes.
fn message_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(bytes)) => {
            let bytes: Vec<u8> = bytes
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => String::new(),
    }
}

impl LineFormat for Journald {
    fn name(&self) -> &'static str {
        "journald"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::System
    }

    fn example(&self) -> &'static str {
        r#"{"__CURSOR":"s=1c2d;i=4f1","__REALTIME_TIMESTAMP":"1697396401204131","_HOSTNAME":"auth-1","PRIORITY":"3","SYSLOG_IDENTIFIER":"auth-api","_SYSTEMD_UNIT":"auth-api.service","_PID":"2211","MESSAGE":"connection to postgres lost: server closed the connection unexpectedly"}"#
    }

    fn fields(&self) -> &'static str {
        "time (__REALTIME_TIMESTAMP), severity (PRIORITY), service (SYSLOG_IDENTIFIER, unit), host, pid, unit, message"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if has(obj, "__REALTIME_TIMESTAMP") && has(obj, "MESSAGE") {
            97
        } else if has(obj, "__CURSOR") || has(obj, "__REALTIME_TIMESTAMP") {
            80
        } else {
            0
        }
    }

    fn parse_json(
        &self,
        value: &Value,
        _cx: &mut FileContext,
        out: &mut Vec<Event>,
    ) -> LineOutcome {
        let Some(obj) = value.as_object() else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a JSON object"));
        };
        let Some(micros) =
            get_text(obj, "__REALTIME_TIMESTAMP").and_then(|t| t.parse::<i64>().ok())
        else {
            return LineOutcome::Unparsed(Cow::Borrowed("no __REALTIME_TIMESTAMP"));
        };
        let time = micros.saturating_mul(NS_PER_SEC / 1_000_000);
        let message = message_of(get(obj, "MESSAGE"));
        let severity = match get_text(obj, "PRIORITY").and_then(|p| p.parse::<u8>().ok()) {
            Some(p) => Severity::from_syslog(p),
            None => severity_from_text(&message),
        };
        let mut event = Event::new(time, SourceKind::System, severity, message);
        event.service = get_str(obj, "SYSLOG_IDENTIFIER")
            .or_else(|| get_str(obj, "_SYSTEMD_UNIT").map(|u| u.trim_end_matches(".service")))
            .or_else(|| get_str(obj, "_COMM"))
            .map(str::to_string);
        for (key, field) in [
            ("host", "_HOSTNAME"),
            ("pid", "_PID"),
            ("unit", "_SYSTEMD_UNIT"),
        ] {
            if let Some(v) = get_text(obj, field) {
                event.attrs.push((key.to_string(), v));
            }
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["journal"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn entry_and_binary_message() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            Journald.parse(Journald.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01.204Z");
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.service.as_deref(), Some("auth-api"));
        let binary = r#"{ "__REALTIME_TIMESTAMP" : "1697396402000000", "PRIORITY" : "6", "_SYSTEMD_UNIT" : "kiosk.service", "MESSAGE" : [104, 105, 255] }"#;
        Journald.parse(binary, &mut cx, &mut out);
        assert!(out[1].message.starts_with("hi"));
        assert_eq!(out[1].service.as_deref(), Some("kiosk"));
    }
}
