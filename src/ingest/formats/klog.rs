//! Kubernetes klog / Google glog: `Lmmdd hh:mm:ss.uuuuuu threadid file:line] message` with `L`
//! one of I, W, E, F. No year: it comes from the other inputs or the file's date.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, Severity, SourceKind};
use crate::time::{YearlessTime, parse_clock};

pub struct Klog;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<level>[IWEF])(?P<month>\d{2})(?P<day>\d{2}) (?P<clock>\d{2}:\d{2}:\d{2}\.\d{6})\s+(?P<thread>\d+) (?P<source>[^:\]\s]+:\d+)\] (?P<msg>.*)$",
    )
    .expect("static regex")
});

impl LineFormat for Klog {
    fn name(&self) -> &'static str {
        "klog"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::System
    }

    fn example(&self) -> &'static str {
        r#"E1015 19:00:01.204131       1 controller.go:114] "Failed to sync" err="connection refused" pod="auth/auth-api-7c9d""#
    }

    fn fields(&self) -> &'static str {
        "time (year from the other inputs or the file's date), level (I/W/E/F), thread, source file:line, message"
    }

    fn sniff(&self, line: &str) -> u8 {
        if LINE.is_match(line) { 94 } else { 0 }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a klog/glog line"));
        };
        let (Ok(month), Ok(day), Some(time)) = (
            c["month"].parse::<u32>(),
            c["day"].parse::<u32>(),
            parse_clock(&c["clock"]),
        ) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let time = match cx.yearless(&YearlessTime { month, day, time }) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(e.to_string())),
        };
        let severity = match &c["level"] {
            "F" => Severity::Fatal,
            "E" => Severity::Error,
            "W" => Severity::Warn,
            _ => Severity::Info,
        };
        let mut event = Event::new(time, SourceKind::System, severity, c["msg"].to_string());
        event
            .attrs
            .push(("thread".to_string(), c["thread"].to_string()));
        event
            .attrs
            .push(("source".to_string(), c["source"].to_string()));
        out.push(event);
        LineOutcome::Parsed
    }

    fn needs_anchor(&self) -> bool {
        true
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["klog", "glog", "kube"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::{format_utc, parse_iso};

    #[test]
    fn error_line() {
        let mut cx = FileContext::new(ParseContext {
            anchor: Some(parse_iso("2023-10-15T20:00:00Z", &Default::default()).unwrap()),
            ..ParseContext::default()
        });
        let mut out = Vec::new();
        assert_eq!(
            Klog.parse(Klog.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].attr("source"), Some("controller.go:114"));
        assert!(Klog.sniff("I1015 19:00:01.204131   52992 main.go:12] started") > 90);
    }
}
