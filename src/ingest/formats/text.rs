//! Plain-text logs of no known layout, as a last resort: a line that starts with a timestamp
//! (ISO 8601 with or without zone, optionally in brackets) and perhaps a level word soon after.
//! Lines that do not start with a time continue the record above.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{
    FileContext, LineFormat, LineOutcome, Multiline, append_continuation, severity_from_text,
};
use crate::event::{Event, Severity, SourceKind};

pub struct PlainText;

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\[?(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2}| [A-Z]{3,4}\b)?)\]?[\s:|-]+(?P<rest>.*)$",
    )
    .expect("static regex")
});

/// A level word among the first tokens (`ERROR`, `[warn]`, `level=info`, `<E>`).
fn level_of(rest: &str) -> Option<(Severity, usize)> {
    let mut offset = 0;
    for token in rest.split(' ').take(4) {
        let word = token
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .trim_start_matches("level=");
        let end = offset + token.len();
        if word.len() >= 4
            && let Some(s) = Severity::from_word(word)
        {
            return Some((s, end));
        }
        offset = end + 1;
    }
    None
}

impl LineFormat for PlainText {
    fn name(&self) -> &'static str {
        "text"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        "2023-10-15T15:00:01.204-04:00 | auth-api | ERROR | login failed for user u-00412"
    }

    fn fields(&self) -> &'static str {
        "time (leading timestamp), level (a level word among the first tokens, else the message's words), message; other lines joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        match LINE.captures(line) {
            Some(c) if level_of(&c["rest"]).is_some() => 50,
            Some(_) => 40,
            None => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some(c) = LINE.captures(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no timestamp at the start of the line"));
        };
        let time = match cx.iso(&c["time"]) {
            Ok(t) => t,
            Err(e) => return LineOutcome::Unparsed(Cow::Owned(format!("unreadable time: {e}"))),
        };
        let rest = &c["rest"];
        let (severity, message) = match level_of(rest) {
            Some((s, end)) => (
                s,
                rest[end.min(rest.len())..].trim_start_matches([' ', ':', '|', '-', ']']),
            ),
            None => (severity_from_text(rest), rest),
        };
        out.push(Event::new(
            time,
            SourceKind::App,
            severity,
            message.to_string(),
        ));
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
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn leading_time_and_level() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            PlainText.parse(PlainText.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[0].severity, Severity::Error);
        assert_eq!(format_utc(out[0].time), "2023-10-15T19:00:01.204Z");
        PlainText.parse(
            "[2023-10-15 15:00:02] [warn] disk 91% full",
            &mut cx,
            &mut out,
        );
        assert_eq!(out[1].severity, Severity::Warn);
        assert_eq!(out[1].message, "disk 91% full");
        assert!(PlainText.sniff("2023-10-15 15:00:02 hello") <= 50);
    }
}
