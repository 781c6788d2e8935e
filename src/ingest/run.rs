//! Ingests many files in parallel, each into its own sink, in two waves: files whose timestamps
//! lack a year (BSD syslog, klog) or count from boot (dmesg) are read after the others, so their
//! year can be taken from the other sources' times.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};

use super::formats::{LineFormat, ParseContext};
use super::{AnchorMode, EventSink, InputFile, InputReport, ingest_file_with};
use crate::time::TimeContext;

/// How to read the inputs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Zone of timestamps that carry none.
    pub assume_tz: Tz,
    /// `--format PATH=NAME` overrides.
    pub formats: Vec<(PathBuf, &'static dyn LineFormat)>,
    /// Files read at once.
    pub threads: usize,
    /// A progress bar on stderr when it is a terminal.
    pub progress: bool,
}

/// The format forced for a file by `--format PATH=NAME` (the path as given, or a suffix of it).
pub fn forced_format(
    file: &InputFile,
    overrides: &[(PathBuf, &'static dyn LineFormat)],
) -> Option<&'static dyn LineFormat> {
    overrides
        .iter()
        .find(|(p, _)| file.path == *p || file.path.ends_with(p))
        .map(|(_, f)| *f)
}

/// Runs `work` on every index with `threads` workers; results come back in index order.
fn parallel<T: Send>(
    indices: &[usize],
    threads: usize,
    work: impl Fn(usize) -> T + Sync,
) -> Result<Vec<(usize, T)>> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(indices.len()));
    let failed = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.clamp(1, indices.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&index) = indices.get(i) else {
                            break;
                        };
                        let value = work(index);
                        if let Ok(mut r) = results.lock() {
                            r.push((index, value));
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().any(|h| h.join().is_err())
    });
    if failed {
        return Err(anyhow!("an ingestion worker failed"));
    }
    let mut results = results
        .into_inner()
        .map_err(|_| anyhow!("an ingestion worker failed"))?;
    results.sort_by_key(|(i, _)| *i);
    Ok(results)
}

/// Reads every file into a sink made for it by `make_sink(file index)`; returns each file's
/// report and sink, in file order.
pub fn ingest_all<S, F>(
    files: &[InputFile],
    options: &IngestOptions,
    make_sink: F,
) -> Result<Vec<(InputReport, S)>>
where
    S: EventSink + Send,
    F: Fn(u32) -> S + Sync,
{
    let bytes_read = Arc::new(AtomicU64::new(0));
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = (options.progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_bar}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let ctx = ParseContext {
        time: TimeContext {
            assume_tz: options.assume_tz,
        },
        ..ParseContext::default()
    };
    let done = AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        if let Some(bar) = &bar {
            let bytes_read = bytes_read.clone();
            let done = &done;
            scope.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    bar.set_position(bytes_read.load(Ordering::Relaxed).min(total));
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
        let run = |index: usize, anchor: AnchorMode| {
            let file = &files[index];
            let mut sink = make_sink(index as u32);
            ingest_file_with(
                index as u32,
                file,
                forced_format(file, &options.formats),
                &ctx,
                anchor,
                bytes_read.clone(),
                &mut sink,
            )
            .ok()
            .map(|report| (report, sink))
        };
        let all: Vec<usize> = (0..files.len()).collect();
        let first = parallel(&all, options.threads, |i| run(i, AnchorMode::Defer));
        let result = first.and_then(|first| {
            let anchor = first
                .iter()
                .filter_map(|(_, r)| r.as_ref().and_then(|(report, _)| report.last))
                .max();
            let deferred: Vec<usize> = first
                .iter()
                .filter(|(_, r)| r.is_none())
                .map(|(i, _)| *i)
                .collect();
            let second = parallel(&deferred, options.threads, |i| {
                run(i, AnchorMode::Use(anchor))
            })?;
            let mut slots: Vec<Option<(InputReport, S)>> =
                first.into_iter().map(|(_, r)| r).collect();
            for (i, r) in second {
                slots[i] = r;
            }
            slots
                .into_iter()
                .map(|s| s.ok_or_else(|| anyhow!("a file was left unread")))
                .collect::<Result<Vec<_>>>()
        });
        done.store(true, Ordering::Relaxed);
        result
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}
