//! Spring Boot's default console/file layout:
//! `2023-10-18T20:09:06.941-04:00  INFO 498248 --- [main] o.s.boot.SpringApplication : message`
//! (Boot 3; Boot 2 writes a space instead of `T` and no offset; 3.4 may add `[app]`). Stack
//! traces and multi-line messages join the record above.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome, Multiline, append_continuation};
use crate::event::{Event, Severity, SourceKind};

pub struct SpringBoot;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}[.,]\d{3}(?:Z|[+-]\d{2}:?\d{2})?)\s+(?P<level>TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+(?P<pid>\d+) --- (?:\[(?P<app>[^\]]*)\] )?\[\s*(?P<thread>[^\]]*)\] (?P<logger>\S+)\s*: (?P<msg>.*)$",
    )
    .expect("static regex")
});

impl LineFormat for SpringBoot {
    fn name(&self) -> &'static str {
        "spring-boot"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        "2023-10-15T15:00:01.204-04:00 ERROR 2211 --- [nio-8080-exec-7] c.a.auth.web.LoginController            : login failed for user u-00412"
    }

    fn fields(&self) -> &'static str {
        "time, level, pid, application, thread, logger, message; stack traces joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        if LINE.is_match(line) { 95 } else { 0 }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a Spring Boot log line"));
        };
        let time = match cx.iso(&c["time"]) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(format!("unreadable time: {e}"))),
        };
        let severity = Severity::from_word(&c["level"]).unwrap_or_default();
        let mut event = Event::new(time, SourceKind::App, severity, c["msg"].to_string());
        event.service = c
            .name("app")
            .map(|m| m.as_str().to_string())
            .filter(|a| !a.is_empty());
        for key in ["pid", "thread", "logger"] {
            event
                .attrs
                .push((key.to_string(), c[key].trim().to_string()));
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
        &["spring"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn boot_2_and_3() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            SpringBoot.parse(SpringBoot.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:00:01.204Z");
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(out[0].attr("thread"), Some("nio-8080-exec-7"));
        let boot2 = "2023-10-15 15:00:02.001  WARN 2211 --- [           main] o.h.e.j.e.i.JdbcEnvironmentInitiator     : HHH000342: Could not obtain connection to query metadata";
        assert!(SpringBoot.sniff(boot2) > 90);
        SpringBoot.parse(boot2, &mut cx, &mut out);
        assert_eq!(out[1].attr("thread"), Some("main"));
    }
}
