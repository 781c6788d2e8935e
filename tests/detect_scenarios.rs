//! Generated scenarios through the whole library: calm days stay quiet and outages are found
//! with their edges within a minute. A handful of fixed seeds at capped traffic, so it is fast
//! and deterministic; the full benchmark is `cargo run --release --example accuracy`.

use anyhow::Result;
use retrace::pipeline::analyse;
use retrace::scenario::bench::{self, FormatChoice};

/// A window found: start and end (scenario milliseconds) and users affected (%).
type Found = (i64, i64, Option<f64>);

/// Generates `seed` (traffic capped at 600 requests a minute), analyses it and returns the truth
/// with the windows found, in scenario milliseconds.
fn run(seed: u64) -> Result<(bench::Truth, Vec<Found>)> {
    let scenario = bench::generate_capped(seed, FormatChoice::Recognised, 600.0)?;
    let dir = tempfile::tempdir()?;
    scenario.write(dir.path())?;
    let analysis = analyse(&bench::analysis_options(dir.path()))?;
    let found = analysis
        .outages
        .iter()
        .map(|o| {
            (
                bench::ns_to_ms(o.outage.start),
                bench::ns_to_ms(o.outage.end),
                o.impact.users_affected_pct,
            )
        })
        .collect();
    Ok((scenario.truth, found))
}

#[test]
fn calm_days_report_nothing() -> Result<()> {
    for seed in [3, 6, 9, 12] {
        let (truth, found) = run(seed)?;
        assert!(truth.calm);
        assert!(
            found.is_empty(),
            "seed {seed} ({}): {found:?}",
            truth.description
        );
    }
    Ok(())
}

/// Seeds 2..11 cover partial, gradual, total and two-service outages. Seed 1 (a 6 % partial
/// outage of under two minutes) is a known miss at this traffic and is left to the benchmark.
#[test]
fn outages_are_found_within_a_minute() -> Result<()> {
    for seed in [2, 4, 5, 7, 8, 10, 11] {
        let (truth, found) = run(seed)?;
        for t in truth.outages.iter().filter(|t| t.fault_requests >= 20) {
            let hit = found
                .iter()
                .find(|(s, e, _)| *s < t.end_ms && t.start_ms < *e);
            let Some((start, end, users)) = hit else {
                panic!(
                    "seed {seed} ({}): missed {t:?}; found {found:?}",
                    truth.description
                );
            };
            assert!(
                (start - t.start_ms).abs() <= 60_000 && (end - t.end_ms).abs() <= 60_000,
                "seed {seed} ({}): {start}..{end} vs {t:?}",
                truth.description
            );
            if let (Some(p), Some(q)) = (t.users_affected_pct, users) {
                assert!((p - q).abs() <= 2.0, "seed {seed}: users {q} vs {p}");
            }
        }
    }
    Ok(())
}
