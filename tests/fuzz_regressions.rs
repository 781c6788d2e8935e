//! Inputs the fuzz targets (`fuzz/`) found wrong, kept as tests with the targets' own checks:
//! the formats' fast paths read a line exactly as the full parse does, and ingesting any bytes
//! accounts for every line without panicking.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use retrace::aggregate::Aggregates;
use retrace::ingest::formats::{FORMATS, FastLine, FileContext, LineOutcome, ParseContext};
use retrace::ingest::{InputFile, ingest_file};

/// The `fast_paths` target's check, on every line of `text` and every format with a fast path.
fn fast_path_agrees(text: &str) {
    for line in text.split('\n') {
        for &format in FORMATS {
            let mut fast_cx = FileContext::new(ParseContext::default());
            let Some(fast) = format.parse_view(line, &mut fast_cx) else {
                continue;
            };
            let mut full_cx = FileContext::new(ParseContext::default());
            let mut events = Vec::new();
            let outcome = format.parse(line, &mut full_cx, &mut events);
            let name = format.name();
            match fast {
                FastLine::Record(view) => {
                    assert_eq!(outcome, LineOutcome::Parsed, "{name}: {line:?}");
                    assert_eq!(events.len(), 1, "{name}: {line:?}");
                    assert_eq!(events[0].view(), view, "{name}: {line:?}");
                }
                FastLine::Continuation => {
                    assert_eq!(outcome, LineOutcome::Continuation, "{name}: {line:?}");
                }
            }
            assert_eq!(fast_cx.notes(), full_cx.notes(), "{name}: {line:?}");
        }
    }
}

/// The `detect_and_parse` target's check: `bytes` as a file named `name`, format detected.
#[allow(dead_code)]
fn accounted(bytes: &[u8], name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let file = InputFile {
        path,
        display: name.to_string(),
        size: bytes.len() as u64,
    };
    let mut sink = Aggregates::default();
    let report = ingest_file(
        0,
        &file,
        None,
        &ParseContext::default(),
        Arc::new(AtomicU64::new(0)),
        &mut sink,
    );
    assert_eq!(
        report.lines,
        report.parsed + report.joined + report.unparsed
    );
    sink.finish();
}

/// A status that is not an HTTP status (`020`): the fast path printed it as `20`, the full
/// parse as written. Both now refuse it as an access line.
#[test]
fn nginx_status_outside_100_to_599() {
    fast_path_agrees(
        r#"98.252.94.77 - - [15/Oct/2023:12:01:28 -0400] "POST /api/v1/login HTTP/1.1" 020 904 "-" "curl/8""#,
    );
}

/// A `client=` in the PostgreSQL prefix: the full parse reads the client, the fast path missed it.
#[test]
fn postgres_client_in_the_prefix() {
    fast_path_agrees(
        "2023-10-15 14:59:50.100 EDT [48213] app=auth-api,client=10.0.3.7 ERROR:  relation \"sessions\" does not exist",
    );
}
