//! Container runtime wrappers: the CRI log format of containerd and CRI-O
//! (`<RFC 3339 time> stdout|stderr F|P <text>`), and the inner-text handling it shares with
//! Docker's json-file driver: the wrapped text is parsed as whatever known format it is (an
//! nginx access line, app JSON, logfmt...), detected per file and again whenever a line does not
//! fit; text of no known format becomes a plain event at the runtime's time. Partial lines (`P`)
//! are put back together.

use std::any::Any;
use std::borrow::Cow;

use serde_json::Value;

use super::json;
use super::{
    FORMATS, FileContext, LineFormat, LineOutcome, append_continuation, severity_from_text,
};
use crate::event::{Event, SourceKind, TimeNs};
use crate::ingest::multiline::looks_like_continuation;

pub struct CriLog;

/// A wrapped line longer than this (after joining partials) is cut.
const MAX_JOINED_BYTES: usize = 1 << 20;
/// Inner formats below this score are not trusted for a line.
const MIN_INNER_SCORE: u8 = 50;

/// Per-file state of a wrapper: the inner format, its own state, a partial line.
#[derive(Default)]
pub struct InnerState {
    format: Option<&'static dyn LineFormat>,
    state: Option<Box<dyn Any + Send>>,
    partial: String,
}

fn is_wrapper(format: &dyn LineFormat) -> bool {
    matches!(format.name(), "docker-json" | "cri")
}

/// The known format that fits a line best (wrappers left out), if convincing.
fn best_inner(text: &str) -> Option<&'static dyn LineFormat> {
    let parsed = if text.trim_start().starts_with('{') {
        json::parse_value(text).ok()
    } else {
        None
    };
    let mut best: Option<(&'static dyn LineFormat, u8)> = None;
    for format in FORMATS.iter().copied().filter(|f| !is_wrapper(*f)) {
        let score = match &parsed {
            Some(v) => format.sniff_json(v),
            None => format.sniff(text),
        };
        if score >= MIN_INNER_SCORE && best.is_none_or(|(_, b)| score > b) {
            best = Some((format, score));
        }
    }
    best.map(|(f, _)| f)
}

/// Runs the inner format on `text` with its own state and the runtime's time as fallback.
fn run_inner(
    format: &'static dyn LineFormat,
    inner: &mut InnerState,
    text: &str,
    time: TimeNs,
    cx: &mut FileContext,
    out: &mut Vec<Event>,
) -> LineOutcome {
    let outer = cx.take_state();
    cx.put_state(inner.state.take());
    let saved = cx.parse.record_time;
    cx.parse.record_time = Some(time);
    let outcome = format.parse(text, cx, out);
    cx.parse.record_time = saved;
    inner.state = cx.take_state();
    cx.put_state(outer);
    outcome
}

/// Parses the text a runtime wrapped (`partial`: more of the line follows in the next record).
pub fn parse_wrapped(
    text: &str,
    partial: bool,
    time: TimeNs,
    stream: &str,
    cx: &mut FileContext,
    out: &mut Vec<Event>,
) -> LineOutcome {
    let mut inner = std::mem::take(cx.state::<InnerState>());
    let outcome = parse_with(&mut inner, text, partial, time, stream, cx, out);
    *cx.state::<InnerState>() = inner;
    outcome
}

fn parse_with(
    inner: &mut InnerState,
    text: &str,
    partial: bool,
    time: TimeNs,
    stream: &str,
    cx: &mut FileContext,
    out: &mut Vec<Event>,
) -> LineOutcome {
    if partial || !inner.partial.is_empty() {
        if inner.partial.len() < MAX_JOINED_BYTES {
            inner.partial.push_str(text);
        }
        if partial {
            return LineOutcome::Prefix;
        }
    }
    let joined = std::mem::take(&mut inner.partial);
    let text = if joined.is_empty() {
        text
    } else {
        joined.as_str()
    };
    if let Some(format) = inner.format {
        let before = out.len();
        match run_inner(format, inner, text, time, cx, out) {
            LineOutcome::Unparsed(_) => out.truncate(before),
            other => return other,
        }
    }
    if let Some(format) =
        best_inner(text).filter(|f| Some(f.name()) != inner.format.map(|g| g.name()))
    {
        // The file's inner format changed (or this is the first line): follow it.
        let mut fresh = InnerState {
            format: Some(format),
            ..InnerState::default()
        };
        let before = out.len();
        match run_inner(format, &mut fresh, text, time, cx, out) {
            LineOutcome::Unparsed(_) => out.truncate(before),
            other => {
                *inner = fresh;
                return other;
            }
        }
    }
    if looks_like_continuation(text) {
        return LineOutcome::Continuation;
    }
    // Text of no known format: still a record, at the runtime's time.
    let mut event = Event::new(
        time,
        SourceKind::App,
        severity_from_text(text),
        text.to_string(),
    );
    event.attrs.push(("stream".to_string(), stream.to_string()));
    out.push(event);
    LineOutcome::Parsed
}

/// A CRI line split: time, stream, full/partial, text.
fn split_cri(line: &str) -> Option<(&str, &str, bool, &str)> {
    let mut parts = line.splitn(4, ' ');
    let time = parts.next()?;
    let stream = parts.next().filter(|s| *s == "stdout" || *s == "stderr")?;
    let tag = parts.next()?;
    let partial = match tag.split(':').next()? {
        "F" => false,
        "P" => true,
        _ => return None,
    };
    Some((time, stream, partial, parts.next().unwrap_or("")))
}

impl LineFormat for CriLog {
    /// Not cut into chunks: the inner format and a partial line carry over from line to line.
    fn chunkable(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "cri"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"2023-10-15T19:00:01.204131577Z stdout F {"timestamp":"2023-10-15T19:00:01.204Z","level":"error","message":"login failed","status":500}"#
    }

    fn fields(&self) -> &'static str {
        "time and stream of the runtime; the wrapped text parsed as its own format (detected per line), else a plain event; partial lines joined"
    }

    fn sniff(&self, line: &str) -> u8 {
        match split_cri(line) {
            Some((time, ..)) if crate::time::parse_iso(time, &Default::default()).is_ok() => 96,
            _ => 0,
        }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some((time, stream, partial, text)) = split_cri(line) else {
            return LineOutcome::Unparsed(Cow::Borrowed("not a CRI log line"));
        };
        let Ok(time) = cx.iso(time) else {
            return LineOutcome::Unparsed(Cow::Borrowed("unreadable time"));
        };
        parse_wrapped(text, partial, time, stream, cx, out)
    }

    fn join(&self, event: &mut Event, line: &str) {
        let text = split_cri(line).map_or(line, |(_, _, _, t)| t);
        append_continuation(event, "continuation", text);
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["/pods/", "containers"]
    }
}

/// Docker's json-file text: the line without its trailing newline, and whether it was cut
/// (Docker splits lines longer than 16 KiB and marks the pieces by leaving the newline out).
pub fn docker_text(value: &Value) -> Option<(&str, bool)> {
    let log = value.get("log")?.as_str()?;
    Some(match log.strip_suffix('\n') {
        Some(t) => (t.strip_suffix('\r').unwrap_or(t), false),
        None => (log, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn inner_formats_are_followed_line_by_line() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert!(CriLog.sniff(CriLog.example()) > 90);
        assert_eq!(
            CriLog.parse(CriLog.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out[0].status, Some(500));
        assert_eq!(out[0].severity, Severity::Error);
        let access = r#"2023-10-15T19:00:02.000000000Z stdout F 10.0.0.9 - - [15/Oct/2023:19:00:02 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.28""#;
        CriLog.parse(access, &mut cx, &mut out);
        assert_eq!(out[1].kind, Some(SourceKind::Web));
        assert_eq!(out[1].path.as_deref(), Some("/healthz"));
        let plain =
            "2023-10-15T19:00:03.000000000Z stderr F panic: runtime error: invalid memory address";
        CriLog.parse(plain, &mut cx, &mut out);
        assert_eq!(out[2].severity, Severity::Fatal);
        assert_eq!(format_utc(out[2].time), "2023-10-15T19:00:03Z");
        assert_eq!(
            CriLog.parse(
                "2023-10-15T19:00:03.000000001Z stderr F \tgoroutine 1 [running]:",
                &mut cx,
                &mut out
            ),
            LineOutcome::Continuation
        );
        // A line split in two.
        assert_eq!(
            CriLog.parse(
                "2023-10-15T19:00:04Z stdout P {\"timestamp\":\"2023-10-15T19:00:04Z\",",
                &mut cx,
                &mut out
            ),
            LineOutcome::Prefix
        );
        assert_eq!(
            CriLog.parse(
                "2023-10-15T19:00:04Z stdout F \"level\":\"info\",\"message\":\"joined\"}",
                &mut cx,
                &mut out
            ),
            LineOutcome::Parsed
        );
        assert_eq!(out[3].message, "joined");
    }
}
