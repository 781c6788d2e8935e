//! Docker's json-file logging driver: `{"log":"<text>\n","stream":"stdout","time":"<RFC 3339>"}`.
//! The text is parsed as whatever known format it is (see [`super::container`]).

use std::borrow::Cow;

use serde_json::Value;

use super::container::{docker_text, parse_wrapped};
use super::json::{get_str, has};
use super::{FileContext, LineFormat, LineOutcome, append_continuation};
use crate::event::{Event, SourceKind};

pub struct DockerJson;

impl LineFormat for DockerJson {
    /// Not cut into chunks: the inner format and a partial line carry over from line to line.
    fn chunkable(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "docker-json"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::App
    }

    fn example(&self) -> &'static str {
        r#"{"log":"203.0.113.7 - - [15/Oct/2023:19:00:01 +0000] \"POST /api/v1/login HTTP/1.1\" 502 150 \"-\" \"Mozilla/5.0\"\n","stream":"stdout","time":"2023-10-15T19:00:01.204131577Z"}"#
    }

    fn fields(&self) -> &'static str {
        "time and stream of Docker; the text parsed as its own format (detected per line), else a plain event; split lines joined"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        let Some(obj) = value.as_object() else {
            return 0;
        };
        if obj.get("log").is_some_and(Value::is_string) && has(obj, "time") && has(obj, "stream") {
            96
        } else {
            0
        }
    }

    fn parse_json(&self, value: &Value, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        let Some((text, partial)) = docker_text(value) else {
            return LineOutcome::Unparsed(Cow::Borrowed("no \"log\" text"));
        };
        let obj = value.as_object();
        let Some(time) = obj
            .and_then(|o| get_str(o, "time"))
            .and_then(|t| cx.iso(t).ok())
        else {
            return LineOutcome::Unparsed(Cow::Borrowed("no readable time"));
        };
        let stream = obj.and_then(|o| get_str(o, "stream")).unwrap_or("stdout");
        parse_wrapped(text, partial, time, stream, cx, out)
    }

    fn join(&self, event: &mut Event, line: &str) {
        let value = super::json::parse_value(line).ok();
        let text = value
            .as_ref()
            .and_then(docker_text)
            .map_or(line, |(t, _)| t);
        append_continuation(event, "continuation", text);
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["-json.log", "docker"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn wrapped_access_line() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            DockerJson.parse(DockerJson.example(), &mut cx, &mut out),
            LineOutcome::Parsed
        );
        let e = &out[0];
        assert_eq!(e.kind, Some(SourceKind::Web));
        assert_eq!(e.status, Some(502));
        assert_eq!(format_utc(e.time), "2023-10-15T19:00:01Z");
        let trace = r#"{"log":"\tat com.acme.Login.handle(Login.java:42)\n","stream":"stderr","time":"2023-10-15T19:00:01.3Z"}"#;
        assert_eq!(
            DockerJson.parse(trace, &mut cx, &mut out),
            LineOutcome::Continuation
        );
    }
}
