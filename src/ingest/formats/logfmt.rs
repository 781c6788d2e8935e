//! logfmt (`key=value` pairs, values quoted when they hold spaces): logrus's TextFormatter,
//! go-kit, Grafana, Loki, Heroku's router. Time from `time`/`ts`/`t`, level from
//! `level`/`lvl`, message from `msg`; request fields by the usual names.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json_app::{app_event, fill_fields};
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, Severity, SourceKind, TimeNs};
use crate::time::parse_epoch_text;

pub struct Logfmt;

const TIME_KEYS: &[&str] = &["time", "ts", "t", "timestamp", "date", "@timestamp"];
const LEVEL_KEYS: &[&str] = &["level", "lvl", "severity", "at"];
const MESSAGE_KEYS: &[&str] = &["msg", "message"];

/// Splits a logfmt line into pairs; `None` when something in it is not a pair.
pub fn pairs(line: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
    let b = line.as_bytes();
    let mut out = Vec::with_capacity(16);
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b' ' {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' || i == key_start {
            return None;
        }
        let key = &line[key_start..i];
        i += 1;
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let start = i;
            let mut escaped = false;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    escaped = true;
                    i += 1;
                }
                i += 1;
            }
            let raw = &line[start..i.min(b.len())];
            let value = if escaped {
                Cow::Owned(
                    raw.replace("\\\"", "\"")
                        .replace("\\n", "\n")
                        .replace("\\\\", "\\"),
                )
            } else {
                Cow::Borrowed(raw)
            };
            out.push((key, value));
            i += 1;
        } else {
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            out.push((key, Cow::Borrowed(&line[start..i])));
        }
    }
    Some(out)
}

fn find<'a>(pairs: &'a [(&str, Cow<'_, str>)], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_ref())
    })
}

fn time_of(text: &str, cx: &mut FileContext) -> Option<TimeNs> {
    cx.iso(text).ok().or_else(|| parse_epoch_text(text).ok())
}

impl LineFormat for Logfmt {
    fn name(&self) -> &'static str {
        "logfmt"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"time="2023-10-15T19:00:01.204131Z" level=error msg="login failed" user_id=u-00412 status=500 duration=12.5ms path=/api/v1/login"#
    }

    fn fields(&self) -> &'static str {
        "time (time/ts/t), level, message, request fields by the usual names (status, method, path, user, client, duration)"
    }

    fn sniff(&self, line: &str) -> u8 {
        let Some(pairs) = pairs(line) else {
            return 0;
        };
        if pairs.len() < 2 {
            return 0;
        }
        let timed = find(&pairs, TIME_KEYS).is_some_and(|t| {
            crate::time::parse_iso(t, &Default::default()).is_ok() || t.parse::<f64>().is_ok()
        });
        match (
            timed,
            find(&pairs, LEVEL_KEYS).is_some(),
            find(&pairs, MESSAGE_KEYS).is_some(),
        ) {
            (true, true, _) | (true, _, true) => 88,
            (true, false, false) => 70,
            _ => 25,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(pairs) = pairs(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not key=value pairs"));
        };
        let Some(time) = find(&pairs, TIME_KEYS).and_then(|t| time_of(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable time key"));
        };
        // The shared key lists work on JSON maps.
        let obj: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        let severity = find(&pairs, LEVEL_KEYS).and_then(Severity::from_word);
        let message = find(&pairs, MESSAGE_KEYS).unwrap_or_default().to_string();
        let mut event = app_event(&obj, time, severity, message);
        fill_fields(&obj, &mut event);
        if let Some(logger) = find(&pairs, &["logger", "component", "caller"]) {
            event.attrs.push(("logger".to_string(), logger.to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn logrus_text_and_grafana() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert!(Logfmt.sniff(Logfmt.example()) > 85);
        assert_eq!(
            Logfmt.parse(Logfmt.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(e.severity, Severity::Error);
        assert_eq!(e.status, Some(500));
        assert_eq!(e.latency_ms, Some(12.5));
        assert_eq!(e.user.as_deref(), Some("u-00412"));
        let grafana = r#"logger=ngalert.scheduler t=2023-10-15T19:00:01.204131577Z level=warn msg="Tick dropped because alert rule evaluation is too slow" rule_uid=aa11 time_since_last_tick=1m0s"#;
        Logfmt.parse(grafana, &mut cx, &mut out);
        assert_eq!(format_utc(out[1].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(out[1].attr("logger"), Some("ngalert.scheduler"));
        assert_eq!(Logfmt.sniff("plain words here"), 0);
        assert_eq!(pairs(r#"a="x \"y\"" b=2"#).unwrap()[0].1, "x \"y\"");
    }
}
