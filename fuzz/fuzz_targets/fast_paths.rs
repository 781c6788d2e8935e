//! The formats' fast paths (`LineFormat::parse_view`, used when only aggregates are kept) must
//! read every line exactly as the full parse does: same outcome, same fields, same notes.

#![no_main]

use retrace::ingest::formats::{FORMATS, FastLine, FileContext, LineOutcome, ParseContext};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n') {
        for format in FORMATS.iter().copied() {
            let mut fast_cx = FileContext::new(ParseContext::default());
            let Some(fast) = format.parse_view(line, &mut fast_cx) else {
                continue;
            };
            let mut full_cx = FileContext::new(ParseContext::default());
            let mut events = Vec::new();
            let outcome = format.parse(line, &mut full_cx, &mut events);
            match fast {
                FastLine::Record(view) => {
                    assert_eq!(outcome, LineOutcome::Parsed, "{}: {line:?}", format.name());
                    assert_eq!(events.len(), 1, "{}: {line:?}", format.name());
                    assert_eq!(events[0].view(), view, "{}: {line:?}", format.name());
                }
                FastLine::Continuation => {
                    assert_eq!(
                        outcome,
                        LineOutcome::Continuation,
                        "{}: {line:?}",
                        format.name()
                    );
                }
            }
            assert_eq!(
                fast_cx.notes(),
                full_cx.notes(),
                "{}: {line:?}",
                format.name()
            );
        }
    }
});
