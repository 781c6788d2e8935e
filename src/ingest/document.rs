//! JSON documents: a file that is one pretty-printed JSON value (an API response, a webhook body
//! saved by hand), or several concatenated, rather than one record per line.
//!
//! The document is held in memory (bounded by [`MAX_DOCUMENT_BYTES`]). A top-level array is split
//! into its elements; every element, or every top-level object, is one record for the format.
//! Accounting follows the lines: a record's first line is parsed and its other lines joined (or
//! all unparsed when the record gave no event); punctuation between records is joined.

use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

use super::detect::detect_document;
use super::formats::{FileContext, LineFormat, LineOutcome, truncate_str};
use super::{EventSink, InputReport, QUOTE_CHARS, UNPARSED_SAMPLES, UnparsedSample};
use crate::event::Origin;
use crate::time::{IMPLAUSIBLE_TIME, is_plausible};

/// Larger documents are not read (they would have to be held whole).
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;
/// Records of a document sampled for detection.
const SNIFF_RECORDS: usize = 16;

fn skip_space(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

/// Whether a file starting with these bytes is a JSON document rather than JSON lines or text:
/// an array of objects or arrays, or an object that does not end on its first line.
pub fn looks_like_document(prefix: &[u8]) -> bool {
    let p = skip_space(prefix);
    match p.first() {
        // `[2023-10-15 ...]` and `[    4.9]` start text logs: an array must hold JSON values.
        Some(b'[') => matches!(skip_space(&p[1..]).first(), Some(b'{' | b'[' | b']')),
        Some(b'{') => {
            let first_line = match memchr::memchr(b'\n', p) {
                Some(i) => &p[..i],
                None => p,
            };
            match serde_json::from_slice::<IgnoredAny>(first_line) {
                Ok(_) => false,
                Err(e) => e.is_eof(),
            }
        }
        _ => false,
    }
}

/// A record of the document: its byte range.
struct Record {
    start: usize,
    end: usize,
}

/// What became of a record, by the lines it owns.
struct RecordLines {
    first: u64,
    last: u64,
    used: bool,
}

/// Counts lines across the document, moving forward only.
struct LineCursor<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl LineCursor<'_> {
    /// The 1-based line holding byte `offset` (offsets must not decrease).
    fn line_at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.text.len());
        if offset > self.offset {
            self.line += memchr::memchr_iter(b'\n', &self.text[self.offset..offset]).count() as u64;
            self.offset = offset;
        }
        self.line
    }
}

/// The byte offset of `part` inside `whole` (a slice of it).
fn offset_in(whole: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize)
}

/// Splits the document into records; stops at the first syntax error, returned with its line.
fn split_records(text: &str) -> (Vec<Record>, Option<(u64, String)>) {
    let mut records = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    for item in &mut stream {
        match item {
            Ok(raw) => {
                let s = raw.get();
                let start = offset_in(text, s);
                if s.starts_with('[') {
                    match serde_json::from_str::<Vec<&RawValue>>(s) {
                        Ok(elements) => records.extend(elements.iter().map(|e| {
                            let start = offset_in(text, e.get());
                            Record {
                                start,
                                end: start + e.get().len(),
                            }
                        })),
                        // The raw value was already checked: this only guards against surprises.
                        Err(e) => return (records, Some((0, e.to_string()))),
                    }
                } else {
                    records.push(Record {
                        start,
                        end: start + s.len(),
                    });
                }
            }
            Err(e) => {
                let line = e.line() as u64;
                let message = if e.is_eof() {
                    "JSON document cut short".to_string()
                } else {
                    format!("invalid JSON ({e})")
                };
                return (records, Some((line, message)));
            }
        }
    }
    (records, None)
}

/// Reads a whole JSON document (already in memory) into events.
pub fn ingest_document(
    bytes: &[u8],
    file_index: u32,
    forced: Option<&'static dyn LineFormat>,
    cx: &mut FileContext,
    report: &mut InputReport,
    sink: &mut dyn EventSink,
) {
    let text = String::from_utf8_lossy(bytes);
    let text: &str = &text;
    let (records, syntax_error) = split_records(text);
    let sampled: Vec<Option<Value>> = records
        .iter()
        .take(SNIFF_RECORDS)
        .map(|r| serde_json::from_str(&text[r.start..r.end]).ok())
        .collect();
    let format = match forced {
        Some(f) => {
            report.format_forced = true;
            report.confidence = 1.0;
            Some(f)
        }
        None => {
            let refs: Vec<&Value> = sampled.iter().flatten().collect();
            let detection = detect_document(&report.path, &refs);
            report.best_guess = detection.best_guess;
            report.coverage = detection.coverage;
            detection.chosen.map(|(f, c)| {
                report.confidence = c;
                f
            })
        }
    };
    report.format = format.map(|f| f.name());

    let mut cursor = LineCursor {
        text: text.as_bytes(),
        offset: 0,
        line: 1,
    };
    let mut outcomes: Vec<RecordLines> = Vec::with_capacity(records.len());
    let mut last_owned = 0u64;
    let mut scratch = Vec::new();
    let mut sampled = sampled.into_iter();
    for (i, record) in records.iter().enumerate() {
        let first_line = cursor.line_at(record.start);
        let last_line = cursor.line_at(record.end.saturating_sub(1));
        let raw = &text[record.start..record.end];
        let value = if i < SNIFF_RECORDS {
            sampled.next().flatten()
        } else {
            serde_json::from_str::<Value>(raw).ok()
        };
        scratch.clear();
        let mut outcome = match (format, &value) {
            (Some(f), Some(v)) => f.parse_json(v, cx, &mut scratch),
            (None, _) => LineOutcome::Unparsed("format not recognised".into()),
            (Some(_), None) => LineOutcome::Unparsed("invalid JSON".into()),
        };
        if outcome == LineOutcome::Parsed && !scratch.is_empty() {
            scratch.retain(|e| is_plausible(e.time));
            if scratch.is_empty() {
                outcome = LineOutcome::Unparsed(IMPLAUSIBLE_TIME.into());
            }
        }
        let used = matches!(outcome, LineOutcome::Parsed) && !scratch.is_empty();
        let origin = Origin {
            file: file_index,
            line: first_line,
        };
        for mut event in scratch.drain(..) {
            event.origin = origin;
            super::driver::record_event(report, sink, event);
        }
        // Lines are owned by the first record on them (a one-line array holds many records).
        let own_first = first_line.max(last_owned + 1);
        if own_first <= last_line {
            last_owned = last_line;
            outcomes.push(RecordLines {
                first: own_first,
                last: last_line,
                used,
            });
            if !used && report.samples.len() < UNPARSED_SAMPLES {
                let reason = match outcome {
                    LineOutcome::Unparsed(r) => r.into_owned(),
                    _ => "record without a usable event".to_string(),
                };
                report.samples.push(UnparsedSample {
                    line: own_first,
                    reason,
                    text: truncate_str(raw.lines().next().unwrap_or(""), QUOTE_CHARS).to_string(),
                });
            }
        }
    }

    // Walk every line once: records' lines by their outcome, the rest by what they are.
    let any_used = outcomes.iter().any(|o| o.used);
    let error_line = syntax_error.as_ref().map(|(l, _)| *l);
    let mut outcomes = outcomes.iter().peekable();
    let total_lines = text.split('\n').count() as u64 - u64::from(text.ends_with('\n'));
    for (index, line_text) in text.split('\n').enumerate() {
        let number = index as u64 + 1;
        if number > total_lines {
            break;
        }
        report.lines += 1;
        let origin = Origin {
            file: file_index,
            line: number,
        };
        while outcomes.peek().is_some_and(|o| o.last < number) {
            outcomes.next();
        }
        match outcomes.peek() {
            Some(o) if o.first <= number => {
                if o.used && number == o.first {
                    report.parsed += 1;
                } else if o.used {
                    report.joined += 1;
                    sink.joined(origin);
                } else {
                    report.unparsed += 1;
                    sink.unparsed(origin, "record without a usable event");
                }
            }
            _ => {
                if line_text.trim().is_empty() {
                    report.unparsed += 1;
                    report.blank += 1;
                } else if error_line.is_some_and(|e| number >= e) {
                    report.unparsed += 1;
                    let reason = syntax_error
                        .as_ref()
                        .map_or("invalid JSON", |(_, m)| m.as_str());
                    sink.unparsed(origin, reason);
                    if Some(number) == error_line && report.samples.len() < UNPARSED_SAMPLES {
                        report.samples.push(UnparsedSample {
                            line: number,
                            reason: reason.to_string(),
                            text: truncate_str(line_text.trim_end(), QUOTE_CHARS).to_string(),
                        });
                    }
                } else if any_used {
                    // Brackets and commas between records belong to the document.
                    report.joined += 1;
                    sink.joined(origin);
                } else {
                    report.unparsed += 1;
                    sink.unparsed(origin, "no usable record in this JSON document");
                }
            }
        }
    }
    if let Some((line, message)) = syntax_error
        && report.error.is_none()
    {
        report.error = Some(format!(
            "{message} at line {line}; the records before it were used"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_documents_from_json_lines_and_text() {
        assert!(looks_like_document(b"[\n  {\"a\": 1}\n]\n"));
        assert!(looks_like_document(b"{\n  \"status\": \"success\",\n"));
        assert!(looks_like_document(b"  []"));
        assert!(!looks_like_document(b"{\"a\":1}\n{\"a\":2}\n"));
        assert!(!looks_like_document(b"[2023-10-15 15:00:01,123] WARN x\n"));
        assert!(!looks_like_document(
            b"[    4.948106] usb 1-6: new device\n"
        ));
        assert!(!looks_like_document(b"plain text\n"));
    }

    #[test]
    fn records_of_an_array_and_of_concatenated_objects() {
        let (records, error) = split_records("[\n {\"a\": 1},\n {\"b\": 2}\n]\n{\"c\": 3}\n");
        assert!(error.is_none());
        assert_eq!(records.len(), 3);
        let (records, error) = split_records("{\"a\": 1}\n{\"b\": ");
        assert_eq!(records.len(), 1);
        assert_eq!(error.map(|e| e.0), Some(2));
    }
}
