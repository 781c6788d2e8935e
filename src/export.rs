//! `retrace events`: the normalized event stream of the inputs, written in time order as JSON
//! lines, CSV or Parquet, for other tools.
//!
//! Memory stays bounded however large the inputs: each file's events are sorted in runs of at
//! most [`RUN_EVENTS`] (or about [`RUN_BYTES`]) and spilled to temporary files, then all runs are merged (k-way, at most
//! [`MAX_FAN_IN`] at once) into the output. Rotated files of one service (`x.log`, `x.log.1`,
//! `x.log.2.gz`) therefore come out as one time-ordered stream.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use polars::df;
use polars::prelude::{DataFrame, ParquetWriter, PolarsResult};
use serde::{Deserialize, Serialize};

use crate::event::{AlertState, Event, Origin, TimeNs};
use crate::ingest::run::{IngestOptions, ingest_all};
use crate::ingest::{EventSink, InputFile, InputReport, PathProblem, discover_inputs};
use crate::time::format_utc;

/// Events sorted in memory before a run is spilled.
pub const RUN_EVENTS: usize = 100_000;
/// Estimated bytes of events held in memory per file before a run is spilled.
pub const RUN_BYTES: usize = 32 << 20;

impl EventRow {
    /// A rough size in memory (strings plus the row itself), to bound the runs.
    fn approx_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        std::mem::size_of::<EventRow>()
            + self.time.len()
            + self.file.len()
            + self.message.len()
            + opt(&self.service)
            + opt(&self.user)
            + opt(&self.client)
            + opt(&self.path)
            + opt(&self.request_id)
            + self
                .attrs
                .iter()
                .map(|(k, v)| k.len() + v.len() + 64)
                .sum::<usize>()
    }
}
/// Runs merged at once (each holds an open file).
pub const MAX_FAN_IN: usize = 128;
/// Rows per Parquet row group.
const PARQUET_BATCH: usize = 65_536;

/// The output encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EventFormat {
    Jsonl,
    Csv,
    Parquet,
}

impl EventFormat {
    /// The encoding a file name suggests (`.parquet`, `.csv`), else JSON lines.
    pub fn from_path(path: &Path) -> EventFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("parquet") => EventFormat::Parquet,
            Some("csv") => EventFormat::Csv,
            _ => EventFormat::Jsonl,
        }
    }
}

/// One event as written: the `Event` fields, flattened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    pub time: String,
    pub time_ns: i64,
    pub file: String,
    pub line: u64,
    pub kind: String,
    pub service: Option<String>,
    pub severity: String,
    pub message: String,
    pub user: Option<String>,
    pub client: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<u16>,
    pub latency_ms: Option<f64>,
    pub request_id: Option<String>,
    pub alert_name: Option<String>,
    pub alert_state: Option<String>,
    pub alert_fingerprint: Option<String>,
    pub alert_severity: Option<String>,
    pub page_action: Option<String>,
    pub page_incident: Option<String>,
    pub page_title: Option<String>,
    pub page_agent: Option<String>,
    pub metric_name: Option<String>,
    pub metric_value: Option<f64>,
    pub attrs: BTreeMap<String, String>,
}

impl EventRow {
    pub fn new(event: Event, file: &str) -> EventRow {
        let (alert_name, alert_state, alert_fingerprint, alert_severity) = match event.alert {
            Some(a) => (
                Some(a.name),
                Some(
                    match a.state {
                        AlertState::Firing => "firing",
                        AlertState::Resolved => "resolved",
                    }
                    .to_string(),
                ),
                Some(a.fingerprint),
                a.severity_label,
            ),
            None => (None, None, None, None),
        };
        let (page_action, page_incident, page_title, page_agent) = match event.page {
            Some(p) => (
                Some(p.action.as_str().to_string()),
                Some(p.incident_id),
                Some(p.title),
                p.agent,
            ),
            None => (None, None, None, None),
        };
        let mut attrs = BTreeMap::new();
        for (k, v) in event.attrs {
            attrs.entry(k).or_insert(v);
        }
        EventRow {
            time: format_utc(event.time),
            time_ns: event.time,
            file: file.to_string(),
            line: event.origin.line,
            kind: event.kind.map_or("app", |k| k.as_str()).to_string(),
            service: event.service,
            severity: event.severity.as_str().to_string(),
            message: event.message,
            user: event.user,
            client: event.client,
            method: event.method,
            path: event.path,
            status: event.status,
            latency_ms: event.latency_ms,
            request_id: event.request_id,
            alert_name,
            alert_state,
            alert_fingerprint,
            alert_severity,
            page_action,
            page_incident,
            page_title,
            page_agent,
            metric_name: event.metric.as_ref().map(|m| m.name.clone()),
            metric_value: event.metric.map(|m| m.value),
            attrs,
        }
    }
}

/// Order of the output: time, then input file, then line, then arrival.
type SortKey = (TimeNs, u32, u64, u64);

/// A row in a spilled run.
#[derive(Serialize, Deserialize)]
struct Spilled {
    k: SortKey,
    r: EventRow,
}

/// Collects one file's events and spills them in sorted runs.
pub struct RunSink<'a> {
    file_index: u32,
    display: String,
    dir: &'a Path,
    buffer: Vec<(SortKey, EventRow)>,
    buffered_bytes: usize,
    seq: u64,
    runs: Vec<PathBuf>,
    error: Option<io::Error>,
}

impl<'a> RunSink<'a> {
    pub fn new(file_index: u32, display: String, dir: &'a Path) -> RunSink<'a> {
        RunSink {
            file_index,
            display,
            dir,
            buffer: Vec::new(),
            buffered_bytes: 0,
            seq: 0,
            runs: Vec::new(),
            error: None,
        }
    }

    fn spill(&mut self) {
        if self.buffer.is_empty() || self.error.is_some() {
            self.buffer.clear();
            self.buffered_bytes = 0;
            return;
        }
        self.buffer.sort_by_key(|(k, _)| *k);
        let path = self
            .dir
            .join(format!("run-{}-{}.jsonl", self.file_index, self.runs.len()));
        let written = (|| -> io::Result<()> {
            let mut w = BufWriter::new(File::create(&path)?);
            for (k, r) in self.buffer.drain(..) {
                serde_json::to_writer(&mut w, &Spilled { k, r })?;
                w.write_all(b"\n")?;
            }
            w.flush()
        })();
        match written {
            Ok(()) => self.runs.push(path),
            Err(e) => self.error = Some(e),
        }
        self.buffer.clear();
        self.buffered_bytes = 0;
    }
}

impl EventSink for RunSink<'_> {
    fn event(&mut self, event: Event) {
        let Origin { line, .. } = event.origin;
        let key = (event.time, self.file_index, line, self.seq);
        self.seq += 1;
        let row = EventRow::new(event, &self.display);
        self.buffered_bytes += row.approx_bytes();
        self.buffer.push((key, row));
        if self.buffer.len() >= RUN_EVENTS || self.buffered_bytes >= RUN_BYTES {
            self.spill();
        }
    }

    fn finish(&mut self) {
        self.spill();
    }
}

/// Reads a spilled run back, one row at a time.
struct RunReader {
    lines: io::Lines<BufReader<File>>,
}

impl RunReader {
    fn open(path: &Path) -> Result<RunReader> {
        let file = File::open(path)
            .with_context(|| format!("{}: reopening a sorted run", path.display()))?;
        Ok(RunReader {
            lines: BufReader::new(file).lines(),
        })
    }

    fn next_row(&mut self) -> Result<Option<Spilled>> {
        match self.lines.next() {
            None => Ok(None),
            Some(line) => {
                let line = line.context("reading a sorted run")?;
                Ok(Some(
                    serde_json::from_str(&line).context("reading a sorted run back")?,
                ))
            }
        }
    }
}

/// Merges sorted runs, handing each row to `emit` in order.
fn merge_runs(
    runs: &[PathBuf],
    mut emit: impl FnMut(SortKey, EventRow) -> Result<()>,
) -> Result<()> {
    let mut readers = runs
        .iter()
        .map(|p| RunReader::open(p))
        .collect::<Result<Vec<_>>>()?;
    let mut heads: Vec<Option<EventRow>> = Vec::with_capacity(readers.len());
    let mut heap = BinaryHeap::new();
    for (i, reader) in readers.iter_mut().enumerate() {
        match reader.next_row()? {
            Some(s) => {
                heap.push(Reverse((s.k, i)));
                heads.push(Some(s.r));
            }
            None => heads.push(None),
        }
    }
    while let Some(Reverse((key, i))) = heap.pop() {
        let row = heads[i]
            .take()
            .ok_or_else(|| anyhow!("sorted run {i} lost its row"))?;
        emit(key, row)?;
        if let Some(s) = readers[i].next_row()? {
            heap.push(Reverse((s.k, i)));
            heads[i] = Some(s.r);
        }
    }
    Ok(())
}

/// Merges runs in groups until few enough remain to be merged at once.
fn reduce_runs(mut runs: Vec<PathBuf>, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut generation = 0;
    while runs.len() > MAX_FAN_IN {
        generation += 1;
        let mut next = Vec::new();
        for (n, group) in runs.chunks(MAX_FAN_IN).enumerate() {
            let path = dir.join(format!("merge-{generation}-{n}.jsonl"));
            let mut w = BufWriter::new(File::create(&path).context("writing a merged run")?);
            merge_runs(group, |k, r| {
                serde_json::to_writer(&mut w, &Spilled { k, r })?;
                w.write_all(b"\n")?;
                Ok(())
            })?;
            w.flush()?;
            next.push(path);
        }
        runs = next;
    }
    Ok(runs)
}

/// Writes rows in one of the encodings.
enum RowWriter<W: Write> {
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
    Parquet(Box<ParquetRows<W>>),
}

/// Rows gathered into column batches for Parquet.
struct ParquetRows<W: Write> {
    writer: Option<polars::io::parquet::write::BatchedWriter<W>>,
    sink: Option<W>,
    rows: Vec<EventRow>,
}

/// The CSV and Parquet layout of a row (attributes as a JSON object in one column).
#[derive(Serialize)]
struct FlatRow<'a> {
    time: &'a str,
    time_ns: i64,
    file: &'a str,
    line: u64,
    kind: &'a str,
    service: Option<&'a str>,
    severity: &'a str,
    message: &'a str,
    user: Option<&'a str>,
    client: Option<&'a str>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    status: Option<u16>,
    latency_ms: Option<f64>,
    request_id: Option<&'a str>,
    alert_name: Option<&'a str>,
    alert_state: Option<&'a str>,
    alert_fingerprint: Option<&'a str>,
    alert_severity: Option<&'a str>,
    page_action: Option<&'a str>,
    page_incident: Option<&'a str>,
    page_title: Option<&'a str>,
    page_agent: Option<&'a str>,
    metric_name: Option<&'a str>,
    metric_value: Option<f64>,
    attrs: String,
}

fn flat(r: &EventRow) -> FlatRow<'_> {
    FlatRow {
        time: &r.time,
        time_ns: r.time_ns,
        file: &r.file,
        line: r.line,
        kind: &r.kind,
        service: r.service.as_deref(),
        severity: &r.severity,
        message: &r.message,
        user: r.user.as_deref(),
        client: r.client.as_deref(),
        method: r.method.as_deref(),
        path: r.path.as_deref(),
        status: r.status,
        latency_ms: r.latency_ms,
        request_id: r.request_id.as_deref(),
        alert_name: r.alert_name.as_deref(),
        alert_state: r.alert_state.as_deref(),
        alert_fingerprint: r.alert_fingerprint.as_deref(),
        alert_severity: r.alert_severity.as_deref(),
        page_action: r.page_action.as_deref(),
        page_incident: r.page_incident.as_deref(),
        page_title: r.page_title.as_deref(),
        page_agent: r.page_agent.as_deref(),
        metric_name: r.metric_name.as_deref(),
        metric_value: r.metric_value,
        attrs: serde_json::to_string(&r.attrs).unwrap_or_default(),
    }
}

/// One batch of rows as a DataFrame.
fn frame(rows: &[EventRow]) -> PolarsResult<DataFrame> {
    let text =
        |f: fn(&EventRow) -> Option<&str>| -> Vec<Option<&str>> { rows.iter().map(f).collect() };
    df!(
        "time" => rows.iter().map(|r| r.time.as_str()).collect::<Vec<_>>(),
        "time_ns" => rows.iter().map(|r| r.time_ns).collect::<Vec<_>>(),
        "file" => rows.iter().map(|r| r.file.as_str()).collect::<Vec<_>>(),
        "line" => rows.iter().map(|r| r.line as i64).collect::<Vec<_>>(),
        "kind" => rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        "service" => text(|r| r.service.as_deref()),
        "severity" => rows.iter().map(|r| r.severity.as_str()).collect::<Vec<_>>(),
        "message" => rows.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(),
        "user" => text(|r| r.user.as_deref()),
        "client" => text(|r| r.client.as_deref()),
        "method" => text(|r| r.method.as_deref()),
        "path" => text(|r| r.path.as_deref()),
        "status" => rows.iter().map(|r| r.status.map(i64::from)).collect::<Vec<_>>(),
        "latency_ms" => rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>(),
        "request_id" => text(|r| r.request_id.as_deref()),
        "alert_name" => text(|r| r.alert_name.as_deref()),
        "alert_state" => text(|r| r.alert_state.as_deref()),
        "alert_fingerprint" => text(|r| r.alert_fingerprint.as_deref()),
        "alert_severity" => text(|r| r.alert_severity.as_deref()),
        "page_action" => text(|r| r.page_action.as_deref()),
        "page_incident" => text(|r| r.page_incident.as_deref()),
        "page_title" => text(|r| r.page_title.as_deref()),
        "page_agent" => text(|r| r.page_agent.as_deref()),
        "metric_name" => text(|r| r.metric_name.as_deref()),
        "metric_value" => rows.iter().map(|r| r.metric_value).collect::<Vec<_>>(),
        "attrs" => rows.iter().map(|r| serde_json::to_string(&r.attrs).unwrap_or_default()).collect::<Vec<_>>(),
    )
}

impl<W: Write> ParquetRows<W> {
    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() && self.writer.is_some() {
            return Ok(());
        }
        let df = frame(&self.rows).context("building a Parquet row group")?;
        if self.writer.is_none() {
            let sink = self
                .sink
                .take()
                .ok_or_else(|| anyhow!("Parquet output already closed"))?;
            self.writer = Some(
                ParquetWriter::new(sink)
                    .batched(df.schema())
                    .context("starting the Parquet file")?,
            );
        }
        if let Some(w) = &mut self.writer
            && df.height() > 0
        {
            w.write_batch(&df).context("writing a Parquet row group")?;
        }
        self.rows.clear();
        Ok(())
    }
}

impl<W: Write> RowWriter<W> {
    fn new(format: EventFormat, out: W) -> RowWriter<W> {
        match format {
            EventFormat::Jsonl => RowWriter::Jsonl(out),
            EventFormat::Csv => RowWriter::Csv(Box::new(csv::Writer::from_writer(out))),
            EventFormat::Parquet => RowWriter::Parquet(Box::new(ParquetRows {
                writer: None,
                sink: Some(out),
                rows: Vec::new(),
            })),
        }
    }

    fn write(&mut self, row: EventRow) -> Result<()> {
        match self {
            RowWriter::Jsonl(w) => {
                serde_json::to_writer(&mut *w, &row)?;
                w.write_all(b"\n")?;
            }
            RowWriter::Csv(w) => w.serialize(flat(&row))?,
            RowWriter::Parquet(p) => {
                p.rows.push(row);
                if p.rows.len() >= PARQUET_BATCH {
                    p.flush()?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            RowWriter::Jsonl(mut w) => w.flush()?,
            RowWriter::Csv(mut w) => w.flush()?,
            RowWriter::Parquet(mut p) => {
                p.flush()?;
                if let Some(w) = p.writer.take() {
                    w.finish().context("closing the Parquet file")?;
                }
            }
        }
        Ok(())
    }
}

/// What an export did.
#[derive(Debug)]
pub struct ExportSummary {
    pub inputs: Vec<InputReport>,
    pub path_problems: Vec<PathProblem>,
    pub events: u64,
}

/// Reads the inputs and writes their events, time-ordered, to `out`.
pub fn export_events<W: Write>(
    paths: &[PathBuf],
    options: &IngestOptions,
    format: EventFormat,
    out: W,
) -> Result<ExportSummary> {
    let (files, path_problems) = discover_inputs(paths)?;
    let spill_dir = tempfile::Builder::new()
        .prefix("retrace-events-")
        .tempdir()
        .context("creating a temporary folder for sorting")?;
    let dir = spill_dir.path();
    let display = |f: &InputFile| f.display.clone();
    let results = ingest_all(&files, options, |i| {
        RunSink::new(
            i,
            files.get(i as usize).map(display).unwrap_or_default(),
            dir,
        )
    })?;
    let mut inputs = Vec::with_capacity(results.len());
    let mut runs = Vec::new();
    for (report, sink) in results {
        if let Some(e) = sink.error {
            bail!(
                "{}: spilling sorted events to {}: {e}",
                report.path,
                dir.display()
            );
        }
        runs.extend(sink.runs);
        inputs.push(report);
    }
    let runs = reduce_runs(runs, dir)?;
    let mut writer = RowWriter::new(format, out);
    let mut events = 0u64;
    merge_runs(&runs, |_, row| {
        events += 1;
        writer.write(row)
    })?;
    writer.finish()?;
    Ok(ExportSummary {
        inputs,
        path_problems,
        events,
    })
}

/// `retrace events PATH... [--format jsonl|csv|parquet] [-o FILE]`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Log files or folders (searched recursively; .gz read transparently).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output file (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output encoding (default: from the output file's extension, else jsonl).
    #[arg(long, value_enum)]
    pub format: Option<EventFormat>,
    /// Time zone of timestamps that do not say theirs; also settles ambiguous abbreviations.
    #[arg(long, default_value = "UTC", value_parser = crate::cli::parse_tz)]
    pub assume_tz: chrono_tz::Tz,
    /// Force an input file's format: PATH=NAME (see `retrace formats`). Repeatable.
    #[arg(long = "input-format", value_name = "PATH=NAME", value_parser = crate::cli::parse_format_override)]
    pub input_formats: Vec<(PathBuf, &'static dyn crate::ingest::formats::LineFormat)>,
    /// Parsing threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no per-file summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `retrace events`.
pub fn run(args: EventsArgs) -> Result<()> {
    use std::io::IsTerminal;
    let format = args
        .format
        .or(args.output.as_deref().map(EventFormat::from_path))
        .unwrap_or(EventFormat::Jsonl);
    let options = IngestOptions {
        assume_tz: args.assume_tz,
        formats: args.input_formats,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        progress: !args.quiet,
    };
    // The output is opened first, so a bad path fails before the long work.
    let summary = match &args.output {
        Some(path) => {
            let file = File::create(path).with_context(|| {
                format!(
                    "{}: cannot create the output file (check -o/--output)",
                    path.display()
                )
            })?;
            export_events(&args.paths, &options, format, BufWriter::new(file))?
        }
        None => {
            if format == EventFormat::Parquet && io::stdout().is_terminal() {
                bail!("Parquet is binary: write it to a file with -o FILE.parquet, or pipe it");
            }
            export_events(
                &args.paths,
                &options,
                format,
                BufWriter::new(io::stdout().lock()),
            )?
        }
    };
    let mut err = io::stderr().lock();
    if !args.quiet {
        for r in &summary.inputs {
            crate::cli::print_input_report(&mut err, r);
        }
        for p in &summary.path_problems {
            let _ = writeln!(err, "{}: warning: {}", p.path, p.message);
        }
    }
    let _ = writeln!(
        err,
        "{} events written{}",
        summary.events,
        args.output
            .as_ref()
            .map_or(String::new(), |p| format!(" to {}", p.display()))
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{NS_PER_SEC, Severity, SourceKind};

    #[test]
    fn runs_merge_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = RunSink::new(0, "a.log".into(), dir.path());
        let mut b = RunSink::new(1, "b.log".into(), dir.path());
        for (i, t) in [5, 1, 3].into_iter().enumerate() {
            let mut e = Event::new(
                t * NS_PER_SEC,
                SourceKind::App,
                Severity::Info,
                format!("a{t}"),
            );
            e.origin = Origin {
                file: 0,
                line: i as u64 + 1,
            };
            a.event(e);
        }
        for (i, t) in [2, 4].into_iter().enumerate() {
            let mut e = Event::new(
                t * NS_PER_SEC,
                SourceKind::Web,
                Severity::Info,
                format!("b{t}"),
            );
            e.origin = Origin {
                file: 1,
                line: i as u64 + 1,
            };
            b.event(e);
        }
        a.finish();
        b.finish();
        let mut runs = a.runs.clone();
        runs.extend(b.runs.clone());
        let mut order = Vec::new();
        merge_runs(&runs, |_, r| {
            order.push(r.message);
            Ok(())
        })
        .unwrap();
        assert_eq!(order, ["a1", "b2", "a3", "b4", "a5"]);
    }
}
