//! Go's standard `log` package: `2023/10/15 15:00:01 message`, with `Lmicroseconds`
//! (`15:00:01.204131`) and `Lshortfile`/`Llongfile` (`login.go:88: message`). No level: the
//! message's words give the severity. Local time, no zone.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{
    FileContext, LineFormat, LineOutcome, Multiline, append_continuation, severity_from_text,
};
use crate::event::{Event, SourceKind};
use crate::time::parse_slashed;

pub struct GoLog;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<time>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) (?:(?P<file>[\w./-]+\.go:\d+): )?(?P<msg>.*)$",
    )
    .expect("static regex")
});

impl LineFormat for GoLog {
    fn name(&self) -> &'static str {
        "go-log"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        "2023/10/15 15:00:01.204131 login.go:88: error: pq: relation \"sessions\" does not exist"
    }

    fn fields(&self) -> &'static str {
        "time (local), source file:line, message (severity from its words); panics and goroutine dumps joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if c.name("file").is_some() => 75,
            Some(_) => 55,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a Go log line"));
        };
        let Some(time) = parse_slashed(&c["time"]).and_then(|n| cx.local(&n).ok()) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        let msg = &c["msg"];
        let mut event = Event::new(
            time,
            SourceKind::App,
            severity_from_text(msg),
            msg.to_string(),
        );
        if let Some(file) = c.name("file") {
            event
                .attrs
                .push(("source".to_string(), file.as_str().to_string()));
        }
        out.push(event);
        LineOutcome::Parsed
    }

    fn join(&self, event: &mut Event, line: &str) {
        append_continuation(event, "stack", line);
    }

    fn multiline(&self) -> Multiline {
        Multiline::AnyLine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn with_file_and_microseconds() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            GoLog.parse(GoLog.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].attr("source"), Some("login.go:88"));
        assert_eq!(format_utc(out[0].time), "2023-10-15T15:00:01.204Z");
        assert_eq!(GoLog.sniff("2023/10/15 15:00:01 [error] 1#1: x"), 55);
    }
}
