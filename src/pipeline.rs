//! The pipeline end to end: ingest every file (in parallel, see `ingest::run`), merge the
//! aggregates, detect outages, estimate their impact and draft their story.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono_tz::Tz;

use crate::aggregate::Aggregates;
use crate::detect::{DetectConfig, Detection, Outage, detect};
use crate::event::TimeNs;
use crate::impact::{Impact, Response, failure_breakdown, impact, response};
use crate::ingest::formats::LineFormat;
use crate::ingest::run::{self, IngestOptions};
use crate::ingest::{InputFile, InputReport, PathProblem, discover_inputs};
use crate::notes::NotesFile;
use crate::timeline::{OutageStory, TimelineEntry, story};

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
    /// Worker threads for parsing (chunks of files in parallel).
    pub threads: usize,
    pub progress: bool,
    pub detect: DetectConfig,
    /// `--notes FILE`, read and parsed before the analysis.
    pub notes: Option<NotesFile>,
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
    /// The notes file, if any, and its lines as timeline entries.
    pub notes: Option<NotesFile>,
    pub note_entries: Vec<TimelineEntry>,
}

impl Analysis {
    pub fn span(&self) -> Option<(TimeNs, TimeNs)> {
        Some((self.aggregates.first?, self.aggregates.last?))
    }

    /// Every outage's timeline entries and the notes, in time order, without repeats (two
    /// outages close together share their alerts and changes).
    pub fn timeline_entries(&self) -> Vec<&TimelineEntry> {
        let mut entries: Vec<_> = self
            .outages
            .iter()
            .flat_map(|o| o.story.entries.iter())
            .chain(&self.note_entries)
            .collect();
        let key = |e: &TimelineEntry| (e.time, e.origin, e.kind, e.source.clone());
        entries.sort_by_key(|e| key(e));
        entries.dedup_by(|x, y| key(x) == key(y) && x.text == y.text);
        entries
    }

    /// `path:line` of a timeline entry: its input line, or its line in the notes file.
    pub fn entry_source(&self, e: &TimelineEntry) -> Option<String> {
        e.origin
            .map(|o| self.source_of(o))
            .or_else(|| e.source.clone())
    }

    /// `path:line` for an event origin.
    pub fn source_of(&self, origin: crate::event::Origin) -> String {
        match self.inputs.get(origin.file as usize) {
            Some(input) => format!("{}:{}", input.path, origin.line),
            None => format!("?:{}", origin.line),
        }
    }
}

/// Ingests every file (see [`crate::ingest::run`]), each into its own aggregates, merged after.
fn ingest_all(
    files: &[InputFile],
    options: &AnalysisOptions,
) -> Result<(Vec<InputReport>, Aggregates)> {
    let ingest = IngestOptions {
        assume_tz: options.assume_tz,
        formats: options.formats.clone(),
        threads: options.threads,
        progress: options.progress,
    };
    let results = run::ingest_all_split(files, &ingest, |_| Aggregates::default())?;
    let mut reports = Vec::with_capacity(results.len());
    let mut merged = Aggregates::default();
    for (report, aggregates) in results {
        reports.push(report);
        merged.merge(aggregates);
    }
    merged.finish();
    Ok((reports, merged))
}

/// Runs the whole analysis.
pub fn analyse(options: &AnalysisOptions) -> Result<Analysis> {
    let (files, path_problems) = discover_inputs(&options.paths)?;
    let (inputs, aggregates) = ingest_all(&files, options)?;
    let mut detection = detect(&aggregates, &options.detect).context("detecting outages")?;
    // How each input was read (ambiguous zones, where a missing year came from) goes with the
    // other notes of the diagnostics.
    for input in &inputs {
        for note in &input.notes {
            detection.notes.push(format!("{}: {note}", input.path));
        }
    }
    let mut outages = Vec::new();
    let mut previous_end = None;
    for outage in &detection.outages {
        let Some(stream) = aggregates.streams.get(&outage.stream) else {
            continue;
        };
        let mut impact = impact(outage, stream, previous_end);
        impact.breakdown =
            failure_breakdown(outage, &aggregates).context("grouping failed requests")?;
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
    // Notes without a date take the one that puts them nearest the outages (else the logs).
    let around = match (detection.outages.first(), detection.outages.last()) {
        (Some(first), Some(last)) => Some((first.start, last.end)),
        _ => aggregates.first.zip(aggregates.last),
    };
    let note_entries = options
        .notes
        .as_ref()
        .map(|n| n.entries(options.report_tz, around.unwrap_or_default()))
        .unwrap_or_default();
    Ok(Analysis {
        report_tz: options.report_tz,
        assume_tz: options.assume_tz,
        inputs,
        path_problems,
        aggregates,
        detection,
        outages,
        notes: options.notes.clone(),
        note_entries,
    })
}
