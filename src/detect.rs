//! Detect: finds outage windows in the per-minute series by penalised change-point segmentation
//! (PELT) with a cost that fits counts (binomial for failed/total requests, Poisson for error
//! lines), keeps the segments that are both significant and large, and refines their edges to
//! the second from the failing requests themselves.

use std::collections::BTreeMap;

use polars::prelude::*;

use crate::aggregate::{Aggregates, SecondCounts, StreamAggregate, StreamKey};
use crate::event::{NS_PER_SEC, SourceKind, TimeNs};

/// Tuning of the detector. The defaults are what the tests and the reference incident use.
#[derive(Debug, Clone, Copy)]
pub struct DetectConfig {
    /// One-sided z-score a segment's excess failures must reach (after overdispersion).
    pub min_z: f64,
    /// Smallest rise of the failure rate above baseline, absolute (0.02 = 2 points).
    pub min_rate_increase: f64,
    /// The failure rate must also be at least this multiple of the baseline.
    pub min_rate_ratio: f64,
    /// Fewest excess failures (above what the baseline explains) a window must hold.
    pub min_excess_failures: f64,
    /// Shortest window kept, in minutes: a one-minute burst is a blip, not an outage.
    pub min_minutes: i64,
    /// Windows closer than this (minutes) are one outage.
    pub merge_gap_minutes: i64,
    /// How far (seconds) around a window's minute edge the refinement looks.
    pub refine_margin_secs: i64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            min_z: 4.0,
            min_rate_increase: 0.02,
            min_rate_ratio: 3.0,
            min_excess_failures: 8.0,
            min_minutes: 2,
            merge_gap_minutes: 5,
            refine_margin_secs: 120,
        }
    }
}

/// Why a window was called an outage.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
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
        let u = stream.users.get(&m);
        minute.push(m);
        requests.push(c.requests as i64);
        failed.push(c.failed as i64);
        errors.push(c.error_events as i64);
        active.push(u.map_or(0, |u| u.active.len() as i64));
        failing.push(u.map_or(0, |u| u.failing.len() as i64));
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

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Overdispersion from neighbouring minutes: squared differences of their rates over what
/// binomial noise predicts, median-based so change points barely move it. The median of a
/// χ²₁ variable is 0.455.
fn binomial_dispersion(f: &[f64], n: &[f64]) -> f64 {
    let mut rates: Vec<f64> = f
        .iter()
        .zip(n)
        .filter(|(_, n)| **n > 0.0)
        .map(|(f, n)| f / n)
        .collect();
    let pooled = median(&mut rates).unwrap_or(0.0).max(1e-3);
    let mut ratios = Vec::new();
    for i in 1..n.len() {
        if n[i] > 0.0 && n[i - 1] > 0.0 {
            let d = f[i] / n[i] - f[i - 1] / n[i - 1];
            let var = pooled * (1.0 - pooled) * (1.0 / n[i] + 1.0 / n[i - 1]);
            ratios.push(d * d / var);
        }
    }
    (median(&mut ratios).unwrap_or(0.455) / 0.455).clamp(1.0, 1000.0)
}

fn poisson_dispersion(c: &[f64]) -> f64 {
    let mut sorted = c.to_vec();
    let pooled = median(&mut sorted).unwrap_or(0.0).max(0.5);
    let mut ratios: Vec<f64> = c
        .windows(2)
        .map(|w| (w[1] - w[0]).powi(2) / (2.0 * pooled))
        .collect();
    (median(&mut ratios).unwrap_or(0.455) / 0.455).clamp(1.0, 1000.0)
}

/// A segment found by PELT, with its counts.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: usize,
    end: usize,
    events: f64,
    trials: f64,
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
}

/// Segments → elevated minute windows. `trials` is requests for binomial, minutes for Poisson.
fn elevated_windows(
    events: &[f64],
    trials: &[f64],
    bounds: &[usize],
    dispersion: f64,
    poisson: bool,
    config: &DetectConfig,
) -> (Vec<MinuteWindow>, f64) {
    let mut segments = Vec::new();
    let mut start = 0;
    for &end in bounds {
        segments.push(Segment {
            start,
            end,
            events: events[start..end].iter().sum(),
            trials: trials[start..end].iter().sum(),
        });
        start = end;
    }
    let total_trials: f64 = trials.iter().sum();
    let baseline = baseline_rate(&segments, total_trials, poisson);
    let floor = if poisson { 0.2 } else { 0.002 };
    let p0 = baseline.max(floor);
    let mut windows: Vec<MinuteWindow> = Vec::new();
    for seg in &segments {
        if seg.trials <= 0.0 {
            continue;
        }
        let rate = seg.rate();
        let expected = seg.trials * p0;
        let variance = if poisson {
            dispersion * expected
        } else {
            dispersion * seg.trials * p0 * (1.0 - p0)
        };
        let excess = seg.events - seg.trials * baseline;
        let z = (seg.events - expected) / variance.max(1e-9).sqrt();
        let (min_increase, min_excess) = if poisson {
            // Error lines per minute: a rise of a few lines a minute is noise.
            (5.0, config.min_excess_failures * 3.0)
        } else {
            (config.min_rate_increase, config.min_excess_failures)
        };
        let elevated = z >= config.min_z
            && rate - baseline >= min_increase
            && rate >= config.min_rate_ratio * baseline
            && excess >= min_excess;
        if !elevated {
            continue;
        }
        match windows.last_mut() {
            Some(w) if seg.start <= w.end + config.merge_gap_minutes as usize => {
                w.end = seg.end;
                w.z = w.z.max(z);
                w.change_points.push(seg.start);
                w.change_points.push(seg.end);
            }
            _ => windows.push(MinuteWindow {
                start: seg.start,
                end: seg.end,
                z,
                change_points: vec![seg.start, seg.end],
            }),
        }
    }
    windows.retain(|w| (w.end - w.start) as i64 >= config.min_minutes);
    for w in &mut windows {
        w.change_points.sort_unstable();
        w.change_points.dedup();
    }
    (windows, baseline)
}

/// The normal failure rate: the lowest-rate segment among those holding a real share of the
/// traffic (10% of it, or an hour), so an outage longer than the calm period does not become
/// the baseline, and a quiet night does not make a normal day look elevated.
fn baseline_rate(segments: &[Segment], total_trials: f64, poisson: bool) -> f64 {
    let substantial = |s: &&Segment| {
        let minutes = (s.end - s.start) as f64;
        s.trials > 0.0
            && (s.trials >= 0.1 * total_trials || minutes >= 60.0 || poisson && minutes >= 30.0)
    };
    let pick = segments
        .iter()
        .filter(substantial)
        .min_by(|a, b| a.rate().total_cmp(&b.rate()))
        .or_else(|| {
            segments
                .iter()
                .filter(|s| s.trials > 0.0)
                .max_by(|a, b| a.trials.total_cmp(&b.trials))
        });
    pick.map_or(0.0, |s| s.rate())
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
    let slice: Vec<(i64, SecondCounts)> = seconds.range(lo..hi).map(|(s, c)| (*s, *c)).collect();
    if slice.is_empty() {
        return None;
    }
    // Everything "after" first, then move seconds to "before" one by one.
    let mut ll: f64 = slice.iter().map(|(_, c)| loglik(c, p_after)).sum();
    let mut best = (ll, slice[0].0);
    for (i, (_, c)) in slice.iter().enumerate() {
        ll += loglik(c, p_before) - loglik(c, p_after);
        let next = slice.get(i + 1).map_or(hi, |(s, _)| *s);
        if ll > best.0 {
            best = (ll, next);
        }
    }
    Some(best.1)
}

/// Refines a window's minute edges to the second: the likeliest switch of the failure rate
/// near each edge, snapped to the first (last) failing request after (before) it.
fn refine(
    seconds: &BTreeMap<i64, SecondCounts>,
    start_min: i64,
    end_min: i64,
    baseline: f64,
    window_rate: f64,
    margin: i64,
) -> (i64, i64) {
    let p0 = baseline.max(1e-4);
    let p1 = window_rate.max(p0 * 2.0);
    let start = best_split(
        seconds,
        start_min - margin,
        (start_min + margin).min(end_min),
        p0,
        p1,
    )
    .and_then(|split| {
        seconds
            .range(split..end_min)
            .find(|(_, c)| c.failed > 0)
            .map(|(s, _)| *s)
    })
    .unwrap_or(start_min);
    let end = best_split(
        seconds,
        (end_min - margin).max(start),
        end_min + margin,
        p1,
        p0,
    )
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

/// Detection on one series.
struct StreamWindows {
    key: StreamKey,
    windows: Vec<Outage>,
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

fn detect_stream(
    key: &StreamKey,
    stream: &StreamAggregate,
    use_requests: bool,
    config: &DetectConfig,
) -> PolarsResult<StreamWindows> {
    let mut result = StreamWindows {
        key: key.clone(),
        windows: Vec::new(),
    };
    for island in islands(stream, use_requests) {
        detect_island(key, stream, island, use_requests, config, &mut result)?;
    }
    Ok(result)
}

fn detect_island(
    key: &StreamKey,
    stream: &StreamAggregate,
    span: (i64, i64),
    use_requests: bool,
    config: &DetectConfig,
    result: &mut StreamWindows,
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
    let (cost, dispersion) = if poisson {
        (Cost::poisson(&events), poisson_dispersion(&events))
    } else {
        (
            Cost::binomial(&events, &trials),
            binomial_dispersion(&events, &trials),
        )
    };
    // BIC-like penalty per change point, scaled by the dispersion (quasi-likelihood).
    let penalty = 3.0 * (n as f64).ln().max(1.0) * dispersion;
    let bounds = pelt(&cost, n, penalty);
    let (windows, baseline) =
        elevated_windows(&events, &trials, &bounds, dispersion, poisson, config);
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
        let (start, end) = if use_requests {
            refine(
                &stream.seconds,
                start_min,
                end_min,
                baseline,
                window_rate,
                config.refine_margin_secs,
            )
        } else {
            (start_min, end_min)
        };
        result.windows.push(Outage {
            start: start * NS_PER_SEC,
            end: end * NS_PER_SEC,
            stream: key.clone(),
            evidence: Evidence {
                method: if poisson {
                    "poisson-pelt"
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
            },
        });
    }
    Ok(())
}

/// Runs detection on every stream and combines the windows into outages.
///
/// Requests are the signal where they exist: the primary series is the request stream that
/// identifies users (the app, usually), else the busiest one. Windows of other request streams
/// that overlap an outage corroborate it; those that overlap none (a web tier answering 5xx
/// while the app is silent) are outages of their own. Error-line series are used only when no
/// source logs requests.
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
    let mut per_stream = Vec::new();
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
                per_stream.push(detect_stream(key, stream, false, config)?);
            }
        }
    } else {
        for (key, stream) in &request_streams {
            per_stream.push(detect_stream(key, stream, true, config)?);
        }
    }
    // Primary stream first so its windows define the outages they share with others.
    per_stream.sort_by_key(|s| (Some(&s.key) != primary.as_ref(), s.key.clone()));
    let slack = config.merge_gap_minutes * 60 * NS_PER_SEC;
    for stream in per_stream {
        for window in stream.windows {
            let overlapping = detection
                .outages
                .iter_mut()
                .find(|o| window.start < o.end + slack && o.start < window.end + slack);
            match overlapping {
                Some(outage) => {
                    let label = window.stream.label();
                    if !outage.evidence.agreeing_streams.contains(&label) {
                        outage.evidence.agreeing_streams.push(label);
                    }
                }
                None => detection.outages.push(window),
            }
        }
    }
    detection.outages.sort_by_key(|o| o.start);
    detection.primary_stream = primary;
    Ok(detection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::MinuteCounts;

    /// A stream with `rate(minute)` failures out of `volume(minute)` requests, spread over
    /// each minute's seconds.
    fn stream(
        minutes: i64,
        volume: impl Fn(i64) -> u64,
        failed: impl Fn(i64, u64) -> u64,
    ) -> StreamAggregate {
        let mut s = StreamAggregate::default();
        for m in 0..minutes {
            let n = volume(m);
            let f = failed(m, n);
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
                // Failures first within the minute: deterministic.
                c.failed += u32::from(i < f);
            }
        }
        s
    }

    fn aggregates_with(s: StreamAggregate, minutes: i64) -> Aggregates {
        let mut agg = Aggregates::default();
        agg.streams.insert(
            StreamKey {
                kind: SourceKind::App,
                service: "svc".into(),
            },
            s,
        );
        agg.first = Some(0);
        agg.last = Some((minutes * 60 - 1) * NS_PER_SEC);
        agg
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
                } else if m % 37 == 0 {
                    1
                } else {
                    0
                }
            },
        );
        let d = detect(&aggregates_with(s, 300), &DetectConfig::default()).unwrap();
        assert_eq!(d.outages.len(), 1, "{:?}", d.outages);
        let o = &d.outages[0];
        assert_eq!(o.start / NS_PER_SEC, 100 * 60);
        // The last failure of the last bad minute ends the window.
        let end = o.end / NS_PER_SEC;
        assert!((159 * 60..=160 * 60).contains(&end), "end {end}");
        assert!(o.evidence.peak_rate > 0.7);
        assert!(o.evidence.baseline_rate < 0.01);
    }

    #[test]
    fn calm_day_with_a_blip_has_no_window() {
        // 1% errors with honest noise and one bad minute.
        let s = stream(
            600,
            |m| 50 + (m % 11) as u64,
            |m, _| {
                if m == 300 {
                    12
                } else if m % 3 == 0 {
                    1
                } else {
                    0
                }
            },
        );
        let d = detect(&aggregates_with(s, 600), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
    }

    #[test]
    fn low_traffic_few_failures_is_not_an_outage() {
        let s = stream(200, |_| 3, |m, _| u64::from((50..53).contains(&m)));
        let d = detect(&aggregates_with(s, 200), &DetectConfig::default()).unwrap();
        assert!(d.outages.is_empty(), "{:?}", d.outages);
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
        let (start, end) = refine(&seconds, 240, 480, 0.001, 0.9, 120);
        assert_eq!((start, end), (250, 480));
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
