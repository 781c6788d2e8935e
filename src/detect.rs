//! Detect: finds outage windows in the per-minute series. Failures are modelled as counts —
//! failed/total requests per minute are binomial with an extra between-minute variance of the
//! rate (beta-binomial style, so busy and quiet minutes each get their due noise), error lines
//! without requests Poisson with an overdispersion factor; both estimated from neighbouring
//! minutes. Penalised change-point segmentation (PELT) proposes segments; a segment opens a
//! window when it is both significant (z-score after overdispersion) and large (an absolute
//! and relative rise over the baseline, and enough excess failures), and neighbouring segments
//! that are elevated by a weaker test extend it (hysteresis, so a gradual ramp is caught from its beginning). Traffic collapse —
//! requests stopping where the rate before and after says dozens were due — is an outage too.
//! A firing alert about failures lowers the bar near it: the likeliest window around it, weaker
//! than the segmentation's bar (which pays for searching the whole day) but clear for a search
//! of the minutes around the alert, is a window too, where no stream has one of its own.
//! A web tier's path prefixes (`/v2`, `/search`: the services behind it) are searched apart
//! too, since one service failing a few percent more barely moves the tier's rate (a prefix's
//! sliver of the traffic is judged by the likelihood ratio, not the normal approximation); a
//! prefix's window counts as the tier's unless the rest of the tier fails with it, above its
//! rate around the window (then the tier's own series judges it). Where the data begin or end inside a window, its edge stays there unless
//! a switch of the rate is plain.
//! Windows of all request streams are clustered (slack for clock skew); each cluster becomes one
//! outage measured on its most telling stream (one whose windows span most of the cluster),
//! with the others (and alerts) as corroboration.
//! Edges are refined to the second from the failing requests themselves (a gradual onset by a
//! ramp fit, which dates it from where the climb leaves the background); a second-level
//! two-state segmentation into elevated episodes then trims blips that the minute segmentation
//! joined to a window's edge (and a burst cut off from the outage by a silence the outage's own
//! rate could not have kept, at a rate well above it), and windows with no sustained episode
//! (bursts of a minute or less, even two of them in a row) are dropped.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::aggregate::{Aggregates, SecondCounts, StreamAggregate, StreamKey};
use crate::event::{AlertInfo, AlertState, Event, NS_PER_SEC, SourceKind, TimeNs};

/// Tuning of the detector. The defaults were tuned on generated scenarios (seeds 1..45 of
/// `examples/accuracy.rs`) and are reported on another seed range.
#[derive(Debug, Clone, Copy)]
pub struct DetectConfig {
    /// One-sided z-score a segment's excess failures must reach (after overdispersion) to open
    /// a window.
    pub min_z: f64,
    /// z-score a neighbouring segment needs to extend a window (hysteresis).
    pub extend_z: f64,
    /// Smallest rise of the failure rate above baseline, absolute (0.01 = 1 point).
    pub min_rate_increase: f64,
    /// The rise must also be at least this share of the baseline (0.5: from 4 % to 6 %).
    pub min_relative_increase: f64,
    /// Fewest excess failures (above what the baseline explains) a window must hold.
    pub min_excess_failures: f64,
    /// Shortest window kept, in seconds after refinement: a burst inside one minute is a blip.
    pub min_window_secs: i64,
    /// The shortest span holding 80 % of a window's failures must be at least this (seconds).
    pub min_core_secs: i64,
    /// Windows closer than this (minutes) are one outage.
    pub merge_gap_minutes: i64,
    /// How far (seconds) around a window's minute edge the refinement looks.
    pub refine_margin_secs: i64,
    /// A silence is a traffic collapse when at least this many requests were due in it...
    pub min_missing_requests: f64,
    /// ... and it lasted at least this long (seconds): a restart that drops requests for half
    /// a minute is not an outage, a service answering nothing for a minute and more is.
    pub min_silence_secs: i64,
    /// A window's longest elevated episode (see [`episodes`]) must last this long (seconds)
    /// unless the window holds several: a burst of a minute or less is a blip, even two in a
    /// row. Also the length from which an episode at a window's edge is never trimmed off as
    /// a blip.
    pub min_episode_secs: i64,
    /// Longest burst that is a blip (seconds): a window must last longer than this to be kept
    /// at all, and an episode at a window's edge longer than this is kept when it is as
    /// intense as the outage (a flapping outage's first or last flap).
    pub max_blip_secs: i64,
    /// A window longer than a blip but shorter than `min_window_secs` is kept when the evidence
    /// is strong: at least this share of its requests fail...
    pub short_min_share: f64,
    /// ... at least this many times the baseline rate...
    pub short_min_ratio: f64,
    /// ... and at least this many requests fail in it.
    pub short_min_failed: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            min_z: 5.0,
            extend_z: 2.5,
            min_rate_increase: 0.01,
            min_relative_increase: 0.5,
            min_excess_failures: 10.0,
            min_window_secs: 90,
            min_core_secs: 60,
            merge_gap_minutes: 5,
            refine_margin_secs: 120,
            min_missing_requests: 20.0,
            min_silence_secs: 60,
            min_episode_secs: 75,
            max_blip_secs: 60,
            short_min_share: 0.25,
            short_min_ratio: 5.0,
            short_min_failed: 50,
        }
    }
}

/// Why a window was called an outage.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// `binomial-pelt` (failed/total requests), `poisson-pelt` (error lines) or
    /// `traffic-collapse` (requests stopped).
    pub method: &'static str,
    /// Failure rate (or errors per minute for error-count series) outside outages.
    pub baseline_rate: f64,
    /// Over the whole window.
    pub window_rate: f64,
    pub peak_rate: f64,
    /// Start of the minute with the peak rate (unix seconds).
    pub peak_minute: i64,
    /// Segment boundaries found by PELT inside or at the edges of the window (unix seconds).
    pub change_points: Vec<i64>,
    pub z_score: f64,
    /// Overdispersion estimated for the series (1 = plain binomial/Poisson noise).
    pub dispersion: f64,
    /// Other series whose own windows overlap this one.
    pub agreeing_streams: Vec<String>,
    /// Alerts that started firing with the window (from 15 minutes before it): they corroborate
    /// it; one about failures lowers the evidence a window beside it needs (see
    /// [`alert_scan`]), but the window is always the requests'.
    pub alerts: Vec<String>,
    /// For a traffic collapse: requests per minute expected, and seen, inside the window.
    pub expected_requests_per_minute: Option<f64>,
    pub observed_requests_per_minute: Option<f64>,
}

/// One outage window.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    pub start: TimeNs,
    pub end: TimeNs,
    pub stream: StreamKey,
    pub evidence: Evidence,
}

/// All detection results of a run.
#[derive(Debug, Clone, Default)]
pub struct Detection {
    pub outages: Vec<Outage>,
    /// The series the windows and impact were measured on.
    pub primary_stream: Option<StreamKey>,
    pub notes: Vec<String>,
}

/// The per-minute series of one stream as a polars DataFrame, every minute of `span` present.
/// Columns: `minute` (unix s), `requests`, `failed`, `error_events`, `users_active`,
/// `users_failing`, `error_rate` (failed/requests, NaN when there were no requests).
pub fn minute_frame(stream: &StreamAggregate, span: (i64, i64)) -> PolarsResult<DataFrame> {
    let (first, last) = span;
    let len = if last >= first {
        ((last - first) / 60 + 1) as usize
    } else {
        0
    };
    let mut minute = Vec::with_capacity(len);
    let mut requests = Vec::with_capacity(len);
    let mut failed = Vec::with_capacity(len);
    let mut errors = Vec::with_capacity(len);
    let mut active = Vec::with_capacity(len);
    let mut failing = Vec::with_capacity(len);
    for i in 0..len {
        let m = first + 60 * i as i64;
        let c = stream.minutes.get(&m).copied().unwrap_or_default();
        let (users_active, users_failing) = stream.users.estimate_in_minute(m);
        minute.push(m);
        requests.push(c.requests as i64);
        failed.push(c.failed as i64);
        errors.push(c.error_events as i64);
        active.push(users_active as i64);
        failing.push(users_failing as i64);
    }
    let mut frame = df!(
        "minute" => minute,
        "requests" => requests,
        "failed" => failed,
        "error_events" => errors,
        "users_active" => active,
        "users_failing" => failing,
    )?;
    let rate = (frame.column("failed")?.cast(&DataType::Float64)?
        / frame.column("requests")?.cast(&DataType::Float64)?)?;
    frame.with_column(rate.with_name("error_rate".into()))?;
    Ok(frame)
}

/// Reads an integer column of a minute frame as floats.
fn column_f64(frame: &DataFrame, name: &str) -> PolarsResult<Vec<f64>> {
    let col = frame.column(name)?.cast(&DataType::Float64)?;
    Ok(col
        .f64()?
        .to_vec()
        .into_iter()
        .map(|v| v.unwrap_or(0.0))
        .collect())
}

fn column_i64(frame: &DataFrame, name: &str) -> PolarsResult<Vec<i64>> {
    Ok(frame
        .column(name)?
        .i64()?
        .to_vec()
        .into_iter()
        .map(|v| v.unwrap_or(0))
        .collect())
}

/// x·ln(x/y) with the 0·ln 0 = 0 convention.
fn xlogy(x: f64, y: f64) -> f64 {
    if x <= 0.0 { 0.0 } else { x * y.ln() }
}

/// Segment costs (twice the negative log-likelihood at the segment's MLE), O(1) from prefix sums.
enum Cost {
    /// failures out of trials per minute.
    Binomial { f: Vec<f64>, n: Vec<f64> },
    /// counts per minute.
    Poisson { c: Vec<f64> },
}

impl Cost {
    fn binomial(failed: &[f64], total: &[f64]) -> Cost {
        Cost::Binomial {
            f: prefix(failed),
            n: prefix(total),
        }
    }

    fn poisson(counts: &[f64]) -> Cost {
        Cost::Poisson { c: prefix(counts) }
    }

    /// Cost of minutes [a, b).
    fn cost(&self, a: usize, b: usize) -> f64 {
        match self {
            Cost::Binomial { f, n } => {
                let ff = f[b] - f[a];
                let nn = n[b] - n[a];
                if nn <= 0.0 {
                    return 0.0;
                }
                let p = ff / nn;
                -2.0 * (xlogy(ff, p) + xlogy(nn - ff, 1.0 - p))
            }
            Cost::Poisson { c } => {
                let cc = c[b] - c[a];
                let len = (b - a) as f64;
                if cc <= 0.0 {
                    return 0.0;
                }
                let lambda = cc / len;
                // -2 log L up to terms that do not depend on the segmentation.
                -2.0 * (xlogy(cc, lambda) - cc)
            }
        }
    }
}

fn prefix(values: &[f64]) -> Vec<f64> {
    let mut out = Vec::with_capacity(values.len() + 1);
    let mut acc = 0.0;
    out.push(0.0);
    for v in values {
        acc += v;
        out.push(acc);
    }
    out
}

/// PELT (Killick et al. 2012): exact optimal segmentation under a linear penalty, pruned.
/// Returns the segment boundaries as indices, ending with `n`.
fn pelt(cost: &Cost, n: usize, penalty: f64) -> Vec<usize> {
    let mut best = vec![0.0f64; n + 1];
    let mut last_change = vec![0usize; n + 1];
    best[0] = -penalty;
    let mut candidates: Vec<usize> = vec![0];
    for t in 1..=n {
        let mut min_value = f64::INFINITY;
        let mut arg = 0;
        let mut values = Vec::with_capacity(candidates.len());
        for &s in &candidates {
            let v = best[s] + cost.cost(s, t) + penalty;
            values.push(v);
            if v < min_value {
                min_value = v;
                arg = s;
            }
        }
        best[t] = min_value;
        last_change[t] = arg;
        // Prune candidates that can never be optimal again.
        let mut kept = Vec::with_capacity(candidates.len() + 1);
        for (&s, &v) in candidates.iter().zip(&values) {
            if v - penalty <= min_value {
                kept.push(s);
            }
        }
        kept.push(t);
        candidates = kept;
    }
    let mut bounds = Vec::new();
    let mut t = n;
    while t > 0 {
        bounds.push(t);
        t = last_change[t];
    }
    bounds.reverse();
    bounds
}

/// The mean of the lower 98 % of a χ²₁ sample: E[X; X < q₀.₉₈] / 0.98 = P(χ²₃ < 5.41) / 0.98.
const TRIMMED_CHI2_MEAN: f64 = 0.874;

/// A trimmed mean of squared standardised differences over what pure noise gives: the top 2 %
/// are dropped so the few change points of an outage barely move it. (A median would be
/// robust too, but on sparse counts — most minutes with no failure — the statistic is discrete
/// and its median lands far from the continuous χ²₁ median.)
fn dispersion_from(mut ratios: Vec<f64>) -> f64 {
    if ratios.is_empty() {
        return 1.0;
    }
    ratios.sort_by(f64::total_cmp);
    let keep = ((ratios.len() as f64) * 0.98).ceil() as usize;
    let kept = &ratios[..keep.clamp(1, ratios.len())];
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    (mean / TRIMMED_CHI2_MEAN).clamp(1.0, 1000.0)
}

/// The mean of the lower 80 % of a χ²₁ sample (the statistic of [`trimmed_ratio`]).
const TRIMMED_80_CHI2_MEAN: f64 = 0.4376;

/// Trimmed mean (lower 80 %) of d²/(v + 2τ²) over neighbouring-minute pairs. A fifth is
/// dropped because a short day's outage, blips and bursty minutes each leave two large
/// differences, and a handful of them among a hundred pairs would otherwise pass for noise.
fn trimmed_ratio(pairs: &[(f64, f64)], tau2: f64, scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend(
        pairs
            .iter()
            .map(|(d2, v)| d2 / (v + 2.0 * tau2).max(1e-300)),
    );
    scratch.sort_by(f64::total_cmp);
    let keep = ((scratch.len() as f64) * 0.8).ceil() as usize;
    let kept = &scratch[..keep.clamp(1, scratch.len())];
    kept.iter().sum::<f64>() / kept.len() as f64
}

/// The extra variance τ² of the per-minute failure rate beyond binomial noise: the rate of a
/// minute with n requests varies as p(1−p)/n + τ² (the beta-binomial form). τ² is the value
/// that makes the differences between neighbouring minutes look like noise (a trimmed mean
/// of their squares, solved by bisection); 0 when binomial noise explains them.
fn extra_rate_variance(f: &[f64], n: &[f64]) -> (f64, f64) {
    let (total_f, total_n): (f64, f64) = f
        .iter()
        .zip(n)
        .fold((0.0, 0.0), |acc, (f, n)| (acc.0 + f, acc.1 + n));
    let pooled = if total_n > 0.0 {
        (total_f / total_n).clamp(1e-3, 0.999)
    } else {
        1e-3
    };
    let unit = pooled * (1.0 - pooled);
    let mut pairs = Vec::with_capacity(n.len());
    for i in 1..n.len() {
        if n[i] > 0.0 && n[i - 1] > 0.0 {
            let d = f[i] / n[i] - f[i - 1] / n[i - 1];
            pairs.push((d * d, unit * (1.0 / n[i] + 1.0 / n[i - 1])));
        }
    }
    let mut scratch = Vec::with_capacity(pairs.len());
    if pairs.is_empty() || trimmed_ratio(&pairs, 0.0, &mut scratch) <= TRIMMED_80_CHI2_MEAN {
        return (0.0, unit);
    }
    let (mut lo, mut hi) = (0.0f64, pairs.iter().map(|p| p.0).fold(0.0, f64::max));
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if trimmed_ratio(&pairs, mid, &mut scratch) > TRIMMED_80_CHI2_MEAN {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (hi, unit)
}

/// Failures and requests per minute divided by each minute's design effect
/// 1 + n·τ²/(p(1−p)): what a plain binomial count of the same precision would hold.
fn effective_counts(f: &[f64], n: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (tau2, unit) = extra_rate_variance(f, n);
    f.iter()
        .zip(n)
        .map(|(&f, &n)| {
            let effect = 1.0 + n * tau2 / unit;
            (f / effect, n / effect)
        })
        .unzip()
}

fn poisson_dispersion(c: &[f64]) -> f64 {
    let pooled = (c.iter().sum::<f64>() / c.len().max(1) as f64).max(0.2);
    let ratios: Vec<f64> = c
        .windows(2)
        .map(|w| (w[1] - w[0]).powi(2) / (2.0 * pooled))
        .collect();
    dispersion_from(ratios)
}

/// A segment found by PELT, with its counts: as logged, and effective (each minute's counts
/// divided by its design effect, see [`extra_rate_variance`]) for significance.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: usize,
    end: usize,
    events: f64,
    trials: f64,
    eff_events: f64,
    eff_trials: f64,
}

impl Segment {
    fn rate(&self) -> f64 {
        if self.trials > 0.0 {
            self.events / self.trials
        } else {
            0.0
        }
    }
}

/// A window in minute indices, before refinement.
#[derive(Debug, Clone)]
struct MinuteWindow {
    start: usize,
    end: usize,
    z: f64,
    change_points: Vec<usize>,
    /// Found by [`alert_scan`] around a firing alert, below the bar of a window of its own.
    corroborated: bool,
}

/// How a segment compares with the baseline.
struct Excess {
    z: f64,
    rise: f64,
    excess: f64,
}

/// The model of one series: binomial (failures of requests) or Poisson (error lines per minute).
#[derive(Debug, Clone, Copy)]
struct Model {
    poisson: bool,
    dispersion: f64,
    /// Significance from the likelihood ratio (its signed root) instead of the normal
    /// approximation: for a series with a sliver of the traffic, where a handful of failures
    /// over an expected few would pass for many standard deviations.
    likelihood_z: bool,
}

impl Model {
    fn excess(&self, seg: &Segment, baseline: f64) -> Excess {
        // The variance floor keeps a zero baseline from making one failure infinitely
        // significant.
        let floor = if self.poisson { 0.2 } else { 0.001 };
        let p0 = baseline.max(floor);
        let expected = seg.eff_trials * baseline;
        let variance = if self.poisson {
            self.dispersion * seg.eff_trials * p0
        } else {
            self.dispersion * seg.eff_trials * p0 * (1.0 - p0.min(0.999))
        };
        let z = if self.likelihood_z && !self.poisson {
            signed_root_deviance(seg.eff_events, seg.eff_trials, p0) / self.dispersion.sqrt()
        } else {
            (seg.eff_events - expected) / variance.max(1e-9).sqrt()
        };
        Excess {
            z,
            rise: seg.rate() - baseline,
            excess: seg.events - seg.trials * baseline,
        }
    }

    /// Significant and large: opens a window.
    fn opens(&self, e: &Excess, baseline: f64, config: &DetectConfig) -> bool {
        let (min_rise, min_excess) = if self.poisson {
            // Error lines per minute: a rise of a few lines a minute is noise.
            (5.0, config.min_excess_failures * 3.0)
        } else {
            (config.min_rate_increase, config.min_excess_failures)
        };
        e.z >= config.min_z
            && e.rise >= min_rise.max(config.min_relative_increase * baseline)
            && e.excess >= min_excess
    }

    /// Elevated by a weaker test: extends a window it touches.
    fn extends(&self, e: &Excess, baseline: f64, config: &DetectConfig) -> bool {
        let min_rise = if self.poisson {
            2.0
        } else {
            0.5 * config.min_rate_increase
        };
        // Half the excess a window needs: a few stray failures beside a blip extend nothing.
        e.z >= config.extend_z
            && e.rise >= min_rise.max(0.25 * baseline)
            && e.excess >= 0.5 * config.min_excess_failures
    }
}

/// The signed root of the binomial deviance of `f` failures of `n` against rate `p`: as a
/// z-score, but with the skew of small counts (20 failures where 6 were due is 5.5 standard
/// deviations by the normal approximation, 4.4 here, as the exact tail says).
fn signed_root_deviance(f: f64, n: f64, p: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    let deviance = 2.0 * binomial_nats(f, n, p);
    deviance
        .max(0.0)
        .sqrt()
        .copysign(f - n * p.clamp(1e-9, 1.0 - 1e-9))
}

/// The log-likelihood ratio (nats) of `f` failures of `n` (`n > 0`) at their own rate over
/// rate `p` (kept off 0 and 1).
fn binomial_nats(f: f64, n: f64, p: f64) -> f64 {
    let expected = n * p.clamp(1e-9, 1.0 - 1e-9);
    xlogy(f, f / expected) + xlogy(n - f, (n - f) / (n - expected))
}

/// Smallest rise of an extending segment, as a share of the rise of the segment it extends.
const EXTENSION_SHARE_OF_RISE: f64 = 0.05;

/// Longest segment (minutes) that may extend a window by the weaker test.
const MAX_EXTENSION_MINUTES: usize = 30;

/// Segments between PELT's bounds, summing the logged and the effective counts.
fn segments_of(
    (events, trials): (&[f64], &[f64]),
    (eff_events, eff_trials): (&[f64], &[f64]),
    bounds: &[usize],
) -> Vec<Segment> {
    let mut segments = Vec::with_capacity(bounds.len());
    let mut start = 0;
    for &end in bounds {
        segments.push(Segment {
            start,
            end,
            events: events[start..end].iter().sum(),
            trials: trials[start..end].iter().sum(),
            eff_events: eff_events[start..end].iter().sum(),
            eff_trials: eff_trials[start..end].iter().sum(),
        });
        start = end;
    }
    segments
}

/// Segments → elevated minute windows: a segment that passes the full test opens a window,
/// adjacent segments passing the weaker one extend it, windows closer than the merge gap join.
fn elevated_windows(
    segments: &[Segment],
    model: Model,
    baseline: f64,
    config: &DetectConfig,
) -> Vec<MinuteWindow> {
    // (opens, may extend, z, rise)
    let tests: Vec<(bool, bool, f64, f64)> = segments
        .iter()
        .map(|seg| {
            if seg.trials <= 0.0 {
                return (false, false, 0.0, 0.0);
            }
            let e = model.excess(seg, baseline);
            // Only a short segment extends a window: a ramp's steps are minutes long, while
            // hours of slightly-above-baseline traffic are a different day, not this outage.
            let short = seg.end - seg.start <= MAX_EXTENSION_MINUTES;
            (
                model.opens(&e, baseline, config),
                short && model.extends(&e, baseline, config),
                e.z,
                e.rise,
            )
        })
        .collect();
    // A neighbour extends a window only if its rise is a real share of the window's: a ramp's
    // first steps are, the wandering background beside a total outage is not.
    let extends =
        |k: usize, reference: f64| tests[k].1 && tests[k].3 >= EXTENSION_SHARE_OF_RISE * reference;
    let mut windows: Vec<MinuteWindow> = Vec::new();
    let mut i = 0;
    while i < segments.len() {
        if !tests[i].0 {
            i += 1;
            continue;
        }
        let mut lo = i;
        while lo > 0 && extends(lo - 1, tests[i].3) {
            lo -= 1;
        }
        let mut hi = i;
        let mut reference = tests[i].3;
        while hi + 1 < segments.len() && (tests[hi + 1].0 || extends(hi + 1, reference)) {
            hi += 1;
            if tests[hi].0 {
                reference = reference.max(tests[hi].3);
            }
        }
        let z = tests[lo..=hi].iter().map(|t| t.2).fold(f64::MIN, f64::max);
        let mut change_points: Vec<usize> = (lo..=hi).map(|k| segments[k].start).collect();
        change_points.push(segments[hi].end);
        let window = MinuteWindow {
            start: segments[lo].start,
            end: segments[hi].end,
            z,
            change_points,
            corroborated: false,
        };
        match windows.last_mut() {
            Some(w) if window.start <= w.end + config.merge_gap_minutes as usize => {
                w.end = window.end;
                w.z = w.z.max(window.z);
                w.change_points.extend(window.change_points);
            }
            _ => windows.push(window),
        }
        i = hi + 1;
    }
    for w in &mut windows {
        w.change_points.sort_unstable();
        w.change_points.dedup();
    }
    windows
}

/// The normal failure rate, in two passes: first the lowest-rate segment among those holding a
/// real share of the traffic (10 % of it, or an hour), so an outage longer than the calm period
/// does not become the baseline; then the pooled rate of every segment that this first
/// baseline would open a window on, so the baseline is the typical rate and not the quietest
/// stretch of an overdispersed day.
fn baseline_rate(segments: &[Segment], model: Model, config: &DetectConfig) -> f64 {
    let total_trials: f64 = segments.iter().map(|s| s.trials).sum();
    let substantial = |s: &&Segment| {
        let minutes = (s.end - s.start) as f64;
        s.trials > 0.0
            && (s.trials >= 0.1 * total_trials
                || minutes >= 60.0
                || model.poisson && minutes >= 30.0)
    };
    let lowest = segments
        .iter()
        .filter(substantial)
        .min_by(|a, b| a.rate().total_cmp(&b.rate()))
        .or_else(|| {
            segments
                .iter()
                .filter(|s| s.trials > 0.0)
                .max_by(|a, b| a.trials.total_cmp(&b.trials))
        })
        .map_or(0.0, Segment::rate);
    let (mut events, mut trials) = (0.0, 0.0);
    for seg in segments.iter().filter(|s| s.trials > 0.0) {
        let e = model.excess(seg, lowest);
        if !model.opens(&e, lowest, config) {
            events += seg.events;
            trials += seg.trials;
        }
    }
    if trials > 0.0 {
        events / trials
    } else {
        lowest
    }
}

/// Log-likelihood of per-second counts under a failure rate.
fn loglik(c: &SecondCounts, p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    f64::from(c.failed) * p.ln() + f64::from(c.requests - c.failed) * (1.0 - p).ln()
}

/// The second where the failure rate switches from `p_before` to `p_after`, searched in
/// [lo, hi): the split with the highest likelihood.
fn best_split(
    seconds: &BTreeMap<i64, SecondCounts>,
    lo: i64,
    hi: i64,
    p_before: f64,
    p_after: f64,
) -> Option<i64> {
    scan_split(seconds, lo, hi, p_before, p_after).map(|s| s.at)
}

/// The likeliest split of [`best_split`], with how much likelier (nats) it makes the data
/// than no split at all, every second "after" (`over_all_after`) or every one "before".
struct Split {
    at: i64,
    over_all_after: f64,
    over_all_before: f64,
}

fn scan_split(
    seconds: &BTreeMap<i64, SecondCounts>,
    lo: i64,
    hi: i64,
    p_before: f64,
    p_after: f64,
) -> Option<Split> {
    if lo >= hi {
        return None;
    }
    let slice: Vec<(i64, SecondCounts)> = seconds.range(lo..hi).map(|(s, c)| (*s, *c)).collect();
    if slice.is_empty() {
        return None;
    }
    // Everything "after" first, then move seconds to "before" one by one.
    let all_after: f64 = slice.iter().map(|(_, c)| loglik(c, p_after)).sum();
    let mut ll = all_after;
    let mut best = (ll, slice[0].0);
    for (i, (_, c)) in slice.iter().enumerate() {
        ll += loglik(c, p_before) - loglik(c, p_after);
        let next = slice.get(i + 1).map_or(hi, |(s, _)| *s);
        if ll > best.0 {
            best = (ll, next);
        }
    }
    Some(Split {
        at: best.1,
        over_all_after: best.0 - all_after,
        over_all_before: best.0 - ll,
    })
}

/// How much likelier (nats) a switch must make the data where they begin (end) inside a
/// window than no switch at all. Without data before it, nothing shows the rate changing
/// there: the outage was already on when the logs began. Under no switch, the likelihood
/// ratio of any switch is a martingale along the seconds, so the best of them reaches e^3
/// with chance at most e^-3 (Ville's inequality): 5 %.
const DATA_EDGE_MIN_GAIN_NATS: f64 = 3.0;

/// Failure rate over [from, to) seconds.
fn rate_between(seconds: &BTreeMap<i64, SecondCounts>, from: i64, to: i64) -> Option<f64> {
    let (n, f) = counts_between(seconds, from, to);
    (n > 0).then(|| f as f64 / n as f64)
}

/// Requests and failed requests in seconds [from, to).
fn counts_between(seconds: &BTreeMap<i64, SecondCounts>, from: i64, to: i64) -> (u64, u64) {
    seconds.range(from..to).fold((0, 0), |(n, f), (_, c)| {
        (n + u64::from(c.requests), f + u64::from(c.failed))
    })
}

/// The seconds of [start, end) with failed requests, and how many.
fn failing_seconds(seconds: &BTreeMap<i64, SecondCounts>, start: i64, end: i64) -> Vec<(i64, u64)> {
    seconds
        .range(start..end)
        .filter(|(_, c)| c.failed > 0)
        .map(|(s, c)| (*s, u64::from(c.failed)))
        .collect()
}

/// Width (seconds) of the bins the ramp fit of [`ramp_onset`] works on.
const RAMP_BIN_SECS: i64 = 10;
/// How far before a window's first minute a ramp may have begun (seconds).
const RAMP_LOOKBACK_SECS: i64 = 15 * 60;
/// How much of the window (seconds from its first minute) the ramp fit sees.
const RAMP_HORIZON_SECS: i64 = 20 * 60;
/// How much better (nats) a ramp must explain the onset than a step: the ramp has one
/// parameter more, and a step with a few stray failures before it must stay a step.
const RAMP_MIN_GAIN_NATS: f64 = 6.0;
/// Shortest climb (bins) that is a ramp; a quicker one is a step, which the step split places
/// to the second.
const RAMP_MIN_CLIMB_BINS: usize = 6;

/// Log-likelihood of `f` failures out of `n` requests at rate `p`. A term with no count is 0
/// and its logarithm is not taken (most bins of a low failure rate have no failure).
fn binomial_loglik(f: f64, n: f64, p: f64) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    let failed = if f > 0.0 { f * p.ln() } else { 0.0 };
    let passed = if n - f > 0.0 {
        (n - f) * (1.0 - p).ln()
    } else {
        0.0
    };
    failed + passed
}

/// The onset of a gradual outage: where the failure rate leaves the rate before it when it
/// climbs over minutes rather than jumping. Over the stretch from `from` (no earlier than
/// [`RAMP_LOOKBACK_SECS`] before the window's first minute) to [`RAMP_HORIZON_SECS`] into the
/// window, in bins of [`RAMP_BIN_SECS`], two models of the rate are fitted by likelihood: a
/// step (one rate, then another) and a ramp (one rate, then a straight climb to a plateau; the
/// rates before and on the plateau are those of the data there). On a ramp the first failures
/// it causes are too few to stand out of the background, so the minute segmentation opens the
/// window when the climb is well under way and a step split lands part-way up; the ramp's
/// line, fitted on the whole climb, points back to where it began. The onset is returned only
/// when the ramp explains the data clearly better than the step (by [`RAMP_MIN_GAIN_NATS`]),
/// climbs for a minute at least, and begins inside the stretch searched (a climb from its
/// edge is a drift, not an onset).
fn ramp_onset(
    seconds: &BTreeMap<i64, SecondCounts>,
    from: i64,
    start_min: i64,
    end_min: i64,
) -> Option<i64> {
    let lo = from.max(start_min - RAMP_LOOKBACK_SECS);
    let hi = (start_min + RAMP_HORIZON_SECS).min(end_min);
    if hi <= start_min || start_min <= lo {
        return None;
    }
    let bins = ((hi - lo) / RAMP_BIN_SECS) as usize;
    let (mut f, mut n) = (vec![0.0f64; bins], vec![0.0f64; bins]);
    for (s, c) in seconds.range(lo..lo + bins as i64 * RAMP_BIN_SECS) {
        let i = ((s - lo) / RAMP_BIN_SECS) as usize;
        f[i] += f64::from(c.failed);
        n[i] += f64::from(c.requests);
    }
    let (pf, pn) = (prefix(&f), prefix(&n));
    // Bins [a, b) at their own rate: (log-likelihood, rate).
    let own = |a: usize, b: usize| {
        let (ff, nn) = (pf[b] - pf[a], pn[b] - pn[a]);
        if nn > 0.0 {
            (binomial_loglik(ff, nn, ff / nn), ff / nn)
        } else {
            (0.0, 0.0)
        }
    };
    let mut best_step = f64::NEG_INFINITY;
    for k in 1..bins {
        best_step = best_step.max(own(0, k).0 + own(k, bins).0);
    }
    // No rates fit the bins of a climb better than each bin's own: a bound on any climb's
    // log-likelihood. A climb is not computed when it cannot beat the best ramp so far, nor
    // the best step by the gain asked of a ramp (then the answer is no onset, whichever ramp
    // is best).
    let saturated: Vec<f64> = (0..bins)
        .map(|i| {
            if n[i] > 0.0 {
                binomial_loglik(f[i], n[i], f[i] / n[i])
            } else {
                0.0
            }
        })
        .collect();
    let ps = prefix(&saturated);
    let mut best_ramp = (f64::NEG_INFINITY, 0usize);
    for k1 in RAMP_MIN_CLIMB_BINS + 1..bins {
        let (plateau_ll, plateau) = own(k1, bins);
        // A climb over bins [k0, k1), from the rate before it to the plateau.
        for k0 in 1..=k1 - RAMP_MIN_CLIMB_BINS {
            let (before_ll, before) = own(0, k0);
            if plateau <= before {
                continue;
            }
            let bound = before_ll + (ps[k1] - ps[k0]) + plateau_ll;
            // (With room for the rounding of the sums.)
            let bound = bound + 1e-9 * (1.0 + bound.abs());
            if bound < best_ramp.0 || bound < best_step + RAMP_MIN_GAIN_NATS {
                continue;
            }
            // The climb is summed bin by bin; the sum so far plus the bound of the bins left
            // can only fall, and the climb is dropped once it falls below what it must beat.
            let must_beat = best_ramp.0.max(best_step + RAMP_MIN_GAIN_NATS);
            let len = (k1 - k0) as f64;
            let mut climb = 0.0;
            let mut beaten = false;
            for i in k0..k1 {
                let p = before + (plateau - before) * ((i - k0) as f64 + 0.5) / len;
                climb += binomial_loglik(f[i], n[i], p);
                let bound = before_ll + climb + (ps[k1] - ps[i + 1]) + plateau_ll;
                if bound + 1e-9 * (1.0 + bound.abs()) < must_beat {
                    beaten = true;
                    break;
                }
            }
            if beaten {
                continue;
            }
            let ll = before_ll + climb + plateau_ll;
            if ll > best_ramp.0 {
                best_ramp = (ll, k0);
            }
        }
    }
    let (ll, k0) = best_ramp;
    (k0 > 1 && ll - best_step >= RAMP_MIN_GAIN_NATS).then_some(lo + k0 as i64 * RAMP_BIN_SECS)
}

/// Refines a window's minute edges to the second: the likeliest switch of the failure rate
/// near each edge (the rate inside measured over the first or last minutes of the window, so
/// a flap is compared with what it looks like there; a ramp's onset is fitted as a ramp, no
/// earlier than `previous_end`, the end of the window before), snapped to the first (last)
/// failing request after (before) it.
fn refine(
    seconds: &BTreeMap<i64, SecondCounts>,
    previous_end: i64,
    (start_min, end_min): (i64, i64),
    (data_start, data_end): (i64, i64),
    baseline: f64,
    margin: i64,
) -> (i64, i64) {
    let p0 = baseline.max(1e-4);
    let edge = 5 * 60;
    let head = rate_between(seconds, start_min, (start_min + edge).min(end_min)).unwrap_or(0.5);
    let tail = rate_between(seconds, (end_min - edge).max(start_min), end_min).unwrap_or(0.5);
    // A gradual onset is dated by the ramp fit ([`ramp_onset`]). Any other is a step, compared
    // with the rate the window holds at its head: half of it would let a bad minute of
    // background failures before a partial outage pull the start back.
    // Where the data begin inside the window, a switch must be plain
    // ([`DATA_EDGE_MIN_GAIN_NATS`]), else the window starts with them.
    let onset = if start_min <= data_start {
        scan_split(
            seconds,
            start_min,
            (start_min + margin).min(end_min),
            p0,
            head.max(p0 * 2.0),
        )
        .filter(|s| s.over_all_after >= DATA_EDGE_MIN_GAIN_NATS)
        .map_or(Some(start_min), |s| Some(s.at))
    } else {
        ramp_onset(seconds, previous_end, start_min, end_min).or_else(|| {
            best_split(
                seconds,
                start_min - margin,
                (start_min + margin).min(end_min),
                p0,
                head.max(p0 * 2.0),
            )
        })
    };
    let start = onset
        .and_then(|split| {
            seconds
                .range(split..end_min)
                .find(|(_, c)| c.failed > 0)
                .map(|(s, _)| *s)
        })
        .unwrap_or(start_min);
    let end = scan_split(
        seconds,
        (end_min - margin).max(start),
        end_min + margin,
        tail.max(p0 * 2.0),
        p0,
    )
    .map(|s| {
        if end_min >= data_end && s.over_all_before < DATA_EDGE_MIN_GAIN_NATS {
            end_min
        } else {
            s.at
        }
    })
    .and_then(|split| {
        seconds
            .range(start..split)
            .rev()
            .find(|(_, c)| c.failed > 0)
            .map(|(s, _)| s + 1)
    })
    .unwrap_or(end_min);
    (start, end.max(start + 1))
}

/// The shortest span (seconds) holding 80 % of a window's failures: a blip of 40 s whose edges
/// were stretched to a few background failures around it keeps a core of 40 s, an outage of
/// two minutes one of about 100.
fn core_secs(seconds: &BTreeMap<i64, SecondCounts>, start: i64, end: i64) -> i64 {
    let failing = failing_seconds(seconds, start, end);
    let total: u64 = failing.iter().map(|(_, f)| f).sum();
    let need = (total * 4).div_ceil(5);
    if need == 0 {
        return 0;
    }
    // Two pointers over the failing seconds: the counts are non-negative, so the window sum
    // only grows with `hi` and shrinks with `lo`.
    let mut best = i64::MAX;
    let (mut lo, mut sum) = (0, 0u64);
    for hi in 0..failing.len() {
        sum += failing[hi].1;
        while sum - failing[lo].1 >= need {
            sum -= failing[lo].1;
            lo += 1;
        }
        if sum >= need {
            best = best.min(failing[hi].0 - failing[lo].0 + 1);
        }
    }
    if best == i64::MAX { 0 } else { best }
}

/// Cost (nats) of switching between the baseline and the elevated state in [`episodes`].
const EPISODE_SWITCH_NATS: f64 = 10.0;
/// A window with at least this many elevated episodes is a flapping outage, however short
/// each episode.
const FLAPPING_EPISODES: usize = 3;

/// The elevated episodes of [start, end): the likeliest path, second by second, of a
/// two-state chain (failure rate `p0` or `p1`, switching at a cost of
/// [`EPISODE_SWITCH_NATS`]), each elevated run trimmed to its first and last failing second.
/// A return to the baseline splits the window only when it is clear (the evidence of the
/// quiet stretch outweighs two switches), so the sparse failures of a small partial outage
/// stay one episode while two blips half a minute apart are two.
fn episodes(
    seconds: &BTreeMap<i64, SecondCounts>,
    start: i64,
    end: i64,
    p0: f64,
    p1: f64,
) -> Vec<(i64, i64)> {
    let slice: Vec<(i64, SecondCounts)> =
        seconds.range(start..end).map(|(s, c)| (*s, *c)).collect();
    if slice.is_empty() {
        return Vec::new();
    }
    // score[k]: best log-likelihood ending in state k; from[i][k]: the state before.
    let mut score = [0.0f64, 0.0f64];
    let mut from: Vec<[u8; 2]> = Vec::with_capacity(slice.len());
    for (_, c) in &slice {
        let emit = [loglik(c, p0), loglik(c, p1)];
        let mut next = [0.0; 2];
        let mut back = [0u8; 2];
        for k in 0..2 {
            let stay = score[k];
            let switch = score[1 - k] - EPISODE_SWITCH_NATS;
            if stay >= switch {
                next[k] = stay + emit[k];
                back[k] = k as u8;
            } else {
                next[k] = switch + emit[k];
                back[k] = (1 - k) as u8;
            }
        }
        score = next;
        from.push(back);
    }
    let mut state = u8::from(score[1] > score[0]);
    let mut elevated = vec![false; slice.len()];
    for i in (0..slice.len()).rev() {
        elevated[i] = state == 1;
        state = from[i][usize::from(state)];
    }
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut run: Option<(i64, i64)> = None;
    for (i, (sec, c)) in slice.iter().enumerate() {
        if elevated[i] {
            if c.failed > 0 {
                run = Some(run.map_or((*sec, sec + 1), |(a, _)| (a, sec + 1)));
            }
        } else if let Some(r) = run.take() {
            out.push(r);
        }
    }
    out.extend(run);
    out
}

/// Whether a window is sustained: one elevated episode lasting `min_secs`, or enough of them
/// to be a flapping outage.
fn sustained(
    seconds: &BTreeMap<i64, SecondCounts>,
    start: i64,
    end: i64,
    baseline: f64,
    min_secs: i64,
) -> bool {
    let p0 = baseline.clamp(1e-4, 0.5);
    let p1 = rate_between(seconds, start, end)
        .unwrap_or(0.5)
        .max(2.0 * p0)
        .min(0.999);
    let found = episodes(seconds, start, end, p0, p1);
    found.len() >= FLAPPING_EPISODES || found.iter().any(|(a, b)| b - a >= min_secs)
}

/// Whether a refined window of requests is an outage rather than a blip. Normally it must
/// last `min_window_secs`, hold 80 % of its failures over `min_core_secs` and have a sustained
/// episode ([`sustained`]). A shorter window that still lasts longer than a blip is kept when
/// the evidence leaves no doubt: its core and its longest episode last longer than a blip too
/// (80 % of its failures spread over at least 80 % of the blip length, so a burst stretched by
/// a few background failures on either side does not pass), and a large share of its requests
/// fail, many times the baseline, in numbers — the wandering of a background rate, even a bad
/// minute of it, raises it a few-fold; an outage of a minute takes a real share of requests
/// down.
fn lasting(
    seconds: &BTreeMap<i64, SecondCounts>,
    start: i64,
    end: i64,
    baseline: f64,
    config: &DetectConfig,
) -> bool {
    let len = end - start;
    if len >= config.min_window_secs {
        return core_secs(seconds, start, end) >= config.min_core_secs
            && sustained(seconds, start, end, baseline, config.min_episode_secs);
    }
    if len <= config.max_blip_secs {
        return false;
    }
    let (requests, failed) = counts_between(seconds, start, end);
    if requests == 0 || failed < config.short_min_failed {
        return false;
    }
    let share = failed as f64 / requests as f64;
    share >= config.short_min_share
        && share >= config.short_min_ratio * baseline
        && 5 * core_secs(seconds, start, end) >= 4 * config.max_blip_secs
        && sustained(seconds, start, end, baseline, config.max_blip_secs + 1)
}

/// A return to the baseline at least this long (seconds) separates a blip from an outage.
const EDGE_GAP_SECS: i64 = 60;

/// The minute segmentation joins a blip a few minutes before (or after) an outage to it. Where
/// the window's edge holds only blips, cut off from the first (last) lasting episode by a clear
/// return to the baseline, the edge moves to the lasting episode. The return may lie beyond
/// episodes weaker than half the outage (the background wandering a little after it ends):
/// those go with the blips, while one as intense as the outage stops the search. An episode
/// lasts when it is `min_secs` long, or longer than a blip (`max_blip_secs`) and as intense as
/// the outage (at least half the failure rate of its longest episode): a flapping outage's
/// first or last flap of a minute or so is part of it, a bad minute of background failures
/// beside it is not (nor is a shorter flap, unless it keeps the outage's rhythm: see below).
/// The edge moves to the likeliest onset (end) in the quiet stretch before (after) it, snapped
/// to a failing request as in [`refine`]. Episodes are found at a rate between the baseline and the
/// window's (their geometric mean, but at least a quarter of the window's: over a baseline
/// near zero, the quiet stretch must still weigh), so a burst of background failures still
/// stands apart.
fn trim_edge_blips(
    seconds: &BTreeMap<i64, SecondCounts>,
    start: i64,
    end: i64,
    baseline: f64,
    (min_secs, max_blip_secs): (i64, i64),
) -> (i64, i64) {
    let p0 = baseline.clamp(1e-4, 0.5);
    let window = rate_between(seconds, start, end).unwrap_or(0.5);
    let p1 = (p0 * window)
        .sqrt()
        .max(window / 4.0)
        .max(2.0 * p0)
        .min(0.999);
    let found = episodes(seconds, start, end, p0, p1);
    let intensity = |e: &(i64, i64)| rate_between(seconds, e.0, e.1).unwrap_or(0.0);
    let outage_rate = found
        .iter()
        .max_by_key(|e| e.1 - e.0)
        .map_or(0.0, intensity);
    let long = |e: &(i64, i64)| {
        let len = e.1 - e.0;
        len >= min_secs || len > max_blip_secs && 2.0 * intensity(e) >= outage_rate
    };
    let (Some(mut first), Some(mut last)) =
        (found.iter().position(long), found.iter().rposition(long))
    else {
        return (start, end);
    };
    // A flapping outage (two lasting episodes or more) has a rhythm: an episode beside it, as
    // intense as the outage and no further from it than its own flaps are from each other, is
    // its first (last) flap, however short (the fault may end in the middle of one).
    let rhythm = (first..last)
        .map(|k| found[k + 1].0 - found[k].1)
        .max()
        .unwrap_or(0);
    if found[first..=last].iter().filter(|e| long(e)).count() >= 2 {
        let flap = |e: &(i64, i64), gap: i64| gap <= rhythm && 2.0 * intensity(e) >= outage_rate;
        while first > 0 && flap(&found[first - 1], found[first].0 - found[first - 1].1) {
            first -= 1;
        }
        while last + 1 < found.len() && flap(&found[last + 1], found[last + 1].0 - found[last].1) {
            last += 1;
        }
    }
    // The clear return to the baseline before the first lasting episode (after the last): the
    // nearest gap of [`EDGE_GAP_SECS`], across episodes weaker than half the outage (the
    // background wandering beside it) but not across one as intense as the outage.
    let weak = |e: &(i64, i64)| 2.0 * intensity(e) < outage_rate;
    let gap_before = (1..=first)
        .rev()
        .take_while(|&k| k == first || weak(&found[k]))
        .find(|&k| found[k].0 - found[k - 1].1 >= EDGE_GAP_SECS);
    let gap_after = (last..found.len() - 1)
        .take_while(|&k| k == last || weak(&found[k]))
        .find(|&k| found[k + 1].0 - found[k].1 >= EDGE_GAP_SECS);
    let mut new_start = start;
    if let Some(k) = gap_before {
        let body = found[first].0;
        let head = rate_between(seconds, body, (body + 300).min(end)).unwrap_or(p1);
        let p_mid = (p0 + (head - p0) / 2.0).max(p0 * 2.0);
        new_start = best_split(seconds, found[k - 1].1, body + 1, p0, p_mid)
            .and_then(|split| {
                seconds
                    .range(split..end)
                    .find(|(_, c)| c.failed > 0)
                    .map(|(s, _)| *s)
            })
            .unwrap_or(body);
    }
    let mut new_end = end;
    if let Some(k) = gap_after {
        let body = found[last].1;
        let tail = rate_between(seconds, (body - 300).max(new_start), body).unwrap_or(p1);
        // The episode chain weighs seconds against a rate between the baseline and the
        // outage's, so it may take a mild wander right after the outage for its tail: the end is
        // the likeliest drop from the outage's rate, searched from a little inside the episode.
        let from = (body - EDGE_GAP_SECS).max(found[last].0);
        new_end = best_split(seconds, from, found[k + 1].0, tail.max(p0 * 2.0), p0)
            .and_then(|split| {
                seconds
                    .range(new_start..split)
                    .rev()
                    .find(|(_, c)| c.failed > 0)
                    .map(|(s, _)| s + 1)
            })
            .unwrap_or(body);
    }
    if new_end > new_start {
        (new_start, new_end)
    } else {
        (start, end)
    }
}

/// Fewest failures an edge burst must hold for [`cut_edge_bursts`] (a lone failure before a
/// gap is the sparse beginning of a ramp as often as a burst).
const EDGE_BURST_MIN_FAILED: u64 = 5;
/// Failures the outage's own rate must have put into the silence after (before) an edge burst
/// for the silence to separate them (chance e^-6, 0.25 %).
const EDGE_BURST_MIN_MISSING: f64 = 6.0;
/// How much likelier (nats) an edge burst's failures are at its own rate than at the
/// outage's: a burst well above the outage is something else, one at its rate may be its flap.
const EDGE_BURST_MIN_GAIN_NATS: f64 = 6.0;
/// ... and how many times the outage's rate the burst must hold (effect size: on a busy
/// stream a flap a little above the outage's rate is significant too, and still a flap).
const EDGE_BURST_MIN_RATIO: f64 = 2.0;

/// A burst at a window's edge, cut off from the outage by a silence the outage could not have
/// kept, at a failure rate the outage never holds: an error blip of every service a minute or
/// two before (after) a partial outage. The episode chain of [`trim_edge_blips`] weighs a
/// quiet stretch against a rate between the baseline and the window's, and at low traffic a
/// minute and more without a failure is too little evidence for it (nor does it split a gap
/// shorter than [`EDGE_GAP_SECS`]); here the silence is judged against the outage itself. The
/// head (tail) of the window is cut off at its longest silence when: the part beyond the
/// silence lasts no longer than two blips (`max_blip_secs` each, 80 % of its failures within
/// one) and holds at least [`EDGE_BURST_MIN_FAILED`] failures; the outage's rate would have
/// put at least [`EDGE_BURST_MIN_MISSING`] failures into the silence; the outage is steady (no
/// silence inside it as long as [`EDGE_GAP_SECS`], so a flapping outage's quiet spells keep
/// their flaps); and the burst fails clearly more than the outage — [`EDGE_BURST_MIN_RATIO`]
/// times its rate, and [`EDGE_BURST_MIN_GAIN_NATS`] likelier at its own — so a first or last
/// flap of a flapping outage, at the outage's rate, stays. The new edge is the likeliest
/// switch between the baseline and the outage's rate beyond the burst, snapped to a failing
/// request as in [`refine`] (a background failure in the silence is not the onset).
fn cut_edge_bursts(
    seconds: &BTreeMap<i64, SecondCounts>,
    start: i64,
    end: i64,
    baseline: f64,
    max_blip_secs: i64,
) -> (i64, i64) {
    let p0 = baseline.clamp(1e-4, 0.5);
    let failing = failing_seconds(seconds, start, end);
    if failing.len() < 3 {
        return (start, end);
    }
    let counts = |from: i64, to: i64| counts_between(seconds, from, to);
    // Longest silence between failures in failing[a..b].
    let longest_silence = |a: usize, b: usize| {
        failing[a..b]
            .windows(2)
            .map(|w| w[1].0 - w[0].0 - 1)
            .max()
            .unwrap_or(0)
    };
    // Whether the silence between failing[i] and failing[i + 1] cuts the burst `burst` off
    // from the outage `body` (indices into `failing`, end exclusive).
    let cuts = |i: usize, burst: (usize, usize), body: (usize, usize)| {
        let (burst_from, burst_to) = (failing[burst.0].0, failing[burst.1 - 1].0 + 1);
        let (body_from, body_to) = (failing[body.0].0, failing[body.1 - 1].0 + 1);
        let (burst_n, burst_f) = counts(burst_from, burst_to);
        let (body_n, body_f) = counts(body_from, body_to);
        if burst_n == 0 || body_n == 0 || burst_f < EDGE_BURST_MIN_FAILED {
            return false;
        }
        let body_rate = body_f as f64 / body_n as f64;
        let burst_rate = burst_f as f64 / burst_n as f64;
        let (gap_n, _) = counts(failing[i].0 + 1, failing[i + 1].0);
        let gain = binomial_loglik(burst_f as f64, burst_n as f64, burst_rate)
            - binomial_loglik(burst_f as f64, burst_n as f64, body_rate);
        burst_to - burst_from <= 2 * max_blip_secs
            && core_secs(seconds, burst_from, burst_to) <= max_blip_secs
            && body_to - body_from >= 2 * (burst_to - burst_from)
            && gap_n as f64 * body_rate >= EDGE_BURST_MIN_MISSING
            && longest_silence(body.0, body.1) < EDGE_GAP_SECS
            && burst_rate >= EDGE_BURST_MIN_RATIO * body_rate
            && gain >= EDGE_BURST_MIN_GAIN_NATS
    };
    let n = failing.len();
    let mut new_start = start;
    let mut first = 0;
    // The head: the widest silence within two blips of the start.
    let head = (0..n - 1)
        .take_while(|&i| failing[i].0 + 1 - failing[0].0 <= 2 * max_blip_secs)
        .max_by_key(|&i| failing[i + 1].0 - failing[i].0);
    if let Some(i) = head
        && cuts(i, (0, i + 1), (i + 1, n))
    {
        // The onset: the likeliest switch from the baseline to the outage's rate after the
        // burst (a background failure in the silence is no start), snapped to a failure.
        let body = failing[i + 1].0;
        let p1 = rate_between(seconds, body, end)
            .unwrap_or(0.5)
            .max(2.0 * p0);
        let onset = best_split(seconds, failing[i].0 + 1, body + 2 * max_blip_secs, p0, p1)
            .and_then(|split| {
                seconds
                    .range(split..end)
                    .find(|(_, c)| c.failed > 0)
                    .map(|(s, _)| *s)
            })
            .unwrap_or(body);
        new_start = onset;
        first = failing.partition_point(|(s, _)| *s < onset);
    }
    let mut new_end = end;
    let tail = (first..n - 1)
        .rev()
        .take_while(|&i| failing[n - 1].0 + 1 - failing[i + 1].0 <= 2 * max_blip_secs)
        .max_by_key(|&i| failing[i + 1].0 - failing[i].0);
    if let Some(i) = tail
        && i > first
        && cuts(i, (i + 1, n), (first, i + 1))
    {
        let body = failing[i].0 + 1;
        let p1 = rate_between(seconds, new_start, body)
            .unwrap_or(0.5)
            .max(2.0 * p0);
        new_end = best_split(seconds, body - 2 * max_blip_secs, failing[i + 1].0, p1, p0)
            .and_then(|split| {
                seconds
                    .range(new_start..split)
                    .rev()
                    .find(|(_, c)| c.failed > 0)
                    .map(|(s, _)| s + 1)
            })
            .unwrap_or(body);
    }
    if new_end > new_start {
        (new_start, new_end)
    } else {
        (start, end)
    }
}

/// Failing requests a stream needs within a traffic collapse to measure it instead.
const MIN_FAILED_FOR_MEASURE: u64 = 20;

/// Windows shorter than this (seconds) are checked for being two episodes in one.
const EPISODE_CHECK_SECS: i64 = 300;

/// A short window may be two unrelated episodes that the minute-level segmentation joined (a
/// noisy minute next to a blip). Where a silence of failures is long enough that the window's
/// own failure rate would have put at least three failures in it (chance ≤ 5 %), the window is
/// split there and the part with the most failures kept. Long windows (flapping outages among
/// them) are left whole.
fn densest_episode(seconds: &BTreeMap<i64, SecondCounts>, start: i64, end: i64) -> (i64, i64) {
    if end - start >= EPISODE_CHECK_SECS {
        return (start, end);
    }
    let failing = failing_seconds(seconds, start, end);
    let total: u64 = failing.iter().map(|(_, f)| f).sum();
    if failing.len() < 2 {
        return (start, end);
    }
    let per_second = total as f64 / (end - start).max(1) as f64;
    let mut parts: Vec<(i64, i64, u64)> = Vec::new();
    let mut current = (failing[0].0, failing[0].0 + 1, failing[0].1);
    for pair in failing.windows(2) {
        let (prev, next) = (pair[0].0, pair[1]);
        let gap = next.0 - prev - 1;
        if gap >= 40 && per_second * gap as f64 >= 3.0 {
            parts.push(current);
            current = (next.0, next.0 + 1, next.1);
        } else {
            current.1 = next.0 + 1;
            current.2 += next.1;
        }
    }
    parts.push(current);
    if parts.len() == 1 {
        return (start, end);
    }
    parts
        .into_iter()
        .max_by_key(|p| (p.2, p.1 - p.0))
        .map_or((start, end), |(a, b, _)| (a, b))
}

/// A stretch of data with no silence longer than this is segmented as one series; across a
/// longer silence (logs of different days, a collector that was off) each stretch stands alone.
const ISLAND_GAP_SECS: i64 = 6 * 3600;
/// Longest series segmented at once (two weeks of minutes): PELT is quadratic on calm data.
const MAX_SEGMENTED_MINUTES: i64 = 20_000;

/// The stretches of minutes where the stream has data, split at long silences and at
/// [`MAX_SEGMENTED_MINUTES`].
fn islands(stream: &StreamAggregate, use_requests: bool) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let with_data = stream.minutes.iter().filter(|(_, c)| {
        if use_requests {
            c.requests > 0
        } else {
            c.events > 0
        }
    });
    for (&m, _) in with_data {
        match out.last_mut() {
            Some((first, last))
                if m - *last <= ISLAND_GAP_SECS && (m - *first) / 60 < MAX_SEGMENTED_MINUTES =>
            {
                *last = m;
            }
            _ => out.push((m, m)),
        }
    }
    out
}

/// An alert about failing requests: when it first fired, when it resolved (unix seconds), and
/// the service it names.
#[derive(Debug, Clone, PartialEq)]
struct AlertSpan {
    fired: i64,
    resolved: Option<i64>,
    service: Option<String>,
}

/// Words that say an alert watches requests failing (`HighErrorRate`, `5xx above 5% for 5m`,
/// `LowAvailability`): only such an alert says anything about the failure rate. A disk filling
/// up or a slow batch job fires on its own schedule, and a window beside it is as likely as
/// anywhere else.
const FAILURE_ALERT_WORDS: &[&str] = &["error", "5xx", "availab"];

fn about_failures(name: &str, message: &str) -> bool {
    let (name, message) = (name.to_ascii_lowercase(), message.to_ascii_lowercase());
    FAILURE_ALERT_WORDS
        .iter()
        .any(|w| name.contains(w) || message.contains(w))
}

/// Each alert about failing requests once (by fingerprint, else by name): its first firing,
/// the first resolution after it and its service.
fn alert_spans(alerts: &[Event]) -> Vec<AlertSpan> {
    let identity = |a: &AlertInfo| {
        if a.fingerprint.is_empty() {
            a.name.clone()
        } else {
            a.fingerprint.clone()
        }
    };
    let mut fired: BTreeMap<String, (i64, Option<String>)> = BTreeMap::new();
    for e in alerts {
        if let Some(a) = &e.alert
            && a.state == AlertState::Firing
            && about_failures(&a.name, &e.message)
        {
            let t = e.time.div_euclid(NS_PER_SEC);
            let first = fired
                .entry(identity(a))
                .or_insert_with(|| (t, e.service.clone()));
            if t < first.0 {
                *first = (t, e.service.clone());
            }
        }
    }
    let mut spans: Vec<AlertSpan> = fired
        .into_iter()
        .map(|(id, (t, service))| AlertSpan {
            fired: t,
            resolved: alerts
                .iter()
                .filter(|e| {
                    e.alert
                        .as_ref()
                        .is_some_and(|a| a.state == AlertState::Resolved && identity(a) == id)
                })
                .map(|e| e.time.div_euclid(NS_PER_SEC))
                .filter(|&r| r >= t)
                .min(),
            service,
        })
        .collect();
    spans.sort_by_key(|s| s.fired);
    spans
}

/// `Evidence::method` of a window found by [`alert_scan`].
const ALERT_SCAN_METHOD: &str = "binomial-alert-scan";
/// How far (minutes) before an alert fired the window it corroborates may begin (alert rules
/// wait a few minutes, `for: 5m`, before they fire).
const ALERT_SCAN_LEAD_MINUTES: usize = 15;
/// Longest window (minutes) searched after an alert fired when it never resolved.
const ALERT_SCAN_MAX_MINUTES: usize = 60;
/// Evidence (nats, log-likelihood ratio over the baseline rate) a window must hold beside a
/// firing alert. Noise reaches 9 nats in a given window with chance P(Z ≥ √18) ≈ 1·10⁻⁵; over
/// the at most 16 × 61 windows searched (Bonferroni, though neighbouring windows share most
/// of their minutes) about 1 %.
const ALERT_SCAN_MIN_NATS: f64 = 9.0;

/// The log-likelihood ratio (nats) of `f` failures of `n` at their own rate over rate `p`; 0
/// when they fail no more than `p` says.
fn excess_nats(f: f64, n: f64, p: f64) -> f64 {
    if n <= 0.0 || f <= n * p {
        return 0.0;
    }
    binomial_nats(f, n, p)
}

/// A window corroborated by a firing alert: the monitoring saw the failure rate high, and the
/// minute segmentation, whose penalty pays for searching the whole day, found nothing there.
/// Searching only the minutes around the alert (starting up to [`ALERT_SCAN_LEAD_MINUTES`]
/// before it fired, ending after it fired and by its resolution) costs far less: about a
/// thousand start and end pairs, ln 1000 ≈ 7 nats, where the day holds hundreds of thousands.
/// The likeliest window there (on effective counts, so the rate's wander between minutes is
/// not taken for evidence) is kept when it holds [`ALERT_SCAN_MIN_NATS`] over the baseline and
/// is as large as a window must be (the rise and excess failures of [`Model::opens`]). None
/// when a window of the segmentation already lies there: the alert is then explained.
fn alert_scan(
    minutes: &[i64],
    (events, trials): (&[f64], &[f64]),
    (eff_events, eff_trials): (&[f64], &[f64]),
    baseline: f64,
    alert: &AlertSpan,
    found: &[MinuteWindow],
    config: &DetectConfig,
) -> Option<MinuteWindow> {
    let n = minutes.len();
    let first = *minutes.first()?;
    let at = usize::try_from((alert.fired - first).div_euclid(60)).ok()?;
    if at >= n {
        return None;
    }
    let lo = at.saturating_sub(ALERT_SCAN_LEAD_MINUTES);
    let last_end = alert
        .resolved
        .and_then(|r| usize::try_from((r - first).div_euclid(60) + 1).ok())
        .unwrap_or(usize::MAX)
        .min(at + ALERT_SCAN_MAX_MINUTES)
        .min(n);
    if found.iter().any(|w| w.start < last_end && w.end > lo) {
        return None;
    }
    let (pf, pn) = (prefix(events), prefix(trials));
    let (pe, pt) = (prefix(eff_events), prefix(eff_trials));
    let p0 = baseline.max(1e-3);
    let min_rise = config
        .min_rate_increase
        .max(config.min_relative_increase * baseline);
    let mut best: Option<(f64, usize, usize)> = None;
    for a in lo..=at {
        for b in (at + 1).max(a + 2)..=last_end {
            let (f, t) = (pf[b] - pf[a], pn[b] - pn[a]);
            if t <= 0.0
                || f / t - baseline < min_rise
                || f - t * baseline < config.min_excess_failures
            {
                continue;
            }
            let nats = excess_nats(pe[b] - pe[a], pt[b] - pt[a], p0);
            if best.is_none_or(|(x, _, _)| nats > x) {
                best = Some((nats, a, b));
            }
        }
    }
    let (nats, a, b) = best?;
    (nats >= ALERT_SCAN_MIN_NATS).then(|| MinuteWindow {
        start: a,
        end: b,
        z: (2.0 * nats).sqrt(),
        change_points: vec![a, b],
        corroborated: true,
    })
}

fn detect_stream(
    key: &StreamKey,
    stream: &StreamAggregate,
    (use_requests, alerts): (bool, &[AlertSpan]),
    config: &DetectConfig,
) -> PolarsResult<Vec<Outage>> {
    let mut windows = Vec::new();
    for island in islands(stream, use_requests) {
        detect_island(
            key,
            stream,
            island,
            (use_requests, false, alerts),
            config,
            &mut windows,
        )?;
    }
    if use_requests {
        windows.extend(traffic_collapses(key, stream, config));
    }
    Ok(windows)
}

fn detect_island(
    key: &StreamKey,
    stream: &StreamAggregate,
    span: (i64, i64),
    (use_requests, small_share, alerts): (bool, bool, &[AlertSpan]),
    config: &DetectConfig,
    result: &mut Vec<Outage>,
) -> PolarsResult<()> {
    let frame = minute_frame(stream, span)?;
    let minutes = column_i64(&frame, "minute")?;
    let n = minutes.len();
    let (events, trials, poisson) = if use_requests {
        (
            column_f64(&frame, "failed")?,
            column_f64(&frame, "requests")?,
            false,
        )
    } else {
        (column_f64(&frame, "error_events")?, vec![1.0; n], true)
    };
    if n < 3 {
        return Ok(());
    }
    // Error lines: Poisson with a multiplicative overdispersion. Requests: binomial with an
    // extra between-minute variance of the rate (beta-binomial style), applied as effective
    // counts, so a busy minute is not held to a precision its wandering rate never has while a
    // quiet one keeps its plain binomial noise.
    let (cost, model, eff_events, eff_trials, dispersion) = if poisson {
        let dispersion = poisson_dispersion(&events);
        (
            Cost::poisson(&events),
            Model {
                poisson,
                dispersion,
                likelihood_z: false,
            },
            events.clone(),
            trials.clone(),
            dispersion,
        )
    } else {
        let (eff_events, eff_trials) = effective_counts(&events, &trials);
        let raw: f64 = trials.iter().sum();
        let eff: f64 = eff_trials.iter().sum();
        (
            Cost::binomial(&eff_events, &eff_trials),
            Model {
                poisson,
                dispersion: 1.0,
                likelihood_z: small_share,
            },
            eff_events,
            eff_trials,
            if eff > 0.0 { raw / eff } else { 1.0 },
        )
    };
    // BIC-like penalty per change point, scaled by the dispersion (quasi-likelihood).
    let penalty = 3.0 * (n as f64).ln().max(1.0) * model.dispersion;
    let bounds = pelt(&cost, n, penalty);
    let segments = segments_of((&events, &trials), (&eff_events, &eff_trials), &bounds);
    let baseline = baseline_rate(&segments, model, config);
    let mut previous_end = i64::MIN;
    let mut windows = elevated_windows(&segments, model, baseline, config);
    if use_requests {
        // An alert naming another service says nothing about this one; a web tier (no
        // service of its own) serves them all.
        let scanned: Vec<MinuteWindow> = alerts
            .iter()
            .filter(|a| {
                key.service.is_empty() || a.service.as_ref().is_none_or(|s| *s == key.service)
            })
            .filter_map(|alert| {
                alert_scan(
                    &minutes,
                    (&events, &trials),
                    (&eff_events, &eff_trials),
                    baseline,
                    alert,
                    &windows,
                    config,
                )
            })
            .collect();
        windows.extend(scanned);
        windows.sort_by_key(|w| w.start);
        windows.dedup_by(|b, a| a.corroborated && b.corroborated && b.start < a.end);
    }
    for w in windows {
        let ev: f64 = events[w.start..w.end].iter().sum();
        let tr: f64 = trials[w.start..w.end].iter().sum();
        let window_rate = if tr > 0.0 { ev / tr } else { 0.0 };
        let (peak_idx, peak_rate) = (w.start..w.end)
            .filter(|&i| trials[i] > 0.0)
            .map(|i| (i, events[i] / trials[i]))
            .fold(
                (w.start, 0.0),
                |best, x| if x.1 > best.1 { x } else { best },
            );
        let start_min = minutes[w.start];
        let end_min = minutes.get(w.end).copied().unwrap_or(minutes[n - 1] + 60);
        // A ramp begins after the window before it.
        let after_previous = std::mem::replace(&mut previous_end, end_min);
        let (start, end) = if use_requests {
            refine(
                &stream.seconds,
                after_previous,
                (start_min, end_min),
                (span.0, span.1 + 60),
                baseline,
                config.refine_margin_secs,
            )
        } else {
            (start_min, end_min)
        };
        let (start, end) = if use_requests {
            let (start, end) = densest_episode(&stream.seconds, start, end);
            let (start, end) = trim_edge_blips(
                &stream.seconds,
                start,
                end,
                baseline,
                (config.min_episode_secs, config.max_blip_secs),
            );
            cut_edge_bursts(&stream.seconds, start, end, baseline, config.max_blip_secs)
        } else {
            (start, end)
        };
        // The alert stands in for the sustained episode [`lasting`] asks for: that episode must
        // outweigh two switches of the episode chain (20 nats), evidence the alert lowered the
        // bar from. A window must still last and not be one burst.
        let kept = if w.corroborated {
            end - start >= config.min_window_secs
                && core_secs(&stream.seconds, start, end) >= config.min_core_secs
        } else if use_requests {
            lasting(&stream.seconds, start, end, baseline, config)
        } else {
            end - start >= config.min_window_secs
        };
        if !kept {
            continue;
        }
        result.push(Outage {
            start: start * NS_PER_SEC,
            end: end * NS_PER_SEC,
            stream: key.clone(),
            evidence: Evidence {
                method: if poisson {
                    "poisson-pelt"
                } else if w.corroborated {
                    ALERT_SCAN_METHOD
                } else {
                    "binomial-pelt"
                },
                baseline_rate: baseline,
                window_rate,
                peak_rate,
                peak_minute: minutes[peak_idx],
                change_points: w
                    .change_points
                    .iter()
                    .filter_map(|&i| minutes.get(i).copied().or(Some(end_min)))
                    .collect(),
                z_score: w.z,
                dispersion,
                agreeing_streams: Vec::new(),
                alerts: Vec::new(),
                expected_requests_per_minute: None,
                observed_requests_per_minute: None,
            },
        });
    }
    Ok(())
}

/// How far around a silence the expected request rate is measured.
const LEVEL_WINDOW_SECS: i64 = 30 * 60;

/// Requests per second over [from, to), counting only the span that has data on the clock of
/// this stream (the logs may begin or end inside it).
fn level(seconds: &BTreeMap<i64, SecondCounts>, from: i64, to: i64) -> Option<f64> {
    let mut range = seconds.range(from..to);
    let first = range.next().map(|(s, _)| *s)?;
    let last = seconds
        .range(from..to)
        .next_back()
        .map_or(first, |(s, _)| *s);
    let requests: u64 = seconds
        .range(from..to)
        .map(|(_, c)| u64::from(c.requests))
        .sum();
    // A level needs data to stand on: a handful of requests say nothing about a rate.
    if requests < MIN_LEVEL_REQUESTS || last - first < 300 {
        return None;
    }
    Some(requests as f64 / (last - first + 1) as f64)
}

/// Fewest requests (over at least five minutes) a rate estimate around a silence needs.
const MIN_LEVEL_REQUESTS: u64 = 10;

/// Traffic collapse: a silence in which, at the rate seen before and after it (the lower of
/// the two, so a daily trough or a spike's end does not count), at least
/// `min_missing_requests` requests were due. The silence's probability under that rate,
/// e^-expected, is below 2·10⁻⁹ at the default — no quiet night produces one.
fn traffic_collapses(
    key: &StreamKey,
    stream: &StreamAggregate,
    config: &DetectConfig,
) -> Vec<Outage> {
    let mut out = Vec::new();
    let mut previous: Option<i64> = None;
    for (&s, c) in &stream.seconds {
        if c.requests == 0 {
            continue;
        }
        if let Some(p) = previous {
            let gap = s - p - 1;
            if gap >= config.min_silence_secs {
                let before = level(&stream.seconds, p + 1 - LEVEL_WINDOW_SECS, p + 1);
                let after = level(&stream.seconds, s, s + LEVEL_WINDOW_SECS);
                if let (Some(b), Some(a)) = (before, after) {
                    let rate = b.min(a);
                    let expected = rate * gap as f64;
                    if expected >= config.min_missing_requests {
                        out.push(Outage {
                            start: (p + 1) * NS_PER_SEC,
                            end: s * NS_PER_SEC,
                            stream: key.clone(),
                            evidence: Evidence {
                                method: "traffic-collapse",
                                baseline_rate: 0.0,
                                window_rate: 0.0,
                                peak_rate: 0.0,
                                peak_minute: (p + 1).div_euclid(60) * 60,
                                change_points: vec![p + 1, s],
                                z_score: expected.sqrt(),
                                dispersion: 1.0,
                                agreeing_streams: Vec::new(),
                                alerts: Vec::new(),
                                expected_requests_per_minute: Some(rate * 60.0),
                                observed_requests_per_minute: Some(0.0),
                            },
                        });
                    }
                }
            }
        }
        previous = Some(s);
    }
    out
}

/// Smallest and largest share of a stream's requests a path prefix must hold to be searched on
/// its own: a prefix with nearly all of them is the stream again, and one with a sliver of
/// them too few requests to stand on.
const PREFIX_SHARE: (f64, f64) = (0.05, 0.9);

/// A web tier in front of several services: each path prefix holding a real share of its
/// requests (see [`PREFIX_SHARE`]) is searched as a request series of its own, with the same
/// tests, because one service failing for a few percent of its requests barely moves the
/// tier's overall rate. Its windows belong to the tier's stream (the outage is measured on all
/// the tier's users and requests). A silence of one prefix is not searched for: traffic moving
/// between paths is no outage.
fn detect_path_prefixes(
    key: &StreamKey,
    stream: &StreamAggregate,
    config: &DetectConfig,
) -> PolarsResult<Vec<Outage>> {
    let mut windows = Vec::new();
    if stream.by_path_prefix.len() < 2 {
        return Ok(windows);
    }
    let total = stream.total_requests() as f64;
    for counts in stream.by_path_prefix.values() {
        let requests: u64 = counts.minutes.values().map(|m| m.requests).sum();
        let share = requests as f64 / total.max(1.0);
        if !(PREFIX_SHARE.0..=PREFIX_SHARE.1).contains(&share) {
            continue;
        }
        let series = StreamAggregate {
            minutes: counts.minutes.clone(),
            seconds: counts.seconds.clone(),
            ..StreamAggregate::default()
        };
        let mut found = Vec::new();
        for island in islands(&series, true) {
            detect_island(key, &series, island, (true, true, &[]), config, &mut found)?;
        }
        // The rest of the tier: the tier's counts less the prefix's.
        let rest = |from: i64, to: i64| {
            let (n, f) = counts_between(&stream.seconds, from, to);
            let (own_n, own_f) = counts_between(&counts.seconds, from, to);
            (n - own_n, f - own_f)
        };
        // Its normal rate: the lower of the rates in the half hours before and after the
        // window (a neighbouring outage raises one of them; a stretch with fewer than
        // [`MIN_REST_REQUESTS`], where the logs begin or end, says nothing), else its rate over
        // all.
        let rest_rate = |from: i64, to: i64| {
            let rate = |(n, f): (u64, u64)| (n >= MIN_REST_REQUESTS).then(|| f as f64 / n as f64);
            let before = rate(rest(from - LEVEL_WINDOW_SECS, from));
            let after = rate(rest(to, to + LEVEL_WINDOW_SECS));
            match (before, after) {
                (Some(b), Some(a)) => b.min(a),
                (Some(r), None) | (None, Some(r)) => r,
                (None, None) => rate(rest(i64::MIN, i64::MAX)).unwrap_or(0.0),
            }
        };
        windows.extend(found.into_iter().filter(|w| {
            let (from, to) = (w.start / NS_PER_SEC, w.end / NS_PER_SEC);
            let (n, f) = rest(from, to);
            !shared_by_rest(n, f, rest_rate(from, to), config)
        }));
    }
    Ok(windows)
}

/// Fewest requests a stretch beside a prefix's window needs to give the rest of the tier's
/// normal rate (from fewer, one failure more or less moves it a point).
const MIN_REST_REQUESTS: u64 = 100;

/// Whether the rest of a web tier (the other path prefixes) fails clearly above its own normal
/// rate while one prefix has a window: then the failure is the whole tier's (an error blip of
/// every service), which the tier's own series judges; a prefix is searched apart only for
/// what it alone suffers. Clearly: the weaker test that extends a window (z of
/// `extend_z` over plain binomial noise, a quarter above the rate, half the excess failures
/// a window needs).
fn shared_by_rest(requests: u64, failed: u64, rate: f64, config: &DetectConfig) -> bool {
    let n = requests as f64;
    let expected = n * rate;
    let excess = failed as f64 - expected;
    let sd = (n * rate.max(1e-3) * (1.0 - rate.min(0.999))).sqrt();
    requests > 0
        && excess >= 0.5 * config.min_excess_failures
        && failed as f64 >= 1.25 * expected
        && excess >= config.extend_z * sd.max(1e-9)
}

/// A group of windows from different streams that describe one outage.
struct Cluster {
    end: TimeNs,
    members: Vec<Outage>,
}

/// Runs detection on every stream and combines the windows into outages.
///
/// Requests are the signal where they exist. Every request stream is searched (per service, so
/// the report can say which service was down); windows that overlap, with a few minutes of
/// slack for skewed clocks, are one outage. That outage is measured on its most telling
/// window: failures before silence (a web tier answering 502 beats the app going quiet), then
/// the primary stream (the one identifying users, the app usually), then app over web, then the
/// most excess failures. Error-line series are used only when no source logs requests. Alerts
/// that fire with a window corroborate it; where no stream has a window, an alert about
/// failures lets a weaker one of the requests around it stand ([`alert_scan`]), but the window
/// is always measured on the requests.
pub fn detect(aggregates: &Aggregates, config: &DetectConfig) -> PolarsResult<Detection> {
    let mut detection = Detection::default();
    let request_streams: Vec<(&StreamKey, &StreamAggregate)> = aggregates
        .streams
        .iter()
        .filter(|(_, s)| s.total_requests() > 0)
        .collect();
    let primary = request_streams
        .iter()
        .max_by_key(|(k, s)| {
            (
                s.identity.by_user_field > 0,
                k.kind == SourceKind::App,
                s.total_requests(),
            )
        })
        .map(|(k, _)| (*k).clone());
    let mut windows: Vec<Outage> = Vec::new();
    if request_streams.is_empty() {
        detection
            .notes
            .push("no source logs requests: windows come from error lines per minute".to_string());
        for (key, stream) in &aggregates.streams {
            if matches!(
                key.kind,
                SourceKind::App | SourceKind::Web | SourceKind::Db | SourceKind::System
            ) && stream.minutes.values().any(|m| m.error_events > 0)
            {
                windows.extend(detect_stream(key, stream, (false, &[]), config)?);
            }
        }
    } else {
        let alerts = alert_spans(&aggregates.alerts);
        for (key, stream) in &request_streams {
            windows.extend(detect_stream(key, stream, (true, &alerts), config)?);
            windows.extend(detect_path_prefixes(key, stream, config)?);
        }
    }
    windows.sort_by_key(|w| (w.start, w.end));
    // A window an alert corroborates stands only where no stream found one of its own: beside
    // one, the alert is explained and the outage is measured as before.
    let slack_ns = config.merge_gap_minutes * 60 * NS_PER_SEC;
    let found_alone: Vec<(TimeNs, TimeNs)> = windows
        .iter()
        .filter(|w| w.evidence.method != ALERT_SCAN_METHOD)
        .map(|w| (w.start, w.end))
        .collect();
    windows.retain(|w| {
        w.evidence.method != ALERT_SCAN_METHOD
            || !found_alone
                .iter()
                .any(|&(a, b)| w.start < b + slack_ns && a < w.end + slack_ns)
    });
    let slack = config.merge_gap_minutes * 60 * NS_PER_SEC;
    let mut clusters: Vec<Cluster> = Vec::new();
    for window in windows {
        match clusters.last_mut() {
            Some(c) if window.start < c.end + slack => {
                c.end = c.end.max(window.end);
                c.members.push(window);
            }
            _ => clusters.push(Cluster {
                end: window.end,
                members: vec![window],
            }),
        }
    }
    let identified = |key: &StreamKey| {
        aggregates
            .streams
            .get(key)
            .is_some_and(|s| s.identity.by_user_field + s.identity.by_client_address > 0)
    };
    for cluster in clusters {
        let cluster_start = cluster.members.iter().map(|w| w.start).min().unwrap_or(0);
        let cluster_span = (cluster.end - cluster_start).max(1);
        // Whether a stream's windows in the cluster span at least half of it: a web tier
        // failing for 40 minutes is the outage, not the app's blip a minute before it.
        let spans_most = |w: &Outage| {
            let own = cluster
                .members
                .iter()
                .filter(|o| o.stream == w.stream && o.evidence.method == w.evidence.method);
            let (lo, hi) = own.fold((i64::MAX, i64::MIN), |(lo, hi), o| {
                (lo.min(o.start), hi.max(o.end))
            });
            2 * (hi - lo) >= cluster_span
        };
        let rank = |w: &Outage| {
            let excess = match w.evidence.method {
                "traffic-collapse" => 0.0,
                _ => w.evidence.z_score,
            };
            (
                w.evidence.method != "traffic-collapse",
                spans_most(w),
                Some(&w.stream) == primary.as_ref(),
                w.stream.kind == SourceKind::App,
                identified(&w.stream),
                (excess * 1000.0) as i64,
            )
        };
        let Some(best) = cluster.members.iter().max_by_key(|w| rank(w)) else {
            continue;
        };
        // The chosen stream's windows in the cluster (a flap may have left several) span the
        // outage.
        let own: Vec<&Outage> = cluster
            .members
            .iter()
            .filter(|w| w.stream == best.stream && w.evidence.method == best.evidence.method)
            .collect();
        let mut outage = best.clone();
        outage.start = own.iter().map(|w| w.start).min().unwrap_or(best.start);
        outage.end = own.iter().map(|w| w.end).max().unwrap_or(best.end);
        for w in &own {
            outage
                .evidence
                .change_points
                .extend(w.evidence.change_points.iter().copied());
            outage.evidence.z_score = outage.evidence.z_score.max(w.evidence.z_score);
            outage.evidence.peak_rate = outage.evidence.peak_rate.max(w.evidence.peak_rate);
        }
        outage.evidence.change_points.sort_unstable();
        outage.evidence.change_points.dedup();
        // Requests that stop on one stream while another answers them with errors in the same
        // seconds (a silent app behind a web tier returning 5xx, too briefly for a window of its
        // own): those failures are the outage's impact, so that stream measures it.
        if outage.evidence.method == "traffic-collapse" {
            let (from, to) = (
                outage.start.div_euclid(NS_PER_SEC),
                outage.end.div_euclid(NS_PER_SEC) + 1,
            );
            let failing = |s: &StreamAggregate| {
                let (requests, failed) = counts_between(&s.seconds, from, to);
                (failed >= MIN_FAILED_FOR_MEASURE && 2 * failed >= requests).then_some(failed)
            };
            if let Some((key, _)) = request_streams
                .iter()
                .filter(|(k, _)| **k != outage.stream)
                .filter_map(|(k, s)| failing(s).map(|f| (*k, f)))
                .max_by_key(|(_, f)| *f)
            {
                outage.stream = key.clone();
            }
        }
        for w in &cluster.members {
            if w.stream == outage.stream {
                continue;
            }
            let label = match w.evidence.method {
                "traffic-collapse" => format!("{} (requests stopped)", w.stream.label()),
                _ => w.stream.label(),
            };
            if !outage.evidence.agreeing_streams.contains(&label) {
                outage.evidence.agreeing_streams.push(label);
            }
        }
        let lead = 15 * 60 * NS_PER_SEC;
        for e in &aggregates.alerts {
            if let Some(a) = &e.alert
                && a.state == AlertState::Firing
                && e.time >= outage.start - lead
                && e.time < outage.end
                && !outage.evidence.alerts.contains(&a.name)
            {
                outage.evidence.alerts.push(a.name.clone());
            }
        }
        detection.outages.push(outage);
    }
    detection.outages.sort_by_key(|o| o.start);
    detection.primary_stream = primary;
    Ok(detection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{MinuteCounts, PrefixCounts};
    use crate::event::Severity;

    /// A stream with `failed(minute, volume)` failures out of `volume(minute)` requests, spread
    /// evenly over each minute's seconds; failures first within the minute (deterministic).
    fn stream(
        minutes: i64,
        volume: impl Fn(i64) -> u64,
        failed: impl Fn(i64, u64) -> u64,
    ) -> StreamAggregate {
        let mut s = StreamAggregate::default();
        for m in 0..minutes {
            let n = volume(m);
            let f = failed(m, n).min(n);
            if n == 0 {
                continue;
            }
            s.minutes.insert(
                m * 60,
                MinuteCounts {
                    requests: n,
                    failed: f,
                    error_events: f,
                    events: n,
                },
            );
            for i in 0..n {
                let sec = m * 60 + (i * 60 / n.max(1)) as i64;
                let c = s.seconds.entry(sec).or_default();
                c.requests += 1;
                c.failed += u32::from(i < f);
            }
        }
        s.identity.by_user_field = 1;
        s
    }

    /// Failures spread over the whole minute instead of first (for second-level edges).
    fn spread(s: &mut StreamAggregate, from_sec: i64, to_sec: i64) {
        for (sec, c) in s.seconds.iter_mut() {
            c.failed = if (from_sec..to_sec).contains(sec) {
                c.requests
            } else {
                0
            };
        }
        failed_minutes_from_seconds(s);
    }

    fn key(kind: SourceKind, service: &str) -> StreamKey {
        StreamKey {
            kind,
            service: service.into(),
        }
    }

    fn aggregates_with(streams: Vec<(StreamKey, StreamAggregate)>) -> Aggregates {
        let mut agg = Aggregates::default();
        for (k, s) in streams {
            agg.streams.insert(k, s);
        }
        agg
    }

    fn one(s: StreamAggregate) -> Aggregates {
        aggregates_with(vec![(key(SourceKind::App, "svc"), s)])
    }

    fn secs(o: &Outage) -> (i64, i64) {
        (o.start / NS_PER_SEC, o.end / NS_PER_SEC)
    }

    /// An alert event at `minute` (seconds into it) naming `service`.
    fn alert_at(minute: f64, name: &str, service: Option<&str>, state: AlertState) -> Event {
        let mut e = Event::new(
            (minute * 60.0) as i64 * NS_PER_SEC,
            SourceKind::Alert,
            Severity::Warn,
            format!("{name} on {}", service.unwrap_or("?")),
        );
        e.service = service.map(str::to_string);
        e.alert = Some(AlertInfo {
            name: name.into(),
            state,
            fingerprint: format!("{name}{service:?}"),
            severity_label: None,
        });
        e
    }

    /// 40 requests a minute, 1 to 3 of them failing (4 %), for 12 hours; 5 a minute from minute
    /// 300 to 306 (an eighth): about 15 nats over the background, which the day-wide
    /// segmentation, paying for every place it could split, does not tell from noise.
    fn weak_outage() -> StreamAggregate {
        stream(
            720,
            |_| 40,
            |m, _| {
                if (300..306).contains(&m) {
                    5
                } else {
                    [1, 2, 2, 1, 3, 1, 2, 1][m as usize % 8]
                }
            },
        )
    }

    fn with_alerts(s: StreamAggregate, alerts: Vec<Event>) -> Aggregates {
        let mut agg = one(s);
        agg.alerts = alerts;
        agg
    }

    #[test]
    fn a_weak_outage_is_found_beside_an_alert_on_failures_only() {
        let config = DetectConfig::default();
        let firing = |name: &str, service: Option<&str>| {
            vec![
                alert_at(302.5, name, service, AlertState::Firing),
                alert_at(309.0, name, service, AlertState::Resolved),
            ]
        };
        let alone = detect(&one(weak_outage()), &config).unwrap();
        assert!(alone.outages.is_empty(), "{:?}", alone.outages);
        let d = detect(
            &with_alerts(weak_outage(), firing("HighErrorRate", Some("svc"))),
            &config,
        )
        .unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert_eq!(d.outages[0].evidence.method, ALERT_SCAN_METHOD);
        assert!((299 * 60..=301 * 60).contains(&start), "start {start}");
        assert!((305 * 60..=310 * 60).contains(&end), "end {end}");
        // A disk filling up says nothing about requests; nor does an alert on another service.
        for (name, service) in [
            ("DiskSpaceLow", Some("svc")),
            ("HighErrorRate", Some("billing")),
        ] {
            let d = detect(&with_alerts(weak_outage(), firing(name, service)), &config).unwrap();
            assert!(d.outages.is_empty(), "{name} {service:?}: {:?}", d.outages);
        }
    }

    #[test]
    fn an_alert_beside_a_window_of_its_own_changes_nothing() {
        let outage = || {
            stream(
                720,
                |_| 40,
                |m, n| {
                    if (300..330).contains(&m) {
                        n / 2
                    } else {
                        [1, 2, 2, 1, 3, 1, 2, 1][m as usize % 8]
                    }
                },
            )
        };
        let config = DetectConfig::default();
        let alone = detect(&one(outage()), &config).unwrap();
        let alerts = vec![
            alert_at(303.0, "HighErrorRate", Some("svc"), AlertState::Firing),
            alert_at(335.0, "HighErrorRate", Some("svc"), AlertState::Resolved),
        ];
        let alerted = detect(&with_alerts(outage(), alerts), &config).unwrap();
        assert_eq!(alone.outages.len(), 1);
        assert_eq!(alerted.outages.len(), 1);
        let (a, b) = (&alone.outages[0], &alerted.outages[0]);
        assert_eq!((a.start, a.end, &a.stream), (b.start, b.end, &b.stream));
        assert_eq!(b.evidence.method, "binomial-pelt");
    }

    #[test]
    fn alerts_about_failures_are_told_by_their_words() {
        assert!(about_failures("HighErrorRate", "HighErrorRate on auth"));
        assert!(about_failures("AuthApi", "5xx above 5% for 5m"));
        assert!(about_failures("LowAvailability", ""));
        assert!(!about_failures("DiskSpaceLow", "DiskSpaceLow on infra"));
        assert!(!about_failures("BatchJobSlow", "BatchJobSlow on infra"));
    }

    #[test]
    fn finds_one_clear_window_to_the_minute() {
        // 1 failure in 200 normally; 80% failing from minute 100 to 160.
        let s = stream(
            300,
            |m| 100 + (m % 7) as u64 * 10,
            |m, n| {
                if (100..160).contains(&m) {
                    n * 8 / 10
                } else {
                    u64::from(m % 37 == 0)
                }
            },
        );
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let o = &d.outages[0];
        assert_eq!(o.start / NS_PER_SEC, 100 * 60);
        let end = o.end / NS_PER_SEC;
        assert!((159 * 60..=160 * 60).contains(&end), "end {end}");
        assert!(o.evidence.peak_rate > 0.7);
        assert!(o.evidence.baseline_rate < 0.01);
    }

    #[test]
    fn partial_outage_of_a_small_share_is_found_to_the_second() {
        // 2% background; 6% more of the requests fail from 10:20:30 to 11:05:10 (1,000/min).
        let mut s = stream(240, |_| 1_000, |m, _| if m % 2 == 0 { 25 } else { 15 });
        let (from, to) = (80 * 60 + 30, 125 * 60 + 10);
        for (sec, c) in s.seconds.iter_mut() {
            // Every 16th request of the window fails too: ~6 %.
            if (from..to).contains(sec) && sec % 16 == 0 {
                c.failed = c.requests;
            }
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert!((start - from).abs() <= 30, "start {start} vs {from}");
        assert!((end - to).abs() <= 30, "end {end} vs {to}");
    }

    /// Every request in [from, to) fails too (the others keep their failures).
    fn fail_seconds(s: &mut StreamAggregate, from_sec: i64, to_sec: i64) {
        for (_, c) in s.seconds.range_mut(from_sec..to_sec) {
            c.failed = c.requests;
        }
        failed_minutes_from_seconds(s);
    }

    /// Each minute's failures, summed again from its seconds (after a test changed them).
    fn failed_minutes_from_seconds(s: &mut StreamAggregate) {
        for (m, c) in s.minutes.iter_mut() {
            c.failed = s
                .seconds
                .range(*m..*m + 60)
                .map(|(_, c)| u64::from(c.failed))
                .sum();
        }
    }

    #[test]
    fn calm_day_with_a_blip_has_no_window() {
        // 1% errors with honest noise and one bad half-minute straddling two minutes.
        let mut s = stream(600, |m| 50 + (m % 11) as u64, |m, _| u64::from(m % 3 == 0));
        fail_seconds(&mut s, 300 * 60 + 40, 301 * 60 + 15);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
    }

    #[test]
    fn low_traffic_few_failures_is_not_an_outage() {
        let s = stream(200, |_| 3, |m, _| u64::from((50..53).contains(&m)));
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
    }

    #[test]
    fn traffic_collapse_is_an_outage_to_the_second() {
        // 60 requests a minute; nothing between 01:40:00 and 02:10:00.
        let mut s = stream(240, |_| 60, |_, _| 0);
        s.seconds
            .retain(|sec, _| !(100 * 60..130 * 60).contains(sec));
        s.minutes.retain(|m, _| !(100 * 60..130 * 60).contains(m));
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(d.outages[0].evidence.method, "traffic-collapse");
        assert_eq!(secs(&d.outages[0]), (100 * 60, 130 * 60));
    }

    #[test]
    fn a_quiet_night_is_not_a_collapse() {
        // 2 requests a minute with a 4-minute silence: ~8 were due, far from the bar.
        let mut s = stream(240, |_| 2, |_, _| 0);
        s.seconds
            .retain(|sec, _| !(100 * 60..104 * 60).contains(sec));
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
    }

    #[test]
    fn web_tier_5xx_with_a_silent_app_is_measured_on_the_web_tier() {
        let mut app = stream(240, |_| 100, |_, _| 0);
        app.seconds
            .retain(|sec, _| !(100 * 60..120 * 60).contains(sec));
        app.minutes.retain(|m, _| !(100 * 60..120 * 60).contains(m));
        let mut web = stream(240, |_| 100, |_, _| 0);
        web.identity.by_user_field = 0;
        web.identity.by_client_address = 1;
        spread(&mut web, 100 * 60, 120 * 60);
        let agg = aggregates_with(vec![
            (key(SourceKind::App, "svc"), app),
            (key(SourceKind::Web, ""), web),
        ]);
        let d = detect(&agg, &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let o = &d.outages[0];
        assert_eq!(o.stream.kind, SourceKind::Web);
        assert_eq!(secs(o), (100 * 60, 120 * 60));
        assert!(
            o.evidence
                .agreeing_streams
                .iter()
                .any(|s| s.contains("requests stopped")),
            "{:?}",
            o.evidence.agreeing_streams
        );
    }

    /// The request counts of `b` added to `a`'s.
    fn add_counts(a: &mut StreamAggregate, b: &StreamAggregate) {
        for (m, c) in &b.minutes {
            *a.minutes.entry(*m).or_default() += *c;
        }
        for (s, c) in &b.seconds {
            let e = a.seconds.entry(*s).or_default();
            e.requests += c.requests;
            e.failed += c.failed;
        }
    }

    #[test]
    fn one_service_failing_behind_a_web_tier_is_found_on_its_path_prefix() {
        // 5 % background everywhere; /b (30 % of the traffic) fails 12 % from minute 100 to
        // 220: the tier's rate rises by only a third, /b's more than doubles.
        let a = stream(400, |_| 70, |m, _| if m % 2 == 0 { 3 } else { 4 });
        let b = stream(
            400,
            |_| 30,
            |m, _| match (m % 2 == 0, (100..220).contains(&m)) {
                (true, false) => 1,
                (false, false) => 2,
                (true, true) => 3,
                (false, true) => 4,
            },
        );
        let mut web = StreamAggregate::default();
        add_counts(&mut web, &a);
        add_counts(&mut web, &b);
        web.identity.by_client_address = 1;
        let tier = key(SourceKind::Web, "");
        let d = detect(
            &aggregates_with(vec![(tier.clone(), web.clone())]),
            &DetectConfig::default(),
        )
        .unwrap();
        assert!(d.outages.is_empty(), "the tier alone: {:?}", d.outages);
        for (prefix, s) in [("/a", &a), ("/b", &b)] {
            web.by_path_prefix.insert(
                prefix.into(),
                PrefixCounts {
                    minutes: s.minutes.clone(),
                    seconds: s.seconds.clone(),
                },
            );
        }
        let d = detect(
            &aggregates_with(vec![(tier.clone(), web)]),
            &DetectConfig::default(),
        )
        .unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(d.outages[0].stream, tier);
        let (start, end) = secs(&d.outages[0]);
        assert!((start - 100 * 60).abs() <= 60, "start {start}");
        assert!((end - 220 * 60).abs() <= 60, "end {end}");
    }

    #[test]
    fn few_failures_over_an_expected_few_are_judged_by_the_likelihood() {
        // 20 failures of 876 where 0.7 % (6.1) were due: 5.6 standard deviations by the
        // normal approximation, about 4.4 by the likelihood ratio (the exact tail: 4.3).
        let (f, n, p): (f64, f64, f64) = (20.0, 876.0, 0.007);
        let normal = (f - n * p) / (n * p * (1.0 - p)).sqrt();
        let root = signed_root_deviance(f, n, p);
        assert!(
            normal > 5.0 && (4.2..4.6).contains(&root),
            "{normal} {root}"
        );
        // On large counts the two agree; below the rate the sign is negative.
        // (1,100 of 20,000 at 5 %: 3.24 by the normal approximation.)
        let root = signed_root_deviance(1_100.0, 20_000.0, 0.05);
        assert!((root - 3.2).abs() < 0.1, "{root}");
        assert!(signed_root_deviance(2.0, 876.0, 0.007) < 0.0);
        assert_eq!(signed_root_deviance(0.0, 0.0, 0.1), 0.0);
    }

    #[test]
    fn a_failure_of_the_whole_tier_is_not_a_prefix_of_its_own() {
        let config = DetectConfig::default();
        // The other prefixes fail 5 % against 2 % normally: the whole tier's blip.
        assert!(shared_by_rest(1_000, 50, 0.02, &config));
        // At their normal rate, or a stray failure or two above it: the prefix's own.
        assert!(!shared_by_rest(1_000, 22, 0.02, &config));
        assert!(!shared_by_rest(30, 3, 0.02, &config));
        assert!(!shared_by_rest(0, 0, 0.02, &config));
    }

    #[test]
    fn the_stream_spanning_the_outage_measures_it() {
        // The app (primary) fails for two minutes just before the web tier fails for forty.
        let mut app = stream(300, |_| 100, |_, _| 0);
        spread(&mut app, 96 * 60, 98 * 60);
        let mut web = stream(300, |_| 100, |_, _| 0);
        web.identity.by_user_field = 0;
        web.identity.by_client_address = 1;
        spread(&mut web, 100 * 60, 140 * 60);
        let agg = aggregates_with(vec![
            (key(SourceKind::App, "svc"), app),
            (key(SourceKind::Web, ""), web),
        ]);
        let d = detect(&agg, &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(d.outages[0].stream.kind, SourceKind::Web);
        assert_eq!(secs(&d.outages[0]), (100 * 60, 140 * 60));
    }

    #[test]
    fn a_silent_app_behind_a_failing_web_tier_is_measured_on_the_web_tier() {
        // For 80 s the app logs nothing while the web tier answers every request with 5xx: too
        // short for a failure window, long enough for a collapse; the web tier measures it.
        let mut app = stream(300, |_| 100, |_, _| 0);
        app.seconds.retain(|sec, _| !(6000..6080).contains(sec));
        for (m, c) in app.minutes.iter_mut() {
            c.requests = app
                .seconds
                .range(*m..*m + 60)
                .map(|(_, c)| u64::from(c.requests))
                .sum();
            c.events = c.requests;
        }
        let mut web = stream(300, |_| 100, |_, _| 0);
        for (sec, c) in web.seconds.range_mut(6000..6080) {
            let _ = sec;
            c.failed = c.requests;
        }
        failed_minutes_from_seconds(&mut web);
        let agg = aggregates_with(vec![
            (key(SourceKind::App, "svc"), app),
            (key(SourceKind::Web, ""), web),
        ]);
        let d = detect(&agg, &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(d.outages[0].stream.kind, SourceKind::Web, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert!(
            (5995..=6005).contains(&start) && (6075..=6085).contains(&end),
            "{start} {end}"
        );
    }

    #[test]
    fn a_blip_minutes_before_an_outage_does_not_move_its_start() {
        // 1 % background; a 30 s blip at minute 96, then 30 % failing from 100:00 to 125:00.
        let mut s = stream(300, |_| 600, |m, _| u64::from(m % 2 == 0) * 6);
        for (sec, c) in s.seconds.iter_mut() {
            let blip = (96 * 60 + 10..96 * 60 + 40).contains(sec) && sec % 2 == 0;
            let outage = (100 * 60..125 * 60).contains(sec) && sec % 10 < 3;
            if blip || outage {
                c.failed = c.requests;
            }
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert!((100 * 60..=100 * 60 + 5).contains(&start), "start {start}");
        assert!((125 * 60 - 10..=125 * 60).contains(&end), "end {end}");
    }

    #[test]
    fn wandering_background_beside_a_total_outage_does_not_extend_it() {
        // 3 % background on 10,000 a minute; ten minutes at 3.9 % (too little to open a window,
        // enough to extend one by the weaker test), then everything fails for eight minutes.
        let mut s = stream(
            240,
            |_| 10_000,
            |m, n| {
                let rate = if (100..110).contains(&m) {
                    0.039
                } else if m % 3 == 0 {
                    0.036
                } else {
                    0.027
                };
                (n as f64 * rate) as u64
            },
        );
        for (_, c) in s.seconds.range_mut(110 * 60..118 * 60) {
            c.failed = c.requests;
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert_eq!(start, 110 * 60);
        // The helper puts each minute's background failures first: one lands at 118:00.
        assert!((118 * 60..=118 * 60 + 5).contains(&end), "end {end}");
    }

    #[test]
    fn flapping_is_one_outage() {
        // Two minutes failing, two fine, for 40 minutes.
        let s = stream(
            300,
            |_| 200,
            |m, n| {
                if (100..140).contains(&m) && (m - 100) % 4 < 2 {
                    n / 2
                } else {
                    u64::from(m % 5 == 0)
                }
            },
        );
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert_eq!(start, 100 * 60);
        // The last failing minute is 137; its failures fill its first half.
        assert!((137 * 60..=138 * 60).contains(&end), "end {end}");
    }

    #[test]
    fn a_flapping_outage_keeps_its_short_first_and_last_flaps() {
        // 300 a minute, 1 % failing in even minutes; half the requests fail in flaps of 40 s,
        // 90 s, 100 s and 45 s, 70 s apart: the first and last flaps are shorter than a blip
        // but keep the rhythm.
        let mut s = stream(300, |_| 300, |m, _| u64::from(m % 2 == 0) * 3);
        let t0 = 151 * 60 + 10;
        let flaps = [(0, 40), (110, 200), (270, 370), (440, 485)];
        for (sec, c) in s.seconds.iter_mut() {
            let t = *sec - t0;
            if flaps.iter().any(|&(a, b)| (a..b).contains(&t)) {
                c.failed = c.requests.div_ceil(2);
            }
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert!((start - t0).abs() <= 2, "start {start} vs {t0}");
        assert!((end - (t0 + 485)).abs() <= 2, "end {end} vs {}", t0 + 485);
    }

    #[test]
    fn two_outages_in_a_day_stay_apart() {
        let s = stream(
            600,
            |_| 80,
            |m, n| {
                if (100..130).contains(&m) || (400..420).contains(&m) {
                    n
                } else {
                    0
                }
            },
        );
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        let windows: Vec<(i64, i64)> = d.outages.iter().map(secs).collect();
        assert_eq!(windows.len(), 2, "{windows:?}");
        assert_eq!(windows[0].0, 100 * 60);
        assert_eq!(windows[1].0, 400 * 60);
    }

    #[test]
    fn an_outage_open_at_the_end_ends_with_its_last_failure() {
        let mut s = stream(300, |_| 120, |_, _| 0);
        spread(&mut s, 250 * 60 + 17, 300 * 60);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert_eq!(start, 250 * 60 + 17);
        assert_eq!(end, 300 * 60);
    }

    #[test]
    fn an_outage_begun_before_the_logs_starts_with_them() {
        let mut s = stream(300, |_| 120, |_, _| 0);
        spread(&mut s, 0, 40 * 60 + 5);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(secs(&d.outages[0]), (0, 40 * 60 + 5));
    }

    #[test]
    fn a_gradual_ramp_is_caught_near_its_beginning() {
        // Failure share grows by 4 points a minute for 20 minutes, then holds at 80%.
        let s = stream(
            300,
            |_| 300,
            |m, n| {
                if (100..200).contains(&m) {
                    n * (((m - 99) * 4).min(80) as u64) / 100
                } else {
                    u64::from(m % 4 == 0)
                }
            },
        );
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, _) = secs(&d.outages[0]);
        assert!((100 * 60..=102 * 60).contains(&start), "start {start}");
    }

    #[test]
    fn the_service_that_failed_is_named() {
        let a = stream(300, |_| 300, |_, _| 0);
        let b = stream(
            300,
            |_| 40,
            |m, n| if (100..150).contains(&m) { n } else { 0 },
        );
        let agg = aggregates_with(vec![
            (key(SourceKind::App, "auth"), a),
            (key(SourceKind::App, "payments"), b),
        ]);
        let d = detect(&agg, &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(d.outages[0].stream.service, "payments");
    }

    #[test]
    fn a_short_sharp_outage_is_found_beside_a_busy_wandering_spike() {
        // 4 % background wandering ×0.6–1.4 from minute to minute; a traffic spike of 14,000
        // a minute for the first hour, then 2,900; 30 % failing for two minutes after it.
        let wander = |m: i64| 0.6 + 0.8 * ((m * 7919 % 101) as f64 / 100.0);
        let mut s = stream(
            120,
            |m| if m < 60 { 14_000 } else { 2_900 },
            |m, n| (n as f64 * 0.04 * wander(m)) as u64,
        );
        for (_, c) in s.seconds.range_mut(62 * 60..64 * 60) {
            c.failed = c.requests * 3 / 10;
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert_eq!(start, 62 * 60);
        assert!((64 * 60..=64 * 60 + 10).contains(&end), "end {end}");
    }

    #[test]
    fn extra_rate_variance_is_zero_for_binomial_noise_and_grows_with_wander() {
        // Exact expectations: no wander at all.
        let n = vec![1_000.0; 200];
        let f = vec![20.0; 200];
        assert_eq!(extra_rate_variance(&f, &n).0, 0.0);
        // The rate alternates between 1 % and 3 % on 10,000 requests: binomial noise explains
        // almost none of a 2-point difference, so τ² is near its square's half.
        let n = vec![10_000.0; 200];
        let f: Vec<f64> = (0..200)
            .map(|i| if i % 2 == 0 { 100.0 } else { 300.0 })
            .collect();
        let tau2 = extra_rate_variance(&f, &n).0;
        assert!((1e-4..1e-3).contains(&tau2), "{tau2}");
        // Effective counts shrink the busy minutes only.
        let (ef, en) = effective_counts(&f, &n);
        assert!(en[0] < 1_000.0 && (ef[0] / en[0] - 0.01).abs() < 1e-9);
    }

    #[test]
    fn two_blips_half_a_minute_apart_are_not_an_outage() {
        // 500 a minute at 1 %; 20 s failing, 36 s fine, 43 s failing (half the requests).
        let mut s = stream(300, |_| 500, |m, _| u64::from(m % 2 == 0) * 5);
        for (sec, c) in s.seconds.iter_mut() {
            let t = *sec - 150 * 60;
            if ((0..20).contains(&t) || (56..99).contains(&t)) && sec % 2 == 0 {
                c.failed = c.requests;
            }
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
    }

    #[test]
    fn an_outage_of_a_minute_with_every_request_failing_is_kept() {
        // 600 a minute at 1 %; every request fails for 66 s straddling two minutes.
        let mut s = stream(300, |_| 600, |m, _| u64::from(m % 2 == 0) * 12);
        let (from, to) = (150 * 60 + 30, 151 * 60 + 36);
        fail_seconds(&mut s, from, to);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let (start, end) = secs(&d.outages[0]);
        assert!(
            (start - from).abs() <= 2 && (end - to).abs() <= 2,
            "{start}..{end}"
        );
    }

    #[test]
    fn a_blip_of_under_a_minute_or_a_mild_minute_is_not_an_outage() {
        // The same day with a 50 s blip: no window.
        let mut s = stream(300, |_| 600, |m, _| u64::from(m % 2 == 0) * 12);
        fail_seconds(&mut s, 150 * 60 + 30, 151 * 60 + 20);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
        // 66 s in which one request in ten fails: a minute of that is not enough.
        let mut s = stream(300, |_| 600, |m, _| u64::from(m % 2 == 0) * 12);
        for (sec, c) in s.seconds.range_mut(150 * 60 + 30..151 * 60 + 36) {
            c.failed = u32::from(sec % 10 == 0) * c.requests;
        }
        failed_minutes_from_seconds(&mut s);
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
    }

    #[test]
    fn episodes_split_at_a_clear_return_to_baseline_only() {
        let mut seconds = BTreeMap::new();
        for s in 0..300 {
            let failed = u32::from((50..80).contains(&s) || (120..170).contains(&s));
            seconds.insert(
                s,
                SecondCounts {
                    requests: 10,
                    failed: failed * 5,
                },
            );
        }
        assert_eq!(
            episodes(&seconds, 0, 300, 0.01, 0.5),
            vec![(50, 80), (120, 170)]
        );
        // Sparse failures of a small partial outage (one request in 15 fails, on 2 a second)
        // stay one episode.
        let mut sparse = BTreeMap::new();
        for s in 0..600 {
            sparse.insert(
                s,
                SecondCounts {
                    requests: 2,
                    failed: u32::from((100..400).contains(&s) && s % 7 == 0),
                },
            );
        }
        assert_eq!(episodes(&sparse, 0, 600, 0.005, 0.07), vec![(105, 400)]);
    }

    #[test]
    fn a_silence_of_a_minute_and_more_is_a_collapse_but_a_restart_is_not() {
        let mut s = stream(240, |_| 600, |_, _| 0);
        // 75 s without a request at 10 a second, and a 30 s restart later.
        s.seconds
            .retain(|sec, _| !(100 * 60 + 10..100 * 60 + 85).contains(sec));
        s.seconds
            .retain(|sec, _| !(180 * 60..180 * 60 + 30).contains(sec));
        let d = detect(&one(s), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        assert_eq!(d.outages[0].evidence.method, "traffic-collapse");
        assert_eq!(secs(&d.outages[0]), (100 * 60 + 10, 100 * 60 + 85));
    }

    #[test]
    fn pelt_splits_at_the_change() {
        let f: Vec<f64> = (0..100).map(|i| if i >= 60 { 50.0 } else { 1.0 }).collect();
        let n = vec![100.0; 100];
        let bounds = pelt(&Cost::binomial(&f, &n), 100, 3.0 * 100f64.ln());
        assert_eq!(bounds, vec![60, 100]);
    }

    #[test]
    fn refine_finds_the_second() {
        let mut seconds = BTreeMap::new();
        for s in 0..600 {
            let failed = u32::from((250..480).contains(&s));
            seconds.insert(
                s,
                SecondCounts {
                    requests: 1,
                    failed,
                },
            );
        }
        let (start, end) = refine(
            &seconds,
            i64::MIN,
            (240, 480),
            (i64::MIN, i64::MAX),
            0.001,
            120,
        );
        assert_eq!((start, end), (250, 480));
    }

    /// Per-second counts: `per_sec` requests a second from `from` to `to`, of which a share
    /// `rate(second)` fail, spread evenly (a running total, so no randomness).
    fn even_seconds(
        from: i64,
        to: i64,
        per_sec: u32,
        rate: impl Fn(i64) -> f64,
    ) -> BTreeMap<i64, SecondCounts> {
        let mut out = BTreeMap::new();
        let mut owed = 0.0;
        for s in from..to {
            owed += rate(s) * f64::from(per_sec);
            let failed = (owed.floor() as u32).min(per_sec);
            owed -= f64::from(failed);
            out.insert(
                s,
                SecondCounts {
                    requests: per_sec,
                    failed,
                },
            );
        }
        out
    }

    #[test]
    fn a_slow_ramp_is_dated_from_where_it_leaves_the_baseline() {
        // 2 % background; from 01:40:00 the share climbs by a point a minute for 20 minutes.
        let onset = 100 * 60;
        let rate = |s: i64| 0.02 + ((s - onset) as f64 / 60.0).clamp(0.0, 20.0) * 0.01;
        let seconds = even_seconds(0, 200 * 60, 5, rate);
        // The minute segmentation opens the window minutes into the climb.
        let found = ramp_onset(&seconds, i64::MIN, onset + 6 * 60, 160 * 60);
        let t0 = found.expect("a ramp");
        assert!((t0 - onset).abs() <= 60, "onset {t0} vs {onset}");
        let (start, _) = refine(
            &seconds,
            i64::MIN,
            (onset + 6 * 60, 160 * 60),
            (i64::MIN, i64::MAX),
            0.02,
            120,
        );
        assert!((start - onset).abs() <= 60, "start {start} vs {onset}");
    }

    #[test]
    fn an_outage_on_where_the_data_begin_and_end_starts_and_ends_with_them() {
        // 12 % failing from before the logs begin to after they end (5 % normally), a little
        // less in the first and last two minutes: no evidence of a switch there.
        let end = 200 * 60;
        let rate = |s: i64| {
            if s < 120 || s >= end - 120 {
                0.07
            } else {
                0.12
            }
        };
        let seconds = even_seconds(0, end, 2, rate);
        let first = seconds.iter().find(|(_, c)| c.failed > 0).map(|(s, _)| *s);
        let last = seconds
            .iter()
            .rev()
            .find(|(_, c)| c.failed > 0)
            .map(|(s, _)| s + 1);
        let (start, stop) = refine(&seconds, i64::MIN, (0, end), (0, end), 0.05, 120);
        assert_eq!((Some(start), Some(stop)), (first, last));
        // Inside the data, the same seconds would have the rate switch two minutes in.
        let (start, stop) = refine(
            &seconds,
            i64::MIN,
            (0, end),
            (i64::MIN, i64::MAX),
            0.05,
            120,
        );
        assert!(start >= 100 && stop <= end - 100, "{start}..{stop}");
    }

    #[test]
    fn a_sharp_onset_is_no_ramp() {
        // 2 % background, then 30 % from 01:40:20: a step, which the step split places.
        let onset = 100 * 60 + 20;
        let rate = |s: i64| if s >= onset { 0.3 } else { 0.02 };
        let seconds = even_seconds(0, 200 * 60, 5, rate);
        assert_eq!(ramp_onset(&seconds, i64::MIN, 100 * 60, 160 * 60), None);
        let (start, _) = refine(
            &seconds,
            i64::MIN,
            (100 * 60, 160 * 60),
            (i64::MIN, i64::MAX),
            0.02,
            120,
        );
        assert!((start - onset).abs() <= 5, "start {start} vs {onset}");
    }

    #[test]
    fn a_ramp_is_not_searched_before_the_window_ahead_of_it() {
        // A burst at 01:30 (its own window, ending 01:31) and a climb from 01:40: the climb's
        // onset is searched after the burst's window only.
        let onset = 100 * 60;
        let rate = |s: i64| {
            if (90 * 60..90 * 60 + 40).contains(&s) {
                0.9
            } else {
                0.02 + ((s - onset) as f64 / 60.0).clamp(0.0, 20.0) * 0.01
            }
        };
        let seconds = even_seconds(0, 200 * 60, 5, rate);
        let t0 = ramp_onset(&seconds, 91 * 60, onset + 6 * 60, 160 * 60).expect("a ramp");
        assert!((t0 - onset).abs() <= 60, "onset {t0} vs {onset}");
    }

    #[test]
    fn a_bad_background_minute_before_a_partial_outage_does_not_pull_its_start() {
        // 2 % background, 5 % in the minute before the outage (a bad minute), then 15 % from
        // 01:40:00: the step is placed against the outage's own rate, not half of it.
        let onset = 100 * 60;
        let rate = |s: i64| match s {
            s if s >= onset => 0.15,
            s if s >= onset - 150 => 0.05,
            _ => 0.02,
        };
        let seconds = even_seconds(0, 200 * 60, 2, rate);
        let (start, _) = refine(
            &seconds,
            i64::MIN,
            (onset, 160 * 60),
            (i64::MIN, i64::MAX),
            0.02,
            120,
        );
        assert!((start - onset).abs() <= 15, "start {start} vs {onset}");
    }

    #[test]
    fn a_blip_before_a_quiet_partial_outage_is_cut_off_at_the_silence() {
        // 2 requests a second, 1 % background; a blip of 40 s failing 45 %, 90 s of background,
        // then 10 % failing: at this traffic the episode chain cannot split the 90 s, but the
        // outage's own rate would have put 18 failures in them.
        let (blip, onset) = (1000, 1130);
        let rate = |s: i64| match s {
            s if (blip..blip + 40).contains(&s) => 0.45,
            s if s >= onset => 0.10,
            _ => 0.01,
        };
        let seconds = even_seconds(0, 3000, 2, rate);
        let (start, end) = cut_edge_bursts(&seconds, blip, 2000, 0.01, 60);
        assert!((onset..=onset + 10).contains(&start), "start {start}");
        assert!((1990..=2000).contains(&end), "end {end}");
    }

    #[test]
    fn a_first_flap_at_the_outage_rate_is_not_cut_off() {
        // 20 requests a second; a first flap of 50 s and, 90 s later, the rest of the outage,
        // both failing 30 %: same rate, so the same fault.
        let (flap, onset) = (1000, 1140);
        let rate = |s: i64| {
            if (flap..flap + 50).contains(&s) || s >= onset {
                0.30
            } else {
                0.0
            }
        };
        let seconds = even_seconds(0, 3000, 20, rate);
        assert_eq!(cut_edge_bursts(&seconds, flap, 2000, 0.0, 60), (flap, 2000));
    }

    #[test]
    fn a_bad_minute_after_an_outage_is_trimmed_across_a_weak_wander() {
        // 100 requests a second, 3 % background; 22 % failing for 180 s, background again
        // except 30 s at 6 % 45 s later (a wander of the background, an episode of its own),
        // then a bad minute at 9 % three minutes after the outage: the end stays with the
        // outage.
        let (onset, off) = (6000, 6180);
        let rate = |s: i64| match s {
            s if (onset..off).contains(&s) => 0.22,
            s if (off + 45..off + 75).contains(&s) => 0.06,
            s if (off + 180..off + 240).contains(&s) => 0.09,
            _ => 0.03,
        };
        let seconds = even_seconds(0, 9000, 100, rate);
        let (start, end) = trim_edge_blips(&seconds, onset, off + 240, 0.03, (75, 60));
        assert_eq!(start, onset);
        assert!((off - 5..=off + 5).contains(&end), "end {end}");
    }

    #[test]
    fn an_outage_trimmed_of_a_later_bad_minute_ends_where_its_rate_drops() {
        // 100 requests a second, 3 % background; 25 % failing for 180 s, then 5 % for 45 s (a
        // wander the episode chain takes for the outage's tail), then a bad minute at 9 %
        // three minutes after the outage: the end is the likeliest drop from the outage's
        // rate to the baseline, not the end of the episode.
        let (onset, off) = (6000, 6180);
        let rate = |s: i64| match s {
            s if (onset..off).contains(&s) => 0.25,
            s if (off..off + 45).contains(&s) => 0.05,
            s if (off + 180..off + 240).contains(&s) => 0.09,
            _ => 0.03,
        };
        let seconds = even_seconds(0, 9000, 100, rate);
        let (_, end) = trim_edge_blips(&seconds, onset, off + 240, 0.03, (75, 60));
        assert!((off - 5..=off + 5).contains(&end), "end {end}");
    }

    #[test]
    fn minute_frame_fills_gaps() {
        let mut s = StreamAggregate::default();
        s.minutes.insert(
            0,
            MinuteCounts {
                requests: 10,
                failed: 1,
                error_events: 1,
                events: 10,
            },
        );
        s.minutes.insert(
            180,
            MinuteCounts {
                requests: 4,
                failed: 4,
                error_events: 4,
                events: 4,
            },
        );
        let frame = minute_frame(&s, (0, 180)).unwrap();
        assert_eq!(frame.height(), 4);
        let rate = column_f64(&frame, "error_rate").unwrap();
        assert!((rate[0] - 0.1).abs() < 1e-9);
        assert!(rate[1].is_nan());
        assert_eq!(rate[3], 1.0);
    }
}
