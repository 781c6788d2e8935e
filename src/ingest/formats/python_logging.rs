//! Python's `logging` with the usual formats: `%(asctime)s %(levelname)s %(message)s`,
//! `%(asctime)s - %(name)s - %(levelname)s - %(message)s`, Flask's `[%(asctime)s] %(levelname)s in
//! %(module)s: %(message)s`. Tracebacks and multi-line messages join the record above.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, Multiline, append_continuation};
use crate::event::{Event, Severity, SourceKind};

pub struct PythonLogging;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\[?(?P<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3})\]?(?: - (?P<name>\S+) -)? (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL)(?: -| in (?P<module>[\w.]+):)? ?(?P<msg>.*)$",
    )
    .expect("static regex")
});

impl LineFormat for PythonLogging {
    fn name(&self) -> &'static str {
        "python-logging"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        "2023-10-15 15:00:01,204 - auth.views - ERROR - login failed for user u-00412"
    }

    fn fields(&self) -> &'static str {
        "time (no zone: --assume-tz), logger name or module, level, message; tracebacks joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c)
                if c.name("name").is_some()
                    || c.name("module").is_some()
                    || matches!(&c["level"], "WARNING" | "CRITICAL") =>
            {
                88
            }
            Some(_) => 80,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a Python logging line"));
        };
        let time = match cx.iso(&c["time"]) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(format!("unreadable time: {e}"))),
        };
        let severity = Severity::from_word(&c["level"]).unwrap_or_default();
        let mut event = Event::new(time, SourceKind::App, severity, c["msg"].to_string());
        if let Some(name) = c.name("name").or(c.name("module")) {
            event
                .attrs
                .push(("logger".to_string(), name.as_str().to_string()));
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

    fn name_hints(&self) -> &'static [&'static str] {
        &["python", "django", "flask", "celery", "gunicorn"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn formats() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            PythonLogging.parse(PythonLogging.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[0].attr("logger"), Some("auth.views"));
        assert_eq!(out[0].message, "login failed for user u-00412");
        assert_eq!(format_utc(out[0].time), "2023-10-15T15:00:01.204Z");
        PythonLogging.parse(
            "2023-10-15 15:00:02,000 CRITICAL worker lost",
            &mut cx,
            &mut out,
        );
        assert_eq!(out[1].severity, Severity::Fatal);
        PythonLogging.parse(
            "[2023-10-15 15:00:03,000] ERROR in app: Exception on /login [POST]",
            &mut cx,
            &mut out,
        );
        assert_eq!(out[2].attr("logger"), Some("app"));
        assert_eq!(out[2].message, "Exception on /login [POST]");
    }
}
