//! Command-line interface: arguments (clap derive) and the commands they run.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use chrono_tz::Tz;
use clap::{Parser, Subcommand};

use crate::detect::DetectConfig;
use crate::ingest::InputReport;
use crate::ingest::formats::{FORMATS, LineFormat, by_name};
use crate::pipeline::{AnalysisOptions, analyse};
use crate::redact::Redaction;
use crate::report::{ReportOptions, prepare_output_dir, write_report};

const EXIT_CODES: &str = "Exit codes: 0 report written (problems in the inputs are warnings); 1 report written with warnings, only with --strict; 2 usage or input error (bad flag, unusable output folder, no input file); 101 internal error (a bug: please report it).";

#[derive(Debug, Parser)]
#[command(name = "retrace", version, about = "Turn the raw logs of an outage into a draft postmortem", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read logs (files, folders, .gz) and write postmortem.md, summary.json and charts.
    Report(ReportArgs),
    /// List the input formats retrace recognises, with an example line each.
    Formats,
    /// Write the normalized events of the logs, in time order, as JSON lines, CSV or Parquet.
    Events(crate::export::EventsArgs),
    /// Write a bundled synthetic incident (logs plus expected.json) into a folder.
    Generate {
        /// Which incident: auth-db-outage.
        scenario: String,
        /// Folder to write it into.
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Log files or folders (searched recursively; .gz read transparently).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output folder for postmortem.md, summary.json and charts/.
    #[arg(short, long, default_value = "postmortem")]
    pub output: PathBuf,
    /// Time zone the report is written in (IANA name, e.g. America/New_York).
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    pub tz: Tz,
    /// Time zone of timestamps that do not say theirs; also settles ambiguous abbreviations.
    #[arg(long, default_value = "UTC", value_parser = parse_tz)]
    pub assume_tz: Tz,
    /// Overwrite a non-empty output folder.
    #[arg(long)]
    pub force: bool,
    /// Force a file's format: PATH=NAME (see `retrace formats`). Repeatable.
    #[arg(long = "format", value_name = "PATH=NAME", value_parser = parse_format_override)]
    pub formats: Vec<(PathBuf, &'static dyn LineFormat)>,
    /// Parsing threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bar and no per-file summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Exit with status 1 when the report was written with warnings (unparsed or cut lines,
    /// unrecognised or unreadable files, skipped paths, bad --notes lines).
    #[arg(long)]
    pub strict: bool,
    /// Merge your own timeline lines into the report: one per line, `15:20 rolled back deploy
    /// 2031`, times in the --tz zone (a date may lead: `2023-10-15 15:20 ...`).
    #[arg(long, value_name = "FILE")]
    pub notes: Option<PathBuf>,
    /// Also write postmortem.html: one self-contained page (charts inlined, no script).
    #[arg(long)]
    pub html: bool,
    /// Also write each chart as SVG beside its PNG.
    #[arg(long)]
    pub svg: bool,
    /// Keep user ids, e-mail and IP addresses and tokens in the report's log text (they are
    /// redacted by default, in postmortem.md, postmortem.html and summary.json).
    #[arg(long)]
    pub no_redact: bool,
}

pub(crate) fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {s:?}: use an IANA name such as UTC, America/New_York or Europe/Berlin"))
}

pub(crate) fn parse_format_override(s: &str) -> Result<(PathBuf, &'static dyn LineFormat), String> {
    let (path, name) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("--format wants PATH=NAME, got {s:?}"))?;
    let format = by_name(name).ok_or_else(|| {
        let names: Vec<&str> = FORMATS.iter().map(|f| f.name()).collect();
        format!("unknown format {name:?}; known: {}", names.join(", "))
    })?;
    Ok((PathBuf::from(path), format))
}

pub(crate) fn print_input_report(err: &mut impl Write, r: &InputReport) {
    let format = match (r.format, r.best_guess) {
        (Some(f), _) if r.format_forced => format!("{f} (forced)"),
        (Some(f), _) => format!(
            "{f} (confidence {:.0}%, {:.0}% of sampled lines)",
            r.confidence * 100.0,
            r.coverage * 100.0
        ),
        (None, Some((guess, score))) => {
            format!(
                "format not recognised (closest: {guess} at {score:.0}%, too weak; force one with --format PATH=NAME)"
            )
        }
        (None, None) => "format not recognised".to_string(),
    };
    let _ = writeln!(
        err,
        "{}: {format}{}: {} lines = {} parsed + {} joined + {} unparsed",
        r.path,
        if r.gzip { ", gzip" } else { "" },
        r.lines,
        r.parsed,
        r.joined,
        r.unparsed
    );
    for s in &r.samples {
        let _ = writeln!(err, "  {}:{}: {}: {}", r.path, s.line, s.reason, s.text);
    }
    if let Some(e) = &r.error {
        let _ = writeln!(err, "  {}: warning: {e}", r.path);
    }
    for note in &r.notes {
        let _ = writeln!(err, "  {}: note: {note}", r.path);
    }
    if r.format.is_some() && r.events == 0 && r.lines > 0 {
        let _ = writeln!(err, "  {}: warning: no usable line in this file", r.path);
    }
}

/// How many things the user should look at: problems that did not stop the report.
fn count_warnings(analysis: &crate::pipeline::Analysis) -> usize {
    let inputs = analysis
        .inputs
        .iter()
        .map(|i| {
            usize::from(i.error.is_some())
                + usize::from(i.format.is_none() && i.lines > i.blank)
                + usize::from(i.unparsed > i.blank)
                + usize::from(i.truncated_lines > 0)
        })
        .sum::<usize>();
    let notes = analysis.notes.as_ref().map_or(0, |n| n.problems.len());
    inputs + analysis.path_problems.len() + notes
}

/// Exit status for a report run: 0, or 1 under `--strict` when there were warnings.
fn run_report(args: ReportArgs) -> Result<u8> {
    prepare_output_dir(&args.output, args.force)?;
    // Read before the long work, so a wrong path fails at once; bad lines are warnings.
    let notes = args.notes.as_deref().map(crate::notes::read).transpose()?;
    if let Some(n) = &notes {
        let mut err = std::io::stderr().lock();
        for p in &n.problems {
            let _ = writeln!(
                err,
                "{}:{}: warning: not a timeline line, skipped: {}",
                n.path, p.line, p.message
            );
        }
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let options = AnalysisOptions {
        paths: args.paths,
        report_tz: args.tz,
        assume_tz: args.assume_tz,
        formats: args.formats,
        threads,
        progress: !args.quiet,
        detect: DetectConfig::default(),
        notes,
    };
    let analysis = analyse(&options)?;
    let mut err = std::io::stderr().lock();
    if !args.quiet {
        for r in &analysis.inputs {
            print_input_report(&mut err, r);
        }
        for p in &analysis.path_problems {
            let _ = writeln!(err, "{}: warning: {}", p.path, p.message);
        }
    }
    let report_options = ReportOptions {
        html: args.html,
        svg: args.svg,
        redaction: Redaction {
            enabled: !args.no_redact,
        },
    };
    write_report(&args.output, &analysis, &report_options)?;
    let _ = writeln!(
        err,
        "{} outage(s) found; report written to {}",
        analysis.outages.len(),
        args.output.join("postmortem.md").display()
    );
    let warnings = count_warnings(&analysis);
    if warnings > 0 {
        let _ = writeln!(
            err,
            "{warnings} warning(s): see the lines above and diagnostics in summary.json"
        );
    }
    // The process ends next: freeing the aggregates (per-minute user sets of up to a million
    // entries) one by one would only delay the exit; the system takes the memory back at once.
    std::mem::forget(analysis);
    Ok(if args.strict && warnings > 0 { 1 } else { 0 })
}

fn run_formats() {
    let mut out = std::io::stdout().lock();
    for f in FORMATS {
        let _ = writeln!(
            out,
            "{} ({})\n  fields: {}\n  example: {}\n",
            f.name(),
            f.kind(),
            f.fields(),
            f.example()
        );
    }
}

/// Runs the parsed command line; returns the exit status (errors are status 2, in main).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Report(args) => run_report(args),
        Command::Formats => {
            run_formats();
            Ok(0)
        }
        Command::Events(args) => crate::export::run(args).map(|()| 0),
        Command::Generate { scenario, dir } => match scenario.as_str() {
            "auth-db-outage" => crate::scenario::reference::write(&dir)
                .with_context(|| format!("{}: writing the auth-db-outage incident", dir.display()))
                .map(|()| 0),
            other => Err(anyhow!("unknown scenario {other:?}; known: auth-db-outage")),
        },
    }
}
