//! The pipeline end to end: ingest every file (in parallel, on tokio's blocking pool), merge the
//! aggregates, detect outages, estimate their impact and draft their story.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressStyle};

use crate::aggregate::Aggregates;
use crate::detect::{DetectConfig, Detection, Outage, detect};
use crate::event::TimeNs;
use crate::impact::{Impact, Response, impact, response};
use crate::ingest::formats::{LineFormat, ParseContext};
use crate::ingest::{InputFile, InputReport, PathProblem, discover, ingest_file};
use crate::time::TimeContext;
use crate::timeline::{OutageStory, story};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct AnalysisOptions {
    pub paths: Vec<PathBuf>,
    /// Zone the report is written in.
    pub report_tz: Tz,
    /// Zone assumed for timestamps that carry none.
    pub assume_tz: Tz,
    /// `--format PATH=NAME` overrides.
    pub formats: Vec<(PathBuf, &'static dyn LineFormat)>,
    /// Worker threads for parsing (files in parallel).
    pub threads: usize,
    pub progress: bool,
    pub detect: DetectConfig,
}

/// One outage with everything measured about it.
#[derive(Debug, Clone)]
pub struct OutageAnalysis {
    pub outage: Outage,
    pub impact: Impact,
    pub response: Response,
    pub story: OutageStory,
}

/// Everything a report is rendered from.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub report_tz: Tz,
    pub assume_tz: Tz,
    pub inputs: Vec<InputReport>,
    pub path_problems: Vec<PathProblem>,
    pub aggregates: Aggregates,
    pub detection: Detection,
    pub outages: Vec<OutageAnalysis>,
}

impl Analysis {
    pub fn span(&self) -> Option<(TimeNs, TimeNs)> {
        Some((self.aggregates.first?, self.aggregates.last?))
    }

    /// Every outage's timeline entries in time order, without repeats (two outages close
    /// together share their alerts and changes).
    pub fn timeline_entries(&self) -> Vec<&crate::timeline::TimelineEntry> {
        let mut entries: Vec<_> = self
            .outages
            .iter()
            .flat_map(|o| o.story.entries.iter())
            .collect();
        entries.sort_by(|x, y| (x.time, x.origin, x.kind).cmp(&(y.time, y.origin, y.kind)));
        entries.dedup_by(|x, y| x.time == y.time && x.origin == y.origin && x.kind == y.kind);
        entries
    }

    /// `path:line` for an event origin.
    pub fn source_of(&self, origin: crate::event::Origin) -> String {
        match self.inputs.get(origin.file as usize) {
            Some(input) => format!("{}:{}", input.path, origin.line),
            None => format!("?:{}", origin.line),
        }
    }
}

fn forced_format(
    file: &InputFile,
    overrides: &[(PathBuf, &'static dyn LineFormat)],
) -> Option<&'static dyn LineFormat> {
    overrides
        .iter()
        .find(|(p, _)| file.path == *p || file.path.ends_with(p))
        .map(|(_, f)| *f)
}

/// Ingests every file, each on a blocking worker, each into its own aggregates (merged after).
fn ingest_all(
    files: &[InputFile],
    options: &AnalysisOptions,
) -> Result<(Vec<InputReport>, Aggregates)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .max_blocking_threads(options.threads.max(1))
        .enable_time()
        .build()
        .context("starting the worker pool")?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let total: u64 = files.iter().map(|f| f.size).sum();
    let bar = if options.progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} reading {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {wide_bar}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let ctx = ParseContext {
        time: TimeContext {
            assume_tz: options.assume_tz,
        },
    };
    let results = runtime.block_on(async {
        let ticker = bar.clone().map(|bar| {
            let bytes_read = bytes_read.clone();
            tokio::spawn(async move {
                let mut interval = tokio::time::interval(Duration::from_millis(100));
                loop {
                    interval.tick().await;
                    bar.set_position(bytes_read.load(Ordering::Relaxed));
                }
            })
        });
        let mut handles = Vec::with_capacity(files.len());
        for (index, file) in files.iter().enumerate() {
            let file = file.clone();
            let forced = forced_format(&file, &options.formats);
            let bytes_read = bytes_read.clone();
            handles.push(tokio::task::spawn_blocking(move || {
                let mut aggregates = Aggregates::default();
                let report = ingest_file(
                    index as u32,
                    &file,
                    forced,
                    &ctx,
                    bytes_read,
                    &mut aggregates,
                );
                (report, aggregates)
            }));
        }
        let mut results = Vec::with_capacity(handles.len());
        for handle in handles {
            results.push(handle.await);
        }
        if let Some(t) = ticker {
            t.abort();
        }
        results
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut reports = Vec::with_capacity(results.len());
    let mut merged = Aggregates::default();
    for (result, file) in results.into_iter().zip(files) {
        match result {
            Ok((report, aggregates)) => {
                reports.push(report);
                merged.merge(aggregates);
            }
            Err(e) => bail!("{}: worker failed: {e}", file.display),
        }
    }
    merged.finish();
    Ok((reports, merged))
}

/// Runs the whole analysis.
pub fn analyse(options: &AnalysisOptions) -> Result<Analysis> {
    let (files, path_problems) = discover(&options.paths);
    if files.is_empty() {
        let detail = path_problems
            .iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        bail!(
            "no input files found{}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(" ({detail})")
            }
        );
    }
    let (inputs, aggregates) = ingest_all(&files, options)?;
    let detection = detect(&aggregates, &options.detect).context("detecting outages")?;
    let mut outages = Vec::new();
    let mut previous_end = None;
    for outage in &detection.outages {
        let Some(stream) = aggregates.streams.get(&outage.stream) else {
            continue;
        };
        let impact = impact(outage, stream, previous_end);
        previous_end = Some(outage.end);
        let response = response(outage, &aggregates);
        let story = story(outage, &impact, &response, &aggregates);
        outages.push(OutageAnalysis {
            outage: outage.clone(),
            impact,
            response,
            story,
        });
    }
    Ok(Analysis {
        report_tz: options.report_tz,
        assume_tz: options.assume_tz,
        inputs,
        path_problems,
        aggregates,
        detection,
        outages,
    })
}
