//! Ingest: finds the input files, recognises each one's format, and pushes its events into a sink,
//! counting every line as parsed, joined or unparsed.

pub mod detect;
pub mod document;
pub mod driver;
pub mod formats;
pub mod json_scan;
pub mod multiline;
pub mod reader;
pub mod run;

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::event::{Event, EventView, Origin, TimeNs};

pub use driver::{AnchorMode, Deferred, ingest_file, ingest_file_with};

/// Lines read to recognise a file's format.
pub const SNIFF_LINES: usize = 64;
/// Unparsed lines quoted per file in the diagnostics.
pub const UNPARSED_SAMPLES: usize = 5;
/// Characters of a line quoted in a diagnostic.
pub const QUOTE_CHARS: usize = 160;

/// Receives what ingestion finds, in file order. Hooks other than `event` default to nothing.
pub trait EventSink {
    /// A complete event (continuation lines already joined, unless the sink only aggregates).
    fn event(&mut self, event: Event);
    /// A record read through a format's fast path: the fields aggregation reads, borrowed from
    /// the line. Only sinks that say [`EventSink::aggregates_only`] are given views.
    fn view(&mut self, view: &EventView<'_>) {
        self.event(view.to_event());
    }
    /// Whether the sink only aggregates: it reads no attribute and no continuation text, so
    /// records are handed over as soon as they are read, through the formats' fast paths, and
    /// continuation lines are only counted.
    fn aggregates_only(&self) -> bool {
        false
    }
    /// A line was joined to the event before it.
    fn joined(&mut self, _origin: Origin) {}
    /// A line could not be used.
    fn unparsed(&mut self, _origin: Origin, _reason: &str) {}
    /// The file is done (every event of it has been handed over).
    fn finish(&mut self) {}
}

/// A sink whose work on one file can be cut by chunks, done apart and put back together: each
/// chunk gets its own part, and the parts are taken in in file order.
pub trait SplitSink: EventSink + Send + 'static {
    /// An empty part for a later chunk of the same file.
    fn fork(&self) -> Self;
    /// Takes in the part of the chunk right after this one's (and those taken in before it):
    /// the result is what one sink reading both chunks in order would hold.
    fn absorb(&mut self, later: Self);
}

impl<S: EventSink + ?Sized> EventSink for &mut S {
    fn event(&mut self, event: Event) {
        (**self).event(event);
    }
    fn view(&mut self, view: &EventView<'_>) {
        (**self).view(view);
    }
    fn aggregates_only(&self) -> bool {
        (**self).aggregates_only()
    }
    fn joined(&mut self, origin: Origin) {
        (**self).joined(origin);
    }
    fn unparsed(&mut self, origin: Origin, reason: &str) {
        (**self).unparsed(origin, reason);
    }
    fn finish(&mut self) {
        (**self).finish();
    }
}

/// A sink that keeps every event, for tests.
#[derive(Debug, Default)]
pub struct RecordingSink {
    pub events: Vec<Event>,
}

impl EventSink for RecordingSink {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// One input file as found on disk.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    /// The path as shown to the user (as given, or relative to the folder given).
    pub display: String,
    pub size: u64,
}

/// A line quoted in the diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct UnparsedSample {
    pub line: u64,
    pub reason: String,
    pub text: String,
}

/// What ingestion made of one file.
#[derive(Debug, Clone, Default)]
pub struct InputReport {
    pub path: String,
    pub format: Option<&'static str>,
    /// Share of the sniffed lines the chosen format recognised (0..=1).
    pub confidence: f64,
    pub format_forced: bool,
    /// Share of the sampled lines (or records) the format accounts for (0..=1).
    pub coverage: f64,
    /// The best candidate and its score (0..100) when no format was convincing.
    pub best_guess: Option<(&'static str, f64)>,
    /// Read as one JSON document (or a few concatenated) rather than line by line.
    pub document: bool,
    pub gzip: bool,
    pub lines: u64,
    pub parsed: u64,
    pub joined: u64,
    pub unparsed: u64,
    /// Of the unparsed lines, how many were empty.
    pub blank: u64,
    /// Lines longer than the limit, cut (they still count once).
    pub truncated_lines: u64,
    pub events: u64,
    pub first: Option<TimeNs>,
    pub last: Option<TimeNs>,
    pub samples: Vec<UnparsedSample>,
    /// A read error that ended the file early (the lines before it are used).
    pub error: Option<String>,
    /// What the reader should know about how the file was read (ambiguous zone abbreviations,
    /// where a year or a boot time came from...).
    pub notes: Vec<String>,
}

impl InputReport {
    /// Share of the lines that were parsed or joined (1 for an empty file).
    pub fn used_share(&self) -> f64 {
        if self.lines == 0 {
            1.0
        } else {
            (self.parsed + self.joined) as f64 / self.lines as f64
        }
    }
}

/// Problems with the paths themselves (missing, unreadable), reported and skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct PathProblem {
    pub path: String,
    pub message: String,
}

/// Expands files and folders (recursively, symlinked folders visited once) into a sorted list.
pub fn discover(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<PathProblem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let mut seen_dirs = BTreeSet::new();
    for root in paths {
        let meta = match fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                problems.push(PathProblem {
                    path: root.display().to_string(),
                    message: describe_io(&e),
                });
                continue;
            }
        };
        if meta.is_file() {
            files.push(InputFile {
                path: root.clone(),
                display: root.display().to_string(),
                size: meta.len(),
            });
        } else if meta.is_dir() {
            walk(root, root, &mut files, &mut problems, &mut seen_dirs);
        } else {
            problems.push(PathProblem {
                path: root.display().to_string(),
                message: "not a regular file or folder".to_string(),
            });
        }
    }
    (files, problems)
}

/// [`discover`], failing when no file is left to read (the problems met name why).
pub fn discover_inputs(paths: &[PathBuf]) -> anyhow::Result<(Vec<InputFile>, Vec<PathProblem>)> {
    let (files, problems) = discover(paths);
    if files.is_empty() {
        let detail = problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        if detail.is_empty() {
            anyhow::bail!("no input files found");
        }
        anyhow::bail!("no input files found ({detail})");
    }
    Ok((files, problems))
}

fn walk(
    root: &Path,
    dir: &Path,
    files: &mut Vec<InputFile>,
    problems: &mut Vec<PathProblem>,
    seen_dirs: &mut BTreeSet<PathBuf>,
) {
    // Canonical paths guard against symlink loops.
    match fs::canonicalize(dir) {
        Ok(canonical) => {
            if !seen_dirs.insert(canonical) {
                return;
            }
        }
        Err(e) => {
            problems.push(PathProblem {
                path: dir.display().to_string(),
                message: describe_io(&e),
            });
            return;
        }
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(PathProblem {
                path: dir.display().to_string(),
                message: describe_io(&e),
            });
            return;
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Hidden files and our own truth files are not logs.
        if name.starts_with('.') || name == "expected.json" {
            continue;
        }
        match fs::metadata(&child) {
            Ok(meta) if meta.is_dir() => walk(root, &child, files, problems, seen_dirs),
            Ok(meta) if meta.is_file() => {
                let display = match child.strip_prefix(root) {
                    Ok(rel) => Path::new(root).join(rel).display().to_string(),
                    Err(_) => child.display().to_string(),
                };
                files.push(InputFile {
                    path: child,
                    display,
                    size: meta.len(),
                });
            }
            Ok(_) => problems.push(PathProblem {
                path: child.display().to_string(),
                message: "skipped: not a regular file".to_string(),
            }),
            Err(e) => problems.push(PathProblem {
                path: child.display().to_string(),
                message: describe_io(&e),
            }),
        }
    }
}

pub(crate) fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}
