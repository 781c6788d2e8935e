//! Prometheus HTTP API query results (`/api/v1/query_range` matrices, `/api/v1/query` vectors):
//! the whole response (`{"status":"success","data":{...}}`) or its `data` member. Every sample
//! becomes a metric event; the series' labels go into its attributes.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::json::get_str;
use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, MetricSample, NS_PER_SEC, Severity, SourceKind, TimeNs};

pub struct PrometheusQueryRange;

/// The `data` object, whether given whole or inside the response.
fn data_of(value: &Value) -> Option<&Map<String, Value>> {
    let obj = value.as_object()?;
    let data = match obj.get("data").and_then(Value::as_object) {
        Some(d) => d,
        None => obj,
    };
    matches!(
        data.get("resultType").and_then(Value::as_str),
        Some("matrix" | "vector")
    )
    .then_some(data)
}

/// `[1697396401.204, "0.25"]` → time and value (NaN and infinities are left out).
fn sample(pair: &Value) -> Option<(TimeNs, f64)> {
    let pair = pair.as_array()?;
    let t = pair.first()?.as_f64()?;
    let v: f64 = pair.get(1)?.as_str()?.parse().ok()?;
    (v.is_finite() && t > 0.0).then(|| ((t * NS_PER_SEC as f64).round() as i64, v))
}

/// A series' name: `__name__`, else a short label summary (query results of expressions have no name).
fn series_name(labels: &Map<String, Value>) -> String {
    if let Some(name) = get_str(labels, "__name__") {
        return name.to_string();
    }
    let parts: Vec<String> = labels
        .iter()
        .filter(|(k, _)| {
            [
                "job",
                "service",
                "status_code",
                "code",
                "status",
                "method",
                "handler",
            ]
            .contains(&k.as_str())
        })
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    if parts.is_empty() {
        "series".to_string()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

impl LineFormat for PrometheusQueryRange {
    fn name(&self) -> &'static str {
        "prometheus-query"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Metric
    }

    fn example(&self) -> &'static str {
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"http_requests_total","job":"auth-api","code":"500"},"values":[[1697396400,"3"],[1697396460,"118"]]}]}}"#
    }

    fn fields(&self) -> &'static str {
        "one metric event per sample: time, series name, value; labels as attributes, job/service as service"
    }

    fn sniff_json(&self, value: &Value) -> u8 {
        match data_of(value) {
            Some(d) if d.get("result").is_some_and(Value::is_array) => 97,
            _ => 0,
        }
    }

    fn parse_json(
        &self,
        value: &Value,
        _cx: &mut FileContext,
        out: &mut Vec<Event>,
    ) -> LineOutcome {
        let Some(results) = data_of(value)
            .and_then(|d| d.get("result"))
            .and_then(Value::as_array)
        else {
            return LineOutcome::Unparsed(Cow::Borrowed("no matrix or vector result"));
        };
        let empty = Map::new();
        for series in results {
            let labels = series
                .get("metric")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let name = series_name(labels);
            let service = get_str(labels, "service")
                .or_else(|| get_str(labels, "job"))
                .map(str::to_string);
            let label_attrs: Vec<(String, String)> = labels
                .iter()
                .filter(|(k, _)| k.as_str() != "__name__")
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect();
            let values = series.get("values").and_then(Value::as_array);
            let single = series.get("value");
            let samples = values
                .into_iter()
                .flatten()
                .chain(single)
                .filter_map(sample);
            for (time, v) in samples {
                let mut event = Event::new(
                    time,
                    SourceKind::Metric,
                    Severity::Info,
                    format!("{name} = {v}"),
                );
                event.service = service.clone();
                event.metric = Some(MetricSample {
                    name: name.clone(),
                    value: v,
                });
                event.attrs = label_attrs.clone();
                out.push(event);
            }
        }
        // An empty result is still a valid answer: the document is understood.
        LineOutcome::Parsed
    }

    fn name_hints(&self) -> &'static [&'static str] {
        &["prometheus", "query_range", "promql"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn matrix_samples() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        let v: Value = serde_json::from_str(PrometheusQueryRange.example()).unwrap();
        assert!(PrometheusQueryRange.sniff_json(&v) > 90);
        PrometheusQueryRange.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out.len(), 2);
        let m = out[1].metric.as_ref().unwrap();
        assert_eq!(m.name, "http_requests_total");
        assert_eq!(m.value, 118.0);
        assert_eq!(format_utc(out[1].time), "2023-10-15T19:01:00Z");
        assert_eq!(out[1].service.as_deref(), Some("auth-api"));
        assert_eq!(out[1].attr("code"), Some("500"));
        // The data member alone, as a vector.
        let v: Value = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{"job":"db"},"value":[1697396400.5,"NaN"]},{"metric":{"job":"db"},"value":[1697396400.5,"1"]}]}"#,
        )
        .unwrap();
        out.clear();
        PrometheusQueryRange.parse_json(&v, &mut cx, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].metric.as_ref().unwrap().name, "{job=db}");
    }
}
