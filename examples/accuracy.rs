//! Accuracy benchmark: generates seeded scenarios (`retrace::scenario::bench`), runs retrace's
//! library on each, and prints one table of how close its windows, impact figures and root
//! causes come to the truth — beside the same figures for a naive detector run on the same
//! aggregates ("error rate above 3× the median of the hour before").
//!
//! `cargo run --release --example accuracy -- --scenarios 200` (seeds 1000..1200 by default;
//! the detector was tuned on seeds 1..45, so the default range is data it never saw).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use clap::Parser;
use retrace::aggregate::{Aggregates, StreamAggregate, StreamKey};
use retrace::event::{NS_PER_SEC, SourceKind};
use retrace::pipeline::analyse;
use retrace::scenario::bench::{self, FormatChoice, Truth};

#[derive(Parser, Debug)]
#[command(about = "Measure retrace's detection and impact on generated scenarios")]
struct Args {
    /// How many scenarios (consecutive seeds; every third is a calm day).
    #[arg(long, default_value_t = 200)]
    scenarios: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1000)]
    first_seed: u64,
    /// Scenarios analysed at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Draw every layout the generator knows, not only those retrace recognises today.
    #[arg(long)]
    all_formats: bool,
    /// Print each scenario whose result misses the truth (to stderr).
    #[arg(long)]
    verbose: bool,
    /// Only write the scenario of `--first-seed` into this folder (with expected.json).
    #[arg(long)]
    write: Option<PathBuf>,
}

/// A window found by a detector, with what it says about impact and cause.
#[derive(Debug, Clone)]
struct Found {
    start_ms: i64,
    end_ms: i64,
    users_pct: Option<f64>,
    requests_pct: Option<f64>,
    /// Top root-cause candidates: (time ms, text).
    causes: Vec<(i64, String)>,
}

/// One detector's result on one scenario.
#[derive(Debug, Default)]
struct Scored {
    /// Per scored truth outage: (start error s, end error s, users error, requests error, cause
    /// found); None when missed.
    outages: Vec<Option<OutageScore>>,
    /// Truth outages too small to score (< 20 failing requests), and how many were found.
    small: (u64, u64),
    invented: u64,
}

#[derive(Debug, Clone, Copy)]
struct OutageScore {
    start_err: f64,
    end_err: f64,
    users_err: Option<f64>,
    requests_err: Option<f64>,
    cause_in_top3: Option<bool>,
}

/// Smallest outage the benchmark requires to be found.
const MIN_FAULT_REQUESTS: u64 = 20;
/// A candidate matches the cause if it is this close (the cause's file may be skewed by 30 s).
const CAUSE_TOLERANCE_MS: i64 = 35_000;

fn score(truth: &Truth, found: &[Found]) -> Scored {
    let mut scored = Scored::default();
    let mut used = vec![false; found.len()];
    for t in &truth.outages {
        // The found window overlapping the truth the most (60 s of slack either side).
        let best = found
            .iter()
            .enumerate()
            .filter(|(_, f)| f.start_ms < t.end_ms + 60_000 && t.start_ms < f.end_ms + 60_000)
            .max_by_key(|(_, f)| f.end_ms.min(t.end_ms) - f.start_ms.max(t.start_ms));
        if let Some((i, _)) = best {
            used[i] = true;
        }
        let result = best.map(|(_, f)| OutageScore {
            start_err: (f.start_ms - t.start_ms).abs() as f64 / 1_000.0,
            end_err: (f.end_ms - t.end_ms).abs() as f64 / 1_000.0,
            users_err: t
                .users_affected_pct
                .map(|p| f.users_pct.map_or(100.0, |q| (p - q).abs())),
            requests_err: t
                .requests_failed_pct
                .map(|p| f.requests_pct.map_or(100.0, |q| (p - q).abs())),
            cause_in_top3: t.cause.as_ref().map(|c| {
                f.causes.iter().take(3).any(|(time, text)| {
                    (time - c.time_ms).abs() <= CAUSE_TOLERANCE_MS && text.contains(&c.marker)
                })
            }),
        });
        if t.fault_requests >= MIN_FAULT_REQUESTS {
            scored.outages.push(result);
        } else {
            scored.small.0 += 1;
            scored.small.1 += u64::from(result.is_some());
        }
    }
    // Windows that overlap no truth: invented. Windows that split one outage in pieces count
    // as invented too (each piece beyond the best match).
    scored.invented = used.iter().filter(|u| !**u).count() as u64;
    scored
}

// ---------------------------------------------------------------------------------------------
// The naive detector.

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Minutes whose error rate is above 3× the median rate of the hour before; consecutive such
/// minutes form a window.
fn naive_windows(stream: &StreamAggregate) -> Vec<(i64, i64)> {
    let minutes: Vec<(i64, f64)> = stream
        .minutes
        .iter()
        .filter(|(_, c)| c.requests > 0)
        .map(|(m, c)| (*m, c.failed as f64 / c.requests as f64))
        .collect();
    let mut windows: Vec<(i64, i64)> = Vec::new();
    let mut from = 0;
    for (i, &(m, rate)) in minutes.iter().enumerate() {
        while minutes[from].0 < m - 3600 {
            from += 1;
        }
        let mut hour: Vec<f64> = minutes[from..i].iter().map(|x| x.1).collect();
        if hour.len() < 10 {
            continue;
        }
        if rate > 3.0 * median(&mut hour) && rate > 0.0 {
            match windows.last_mut() {
                Some((_, end)) if *end == m => *end = m + 60,
                _ => windows.push((m, m + 60)),
            }
        }
    }
    windows
}

fn naive(aggregates: &Aggregates) -> Vec<Found> {
    // The app streams first (users are identified there), then the web tier.
    let mut streams: Vec<(&StreamKey, &StreamAggregate)> = aggregates
        .streams
        .iter()
        .filter(|(_, s)| s.total_requests() > 0)
        .collect();
    streams.sort_by_key(|(k, s)| {
        (
            k.kind != SourceKind::App,
            std::cmp::Reverse(s.total_requests()),
        )
    });
    let mut found: Vec<Found> = Vec::new();
    for (_, stream) in streams {
        for (start, end) in naive_windows(stream) {
            let (start_ms, end_ms) = (start * 1_000, end * 1_000);
            if found
                .iter()
                .any(|f| f.start_ms < end_ms && start_ms < f.end_ms)
            {
                continue;
            }
            let mut active = HashSet::new();
            let mut failing = HashSet::new();
            for (_, u) in stream.users.range(start..end) {
                active.extend(u.active.keys().copied());
                failing.extend(u.failing.keys().copied());
            }
            let (mut total, mut failed) = (0u64, 0u64);
            for (_, c) in stream.minutes.range(start..end) {
                total += c.requests;
                failed += c.failed;
            }
            // The naive root cause: the most recent changes before the window.
            let mut causes: Vec<(i64, String)> = aggregates
                .changes
                .iter()
                .filter(|c| c.time <= start * NS_PER_SEC && c.time >= (start - 3600) * NS_PER_SEC)
                .map(|c| (bench::ns_to_ms(c.time), c.text.clone()))
                .collect();
            causes.reverse();
            causes.truncate(3);
            found.push(Found {
                start_ms,
                end_ms,
                users_pct: (!active.is_empty())
                    .then(|| failing.len() as f64 * 100.0 / active.len() as f64),
                requests_pct: (total > 0).then(|| failed as f64 * 100.0 / total as f64),
                causes,
            });
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------

struct Outcome {
    seed: u64,
    truth: Truth,
    retrace: Scored,
    naive: Scored,
    retrace_found: Vec<Found>,
}

fn run_one(seed: u64, choice: FormatChoice) -> Result<Outcome> {
    let scenario = bench::generate(seed, choice).with_context(|| format!("seed {seed}"))?;
    let dir = tempfile::tempdir().context("temporary folder")?;
    for (path, bytes) in &scenario.files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, bytes)?;
    }
    let options = bench::analysis_options(dir.path());
    let analysis = analyse(&options).with_context(|| format!("analysing seed {seed}"))?;
    let found: Vec<Found> = analysis
        .outages
        .iter()
        .map(|o| Found {
            start_ms: bench::ns_to_ms(o.outage.start),
            end_ms: bench::ns_to_ms(o.outage.end),
            users_pct: o.impact.users_affected_pct,
            requests_pct: o.impact.requests_failed_pct,
            causes: o
                .story
                .candidates
                .iter()
                .map(|c| (bench::ns_to_ms(c.time), c.text.clone()))
                .collect(),
        })
        .collect();
    let naive_found = naive(&analysis.aggregates);
    Ok(Outcome {
        seed,
        retrace: score(&scenario.truth, &found),
        naive: score(&scenario.truth, &naive_found),
        truth: scenario.truth,
        retrace_found: found,
    })
}

fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v.get(rank).copied()
}

fn share(n: usize, d: usize) -> String {
    if d == 0 {
        "—".to_string()
    } else {
        format!("{:.1}% ({n}/{d})", n as f64 * 100.0 / d as f64)
    }
}

fn num(x: Option<f64>, unit: &str) -> String {
    x.map_or("—".to_string(), |x| format!("{x:.1}{unit}"))
}

/// The table's rows for one detector.
fn rows(outcomes: &[Outcome], pick: impl Fn(&Outcome) -> &Scored) -> Vec<String> {
    let all: Vec<&Option<OutageScore>> = outcomes.iter().flat_map(|o| &pick(o).outages).collect();
    let found: Vec<&OutageScore> = all.iter().filter_map(|o| o.as_ref()).collect();
    let within = found
        .iter()
        .filter(|o| o.start_err <= 60.0 && o.end_err <= 60.0)
        .count();
    let starts: Vec<f64> = found.iter().map(|o| o.start_err).collect();
    let ends: Vec<f64> = found.iter().map(|o| o.end_err).collect();
    // Users and requests: over the scored outages whose truth has the figure; a missed outage
    // is not within 2 points.
    let users_total = outcomes
        .iter()
        .flat_map(|o| {
            o.truth.outages.iter().filter(|t| {
                t.fault_requests >= MIN_FAULT_REQUESTS && t.users_affected_pct.is_some()
            })
        })
        .count();
    let requests_total = outcomes
        .iter()
        .flat_map(|o| {
            o.truth.outages.iter().filter(|t| {
                t.fault_requests >= MIN_FAULT_REQUESTS && t.requests_failed_pct.is_some()
            })
        })
        .count();
    let users: Vec<f64> = found.iter().filter_map(|o| o.users_err).collect();
    let requests: Vec<f64> = found.iter().filter_map(|o| o.requests_err).collect();
    let calm: Vec<&Outcome> = outcomes.iter().filter(|o| o.truth.calm).collect();
    let calm_clean = calm.iter().filter(|o| pick(o).invented == 0).count();
    let calm_windows: u64 = calm.iter().map(|o| pick(o).invented).sum();
    let extra: u64 = outcomes
        .iter()
        .filter(|o| !o.truth.calm)
        .map(|o| pick(o).invented)
        .sum();
    let missed = all.iter().filter(|o| o.is_none()).count();
    let causes: Vec<bool> = found.iter().filter_map(|o| o.cause_in_top3).collect();
    let cause_total = outcomes
        .iter()
        .flat_map(|o| {
            o.truth
                .outages
                .iter()
                .filter(|t| t.fault_requests >= MIN_FAULT_REQUESTS && t.cause.is_some())
        })
        .count();
    let (small, small_found) = outcomes.iter().fold((0, 0), |acc, o| {
        let s = pick(o).small;
        (acc.0 + s.0, acc.1 + s.1)
    });
    vec![
        share(within, all.len()),
        format!(
            "{} / {}",
            num(percentile(&starts, 50.0), " s"),
            num(percentile(&starts, 95.0), " s")
        ),
        format!(
            "{} / {}",
            num(percentile(&ends, 50.0), " s"),
            num(percentile(&ends, 95.0), " s")
        ),
        format!(
            "{} / {}",
            num(percentile(&users, 50.0), ""),
            num(percentile(&users, 95.0), "")
        ),
        share(users.iter().filter(|e| **e <= 2.0).count(), users_total),
        format!(
            "{} / {}",
            num(percentile(&requests, 50.0), ""),
            num(percentile(&requests, 95.0), "")
        ),
        share(
            requests.iter().filter(|e| **e <= 2.0).count(),
            requests_total,
        ),
        share(calm_clean, calm.len()),
        calm_windows.to_string(),
        extra.to_string(),
        format!("{missed} of {}", all.len()),
        share(causes.iter().filter(|c| **c).count(), cause_total),
        format!("{small_found} of {small}"),
    ]
}

fn main() -> Result<()> {
    let args = Args::parse();
    let choice = if args.all_formats {
        FormatChoice::All
    } else {
        FormatChoice::Recognised
    };
    if let Some(dir) = &args.write {
        let truth = bench::write(args.first_seed, choice, dir)?;
        println!("{}", serde_json::to_string_pretty(&truth)?);
        return Ok(());
    }
    let seeds = args.first_seed..args.first_seed + args.scenarios;
    let next = AtomicU64::new(seeds.start);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.end {
                        break;
                    }
                    match run_one(seed, choice) {
                        Ok(o) => {
                            if let Ok(mut r) = results.lock() {
                                r.push(o);
                            }
                        }
                        Err(e) => {
                            if let Ok(mut errs) = errors.lock() {
                                errs.push(format!("{e:#}"));
                            }
                        }
                    }
                }
            });
        }
    });
    let mut outcomes = results.into_inner().unwrap_or_default();
    outcomes.sort_by_key(|o| o.seed);
    let errors = errors.into_inner().unwrap_or_default();
    for e in &errors {
        eprintln!("error: {e}");
    }
    if args.verbose {
        for o in &outcomes {
            let bad_outage = o.retrace.outages.iter().any(|s| {
                s.is_none_or(|s| {
                    s.start_err > 60.0
                        || s.end_err > 60.0
                        || s.users_err.is_some_and(|e| e > 2.0)
                        || s.cause_in_top3 == Some(false)
                })
            });
            if bad_outage || o.retrace.invented > 0 {
                eprintln!("seed {}: {}", o.seed, o.truth.description);
                for t in &o.truth.outages {
                    eprintln!(
                        "  truth  {} .. {} users {:?} requests {:?} on {} ({} fault requests) cause {:?}",
                        t.start,
                        t.end,
                        t.users_affected_pct.map(|p| (p * 10.0).round() / 10.0),
                        t.requests_failed_pct.map(|p| (p * 10.0).round() / 10.0),
                        t.measured_on,
                        t.fault_requests,
                        t.cause.as_ref().map(|c| &c.marker)
                    );
                }
                for f in &o.retrace_found {
                    eprintln!(
                        "  found  {} .. {} users {:?} requests {:?} causes {:?}",
                        fmt_ms(f.start_ms),
                        fmt_ms(f.end_ms),
                        f.users_pct.map(|p| (p * 10.0).round() / 10.0),
                        f.requests_pct.map(|p| (p * 10.0).round() / 10.0),
                        f.causes
                            .iter()
                            .take(3)
                            .map(|c| c.1.chars().take(50).collect::<String>())
                            .collect::<Vec<_>>()
                    );
                }
                for s in &o.retrace.outages {
                    eprintln!("  score  {s:?}");
                }
            }
        }
    }
    let calm = outcomes.iter().filter(|o| o.truth.calm).count();
    let scored: usize = outcomes.iter().map(|o| o.retrace.outages.len()).sum();
    println!(
        "accuracy benchmark: {} scenarios (seeds {}..{}), {} calm days, {} outage days, {} outages scored (≥ {} failing requests), {} generator errors, {:.0} s",
        outcomes.len(),
        seeds.start,
        seeds.end - 1,
        calm,
        outcomes.len() - calm,
        scored,
        MIN_FAULT_REQUESTS,
        errors.len(),
        started.elapsed().as_secs_f64()
    );
    println!();
    let labels = [
        "outages with start and end within 60 s",
        "start error, median / p95 (found outages)",
        "end error, median / p95 (found outages)",
        "users % abs. error, median / p95 (points)",
        "users % within 2 points",
        "requests % abs. error, median / p95 (points)",
        "requests % within 2 points",
        "calm days with no invented window",
        "windows invented on calm days",
        "extra windows on outage days",
        "outages missed (≥ 20 failing requests)",
        "root cause in top 3",
        "small outages found (< 20 failing, not scored)",
    ];
    let ours = rows(&outcomes, |o| &o.retrace);
    let theirs = rows(&outcomes, |o| &o.naive);
    println!(
        "| {:<48} | {:<22} | {:<22} |",
        "metric", "retrace", "naive (3× hour median)"
    );
    println!("|{:-<50}|{:-<24}|{:-<24}|", "", "", "");
    for ((label, a), b) in labels.iter().zip(&ours).zip(&theirs) {
        println!("| {label:<48} | {a:<22} | {b:<22} |");
    }
    Ok(())
}

fn fmt_ms(ms: i64) -> String {
    retrace::time::format_utc(ms * 1_000_000)
}
