//! Reads one file: opens it, decides whether it is line-oriented or one JSON document, detects
//! (or takes) its format, and pushes its events into a sink, counting every line.
//!
//! The reading side ([`read_source`]) cuts the file into chunks of whole lines and hands them on
//! with a [`Plan`] (format, parse settings) made from the first lines. Chunks are then parsed
//! one after the other with one [`LineState`] ([`SequentialFile`]), or apart, in parallel, and
//! put back together in file order ([`parse_chunk`], [`FileMerge`]). Both give the same result.

use std::borrow::Cow;
use std::fs;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use super::detect::{SampleLine, detect_lines};
use super::document::{MAX_DOCUMENT_BYTES, ingest_document, looks_like_document};
use super::formats::{
    FastLine, FileContext, LineFormat, LineOutcome, Multiline, ParseContext, truncate_str,
};
use super::multiline::Joiner;
use super::reader::{
    ChunkInfo, ChunkLines, Chunker, DEFAULT_CHUNK_BYTES, LineReader, MAX_LINE_BYTES, open_input,
};
use super::{
    EventSink, InputFile, InputReport, QUOTE_CHARS, SNIFF_LINES, SplitSink, UNPARSED_SAMPLES,
    UnparsedSample, describe_io,
};
use crate::event::{Event, NS_PER_SEC, Origin, TimeNs};
use crate::time::{IMPLAUSIBLE_TIME, format_utc, is_plausible};

/// Bytes looked at to tell a JSON document from JSON lines or text.
const PEEK_BYTES: usize = 64 * 1024;

/// Where a file whose format lacks years (or counts from boot) takes its reference time from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnchorMode {
    /// Do not read such a file yet: it is read once the other files have given their times.
    Defer,
    /// Use this reference time (the other sources' last time); `None`: the file's modification time.
    Use(Option<TimeNs>),
}

/// The file needs a reference time and was left for later (see [`AnchorMode::Defer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred;

/// Reads one file to the end, pushing its events into `sink`. Never fails: problems end up in
/// the report. A year-less or boot-relative format takes its reference time from the file's
/// modification time.
pub fn ingest_file(
    file_index: u32,
    file: &InputFile,
    forced_format: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> InputReport {
    // Only AnchorMode::Defer defers.
    ingest_file_with(
        file_index,
        file,
        forced_format,
        ctx,
        AnchorMode::Use(None),
        bytes_read,
        sink,
    )
    .unwrap_or_default()
}

/// The file's modification time, as nanoseconds.
fn modified_ns(file: &InputFile) -> Option<TimeNs> {
    let modified = fs::metadata(&file.path).ok()?.modified().ok()?;
    let d = modified.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// As [`ingest_file`], saying where year-less timestamps take their year from. The sink's
/// `finish` is called once the file is read (not when it is deferred). Chunks are read one
/// after the other.
pub fn ingest_file_with(
    file_index: u32,
    file: &InputFile,
    forced_format: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    anchor: AnchorMode,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> Result<InputReport, Deferred> {
    let request = ReadRequest {
        file_index,
        file,
        forced: forced_format,
        ctx,
        anchor,
        chunk_bytes: DEFAULT_CHUNK_BYTES,
        fast_paths: true,
    };
    let report = read_sequentially(&request, bytes_read, sink)?;
    sink.finish();
    Ok(report)
}

/// What to read and how.
pub(crate) struct ReadRequest<'a> {
    pub file_index: u32,
    pub file: &'a InputFile,
    pub forced: Option<&'static dyn LineFormat>,
    pub ctx: &'a ParseContext,
    pub anchor: AnchorMode,
    pub chunk_bytes: usize,
    /// Use the formats' fast paths (for sinks that only aggregate).
    pub fast_paths: bool,
}

/// How a line-oriented file is to be parsed, decided from its first lines.
pub(crate) struct Plan {
    /// The report so far: path, gzip, format and how sure, notes on the reference time.
    pub report: InputReport,
    pub format: Option<&'static dyn LineFormat>,
    pub parse_ctx: ParseContext,
    /// Said in the report if a year-less timestamp used the reference time.
    pub anchor_note: Option<String>,
}

impl Plan {
    /// Whether the file may be cut into chunks parsed apart.
    pub fn chunkable(&self) -> bool {
        self.format.is_some_and(|f| f.chunkable())
    }
}

/// A chunk of whole lines read from a file.
pub(crate) struct Chunk {
    pub bytes: Vec<u8>,
    pub info: ChunkInfo,
}

/// What the reading side hands on, in this order: `Document`, or `Lines` then chunks then
/// `End`; or `Failed`/`Deferred` alone.
pub(crate) enum ReadMsg {
    /// The file could not be opened: the report says why.
    Failed(Box<InputReport>),
    /// The file needs a reference time (see [`AnchorMode::Defer`]).
    Deferred,
    /// One JSON document, read whole (or only counted when too big).
    Document(Box<DocumentRead>),
    Lines(Box<Plan>),
    Chunk(Chunk),
    /// The end, with the read error that ended the file early, if any.
    End(Option<io::Error>),
}

/// A JSON document as read.
pub(crate) struct DocumentRead {
    pub report: InputReport,
    pub bytes: Vec<u8>,
    pub outcome: DocumentOutcome,
}

pub(crate) enum DocumentOutcome {
    Complete,
    /// Larger than [`MAX_DOCUMENT_BYTES`]: its lines were counted (and a read error met
    /// counting them, if any).
    TooBig {
        rest_newlines: u64,
        open_end: bool,
        error: Option<io::Error>,
    },
    Failed(io::Error),
}

/// Where the reading side gets its buffers and sends what it read.
pub(crate) trait ReadOut {
    /// A buffer to read the next chunk into; `None` stops the reading.
    fn buffer(&mut self) -> Option<Vec<u8>>;
    /// Hands a message on; false stops the reading.
    fn send(&mut self, msg: ReadMsg) -> bool;
}

/// Reads until `buf` holds `want` bytes or the stream ends; a read error ends it too.
fn read_up_to(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> Result<bool, io::Error> {
    if buf.len() >= want {
        return Ok(false);
    }
    let need = want - buf.len();
    let n = reader.take(need as u64).read_to_end(buf)?;
    Ok(n < need)
}

/// The reading side of one file: opens it, tells a JSON document from lines, detects the
/// format on the first lines and hands on the plan and the chunks.
pub(crate) fn read_source(
    request: &ReadRequest<'_>,
    bytes_read: Arc<AtomicU64>,
    out: &mut dyn ReadOut,
) {
    let file = request.file;
    let mut report = InputReport {
        path: file.display.clone(),
        ..InputReport::default()
    };
    let opened = match open_input(&file.path, bytes_read) {
        Ok(o) => o,
        Err(e) => {
            report.error = Some(describe_io(&e));
            out.send(ReadMsg::Failed(Box::new(report)));
            return;
        }
    };
    report.gzip = opened.gzip;
    let count_into = opened.count_into;
    let mut reader = opened.reader;

    // The first bytes (and the whole first line, up to the line limit) tell a document apart.
    let mut head = Vec::new();
    let mut eof;
    let mut error = None;
    let mut want = PEEK_BYTES;
    loop {
        match read_up_to(&mut reader, &mut head, want) {
            Ok(end) => eof = end,
            Err(e) => {
                eof = true;
                error = Some(e);
            }
        }
        if eof || memchr::memchr(b'\n', &head).is_some() || head.len() > MAX_LINE_BYTES {
            break;
        }
        want = (head.len() + PEEK_BYTES).min(MAX_LINE_BYTES + 1);
    }
    let count = |n: usize| {
        if let Some(c) = &count_into {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    count(head.len());
    if looks_like_document(&head) {
        let peeked = head.len();
        report.document = true;
        let outcome = match error {
            Some(e) => DocumentOutcome::Failed(e),
            None if eof => DocumentOutcome::Complete,
            None => match read_up_to(&mut reader, &mut head, MAX_DOCUMENT_BYTES + 1) {
                Ok(true) if head.len() <= MAX_DOCUMENT_BYTES => DocumentOutcome::Complete,
                Ok(_) => {
                    // Too big to hold: every line is counted, none is used.
                    let rest = head.split_off(MAX_DOCUMENT_BYTES);
                    let (rest_newlines, open_end, error) = count_rest(&mut reader, rest);
                    DocumentOutcome::TooBig {
                        rest_newlines,
                        open_end,
                        error,
                    }
                }
                Err(e) => DocumentOutcome::Failed(e),
            },
        };
        count(head.len().saturating_sub(peeked));
        out.send(ReadMsg::Document(Box::new(DocumentRead {
            report,
            bytes: head,
            outcome,
        })));
        return;
    }

    // Lines: gather the first ones for detection. Their chunks are kept (in one buffer of
    // their own) and parsed like any other.
    let mut chunker =
        Chunker::with_prefix(reader, head, error, request.chunk_bytes, MAX_LINE_BYTES)
            .counting(count_into);
    let mut first = Vec::new();
    let mut first_info: Option<ChunkInfo> = None;
    let mut buf = Vec::new();
    let mut end_error = None;
    let mut ended = false;
    while first_info.is_none_or(|i| i.lines < SNIFF_LINES as u64) {
        match chunker.next_chunk(&mut buf) {
            Ok(Some(info)) => {
                first.extend_from_slice(&buf);
                first_info = Some(match first_info {
                    Some(f) => ChunkInfo {
                        first_line: f.first_line,
                        lines: f.lines + info.lines,
                    },
                    None => info,
                });
            }
            Ok(None) => {
                ended = true;
                break;
            }
            Err(e) => {
                end_error = Some(e);
                ended = true;
                break;
            }
        }
    }
    drop(buf);
    let sample: Vec<(u64, String, bool)> = match first_info {
        Some(info) => ChunkLines::new(&first, info.first_line, MAX_LINE_BYTES)
            .take(SNIFF_LINES)
            .map(|(l, _, _)| {
                (
                    l.number,
                    String::from_utf8_lossy(l.bytes).into_owned(),
                    l.truncated,
                )
            })
            .collect(),
        None => Vec::new(),
    };
    let Ok(plan) = make_plan(request, report, &sample) else {
        out.send(ReadMsg::Deferred);
        return;
    };
    if !out.send(ReadMsg::Lines(Box::new(plan))) {
        return;
    }
    if let Some(info) = first_info
        && !out.send(ReadMsg::Chunk(Chunk { bytes: first, info }))
    {
        return;
    }
    if !ended {
        loop {
            let Some(mut buf) = out.buffer() else {
                return;
            };
            match chunker.next_chunk(&mut buf) {
                Ok(Some(info)) => {
                    if !out.send(ReadMsg::Chunk(Chunk { bytes: buf, info })) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    end_error = Some(e);
                    break;
                }
            }
        }
    }
    out.send(ReadMsg::End(end_error));
}

/// Counts the newlines of a document too big to read: the bytes already read past the cap,
/// then the rest of the stream; and whether the last line lacks one.
fn count_rest(reader: &mut dyn Read, held: Vec<u8>) -> (u64, bool, Option<io::Error>) {
    let mut newlines = memchr::memchr_iter(b'\n', &held).count() as u64;
    let mut last = held.last().copied();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return (newlines, last.is_some_and(|b| b != b'\n'), None),
            Ok(n) => {
                newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
                last = Some(buf[n - 1]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (newlines, last.is_some_and(|b| b != b'\n'), Some(e)),
        }
    }
}

/// Detects (or takes) the format on the first lines and settles the parse settings.
fn make_plan(
    request: &ReadRequest<'_>,
    mut report: InputReport,
    head: &[(u64, String, bool)],
) -> Result<Plan, Deferred> {
    let file = request.file;
    let ctx = request.ctx;
    let chosen = match request.forced {
        Some(f) => {
            report.format_forced = true;
            Some((f, 1.0))
        }
        None => {
            let sample: Vec<SampleLine<'_>> =
                head.iter().map(|(_, t, _)| SampleLine::new(t)).collect();
            let detection = detect_lines(&file.display, &sample);
            report.best_guess = detection.best_guess;
            report.coverage = detection.coverage;
            detection.chosen
        }
    };
    let mut parse_ctx = *ctx;
    let mut anchor_note = None;
    if let Some((format, confidence)) = chosen {
        report.format = Some(format.name());
        report.confidence = confidence;
        if format.needs_anchor() {
            if let Some(dated) = dated_line_time(format, head, ctx) {
                // The file's own dated lines (HAProxy's request lines, a mixed syslog) say best
                // which year its undated ones belong to.
                parse_ctx.anchor = Some(dated);
                anchor_note = Some(format!(
                    "timestamps without a year take it from the file's dated lines ({})",
                    format_utc(dated)
                ));
            } else {
                match request.anchor {
                    AnchorMode::Defer => return Err(Deferred),
                    AnchorMode::Use(Some(t)) => {
                        parse_ctx.anchor = Some(t);
                        anchor_note = Some(format!(
                            "timestamps without a year take it from the other inputs (their last time is {})",
                            format_utc(t)
                        ));
                    }
                    AnchorMode::Use(None) => {
                        parse_ctx.anchor = modified_ns(file);
                        anchor_note = parse_ctx.anchor.map(|t| {
                            format!(
                                "timestamps without a year take it from the file's modification time ({})",
                                format_utc(t)
                            )
                        });
                    }
                }
            }
            if head
                .iter()
                .any(|(_, text, _)| format.uptime(text).is_some())
            {
                place_boot(file, format, &mut parse_ctx, &mut report);
            }
        }
    }
    Ok(Plan {
        report,
        format: chosen.map(|(f, _)| f),
        parse_ctx,
        anchor_note,
    })
}

/// The time of the first sampled line that carries its own year, if any.
fn dated_line_time(
    format: &dyn LineFormat,
    head: &[(u64, String, bool)],
    ctx: &ParseContext,
) -> Option<TimeNs> {
    let mut out = Vec::new();
    head.iter().find_map(|(_, text, _)| {
        // No reference time: a year-less line fails, a dated one parses.
        let mut cx = FileContext::new(*ctx);
        out.clear();
        match format.parse(text, &mut cx, &mut out) {
            LineOutcome::Parsed if !cx.yearless_used => out.first().map(|e| e.time),
            _ => None,
        }
    })
}

/// Kernel times count from boot: the boot is placed so the file's last line falls at its
/// modification time (the ring buffer was saved then). One extra pass over the file.
fn place_boot(
    file: &InputFile,
    format: &dyn LineFormat,
    ctx: &mut ParseContext,
    report: &mut InputReport,
) {
    let Some(modified) = modified_ns(file) else {
        return;
    };
    let Ok(opened) = open_input(&file.path, Arc::new(AtomicU64::new(0))) else {
        return;
    };
    let mut lines = LineReader::new(opened.reader);
    let mut last_uptime: Option<f64> = None;
    while let Ok(Some(l)) = lines.next_line() {
        if let Some(up) = format.uptime(&String::from_utf8_lossy(l.bytes)) {
            last_uptime = Some(last_uptime.map_or(up, |m: f64| m.max(up)));
        }
    }
    if let Some(up) = last_uptime {
        let boot = modified - (up * NS_PER_SEC as f64) as i64;
        ctx.boot_time = Some(boot);
        report.notes.push(format!(
            "times since boot placed with the boot at {}: the last line is taken to be written at the file's modification time",
            format_utc(boot)
        ));
    }
}

/// Parses a JSON document read whole (or reports why it was not).
pub(crate) fn ingest_read_document(
    doc: DocumentRead,
    file_index: u32,
    forced: Option<&'static dyn LineFormat>,
    ctx: &ParseContext,
    sink: &mut dyn EventSink,
) -> InputReport {
    let DocumentRead {
        mut report,
        bytes,
        outcome,
    } = doc;
    let mut cx = FileContext::new(*ctx);
    match outcome {
        DocumentOutcome::Complete => {
            ingest_document(&bytes, file_index, forced, &mut cx, &mut report, sink);
        }
        DocumentOutcome::TooBig {
            rest_newlines,
            open_end,
            error,
        } => {
            let held_newlines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
            report.lines = held_newlines + rest_newlines + u64::from(open_end);
            report.unparsed = report.lines;
            report.error = Some(format!(
                "one JSON document larger than {} MiB: not read (convert it to JSON lines, e.g. `jq -c '.[]'`)",
                MAX_DOCUMENT_BYTES >> 20
            ));
            if let Some(e) = error {
                report.error = Some(format!("{}; then: {e}", report.error.unwrap_or_default()));
            }
        }
        DocumentOutcome::Failed(e) => {
            report.error = Some(format!("{e}; the file was not read as a JSON document"));
            report.lines = memchr::memchr_iter(b'\n', &bytes).count() as u64
                + u64::from(bytes.last().is_some_and(|b| *b != b'\n'));
            report.unparsed = report.lines;
        }
    }
    report.notes.extend(cx.notes());
    report
}

/// The report of a line-oriented file once read: the plan's, the counts, the notes, the error.
pub(crate) fn finish_report(
    plan_report: InputReport,
    counts: &InputReport,
    cx: &FileContext,
    anchor_note: Option<String>,
    error: Option<io::Error>,
) -> InputReport {
    let mut report = plan_report;
    report.absorb_counts(counts);
    if cx.yearless_used
        && let Some(note) = anchor_note
    {
        report.notes.push(note);
    }
    report.notes.extend(cx.notes());
    if let Some(e) = error {
        let what = if report.gzip && e.kind() == io::ErrorKind::UnexpectedEof {
            "gzip stream truncated".to_string()
        } else if report.gzip {
            format!("gzip stream unreadable ({e})")
        } else {
            e.to_string()
        };
        report.error = Some(format!(
            "{what} after line {}; the lines before it were used",
            report.lines
        ));
    }
    report
}

impl InputReport {
    /// Adds the counts of a later part of the same file (samples: the first ones are kept).
    pub(crate) fn absorb_counts(&mut self, part: &InputReport) {
        self.lines += part.lines;
        self.parsed += part.parsed;
        self.joined += part.joined;
        self.unparsed += part.unparsed;
        self.blank += part.blank;
        self.truncated_lines += part.truncated_lines;
        self.events += part.events;
        self.first = match (self.first, part.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = match (self.last, part.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        for sample in &part.samples {
            if self.samples.len() < UNPARSED_SAMPLES {
                self.samples.push(sample.clone());
            }
        }
    }
}

/// The text of a line of a chunk: borrowed when the chunk is valid UTF-8 (checked once per
/// chunk), else with invalid bytes replaced.
fn line_text<'a>(chunk_text: Option<&'a str>, bytes: &'a [u8], start: usize) -> Cow<'a, str> {
    chunk_text
        .and_then(|t| t.get(start..start + bytes.len()))
        .map_or_else(|| String::from_utf8_lossy(bytes), Cow::Borrowed)
}

/// How records reach the sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Held until the next record, so continuation lines are attached to them (sinks that keep
    /// events).
    Joined,
    /// At once, through the formats' fast paths where they have one; continuation lines are
    /// only counted (sinks that only aggregate).
    Immediate,
}

impl Delivery {
    pub fn for_sink(sink: &dyn EventSink) -> Delivery {
        if sink.aggregates_only() {
            Delivery::Immediate
        } else {
            Delivery::Joined
        }
    }
}

/// Parsing state for line-oriented files: the record that continuation lines may join, the
/// lines held for a record that a later line completes, and the counts of the lines read.
pub(crate) struct LineState {
    format: Option<&'static dyn LineFormat>,
    pub cx: FileContext,
    /// Counts of the lines this state read (the rest of the report comes from the plan).
    pub report: InputReport,
    delivery: Delivery,
    /// Formats' fast paths are used (when delivering at once).
    fast: bool,
    /// Events from the last record line, held until a line that is not a continuation arrives
    /// (joined delivery only).
    pending: Vec<Event>,
    /// Whether a record that continuation lines join is open.
    open: bool,
    scratch: Vec<Event>,
    joiner: Joiner,
    file_index: u32,
    /// Lines that opened a record not yet complete ([`LineOutcome::Prefix`]).
    held: u64,
    held_first: u64,
    held_text: String,
}

impl LineState {
    pub fn new(
        format: Option<&'static dyn LineFormat>,
        parse_ctx: ParseContext,
        file_index: u32,
        delivery: Delivery,
        fast: bool,
    ) -> LineState {
        LineState {
            format,
            cx: FileContext::new(parse_ctx),
            report: InputReport::default(),
            delivery,
            fast: fast && delivery == Delivery::Immediate,
            pending: Vec::new(),
            open: false,
            scratch: Vec::new(),
            joiner: Joiner::default(),
            file_index,
            held: 0,
            held_first: 0,
            held_text: String::new(),
        }
    }

    fn origin(&self, line: u64) -> Origin {
        Origin {
            file: self.file_index,
            line,
        }
    }

    /// Reads the lines of a chunk.
    pub fn chunk(&mut self, bytes: &[u8], first_line: u64, sink: &mut dyn EventSink) {
        let text = simdutf8::basic::from_utf8(bytes).ok();
        for (line, start, _) in ChunkLines::new(bytes, first_line, MAX_LINE_BYTES) {
            let t = line_text(text, line.bytes, start);
            self.line(line.number, &t, line.truncated, sink);
        }
    }

    /// Parses a line with the format's full parser; a record whose every event has an
    /// implausible time is unparsed (events of a record that holds several keep only the
    /// plausible ones).
    fn parse(&mut self, format: &dyn LineFormat, text: &str) -> LineOutcome {
        self.scratch.clear();
        let outcome = format.parse(text, &mut self.cx, &mut self.scratch);
        if outcome == LineOutcome::Parsed && !self.scratch.is_empty() {
            self.scratch.retain(|e| is_plausible(e.time));
            if self.scratch.is_empty() {
                return LineOutcome::Unparsed(Cow::Borrowed(IMPLAUSIBLE_TIME));
            }
        }
        outcome
    }

    pub fn line(&mut self, number: u64, text: &str, truncated: bool, sink: &mut dyn EventSink) {
        self.report.lines += 1;
        if truncated {
            self.report.truncated_lines += 1;
        }
        let origin = self.origin(number);
        let Some(format) = self.format else {
            self.unparsed(origin, text, "format not recognised", sink);
            return;
        };
        // The fast path's view is used where it was written (it is large, and moving it costs
        // a copy per line).
        let mut fast = if self.fast {
            format.parse_view(text, &mut self.cx)
        } else {
            None
        };
        let outcome = match &mut fast {
            Some(FastLine::Record(view)) if is_plausible(view.time) => {
                self.flush(sink);
                self.joiner.record_seen();
                self.report.parsed += 1;
                // A format with a fast path never holds lines (it keeps no state).
                view.origin = origin;
                self.cx.last_time = Some(view.time);
                self.report.record(view.time);
                sink.view(view);
                self.open = true;
                return;
            }
            Some(FastLine::Record(_)) => LineOutcome::Unparsed(Cow::Borrowed(IMPLAUSIBLE_TIME)),
            Some(FastLine::Continuation) => LineOutcome::Continuation,
            None => self.parse(format, text),
        };
        match outcome {
            LineOutcome::Parsed => {
                self.flush(sink);
                self.joiner.record_seen();
                self.report.parsed += 1;
                let first = if self.held > 0 {
                    // The held lines opened this record: they are joined to it.
                    for line in self.held_first..number {
                        sink.joined(self.origin(line));
                    }
                    self.report.joined += self.held;
                    self.held = 0;
                    self.held_first
                } else {
                    number
                };
                let record_origin = self.origin(first);
                if let Some(last) = self.scratch.iter().map(|e| e.time).max() {
                    self.cx.last_time = Some(last);
                }
                self.open = !self.scratch.is_empty();
                for mut event in self.scratch.drain(..) {
                    event.origin = record_origin;
                    match self.delivery {
                        Delivery::Joined => self.pending.push(event),
                        Delivery::Immediate => {
                            self.report.record(event.time);
                            sink.event(event);
                        }
                    }
                }
            }
            LineOutcome::Prefix => self.hold(number, text, sink),
            LineOutcome::Continuation if self.held > 0 => self.hold(number, text, sink),
            LineOutcome::Continuation => self.join(
                origin,
                text,
                format,
                "continuation line with no record before it",
                sink,
            ),
            LineOutcome::Unparsed(reason) => {
                self.release_held(sink);
                let continues = !text.trim().is_empty()
                    && match format.multiline() {
                        // Free text continues the record above, but a line laid out like a
                        // record that failed (a bad time) is a broken record, not a continuation.
                        Multiline::AnyLine => format.sniff(text) == 0,
                        Multiline::Rules => self.joiner.continues(text),
                    };
                if self.open && continues {
                    self.join(origin, text, format, "", sink);
                } else {
                    self.unparsed(origin, text, &reason, sink);
                }
            }
        }
    }

    fn hold(&mut self, number: u64, text: &str, sink: &mut dyn EventSink) {
        if self.held == 0 {
            self.flush(sink);
            self.held_first = number;
            self.held_text = truncate_str(text, QUOTE_CHARS).to_string();
        }
        self.held += 1;
    }

    /// Held lines whose record never completed are unparsed.
    fn release_held(&mut self, sink: &mut dyn EventSink) {
        if self.held == 0 {
            return;
        }
        let first = self.held_first;
        let text = std::mem::take(&mut self.held_text);
        for i in 0..self.held {
            let origin = self.origin(first + i);
            self.report.unparsed += 1;
            sink.unparsed(origin, "record left incomplete");
        }
        if self.report.samples.len() < UNPARSED_SAMPLES {
            self.report.samples.push(UnparsedSample {
                line: first,
                reason: format!("record left incomplete ({} line(s))", self.held),
                text,
            });
        }
        self.held = 0;
    }

    fn join(
        &mut self,
        origin: Origin,
        text: &str,
        format: &dyn LineFormat,
        orphan_reason: &str,
        sink: &mut dyn EventSink,
    ) {
        if !self.open {
            self.unparsed(origin, text, orphan_reason, sink);
            return;
        }
        if let Some(event) = self.pending.last_mut() {
            format.join(event, text);
        }
        self.report.joined += 1;
        sink.joined(origin);
    }

    fn unparsed(&mut self, origin: Origin, text: &str, reason: &str, sink: &mut dyn EventSink) {
        // An unparsed line ends any multi-line record.
        self.flush(sink);
        self.report.unparsed += 1;
        if text.trim().is_empty() {
            self.report.blank += 1;
            return;
        }
        sink.unparsed(origin, reason);
        if self.report.samples.len() < UNPARSED_SAMPLES {
            self.report.samples.push(UnparsedSample {
                line: origin.line,
                reason: reason.to_string(),
                text: truncate_str(text, QUOTE_CHARS).to_string(),
            });
        }
    }

    /// Hands the held record's events over; no record is open after this.
    fn flush(&mut self, sink: &mut dyn EventSink) {
        for event in self.pending.drain(..) {
            self.report.record(event.time);
            sink.event(event);
        }
        self.open = false;
    }

    pub fn finish(&mut self, sink: &mut dyn EventSink) {
        self.flush(sink);
        self.release_held(sink);
    }
}

impl InputReport {
    /// Counts an event (of the lines this report counts).
    fn record(&mut self, time: TimeNs) {
        self.events += 1;
        self.first = Some(self.first.map_or(time, |f| f.min(time)));
        self.last = Some(self.last.map_or(time, |l| l.max(time)));
    }
}

/// Counts an event in the report and hands it to the sink.
pub(crate) fn record_event(report: &mut InputReport, sink: &mut dyn EventSink, event: Event) {
    report.record(event.time);
    sink.event(event);
}

/// A file read chunk after chunk with one parsing state.
pub(crate) struct SequentialFile {
    pub state: LineState,
}

impl SequentialFile {
    pub fn new(plan: &Plan, file_index: u32, delivery: Delivery, fast: bool) -> SequentialFile {
        SequentialFile {
            state: LineState::new(plan.format, plan.parse_ctx, file_index, delivery, fast),
        }
    }

    pub fn chunk(&mut self, chunk: &Chunk, sink: &mut dyn EventSink) {
        self.state.chunk(&chunk.bytes, chunk.info.first_line, sink);
    }

    pub fn finish(
        mut self,
        plan: Plan,
        error: Option<io::Error>,
        sink: &mut dyn EventSink,
    ) -> InputReport {
        self.state.finish(sink);
        finish_report(
            plan.report,
            &self.state.report,
            &self.state.cx,
            plan.anchor_note,
            error,
        )
    }
}

/// Reads a whole file chunk after chunk in this thread.
fn read_sequentially(
    request: &ReadRequest<'_>,
    bytes_read: Arc<AtomicU64>,
    sink: &mut dyn EventSink,
) -> Result<InputReport, Deferred> {
    struct Inline<'s> {
        sink: &'s mut dyn EventSink,
        file_index: u32,
        forced: Option<&'static dyn LineFormat>,
        ctx: ParseContext,
        delivery: Delivery,
        fast: bool,
        spare: Option<Vec<u8>>,
        file: Option<(Box<Plan>, SequentialFile)>,
        done: Option<Result<InputReport, Deferred>>,
    }
    impl ReadOut for Inline<'_> {
        fn buffer(&mut self) -> Option<Vec<u8>> {
            Some(self.spare.take().unwrap_or_default())
        }
        fn send(&mut self, msg: ReadMsg) -> bool {
            match msg {
                ReadMsg::Failed(report) => self.done = Some(Ok(*report)),
                ReadMsg::Deferred => self.done = Some(Err(Deferred)),
                ReadMsg::Document(doc) => {
                    self.done = Some(Ok(ingest_read_document(
                        *doc,
                        self.file_index,
                        self.forced,
                        &self.ctx,
                        self.sink,
                    )))
                }
                ReadMsg::Lines(plan) => {
                    let file =
                        SequentialFile::new(&plan, self.file_index, self.delivery, self.fast);
                    self.file = Some((plan, file));
                }
                ReadMsg::Chunk(chunk) => {
                    if let Some((_, file)) = &mut self.file {
                        file.chunk(&chunk, self.sink);
                    }
                    self.spare = Some(chunk.bytes);
                }
                ReadMsg::End(error) => {
                    if let Some((plan, file)) = self.file.take() {
                        self.done = Some(Ok(file.finish(*plan, error, self.sink)));
                    }
                }
            }
            true
        }
    }
    let delivery = Delivery::for_sink(sink);
    let mut inline = Inline {
        sink,
        file_index: request.file_index,
        forced: request.forced,
        ctx: *request.ctx,
        delivery,
        fast: request.fast_paths,
        spare: None,
        file: None,
        done: None,
    };
    read_source(request, bytes_read, &mut inline);
    inline.done.unwrap_or_else(|| Ok(InputReport::default()))
}

/// What parsing one chunk apart gives: where its first record starts (the lines before it may
/// continue the record the chunk before ended with: the merger reads them in file order) and
/// the state and sink part after its lines from that record on.
pub(crate) struct ChunkPart<S> {
    pub first_line: u64,
    /// Bytes of the lines before the first record.
    pub head_bytes: usize,
    pub body: Option<(LineState, S)>,
}

/// Parses a chunk of a file whose format is chunkable, into a part of its own.
pub(crate) fn parse_chunk<S: SplitSink>(
    plan_format: &'static dyn LineFormat,
    parse_ctx: ParseContext,
    file_index: u32,
    fast: bool,
    chunk: &Chunk,
    mut sink: S,
) -> ChunkPart<S> {
    let bytes = &chunk.bytes;
    // Find the first record: a line the format reads as one, whatever came before (a probe
    // context, so nothing is noted twice).
    let mut probe = FileContext::new(parse_ctx);
    let mut scratch = Vec::new();
    let mut lines = ChunkLines::new(bytes, chunk.info.first_line, MAX_LINE_BYTES);
    let mut head_bytes = bytes.len();
    let mut body_first_line = chunk.info.first_line;
    for (line, start, _) in lines.by_ref() {
        // Only these first lines are checked here: the body is checked once, as a whole, below.
        let t = line_text(None, line.bytes, start);
        let is_record = match fast
            .then(|| plan_format.parse_view(&t, &mut probe))
            .flatten()
        {
            Some(FastLine::Record(_)) => true,
            Some(FastLine::Continuation) => false,
            None => {
                scratch.clear();
                plan_format.parse(&t, &mut probe, &mut scratch) == LineOutcome::Parsed
            }
        };
        if is_record {
            head_bytes = start;
            body_first_line = line.number;
            break;
        }
    }
    if head_bytes == bytes.len() {
        return ChunkPart {
            first_line: chunk.info.first_line,
            head_bytes,
            body: None,
        };
    }
    let mut state = LineState::new(
        Some(plan_format),
        parse_ctx,
        file_index,
        Delivery::Immediate,
        fast,
    );
    state.chunk(&bytes[head_bytes..], body_first_line, &mut sink);
    ChunkPart {
        first_line: chunk.info.first_line,
        head_bytes,
        body: Some((state, sink)),
    }
}

/// Puts the parts of a chunked file back together, in file order.
pub(crate) struct FileMerge<S> {
    format: &'static dyn LineFormat,
    parse_ctx: ParseContext,
    file_index: u32,
    fast: bool,
    total: S,
    counts: InputReport,
    cx: FileContext,
    /// The last part taken: its last record may go on in the next chunk's first lines.
    current: Option<(LineState, S)>,
}

impl<S: SplitSink> FileMerge<S> {
    pub fn new(
        plan: &Plan,
        format: &'static dyn LineFormat,
        file_index: u32,
        fast: bool,
        total: S,
    ) -> FileMerge<S> {
        FileMerge {
            format,
            parse_ctx: plan.parse_ctx,
            file_index,
            fast,
            total,
            counts: InputReport::default(),
            cx: FileContext::new(plan.parse_ctx),
            current: None,
        }
    }

    /// An empty sink part for a chunk of this file.
    pub fn fork_sink(&self) -> S {
        self.total.fork()
    }

    /// Takes the part of the next chunk (whose bytes are `chunk`).
    pub fn take(&mut self, part: ChunkPart<S>, chunk: &[u8]) {
        if part.head_bytes > 0 {
            // The lines before the chunk's first record go on from where the file stands.
            if self.current.is_none() {
                let state = LineState::new(
                    Some(self.format),
                    self.parse_ctx,
                    self.file_index,
                    Delivery::Immediate,
                    self.fast,
                );
                self.current = Some((state, self.total.fork()));
            }
            if let Some((state, sink)) = &mut self.current {
                state.chunk(&chunk[..part.head_bytes], part.first_line, sink);
            }
        }
        if let Some(body) = part.body
            && let Some(done) = self.current.replace(body)
        {
            self.close(done);
        }
    }

    fn close(&mut self, (mut state, mut sink): (LineState, S)) {
        state.finish(&mut sink);
        self.total.absorb(sink);
        self.counts.absorb_counts(&state.report);
        self.cx.absorb(&state.cx);
    }

    pub fn finish(mut self, plan: Plan, error: Option<io::Error>) -> (InputReport, S) {
        if let Some(last) = self.current.take() {
            self.close(last);
        }
        let report = finish_report(plan.report, &self.counts, &self.cx, plan.anchor_note, error);
        (report, self.total)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::RecordingSink;
    use std::io::Write;
    use std::path::Path;

    /// `bytes` written as `name` in `dir`, as an input.
    fn input_file(dir: &Path, name: &str, bytes: &[u8]) -> InputFile {
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        InputFile {
            display: name.to_string(),
            path,
            size: bytes.len() as u64,
        }
    }

    fn ingest_text(name: &str, text: &str) -> (InputReport, Vec<Event>) {
        let dir = tempfile::tempdir().unwrap();
        let file = input_file(dir.path(), name, text.as_bytes());
        let mut sink = RecordingSink::default();
        let report = ingest_file(
            0,
            &file,
            None,
            &ParseContext::default(),
            Arc::new(AtomicU64::new(0)),
            &mut sink,
        );
        (report, sink.events)
    }

    #[test]
    fn postgres_lines_are_all_accounted_for() {
        let text = "2023-10-15 15:00:01.002 EDT [48301] ERROR:  relation \"sessions\" does not exist at character 31\n\
2023-10-15 15:00:01.002 EDT [48301] STATEMENT:  SELECT user_id FROM sessions WHERE token = $1\n\
2023-10-15 15:01:00.000 EDT [311] LOG:  automatic vacuum of table \"auth.public.users\": index scans: 1\n\
\tpages: 0 removed, 1234 remain\n\
\ttuples: 10 removed, 9000 remain\n\
random junk\n\
\n\
2023-10-15 15:02:00.000 EDT [312] LOG:  checkpoint starting: time";
        let (report, events) = ingest_text("postgresql.log", text);
        assert_eq!(report.format, Some("postgres-stderr"));
        assert_eq!(report.lines, 8);
        assert_eq!(report.parsed, 3);
        assert_eq!(report.joined, 3);
        assert_eq!(report.unparsed, 2);
        assert_eq!(report.blank, 1);
        assert_eq!(
            report.lines,
            report.parsed + report.joined + report.unparsed
        );
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[0].attr("statement"),
            Some("SELECT user_id FROM sessions WHERE token = $1")
        );
        assert_eq!(events[2].origin.line, 8);
        assert_eq!(report.samples[0].line, 6);
    }

    #[test]
    fn unknown_format_counts_every_line_unparsed() {
        let (report, events) = ingest_text("notes.txt", "hello\nworld\n");
        assert_eq!(report.format, None);
        assert_eq!(report.unparsed, 2);
        assert!(events.is_empty());
    }

    #[test]
    fn gzip_is_read_transparently_and_truncation_reported() {
        use flate2::{Compression, write::GzEncoder};
        let line = "203.0.113.7 - - [15/Oct/2023:15:00:01 -0400] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n";
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        for _ in 0..200 {
            enc.write_all(line.as_bytes()).unwrap();
        }
        let gz = enc.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("whole.log", &gz[..]), ("cut.log.gz", &gz[..gz.len() - 12])] {
            let file = input_file(dir.path(), name, bytes);
            let mut sink = RecordingSink::default();
            let r = ingest_file(
                0,
                &file,
                None,
                &ParseContext::default(),
                Arc::new(AtomicU64::new(0)),
                &mut sink,
            );
            assert!(r.gzip);
            assert_eq!(r.format, Some("nginx-access"));
            if name == "whole.log" {
                assert_eq!(r.parsed, 200);
                assert!(r.error.is_none());
            } else {
                assert!(
                    r.error.as_deref().unwrap_or("").contains("truncated"),
                    "{r:?}"
                );
            }
        }
    }
    #[test]
    fn progress_counts_every_byte_read_from_disk() {
        use flate2::{Compression, write::GzEncoder};
        let line = "203.0.113.7 - - [15/Oct/2023:15:00:01 -0400] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\"\n";
        let plain = line.repeat(5000);
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(plain.as_bytes()).unwrap();
        let gz = enc.finish().unwrap();
        let document = format!("[{}]", vec!["{\"a\":1}"; 3000].join(",\n"));
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("plain.log", plain.as_bytes()),
            ("packed.log.gz", &gz[..]),
            ("doc.json", document.as_bytes()),
        ] {
            let file = input_file(dir.path(), name, bytes);
            let counter = Arc::new(AtomicU64::new(0));
            let mut sink = RecordingSink::default();
            // Small chunks: many reads.
            let request = ReadRequest {
                file_index: 0,
                file: &file,
                forced: None,
                ctx: &ParseContext::default(),
                anchor: AnchorMode::Use(None),
                chunk_bytes: 4096,
                fast_paths: true,
            };
            let _ = read_sequentially(&request, counter.clone(), &mut sink);
            assert_eq!(
                counter.load(Ordering::Relaxed),
                bytes.len() as u64,
                "{name}"
            );
        }
    }

    #[test]
    fn records_that_span_lines_are_counted_from_their_first_line() {
        // A MySQL slow log: the header comments open the record, SET timestamp completes it,
        // the statement follows; a record cut off at the end of the file is unparsed.
        let text = "/usr/sbin/mysqld, Version: 8.0.35 (MySQL Community Server - GPL). started with:\n\
# Time: 2023-10-15T19:00:01.204131Z\n\
# User@Host: shop[shop] @ app-3 [10.0.4.12]  Id:   881\n\
# Query_time: 4.250113  Lock_time: 0.000102 Rows_sent: 1  Rows_examined: 981233\n\
SET timestamp=1697396401;\n\
SELECT COUNT(*) FROM order_items\n\
WHERE created_at > NOW() - INTERVAL 1 DAY;\n\
# Time: 2023-10-15T19:00:09.000000Z\n\
# User@Host: shop[shop] @ app-3 [10.0.4.12]  Id:   882\n";
        let (report, events) = ingest_text("mysql-slow.log", text);
        assert_eq!(report.format, Some("mysql-slow"));
        assert_eq!(
            (report.lines, report.parsed, report.joined, report.unparsed),
            (9, 2, 5, 2)
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].origin.line, 2);
        assert_eq!(report.samples[0].line, 8);
    }

    #[test]
    fn free_text_joins_but_a_broken_record_does_not() {
        let text = "2023-10-15 15:00:01,204 - auth.views - ERROR - login failed\n\
details: relation \"sessions\" does not exist\n\
2023-02-30 15:00:02,000 - auth.views - INFO - a date that does not exist\n\
2023-10-15 15:00:03,000 - auth.views - INFO - recovered\n";
        let (report, events) = ingest_text("app.log", text);
        assert_eq!(report.format, Some("python-logging"));
        assert_eq!((report.parsed, report.joined, report.unparsed), (2, 1, 1));
        assert_eq!(
            events[0].attr("stack"),
            Some("details: relation \"sessions\" does not exist")
        );
        assert_eq!(report.samples[0].line, 3);
    }

    #[test]
    fn deferred_until_a_reference_time_is_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("messages");
        fs::write(
            &path,
            "Oct 15 15:00:02 auth-1 sshd[2211]: Accepted publickey for deploy\n",
        )
        .unwrap();
        let file = InputFile {
            display: "messages".into(),
            path,
            size: 0,
        };
        let mut sink = RecordingSink::default();
        let ctx = ParseContext::default();
        let bytes = Arc::new(AtomicU64::new(0));
        let deferred = ingest_file_with(
            0,
            &file,
            None,
            &ctx,
            AnchorMode::Defer,
            bytes.clone(),
            &mut sink,
        );
        assert_eq!(deferred.err(), Some(Deferred));
        let anchor = crate::time::parse_iso("2019-10-20T00:00:00Z", &Default::default()).ok();
        let report = ingest_file_with(
            0,
            &file,
            None,
            &ctx,
            AnchorMode::Use(anchor),
            bytes,
            &mut sink,
        )
        .unwrap();
        assert_eq!(report.parsed, 1);
        assert_eq!(
            crate::time::format_utc(sink.events[0].time),
            "2019-10-15T15:00:02Z"
        );
        assert!(report.notes[0].contains("other inputs"));
    }
}
