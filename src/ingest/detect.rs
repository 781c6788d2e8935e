//! Format detection: every known format scores the first lines (or the first records of a JSON
//! document); the best wins if it is convincing, else the file is reported as not recognised.
//!
//! A format's score on a sample is the mean strength of the lines it recognises, scaled by the
//! share of lines it accounts for (recognised, or continuation lines it would join). Specific
//! formats answer 85 and more on their lines, catch-alls 60 or less, so a specific format beats
//! a generic one that also matches; a file name that suggests a format adds a little.

use serde_json::Value;

use super::formats::{FORMATS, LineFormat, Multiline, json};
use super::multiline::looks_like_continuation;

/// Below this score (0..100) the best format is only a guess: the file is not recognised.
pub const MIN_SCORE: f64 = 35.0;
/// Added to a format's score when the file name suggests it.
const NAME_HINT_BONUS: f64 = 5.0;

/// The outcome of detection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Detection {
    /// The chosen format and its confidence (0..=1), when convincing.
    pub chosen: Option<(&'static dyn LineFormat, f64)>,
    /// The best candidate and its score, also when too weak to be chosen.
    pub best_guess: Option<(&'static str, f64)>,
    /// Share of the sample the best candidate accounts for (records and their continuations).
    pub coverage: f64,
}

/// A sampled line, parsed once as JSON when it looks like an object.
pub struct SampleLine<'a> {
    pub text: &'a str,
    pub json: Option<Value>,
}

impl<'a> SampleLine<'a> {
    pub fn new(text: &'a str) -> SampleLine<'a> {
        let json = if text.trim_start().starts_with('{') {
            json::parse_value(text).ok()
        } else {
            None
        };
        SampleLine { text, json }
    }
}

/// Whether the file name suggests the format (`postgresql.log` for PostgreSQL...).
fn name_suggests(path_lower: &str, format: &dyn LineFormat) -> bool {
    let name = path_lower.rsplit(['/', '\\']).next().unwrap_or(path_lower);
    format
        .name_hints()
        .iter()
        .any(|hint| name.contains(hint) || path_lower.contains(&format!("/{hint}")))
}

/// Picks the best format; `score_of` gives a format's score (0..100) and coverage (0..1).
fn pick(
    path: &str,
    mut score_of: impl FnMut(&'static dyn LineFormat) -> Option<(f64, f64)>,
) -> Detection {
    let lower = path.to_ascii_lowercase();
    let mut best: Option<(&'static dyn LineFormat, f64, f64, f64)> = None;
    for format in FORMATS.iter().copied() {
        let Some((score, coverage)) = score_of(format) else {
            continue;
        };
        let ranked = if name_suggests(&lower, format) {
            score + NAME_HINT_BONUS
        } else {
            score
        };
        if best.is_none_or(|(_, _, b, _)| ranked > b) {
            best = Some((format, score, ranked, coverage));
        }
    }
    match best {
        Some((format, score, _, coverage)) => Detection {
            chosen: (score >= MIN_SCORE).then_some((format, (score / 100.0).min(1.0))),
            best_guess: Some((format.name(), score)),
            coverage,
        },
        None => Detection::default(),
    }
}

/// Scores the sampled lines of a line-oriented file (blank lines are left out).
pub fn detect_lines(path: &str, lines: &[SampleLine<'_>]) -> Detection {
    let sample: Vec<&SampleLine<'_>> = lines.iter().filter(|l| !l.text.trim().is_empty()).collect();
    if sample.is_empty() {
        return Detection::default();
    }
    let n = sample.len() as f64;
    pick(path, |format| {
        let mut recognised = 0u32;
        let mut total = 0u32;
        let mut continued = 0.0;
        for line in &sample {
            let s = match &line.json {
                Some(v) => format.sniff_json(v),
                None => format.sniff(line.text),
            };
            if s > 0 {
                recognised += 1;
                total += u32::from(s.min(100));
            } else if looks_like_continuation(line.text) {
                continued += 1.0;
            } else if format.multiline() == Multiline::AnyLine && line.json.is_none() {
                // Free-form continuation lines are likely but not certain: half credit.
                continued += 0.5;
            }
        }
        if recognised == 0 {
            return None;
        }
        let quality = f64::from(total) / f64::from(recognised);
        let coverage = ((f64::from(recognised) + continued) / n).min(1.0);
        Some((quality * coverage, coverage))
    })
}

/// Scores the first records of a JSON document.
pub fn detect_document(path: &str, records: &[&Value]) -> Detection {
    if records.is_empty() {
        return Detection::default();
    }
    let n = records.len() as f64;
    pick(path, |format| {
        let scores: Vec<u8> = records.iter().map(|v| format.sniff_json(v)).collect();
        if scores.iter().all(|s| *s == 0) {
            return None;
        }
        let recognised = scores.iter().filter(|s| **s > 0).count() as f64;
        Some((
            scores.iter().map(|s| f64::from(*s)).sum::<f64>() / n,
            recognised / n,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(path: &str, text: &str) -> Option<&'static str> {
        let lines: Vec<SampleLine<'_>> = text.lines().map(SampleLine::new).collect();
        detect_lines(path, &lines).chosen.map(|(f, _)| f.name())
    }

    #[test]
    fn specific_formats_beat_catch_alls() {
        assert_eq!(
            detect(
                "app.log",
                r#"{"level":30,"time":1697396401204,"pid":7,"hostname":"web-1","name":"api","msg":"listening","v":0}"#
            ),
            Some("bunyan")
        );
        assert_eq!(
            detect(
                "app.log",
                r#"{"timestamp":"2023-10-15T15:00:01Z","level":"info","message":"hello"}"#
            ),
            Some("json")
        );
        assert_eq!(
            detect(
                "x.log",
                "2023-10-15 15:00:01.002 EDT [48301] ERROR:  relation \"sessions\" does not exist"
            ),
            Some("postgres-stderr")
        );
    }

    #[test]
    fn weak_evidence_is_not_recognised() {
        assert_eq!(detect("notes.txt", "hello\nworld\nnothing here\n"), None);
        assert_eq!(detect("data.json", r#"{"a":1,"b":[1,2]}"#), None);
    }

    #[test]
    fn stack_traces_do_not_hide_the_format() {
        let text = "2023-10-15 15:00:01,123 ERROR [main] com.acme.Login - login failed\n\
java.lang.IllegalStateException: pool closed\n\
\tat com.acme.db.Pool.get(Pool.java:42)\n\
\tat com.acme.Login.handle(Login.java:17)\n\
\t... 12 more\n\
2023-10-15 15:00:02,001 INFO [main] com.acme.Login - retrying";
        assert_eq!(detect("app.log", text), Some("log4j"));
    }
}
