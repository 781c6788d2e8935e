//! Metric exports as CSV: a header with a time column (`time`, `timestamp`, `date`...) and value
//! columns, `,` `;` or tab separated (Grafana's CSV export, `sadf -d`, spreadsheets). Every
//! number in a value column becomes a metric event named after its column; text columns and
//! well-known key columns (host, CPU, device...) become labels. A new header (commented with `#`
//! or not) may start a new table in the same file.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{FileContext, LineFormat, LineOutcome};
use crate::event::{Event, MetricSample, Severity, SourceKind, TimeNs};
use crate::time::{parse_epoch_text, parse_iso};

pub struct CsvMetrics;

const TIME_COLUMNS: &[&str] = &[
    "time",
    "timestamp",
    "date",
    "datetime",
    "ts",
    "_time",
    "period",
];
/// Columns that name what a row is about rather than measure it.
const KEY_COLUMNS: &[&str] = &[
    "host",
    "hostname",
    "instance",
    "interval",
    "cpu",
    "dev",
    "device",
    "iface",
    "job",
    "pod",
    "node",
    "series",
    "metric",
    "name",
    "label",
    "service",
    "container",
];

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$").expect("static regex")
});

/// The table being read.
#[derive(Default)]
struct Table {
    delimiter: u8,
    columns: Vec<String>,
    time_column: usize,
}

fn delimiter_of(line: &str) -> u8 {
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| memchr::memchr_iter(*d, line.as_bytes()).count())
        .unwrap_or(b',')
}

fn split(line: &str, delimiter: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => record.iter().map(|f| f.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// A header: some column is a time column and no field is a number.
fn header_of(line: &str) -> Option<Table> {
    let text = line.trim_start_matches('#').trim();
    let delimiter = delimiter_of(text);
    let columns = split(text, delimiter);
    if columns.len() < 2 || columns.iter().any(|c| NUMBER.is_match(c)) {
        return None;
    }
    let time_column = columns.iter().position(|c| {
        let lower = c.to_ascii_lowercase();
        TIME_COLUMNS.contains(&lower.as_str())
    })?;
    Some(Table {
        delimiter,
        columns,
        time_column,
    })
}

fn time_of(text: &str, cx: &mut FileContext) -> Option<TimeNs> {
    let text = text.trim_matches('"');
    cx.iso(text).ok().or_else(|| parse_epoch_text(text).ok())
}

impl LineFormat for CsvMetrics {
    /// Not cut into chunks: rows are read by the header above them.
    fn chunkable(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "csv-metrics"
    }

    fn kind(&self) -> SourceKind {
        SourceKind::Metric
    }

    fn example(&self) -> &'static str {
        "time,http_5xx_rate,p99_latency_ms"
    }

    fn fields(&self) -> &'static str {
        "one metric event per number: time (time column), series (column name), value; key and text columns as labels"
    }

    fn sniff(&self, line: &str) -> u8 {
        if header_of(line).is_some() {
            return 80;
        }
        // A data row: a time field and at least one number.
        let delimiter = delimiter_of(line);
        let fields = split(line, delimiter);
        if fields.len() < 2 {
            return 0;
        }
        let ctx = Default::default();
        let timed = fields.iter().any(|f| parse_iso(f, &ctx).is_ok());
        let numbers = fields.iter().filter(|f| NUMBER.is_match(f)).count();
        if timed && numbers >= 1 { 55 } else { 0 }
    }

    fn parse(&self, line: &str, cx: &mut FileContext, out: &mut Vec<Event>) -> LineOutcome {
        if let Some(table) = header_of(line) {
            *cx.state::<Table>() = table;
            return LineOutcome::Parsed;
        }
        let table = std::mem::take(cx.state::<Table>());
        let outcome = self.row(line, &table, cx, out);
        *cx.state::<Table>() = table;
        outcome
    }
}

impl CsvMetrics {
    fn row(
        &self,
        line: &str,
        table: &Table,
        cx: &mut FileContext,
        out: &mut Vec<Event>,
    ) -> LineOutcome {
        if table.columns.is_empty() {
            return LineOutcome::Unparsed(Cow::Borrowed(
                "CSV row before any header with a time column",
            ));
        }
        let fields = split(line, table.delimiter);
        let Some(time) = fields.get(table.time_column).and_then(|t| time_of(t, cx)) else {
            return LineOutcome::Unparsed(Cow::Borrowed("CSV row without a readable time"));
        };
        let mut labels = Vec::new();
        let mut values = Vec::new();
        for (i, (column, field)) in table.columns.iter().zip(&fields).enumerate() {
            if i == table.time_column || field.is_empty() {
                continue;
            }
            let key = KEY_COLUMNS.contains(&column.to_ascii_lowercase().as_str());
            match field.parse::<f64>() {
                Ok(v) if !key && NUMBER.is_match(field) => values.push((column, v)),
                _ => labels.push((column.clone(), field.clone())),
            }
        }
        for (column, v) in values {
            let mut event = Event::new(
                time,
                SourceKind::Metric,
                Severity::Info,
                format!("{column} = {v}"),
            );
            event.metric = Some(MetricSample {
                name: column.clone(),
                value: v,
            });
            event.service = labels
                .iter()
                .find(|(k, _)| {
                    matches!(
                        k.to_ascii_lowercase().as_str(),
                        "service" | "job" | "host" | "hostname"
                    )
                })
                .map(|(_, v)| v.clone());
            event.attrs = labels.clone();
            out.push(event);
        }
        LineOutcome::Parsed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::ParseContext;
    use crate::time::format_utc;

    #[test]
    fn tables_with_headers() {
        let mut cx = FileContext::new(ParseContext::default());
        let mut out = Vec::new();
        assert_eq!(
            CsvMetrics.parse("time,http_5xx_rate,p99_latency_ms", &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(
            CsvMetrics.parse("2023-10-15T19:00:00Z,0.002,41", &mut cx, &mut out),
            LineOutcome::Parsed
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].metric.as_ref().unwrap().name, "http_5xx_rate");
        assert_eq!(format_utc(out[1].time), "2023-10-15T19:00:00Z");
        // sadf -d style: commented header, semicolons, key columns.
        CsvMetrics.parse(
            "# hostname;interval;timestamp;CPU;%user;%iowait",
            &mut cx,
            &mut out,
        );
        CsvMetrics.parse(
            "db-1;60;2023-10-15 19:01:00 UTC;-1;12.50;48.10",
            &mut cx,
            &mut out,
        );
        assert_eq!(out.len(), 4);
        assert_eq!(out[3].metric.as_ref().unwrap().name, "%iowait");
        assert_eq!(out[3].attr("CPU"), Some("-1"));
        assert_eq!(out[3].service.as_deref(), Some("db-1"));
        assert!(CsvMetrics.sniff("time,value") >= 80);
        assert_eq!(CsvMetrics.sniff("just some words"), 0);
    }
}
