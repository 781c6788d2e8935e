//! Ingests many files at once, in two waves: files whose timestamps lack a year (BSD syslog,
//! klog) or count from boot (dmesg) are read after the others, so their year can be taken from
//! the other sources' times.
//!
//! For sinks that split ([`SplitSink`], the aggregates), a tokio runtime runs the work: one
//! reader per file on the blocking pool (reading, decompressing `.gz`, cutting chunks of whole
//! lines into buffers from a bounded pool), chunks parsed apart on the runtime's workers (one per
//! core), and each file's parts put back together in file order as they finish. Memory is the
//! buffer pool plus the aggregates, whatever the input size. Formats that keep state between
//! lines, and `--threads 1`, read each file's chunks one after the other. Other sinks (which
//! keep events and their continuation lines) read each file in one pass, several files at once.

use std::collections::VecDeque;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::driver::{
    Chunk, ChunkPart, Delivery, FileMerge, ReadMsg, ReadOut, ReadRequest, SequentialFile,
    ingest_read_document, parse_chunk, read_source,
};
use super::formats::{LineFormat, ParseContext};
use super::reader::DEFAULT_CHUNK_BYTES;
use super::{AnchorMode, EventSink, InputFile, InputReport, SplitSink, ingest_file_with};
use crate::time::TimeContext;

/// How to read the inputs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Zone of timestamps that carry none.
    pub assume_tz: Tz,
    /// `--format PATH=NAME` overrides.
    pub formats: Vec<(PathBuf, &'static dyn LineFormat)>,
    /// Parsing threads.
    pub threads: usize,
    /// A progress bar on stderr when it is a terminal.
    pub progress: bool,
}

/// Knobs for tests and benchmarks, not for users: `RETRACE_CHUNK_BYTES` sets the chunk size
/// (tests cut files into tiny chunks to put a chunk boundary everywhere) and
/// `RETRACE_FAST_PATHS=0` turns the formats' fast paths off (to check they read the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    pub chunk_bytes: usize,
    pub fast_paths: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            fast_paths: true,
        }
    }
}

impl Tuning {
    pub fn from_env() -> Tuning {
        let mut tuning = Tuning::default();
        if let Some(n) = std::env::var("RETRACE_CHUNK_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
        {
            tuning.chunk_bytes = n;
        }
        if std::env::var("RETRACE_FAST_PATHS").is_ok_and(|v| v.trim() == "0") {
            tuning.fast_paths = false;
        }
        tuning
    }
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

fn parse_context(options: &IngestOptions) -> ParseContext {
    ParseContext {
        time: TimeContext {
            assume_tz: options.assume_tz,
        },
        ..ParseContext::default()
    }
}

/// A progress bar on stderr (bytes read / total, rate, ETA) when it is a terminal.
fn progress_bar(options: &IngestOptions, total: u64) -> Option<ProgressBar> {
    (options.progress && io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_bar}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    })
}

/// The reference time for the second wave: the last time of the files read in the first.
fn wave_anchor<S>(first: &[Option<(InputReport, S)>]) -> Option<crate::event::TimeNs> {
    first
        .iter()
        .filter_map(|r| r.as_ref().and_then(|(report, _)| report.last))
        .max()
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

/// Reads every file into a sink made for it by `make_sink(file index)`, each file in one pass
/// (several files at once); returns each file's report and sink, in file order. For sinks that
/// keep events; aggregates go through [`ingest_all_split`].
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
    let bar = progress_bar(options, total);
    let ctx = parse_context(options);
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
            let slots: Vec<Option<(InputReport, S)>> = first.into_iter().map(|(_, r)| r).collect();
            let anchor = wave_anchor(&slots);
            let deferred: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].is_none()).collect();
            let second = parallel(&deferred, options.threads, |i| {
                run(i, AnchorMode::Use(anchor))
            })?;
            let mut slots = slots;
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

/// Chunk buffers, bounded: a reader takes a permit before reading a chunk, and the permit is
/// given back when the chunk has been parsed and merged. Buffers are reused.
struct BufferPool {
    permits: Arc<Semaphore>,
    free: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    fn put(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut free) = self.free.lock() {
            free.push(buf);
        }
    }

    fn take(&self) -> Vec<u8> {
        self.free
            .lock()
            .ok()
            .and_then(|mut f| f.pop())
            .unwrap_or_default()
    }
}

/// What every file task shares.
struct Shared {
    ctx: ParseContext,
    tuning: Tuning,
    threads: usize,
    bytes_read: Arc<AtomicU64>,
    pool: BufferPool,
    /// Files read at once (each holds a reader thread and an open file).
    files_at_once: Arc<Semaphore>,
}

/// A message from a reader, with the permit of the buffer it carries.
type Leased = (ReadMsg, Option<OwnedSemaphorePermit>);

/// The reader's end: buffers from the pool, messages into the file's channel.
struct ChannelOut {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Leased>,
    handle: tokio::runtime::Handle,
    permit: Option<OwnedSemaphorePermit>,
}

impl ReadOut for ChannelOut {
    fn buffer(&mut self) -> Option<Vec<u8>> {
        // This runs on the blocking pool, where waiting is allowed.
        let permit = self
            .handle
            .block_on(self.shared.pool.permits.clone().acquire_owned())
            .ok()?;
        self.permit = Some(permit);
        Some(self.shared.pool.take())
    }

    fn send(&mut self, msg: ReadMsg) -> bool {
        let permit = match msg {
            ReadMsg::Chunk(_) => self.permit.take(),
            _ => None,
        };
        self.tx.blocking_send((msg, permit)).is_ok()
    }
}

/// One file's outcome: read (report and sink) or deferred to the second wave.
type FileOutcome<S> = Option<(InputReport, S)>;

/// Reads every file into a sink made for it by `make_sink(file index)`, cutting each file into
/// chunks parsed on all cores where its format allows; returns each file's report and sink, in
/// file order. The result is the same whatever the number of threads and the chunk size.
pub fn ingest_all_split<S, F>(
    files: &[InputFile],
    options: &IngestOptions,
    make_sink: F,
) -> Result<Vec<(InputReport, S)>>
where
    S: SplitSink,
    F: Fn(u32) -> S,
{
    ingest_split_with(files, options, Tuning::from_env(), make_sink)
}

/// [`ingest_all_split`] with the tuning given.
pub fn ingest_split_with<S, F>(
    files: &[InputFile],
    options: &IngestOptions,
    tuning: Tuning,
    make_sink: F,
) -> Result<Vec<(InputReport, S)>>
where
    S: SplitSink,
    F: Fn(u32) -> S,
{
    let threads = options.threads.max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("retrace-parse")
        .enable_time()
        .build()
        .context("starting the parsing threads")?;
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = progress_bar(options, total);
    let shared = Arc::new(Shared {
        ctx: parse_context(options),
        tuning,
        threads,
        bytes_read: Arc::new(AtomicU64::new(0)),
        pool: BufferPool {
            permits: Arc::new(Semaphore::new(3 * threads + 2)),
            free: Mutex::new(Vec::new()),
        },
        files_at_once: Arc::new(Semaphore::new(threads + 2)),
    });
    let result = runtime.block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let ticker = bar.clone().map(|bar| {
            let bytes_read = shared.bytes_read.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_millis(100));
                while !done.load(Ordering::Relaxed) {
                    every.tick().await;
                    bar.set_position(bytes_read.load(Ordering::Relaxed).min(total));
                }
            })
        });
        let all: Vec<usize> = (0..files.len()).collect();
        let result = async {
            let mut slots =
                run_wave(&shared, files, options, &all, AnchorMode::Defer, &make_sink).await?;
            let anchor = wave_anchor(&slots);
            let deferred: Vec<usize> = (0..slots.len()).filter(|i| slots[*i].is_none()).collect();
            let second = run_wave(
                &shared,
                files,
                options,
                &deferred,
                AnchorMode::Use(anchor),
                &make_sink,
            )
            .await?;
            for (i, r) in deferred.into_iter().zip(second) {
                slots[i] = r;
            }
            slots
                .into_iter()
                .map(|s| s.ok_or_else(|| anyhow!("a file was left unread")))
                .collect::<Result<Vec<_>>>()
        }
        .await;
        done.store(true, Ordering::Relaxed);
        if let Some(ticker) = ticker {
            let _ = ticker.await;
        }
        result
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// Reads the files at `indices` (all at once, within `files_at_once`); outcomes in that order.
async fn run_wave<S, F>(
    shared: &Arc<Shared>,
    files: &[InputFile],
    options: &IngestOptions,
    indices: &[usize],
    anchor: AnchorMode,
    make_sink: &F,
) -> Result<Vec<FileOutcome<S>>>
where
    S: SplitSink,
    F: Fn(u32) -> S,
{
    let mut tasks = Vec::with_capacity(indices.len());
    for &index in indices {
        let file = files[index].clone();
        let forced = forced_format(&file, &options.formats);
        let sink = make_sink(index as u32);
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let _gate = shared.files_at_once.clone().acquire_owned().await;
            ingest_one(shared, file, index as u32, forced, anchor, sink).await
        }));
    }
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(
            task.await
                .map_err(|e| anyhow!("an ingestion task failed: {e}"))??,
        );
    }
    Ok(outcomes)
}

/// Reads one file into `sink`: a reader thread hands over the plan and the chunks; chunks are
/// parsed apart and merged in order, or one after the other.
async fn ingest_one<S: SplitSink>(
    shared: Arc<Shared>,
    file: InputFile,
    index: u32,
    forced: Option<&'static dyn LineFormat>,
    anchor: AnchorMode,
    mut sink: S,
) -> Result<FileOutcome<S>> {
    let (tx, mut rx) = mpsc::channel::<Leased>(4);
    let reader = {
        let shared = shared.clone();
        let handle = tokio::runtime::Handle::current();
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            let ctx = shared.ctx;
            let request = ReadRequest {
                file_index: index,
                file: &file,
                forced,
                ctx: &ctx,
                anchor,
                chunk_bytes: shared.tuning.chunk_bytes,
                fast_paths: shared.tuning.fast_paths,
            };
            let bytes_read = shared.bytes_read.clone();
            let mut out = ChannelOut {
                shared,
                tx,
                handle,
                permit: None,
            };
            read_source(&request, bytes_read, &mut out);
        })
    };
    let Some((first, _)) = rx.recv().await else {
        reader
            .await
            .map_err(|e| anyhow!("{}: the reader failed: {e}", file.display))?;
        return Err(anyhow!("{}: the reader stopped early", file.display));
    };
    let outcome = match first {
        ReadMsg::Failed(report) => {
            sink.finish();
            Some((*report, sink))
        }
        ReadMsg::Deferred => None,
        ReadMsg::Document(doc) => {
            let ctx = shared.ctx;
            let (report, mut sink) = tokio::task::spawn_blocking(move || {
                let report = ingest_read_document(*doc, index, forced, &ctx, &mut sink);
                (report, sink)
            })
            .await
            .map_err(|e| anyhow!("{}: parsing failed: {e}", file.display))?;
            sink.finish();
            Some((report, sink))
        }
        ReadMsg::Lines(plan) => {
            let fast = shared.tuning.fast_paths;
            let (report, mut sink) = match plan.format.filter(|_| plan.chunkable()) {
                Some(format) if shared.threads > 1 => {
                    chunks_in_parallel(&shared, &mut rx, *plan, format, index, fast, sink).await?
                }
                _ => {
                    // One after the other, in this task.
                    let mut seq =
                        SequentialFile::new(&plan, index, Delivery::for_sink(&sink), fast);
                    let mut error = None;
                    while let Some((msg, _permit)) = rx.recv().await {
                        match msg {
                            ReadMsg::Chunk(chunk) => {
                                seq.chunk(&chunk, &mut sink);
                                shared.pool.put(chunk.bytes);
                            }
                            ReadMsg::End(e) => {
                                error = e;
                                break;
                            }
                            _ => {}
                        }
                    }
                    let report = seq.finish(*plan, error, &mut sink);
                    (report, sink)
                }
            };
            sink.finish();
            Some((report, sink))
        }
        ReadMsg::Chunk(_) | ReadMsg::End(_) => {
            return Err(anyhow!("{}: the reader sent no plan", file.display));
        }
    };
    drop(rx);
    reader
        .await
        .map_err(|e| anyhow!("{}: the reader failed: {e}", file.display))?;
    Ok(outcome)
}

/// Parses a file's chunks on the runtime's workers and merges the parts in file order as they
/// finish (the merge waits only for the oldest part).
async fn chunks_in_parallel<S: SplitSink>(
    shared: &Arc<Shared>,
    rx: &mut mpsc::Receiver<Leased>,
    plan: super::driver::Plan,
    format: &'static dyn LineFormat,
    index: u32,
    fast: bool,
    sink: S,
) -> Result<(InputReport, S)> {
    type Job<S> = JoinHandle<(ChunkPart<S>, Chunk, Option<OwnedSemaphorePermit>)>;
    let parse_ctx = plan.parse_ctx;
    let mut merge = FileMerge::new(&plan, format, index, fast, sink);
    let mut jobs: VecDeque<Job<S>> = VecDeque::new();
    let mut error: Option<io::Error> = None;
    let mut reading = true;
    while reading || !jobs.is_empty() {
        tokio::select! {
            biased;
            finished = async {
                match jobs.front_mut() {
                    Some(job) => Some(job.await),
                    None => None,
                }
            }, if !jobs.is_empty() => {
                jobs.pop_front();
                match finished {
                    Some(Ok((part, chunk, permit))) => {
                        merge.take(part, &chunk.bytes);
                        shared.pool.put(chunk.bytes);
                        drop(permit);
                    }
                    Some(Err(e)) => return Err(anyhow!("parsing a chunk failed: {e}")),
                    None => {}
                }
            }
            msg = rx.recv(), if reading => match msg {
                Some((ReadMsg::Chunk(chunk), permit)) => {
                    let part_sink = merge.fork_sink();
                    jobs.push_back(tokio::spawn(async move {
                        let part = parse_chunk(format, parse_ctx, index, fast, &chunk, part_sink);
                        (part, chunk, permit)
                    }));
                }
                Some((ReadMsg::End(e), _)) => {
                    error = e;
                    reading = false;
                }
                Some(_) => {}
                None => {
                    error = Some(io::Error::other("the reader stopped early"));
                    reading = false;
                }
            },
        }
    }
    Ok(merge.finish(plan, error))
}
