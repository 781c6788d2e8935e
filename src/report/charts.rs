//! Charts for the postmortem (error rate, request volume, failing users, data per source),
//! rendered in memory as PNG and, on request, SVG: the painters draw on one [`Surface`] that is
//! either a bitmap or an SVG document, so both formats show exactly the same chart.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;
use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use plotters::coord::Shift;
use plotters::coord::combinators::WithKeyPoints;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::prelude::*;
// Not `BackendStyle`: in scope it would make `stroke_width` on colours ambiguous.
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle, register_font};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

/// Requests seen in one minute (the aggregate's per-minute counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinutePoint {
    /// Unix seconds, start of the minute, UTC.
    pub minute: i64,
    pub requests: u64,
    pub failed: u64,
    pub users_active: u64,
    pub users_failing: u64,
}

/// An outage window, unix seconds; `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// A point in time worth a vertical line on the error-rate chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub time: i64,
    /// Short text, e.g. "alert fired", "acknowledged", "DROP TABLE".
    pub label: String,
}

/// Events per minute of one input file, for the coverage chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLane {
    /// Input file path.
    pub name: String,
    /// (unix seconds at the start of the minute, events in that minute).
    pub events_per_minute: Vec<(i64, u64)>,
}

/// Everything the charts show.
#[derive(Debug, Clone)]
pub struct ChartInput<'a> {
    /// Zone for tick labels and the axis description.
    pub tz: Tz,
    /// Shown under each chart title, e.g. "auth-service, 2023-10-15".
    pub title_prefix: String,
    pub minutes: &'a [MinutePoint],
    pub windows: &'a [Window],
    pub markers: &'a [Marker],
    /// Fraction of requests that fail normally (0.005 means 0.5 %).
    pub baseline_error_rate: Option<f64>,
    pub lanes: &'a [SourceLane],
}

/// One rendered chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// File name to use inside the charts folder, e.g. "error_rate.png".
    pub file_name: String,
    /// The chart's heading (without the prefix), suitable as alt text.
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub png: Vec<u8>,
    /// The same chart as an SVG document, when asked for.
    pub svg: Option<String>,
}

/// Which renderings to produce besides the PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChartFormats {
    pub svg: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("could not load the embedded DejaVu Sans font for charts")]
    Font,
    #[error("could not draw chart {chart}: {message}")]
    Draw {
        chart: &'static str,
        message: String,
    },
    #[error("could not encode chart {chart} as PNG: {source}")]
    Encode {
        chart: &'static str,
        #[source]
        source: image::ImageError,
    },
}

pub const CHART_WIDTH: u32 = 1400;
pub const CHART_HEIGHT: u32 = 700;

/// Private family name so we never pick up (or clash with) a system font.
const FONT_FAMILY: &str = "retrace-dejavu-sans";

// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
const TEXT: RGBColor = RGBColor(33, 33, 33);
const MUTED: RGBColor = RGBColor(100, 100, 100);
const GRID: RGBColor = RGBColor(230, 230, 230);
const AXIS: RGBColor = RGBColor(130, 130, 130);
const METRIC_LINE: RGBColor = RGBColor(0, 114, 178);
const OK_FILL: RGBColor = RGBColor(86, 180, 233);
const FAILED_FILL: RGBColor = RGBColor(213, 94, 0);
const OUTAGE_SHADE: RGBColor = RGBColor(228, 26, 28);
const OUTAGE_SHADE_ALPHA: f64 = 0.12;
const OUTAGE_TEXT: RGBColor = RGBColor(165, 28, 20);
const MARKER_LINE: RGBColor = RGBColor(70, 70, 70);
const BASELINE_LINE: RGBColor = RGBColor(0, 0, 0);
/// Baseline and event lines differ in weight and rhythm, not only in shade. (width, dash, gap)
const BASELINE_DASH: (u32, i32, i32) = (2, 12, 6);
const MARKER_DASH: (u32, i32, i32) = (1, 4, 4);
const LANE_STRIPE: RGBColor = RGBColor(247, 247, 247);
const HEAT_FULL: RGBColor = RGBColor(0, 90, 150);

const MARGIN_LEFT: u32 = 20;
const MARGIN_RIGHT: u32 = 40;
const MARGIN_BOTTOM: u32 = 10;
const X_LABEL_AREA: u32 = 64;
const Y_LABEL_AREA: u32 = 120;
const LANE_LABEL_AREA: u32 = 300;
const HEADER_HEIGHT: i32 = 92;
const OUTAGE_ROW: i32 = 28;
const MARKER_ROW: i32 = 26;
const BAND_GAP: i32 = 8;
const MAX_MARKER_ROWS: usize = 5;
const MAX_LANES: usize = 16;

// Sizes chosen to stay legible when the PNG is shrunk to half width in a document.
const TITLE_SIZE: f64 = 30.0;
const SUBTITLE_SIZE: f64 = 20.0;
const TICK_SIZE: f64 = 20.0;
const DESC_SIZE: f64 = 22.0;
const ANNOTATION_SIZE: f64 = 18.0;
const NOTE_SIZE: f64 = 26.0;

/// Years 1 to 9999: anything outside is corrupt input, and clamping keeps chrono and our arithmetic in range.
const MIN_TIME: i64 = -62_135_596_800;
const MAX_TIME: i64 = 253_402_300_799;

type Area<'b> = DrawingArea<Surface<'b>, Shift>;
type TimeCoord = Cartesian2d<WithKeyPoints<RangedCoordi64>, RangedCoordf64>;
type DrawResult = Result<(), Box<dyn std::error::Error>>;

const ERROR_RATE_TITLE: &str = "Error rate (failed requests / requests) per minute";
const REQUESTS_TITLE: &str = "Requests per minute: OK vs failed";
const USERS_TITLE: &str = "Share of active users with a failed request, per minute";
const SOURCES_TITLE: &str = "Events per source";

/// Renders the four charts as PNG, always in the same order and always all four, so the report can link them unconditionally.
pub fn render_charts(input: &ChartInput) -> Result<Vec<Chart>, ChartError> {
    render_charts_as(input, ChartFormats::default())
}

/// Renders the four charts as PNG and the other formats asked for.
pub fn render_charts_as(
    input: &ChartInput,
    formats: ChartFormats,
) -> Result<Vec<Chart>, ChartError> {
    ensure_font()?;
    let context = Context::new(input);
    type Painter = fn(&Area, &Context, &str) -> DrawResult;
    let charts: [(&'static str, &'static str, Painter); 4] = [
        ("error_rate.png", ERROR_RATE_TITLE, draw_error_rate),
        ("requests.png", REQUESTS_TITLE, draw_requests),
        ("users_failing.png", USERS_TITLE, draw_users_failing),
        ("sources.png", SOURCES_TITLE, draw_sources),
    ];
    let render = |&(file_name, title, paint): &(&'static str, &'static str, Painter)| {
        let png = render_png(file_name, |root| paint(root, &context, title))?;
        let svg = if formats.svg {
            Some(render_svg(file_name, |root| paint(root, &context, title))?)
        } else {
            None
        };
        Ok(Chart {
            file_name: file_name.to_string(),
            title: title.to_string(),
            width: CHART_WIDTH,
            height: CHART_HEIGHT,
            png,
            svg,
        })
    };
    // Each chart on its own thread (drawing and PNG encoding are the report's largest costs
    // after the reading), collected in their fixed order.
    std::thread::scope(|scope| {
        let handles: Vec<_> = charts
            .iter()
            .map(|chart| scope.spawn(move || render(chart)))
            .collect();
        handles
            .into_iter()
            .zip(charts)
            .map(|(handle, (chart, ..))| {
                handle.join().unwrap_or_else(|_| {
                    Err(ChartError::Draw {
                        chart,
                        message: "the chart's drawing panicked".to_string(),
                    })
                })
            })
            .collect()
    })
}

fn ensure_font() -> Result<(), ChartError> {
    // plotters keeps fonts in a process-wide table; registering once avoids re-parsing the TTF per chart.
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT_FAMILY, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT_FAMILY, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

fn render_png(
    chart: &'static str,
    paint: impl FnOnce(&Area) -> DrawResult,
) -> Result<Vec<u8>, ChartError> {
    let draw_error = |message: String| ChartError::Draw { chart, message };
    let mut rgb = vec![255u8; CHART_WIDTH as usize * CHART_HEIGHT as usize * 3];
    {
        let root = Surface::Bitmap(BitMapBackend::with_buffer(
            &mut rgb,
            (CHART_WIDTH, CHART_HEIGHT),
        ))
        .into_drawing_area();
        // The buffer starts white: no fill of the background.
        paint(&root).map_err(|e| draw_error(e.to_string()))?;
        root.present().map_err(|e| draw_error(e.to_string()))?;
    }
    let mut png = Vec::new();
    // One filter for every row: the adaptive choice tried all five per row and took more time
    // than the drawing (Paeth keeps the files within a few per cent of its size).
    PngEncoder::new_with_quality(&mut png, CompressionType::Fast, FilterType::Paeth)
        .write_image(&rgb, CHART_WIDTH, CHART_HEIGHT, image::ColorType::Rgb8)
        .map_err(|source| ChartError::Encode { chart, source })?;
    Ok(png)
}

fn render_svg(
    chart: &'static str,
    paint: impl FnOnce(&Area) -> DrawResult,
) -> Result<String, ChartError> {
    let draw_error = |message: String| ChartError::Draw { chart, message };
    let mut svg = String::new();
    {
        let root = Surface::Svg(SVGBackend::with_string(
            &mut svg,
            (CHART_WIDTH, CHART_HEIGHT),
        ))
        .into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(e.to_string()))?;
        paint(&root).map_err(|e| draw_error(e.to_string()))?;
        root.present().map_err(|e| draw_error(e.to_string()))?;
    }
    // The layout was measured with the embedded DejaVu Sans; the SVG names the private family,
    // which no viewer has, so point it at DejaVu Sans and close relatives instead.
    Ok(svg.replace(
        &format!("font-family=\"{FONT_FAMILY}\""),
        "font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\"",
    ))
}

/// The surface the painters draw on: a bitmap for the PNG, an SVG document for `--svg`.
/// Every call is passed to the backend as is, so each keeps its own way of drawing (the SVG
/// backend writes text and shapes as elements rather than pixels).
pub enum Surface<'a> {
    Bitmap(BitMapBackend<'a>),
    Svg(SVGBackend<'a>),
}

/// A backend error, as text (the two backends have different error types).
#[derive(Debug)]
pub struct SurfaceError(String);

impl std::fmt::Display for SurfaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SurfaceError {}

fn lift<E: std::error::Error + Send + Sync>(
    e: DrawingErrorKind<E>,
) -> DrawingErrorKind<SurfaceError> {
    match e {
        DrawingErrorKind::DrawingError(e) => {
            DrawingErrorKind::DrawingError(SurfaceError(e.to_string()))
        }
        DrawingErrorKind::FontError(e) => DrawingErrorKind::FontError(e),
    }
}

macro_rules! on_surface {
    ($surface:expr, $backend:ident => $call:expr) => {
        match $surface {
            Surface::Bitmap($backend) => $call.map_err(lift),
            Surface::Svg($backend) => $call.map_err(lift),
        }
    };
}

impl DrawingBackend for Surface<'_> {
    type ErrorType = SurfaceError;

    fn get_size(&self) -> (u32, u32) {
        match self {
            Surface::Bitmap(b) => b.get_size(),
            Surface::Svg(b) => b.get_size(),
        }
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.ensure_prepared())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.present())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.draw_pixel(point, color))
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.draw_line(from, to, style))
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.draw_rect(upper_left, bottom_right, style, fill))
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.draw_path(path, style))
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.draw_circle(center, radius, style, fill))
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.fill_polygon(vert, style))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.draw_text(text, style, pos))
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.estimate_text_size(text, style))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<SurfaceError>> {
        on_surface!(self, b => b.blit_bitmap(pos, size, src))
    }
}

// ---------------------------------------------------------------------------
// Data prepared once for all four charts.

/// Counters summed over one bucket of minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    requests: u64,
    failed: u64,
    users_active: u64,
    users_failing: u64,
}

struct Lane {
    name: String,
    /// Events per bucket, dense over the time axis.
    events: Vec<u64>,
}

struct Context {
    title_prefix: String,
    baseline_pct: Option<f64>,
    /// None when the input holds no time at all: every chart then says so.
    axis: Option<TimeAxis>,
    /// Bucket length in seconds: one minute unless the span is too long to show minutes.
    bucket: i64,
    /// Start of the first bucket.
    first_bucket: i64,
    totals: Vec<Totals>,
    has_minutes: bool,
    lanes: Vec<Lane>,
    /// Clipped to the axis, sorted.
    windows: Vec<(i64, i64)>,
    /// Clipped to the axis, sorted by time, deduplicated.
    markers: Vec<(i64, String)>,
}

impl Context {
    fn new(input: &ChartInput) -> Self {
        let baseline_pct = input
            .baseline_error_rate
            .filter(|rate| rate.is_finite() && *rate >= 0.0)
            .map(|rate| (rate * 100.0).min(100.0));
        let mut context = Context {
            title_prefix: input.title_prefix.clone(),
            baseline_pct,
            axis: None,
            bucket: 60,
            first_bucket: 0,
            totals: Vec::new(),
            has_minutes: !input.minutes.is_empty(),
            lanes: Vec::new(),
            windows: Vec::new(),
            markers: Vec::new(),
        };
        let Some((start, end)) = time_span(input) else {
            context.lanes = input
                .lanes
                .iter()
                .map(|lane| Lane {
                    name: lane.name.clone(),
                    events: Vec::new(),
                })
                .collect();
            return context;
        };
        let axis = TimeAxis::new(input.tz, start, end);
        let bucket = bucket_seconds(end - start);
        let first_bucket = start.div_euclid(bucket) * bucket;
        let bucket_count = ((end - first_bucket + bucket - 1) / bucket).max(1) as usize;
        let bucket_of = |t: i64| -> Option<usize> {
            let index = (clamp_time(t) - first_bucket).div_euclid(bucket);
            usize::try_from(index).ok().filter(|&i| i < bucket_count)
        };

        let mut totals = vec![Totals::default(); bucket_count];
        for point in input.minutes {
            if let Some(slot) = bucket_of(point.minute).and_then(|i| totals.get_mut(i)) {
                slot.requests = slot.requests.saturating_add(point.requests);
                slot.failed = slot.failed.saturating_add(point.failed.min(point.requests));
                slot.users_active = slot.users_active.saturating_add(point.users_active);
                slot.users_failing = slot
                    .users_failing
                    .saturating_add(point.users_failing.min(point.users_active));
            }
        }

        let mut lanes: Vec<Lane> = input
            .lanes
            .iter()
            .map(|lane| {
                let mut events = vec![0u64; bucket_count];
                for &(minute, count) in &lane.events_per_minute {
                    if let Some(slot) = bucket_of(minute).and_then(|i| events.get_mut(i)) {
                        *slot = slot.saturating_add(count);
                    }
                }
                Lane {
                    name: lane.name.clone(),
                    events,
                }
            })
            .collect();
        if lanes.len() > MAX_LANES {
            // Lanes thinner than the label font are unreadable; fold the tail into one summary lane.
            let rest = lanes.split_off(MAX_LANES - 1);
            let mut events = vec![0u64; bucket_count];
            for lane in &rest {
                for (sum, count) in events.iter_mut().zip(&lane.events) {
                    *sum = sum.saturating_add(*count);
                }
            }
            lanes.push(Lane {
                name: format!("({} more sources)", rest.len()),
                events,
            });
        }

        let mut windows: Vec<(i64, i64)> = input
            .windows
            .iter()
            .filter_map(|w| {
                let (a, b) = (
                    clamp_time(w.start.min(w.end)),
                    clamp_time(w.start.max(w.end)),
                );
                let (a, b) = (a.max(start), b.min(end));
                (a <= b).then_some((a, b))
            })
            .collect();
        windows.sort_unstable();

        let markers: BTreeSet<(i64, String)> = input
            .markers
            .iter()
            .map(|m| (clamp_time(m.time), m.label.trim().to_string()))
            .filter(|(t, _)| (start..=end).contains(t))
            .collect();

        context.axis = Some(axis);
        context.bucket = bucket;
        context.first_bucket = first_bucket;
        context.totals = totals;
        context.lanes = lanes;
        context.windows = windows;
        context.markers = markers.into_iter().collect();
        context
    }

    /// Middle of bucket `index`, where its value is plotted.
    fn bucket_mid(&self, index: usize) -> i64 {
        self.first_bucket + index as i64 * self.bucket + self.bucket / 2
    }

    fn bucket_minutes(&self) -> f64 {
        self.bucket as f64 / 60.0
    }

    fn subtitle(&self) -> String {
        let mut parts = Vec::new();
        if !self.title_prefix.trim().is_empty() {
            parts.push(self.title_prefix.trim().to_string());
        }
        if self.bucket > 60 {
            parts.push(format!(
                "values averaged over {} intervals",
                duration_words(self.bucket)
            ));
        }
        parts.join("  ·  ")
    }

    /// Percent series: `None` where the denominator is zero, so lines break there instead of dropping to 0.
    fn percent_points(&self, value: impl Fn(&Totals) -> Option<f64>) -> Vec<Option<(i64, f64)>> {
        let Some(axis) = &self.axis else {
            return Vec::new();
        };
        self.totals
            .iter()
            .enumerate()
            .map(|(i, totals)| {
                value(totals).map(|v| {
                    (
                        self.bucket_mid(i).clamp(axis.start, axis.end),
                        v.clamp(0.0, 100.0),
                    )
                })
            })
            .collect()
    }
}

/// Earliest and latest time in the input, at least ten minutes wide so a lone minute still gets an axis.
fn time_span(input: &ChartInput) -> Option<(i64, i64)> {
    let mut span: Option<(i64, i64)> = None;
    let mut include = |from: i64, to: i64| {
        let (from, to) = (clamp_time(from), clamp_time(to));
        span = Some(match span {
            Some((lo, hi)) => (lo.min(from), hi.max(to)),
            None => (from, to),
        });
    };
    for point in input.minutes {
        include(point.minute, point.minute.saturating_add(60));
    }
    for lane in input.lanes {
        for &(minute, count) in &lane.events_per_minute {
            if count > 0 {
                include(minute, minute.saturating_add(60));
            }
        }
    }
    for window in input.windows {
        include(window.start.min(window.end), window.start.max(window.end));
    }
    for marker in input.markers {
        include(marker.time, marker.time);
    }
    let (start, end) = span?;
    const MIN_SPAN: i64 = 600;
    if end - start >= MIN_SPAN {
        return Some((start, end));
    }
    let pad = (MIN_SPAN - (end - start)) / 2;
    let start = clamp_time(start - pad);
    Some((start, clamp_time(start + MIN_SPAN)))
}

fn clamp_time(t: i64) -> i64 {
    t.clamp(MIN_TIME, MAX_TIME)
}

/// Bucket length so a chart has at most ~700 points: one per minute for incidents, coarser for weeks of data.
fn bucket_seconds(span: i64) -> i64 {
    const MAX_POINTS: i64 = 700;
    const MINUTES: [i64; 12] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
    MINUTES
        .iter()
        .map(|m| m * 60)
        .find(|&seconds| span <= seconds * MAX_POINTS)
        .unwrap_or_else(|| (span / (86_400 * MAX_POINTS) + 1) * 86_400)
}

fn duration_words(seconds: i64) -> String {
    if seconds % 86_400 == 0 {
        let days = seconds / 86_400;
        if days == 1 {
            "1-day".to_string()
        } else {
            format!("{days}-day")
        }
    } else if seconds % 3600 == 0 {
        format!("{}-hour", seconds / 3600)
    } else {
        format!("{}-minute", seconds / 60)
    }
}

// ---------------------------------------------------------------------------
// Time axis: ticks at round local times in the report's zone.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TickStep {
    Minutes(i64),
    Days(i64),
}

struct TimeAxis {
    tz: Tz,
    start: i64,
    end: i64,
    step: TickStep,
    ticks: Vec<i64>,
    multi_day: bool,
    description: String,
}

impl TimeAxis {
    fn new(tz: Tz, start: i64, end: i64) -> Self {
        let step = choose_tick_step(end - start);
        let mut ticks = tick_times(tz, start, end, step);
        if ticks.is_empty() {
            ticks = vec![start, end];
        }
        let first = tz.timestamp_opt(start, 0).single();
        // The end is exclusive: data up to 23:59 ends at midnight and should not name the next day.
        let last = tz.timestamp_opt((end - 1).max(start), 0).single();
        let multi_day = match (&first, &last) {
            (Some(a), Some(b)) => a.date_naive() != b.date_naive(),
            _ => false,
        };
        let description = axis_description(tz, first.as_ref(), last.as_ref());
        TimeAxis {
            tz,
            start,
            end,
            step,
            ticks,
            multi_day,
            description,
        }
    }

    fn local(&self, t: i64) -> Option<DateTime<Tz>> {
        self.tz.timestamp_opt(t, 0).single()
    }

    fn tick_label(&self, t: i64) -> String {
        let Some(local) = self.local(t) else {
            return String::new();
        };
        let format = match self.step {
            // A date at midnight tells the reader where one day ends on a multi-day axis.
            TickStep::Minutes(_) if self.multi_day && local.hour() == 0 && local.minute() == 0 => {
                "%b %-d"
            }
            TickStep::Minutes(_) => "%H:%M",
            TickStep::Days(days) if days <= 14 => "%b %-d",
            TickStep::Days(_) => "%Y-%m-%d",
        };
        local.format(format).to_string()
    }

    /// Time of day for annotations; with the date when the axis spans several days.
    fn moment_label(&self, t: i64) -> String {
        match self.local(t) {
            Some(local) if self.multi_day => local.format("%b %-d %H:%M").to_string(),
            Some(local) => local.format("%H:%M").to_string(),
            None => String::new(),
        }
    }
}

fn axis_description(tz: Tz, first: Option<&DateTime<Tz>>, last: Option<&DateTime<Tz>>) -> String {
    let name = tz.name();
    let (Some(first), Some(last)) = (first, last) else {
        return format!("Time ({name})");
    };
    let (abbr_first, abbr_last) = (
        first.format("%Z").to_string(),
        last.format("%Z").to_string(),
    );
    let zone = if abbr_first == abbr_last {
        abbr_first
    } else {
        format!("{abbr_first}/{abbr_last}")
    };
    let zone = if zone == name {
        name.to_string()
    } else {
        format!("{name}, {zone}")
    };
    let (day_first, day_last) = (first.date_naive(), last.date_naive());
    let days = if day_first == day_last {
        day_first.format("%Y-%m-%d").to_string()
    } else {
        format!(
            "{} to {}",
            day_first.format("%Y-%m-%d"),
            day_last.format("%Y-%m-%d")
        )
    };
    format!("Time ({zone}), {days}")
}

/// Smallest round step giving at most 13 intervals (8–14 ticks for typical spans).
fn choose_tick_step(span: i64) -> TickStep {
    const MAX_INTERVALS: i64 = 13;
    const MINUTES: [i64; 11] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720];
    const DAYS: [i64; 4] = [1, 2, 7, 14];
    if let Some(&minutes) = MINUTES.iter().find(|&&m| span <= m * 60 * MAX_INTERVALS) {
        return TickStep::Minutes(minutes);
    }
    if let Some(&days) = DAYS.iter().find(|&&d| span <= d * 86_400 * MAX_INTERVALS) {
        return TickStep::Days(days);
    }
    TickStep::Days(span / (86_400 * 12) + 1)
}

fn tick_times(tz: Tz, start: i64, end: i64, step: TickStep) -> Vec<i64> {
    let (Some(first), Some(last)) = (
        tz.timestamp_opt(start, 0).single(),
        tz.timestamp_opt(end, 0).single(),
    ) else {
        return Vec::new();
    };
    let mut ticks = Vec::new();
    match step {
        TickStep::Minutes(minutes) => {
            // Walk local calendar days so ticks land on round wall-clock times across DST changes.
            let mut day = first.date_naive().pred_opt().unwrap_or(first.date_naive());
            let last_day = last.date_naive().succ_opt().unwrap_or(last.date_naive());
            while day <= last_day {
                for k in 0..(1440 / minutes) {
                    let minute_of_day = k * minutes;
                    let wall = day.and_hms_opt(
                        (minute_of_day / 60) as u32,
                        (minute_of_day % 60) as u32,
                        0,
                    );
                    if let Some(t) = wall.and_then(|wall| tz.from_local_datetime(&wall).earliest())
                    {
                        let t = t.timestamp();
                        if (start..=end).contains(&t) {
                            ticks.push(t);
                        }
                    }
                }
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
        }
        TickStep::Days(days) => {
            let first_day = first.date_naive();
            // Weekly ticks on Mondays; other steps on a fixed day grid so ticks do not shift when the span moves.
            let offset = if days % 7 == 0 {
                (7 - i64::from(first_day.weekday().num_days_from_monday())) % 7
            } else {
                (days - i64::from(first_day.num_days_from_ce()).rem_euclid(days)) % days
            };
            let mut day = first_day.checked_add_days(Days::new(offset.unsigned_abs()));
            while let Some(current) = day {
                let Some(t) = local_midnight(tz, current) else {
                    break;
                };
                if t > end {
                    break;
                }
                if t >= start {
                    ticks.push(t);
                }
                day = current.checked_add_days(Days::new(days.unsigned_abs()));
            }
        }
    }
    ticks.sort_unstable();
    ticks.dedup();
    ticks
}

/// Start of a local day; some zones skip midnight on DST days, then the day starts at 01:00.
fn local_midnight(tz: Tz, day: NaiveDate) -> Option<i64> {
    [0, 1].iter().find_map(|&hour| {
        let wall = day.and_hms_opt(hour, 0, 0)?;
        tz.from_local_datetime(&wall)
            .earliest()
            .map(|t| t.timestamp())
    })
}

// ---------------------------------------------------------------------------
// Text and legend helpers.

fn font(size: f64, style: FontStyle) -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT_FAMILY), size, style)
}

fn text_style(size: f64, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from(font(size, FontStyle::Normal)).color(color)
}

fn bold_style(size: f64, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from(font(size, FontStyle::Bold)).color(color)
}

fn text_width(
    root: &Area,
    text: &str,
    style: &TextStyle,
) -> Result<i32, Box<dyn std::error::Error>> {
    let (width, _) = root.estimate_text_size(text, style)?;
    Ok(i32::try_from(width).unwrap_or(i32::MAX))
}

/// Draws text vertically centred on `y`.
fn draw_text(
    root: &Area,
    text: &str,
    (x, y): (i32, i32),
    style: &TextStyle,
    align: HPos,
) -> DrawResult {
    // The ab_glyph layout puts the baseline half a font size below the anchor, so "centred" text sits
    // visibly high; this shift centres capitals on `y`.
    let shift = (style.font.get_size() * 0.22).round() as i32;
    root.draw(&Text::new(
        text.to_string(),
        (x, y + shift),
        style.pos(Pos::new(align, VPos::Center)),
    ))?;
    Ok(())
}

/// Text on a translucent white box, for labels that may sit on top of data or grid lines.
fn draw_boxed_text(
    root: &Area,
    text: &str,
    (x, y): (i32, i32),
    style: &TextStyle,
    width: i32,
) -> DrawResult {
    let half_height = (style.font.get_size() * 0.62).round() as i32;
    root.draw(&Rectangle::new(
        [(x - 3, y - half_height), (x + width + 3, y + half_height)],
        WHITE.mix(0.85).filled(),
    ))?;
    draw_text(root, text, (x, y), style, HPos::Left)
}

/// Shortens `text` with "…" until it fits; `keep_end` keeps the tail (file names live at the end of paths).
fn fit_text(
    root: &Area,
    text: &str,
    style: &TextStyle,
    max_width: i32,
    keep_end: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    if text_width(root, text, style)? <= max_width {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    let mut keep = chars.len();
    while keep > 0 {
        keep -= 1;
        let candidate: String = if keep_end {
            std::iter::once('…')
                .chain(chars[chars.len() - keep..].iter().copied())
                .collect()
        } else {
            chars[..keep]
                .iter()
                .copied()
                .chain(std::iter::once('…'))
                .collect()
        };
        if text_width(root, &candidate, style)? <= max_width {
            return Ok(candidate);
        }
    }
    Ok(String::new())
}

fn draw_dashed_line(
    root: &Area,
    from: (i32, i32),
    to: (i32, i32),
    color: &RGBColor,
    width: u32,
    dash: i32,
    gap: i32,
) -> DrawResult {
    let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
    let length = dx.hypot(dy);
    if length < 1.0 {
        return Ok(());
    }
    let style = color.stroke_width(width);
    let mut offset = 0.0;
    while offset < length {
        let end = (offset + dash as f64).min(length);
        let at = |d: f64| {
            (
                from.0 + (dx * d / length).round() as i32,
                from.1 + (dy * d / length).round() as i32,
            )
        };
        root.draw(&PathElement::new(vec![at(offset), at(end)], style))?;
        offset += (dash + gap) as f64;
    }
    Ok(())
}

enum Swatch {
    Line(RGBColor),
    /// Colour, stroke width, dash length, gap length.
    Dashed(RGBColor, u32, i32, i32),
    Fill(RGBColor, f64),
}

struct LegendItem {
    swatch: Swatch,
    label: String,
}

fn legend_item(swatch: Swatch, label: &str) -> LegendItem {
    LegendItem {
        swatch,
        label: label.to_string(),
    }
}

/// Title on the first line; subtitle (left) and legend (right) on the second, so the legend never covers data.
fn draw_header(root: &Area, title: &str, subtitle: &str, legend: &[LegendItem]) -> DrawResult {
    const SWATCH: i32 = 30;
    const SWATCH_GAP: i32 = 8;
    const ITEM_GAP: i32 = 28;
    let right = CHART_WIDTH as i32 - MARGIN_RIGHT as i32;
    let left = MARGIN_LEFT as i32;
    let row_y = 70;

    let title_style = bold_style(TITLE_SIZE, &TEXT);
    let title = fit_text(root, title, &title_style, right - left, false)?;
    draw_text(root, &title, (left, 30), &title_style, HPos::Left)?;

    let label_style = text_style(SUBTITLE_SIZE, &TEXT);
    let mut widths = Vec::with_capacity(legend.len());
    for item in legend {
        widths.push(text_width(root, &item.label, &label_style)?);
    }
    let legend_width: i32 = widths.iter().map(|w| SWATCH + SWATCH_GAP + w).sum::<i32>()
        + ITEM_GAP * (widths.len() as i32 - 1).max(0);
    let mut x = (right - legend_width).max(left);
    let subtitle_style = text_style(SUBTITLE_SIZE, &MUTED);
    let subtitle = fit_text(root, subtitle, &subtitle_style, x - left - ITEM_GAP, false)?;
    draw_text(root, &subtitle, (left, row_y), &subtitle_style, HPos::Left)?;

    for (item, width) in legend.iter().zip(widths) {
        match item.swatch {
            Swatch::Line(color) => {
                root.draw(&PathElement::new(
                    vec![(x, row_y), (x + SWATCH, row_y)],
                    color.stroke_width(3),
                ))?;
            }
            Swatch::Dashed(color, width, dash, gap) => {
                draw_dashed_line(
                    root,
                    (x, row_y),
                    (x + SWATCH, row_y),
                    &color,
                    width,
                    dash,
                    gap,
                )?;
            }
            Swatch::Fill(color, alpha) => {
                root.draw(&Rectangle::new(
                    [(x, row_y - 9), (x + SWATCH, row_y + 9)],
                    color.mix(alpha).filled(),
                ))?;
            }
        }
        x += SWATCH + SWATCH_GAP;
        draw_text(root, &item.label, (x, row_y), &label_style, HPos::Left)?;
        x += width + ITEM_GAP;
    }
    Ok(())
}

fn draw_placeholder(root: &Area, title: &str, subtitle: &str, note: &str) -> DrawResult {
    draw_header(root, title, subtitle, &[])?;
    let center = (CHART_WIDTH as i32 / 2, CHART_HEIGHT as i32 / 2);
    draw_text(
        root,
        note,
        center,
        &text_style(NOTE_SIZE, &MUTED),
        HPos::Center,
    )
}

// ---------------------------------------------------------------------------
// Annotation band above the plot: outage labels, then rows of marker labels.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LabelSlot {
    row: usize,
    /// Pixel range the label occupies, including the gap to its own line.
    span: (i32, i32),
    line_x: i32,
}

impl LabelSlot {
    fn text_left(&self) -> i32 {
        if self.span.0 == self.line_x {
            self.line_x + LABEL_LINE_GAP
        } else {
            self.span.0
        }
    }
}

const LABEL_LINE_GAP: i32 = 5;

/// Greedy placement of marker labels into rows (row 0 nearest the outage row, i.e. highest).
///
/// A label sits right of its line, or left of it near the right edge. It may not overlap a label in
/// its row, may not be crossed by the line of a marker labelled higher up, and its own line may not
/// cross a label lower down. Markers that fit nowhere get `None` (line only).
fn pack_marker_labels(
    items: &[(i32, i32)],
    bounds: (i32, i32),
    max_rows: usize,
) -> Vec<Option<LabelSlot>> {
    const SAME_ROW_GAP: i32 = 12;
    let mut placed: Vec<LabelSlot> = Vec::new();
    let mut result = Vec::with_capacity(items.len());
    for &(x, width) in items {
        let candidates = [
            (x, x + LABEL_LINE_GAP + width),
            (x - LABEL_LINE_GAP - width, x),
        ];
        let conflicts = |row: usize, (lo, hi): (i32, i32)| {
            placed.iter().any(|other| {
                if other.row == row {
                    hi + SAME_ROW_GAP > other.span.0 && lo < other.span.1 + SAME_ROW_GAP
                } else if other.row < row {
                    other.line_x != x && other.line_x > lo && other.line_x < hi
                } else {
                    other.line_x != x && x > other.span.0 && x < other.span.1
                }
            })
        };
        let slot = (0..max_rows).find_map(|row| {
            candidates
                .iter()
                .filter(|(lo, hi)| *lo >= bounds.0 && *hi <= bounds.1)
                .find(|&&span| !conflicts(row, span))
                .map(|&span| LabelSlot {
                    row,
                    span,
                    line_x: x,
                })
        });
        if let Some(slot) = slot {
            placed.push(slot);
        }
        result.push(slot);
    }
    result
}

/// Pixel layout shared by the time charts, decided before the plotters chart is built.
struct Layout {
    band_top: i32,
    plot_top: i32,
    outage_row: bool,
    marker_labels: Vec<(i64, String, Option<LabelSlot>)>,
}

impl Layout {
    fn new(
        root: &Area,
        context: &Context,
        axis: &TimeAxis,
        y_label_area: u32,
        with_markers: bool,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let outage_row = !context.windows.is_empty();
        let mut marker_labels = Vec::new();
        if with_markers {
            let plot_left = (MARGIN_LEFT + y_label_area) as i32;
            let plot_right = CHART_WIDTH as i32 - MARGIN_RIGHT as i32;
            let span = (axis.end - axis.start).max(1) as f64;
            let style = text_style(ANNOTATION_SIZE, &TEXT);
            let mut items = Vec::new();
            for (time, label) in &context.markers {
                let text = fit_text(
                    root,
                    &format!("{} {}", axis.moment_label(*time), label),
                    &style,
                    320,
                    false,
                )?;
                let x = plot_left
                    + ((time - axis.start) as f64 / span * (plot_right - plot_left) as f64).round()
                        as i32;
                items.push((x, text_width(root, &text, &style)?));
                marker_labels.push((*time, text, None));
            }
            let slots = pack_marker_labels(
                &items,
                (plot_left - 40, CHART_WIDTH as i32 - 8),
                MAX_MARKER_ROWS,
            );
            for (entry, slot) in marker_labels.iter_mut().zip(slots) {
                entry.2 = slot;
            }
        }
        let rows = marker_labels
            .iter()
            .filter_map(|(_, _, slot)| slot.map(|s| s.row + 1))
            .max()
            .unwrap_or(0) as i32;
        let band_top = HEADER_HEIGHT;
        let plot_top =
            band_top + if outage_row { OUTAGE_ROW } else { 0 } + rows * MARKER_ROW + BAND_GAP;
        Ok(Layout {
            band_top,
            plot_top,
            outage_row,
            marker_labels,
        })
    }

    fn marker_row_center(&self, row: usize) -> i32 {
        self.band_top
            + if self.outage_row { OUTAGE_ROW } else { 0 }
            + row as i32 * MARKER_ROW
            + MARKER_ROW / 2
    }
}

fn build_time_chart<'a, 'b>(
    root: &'a Area<'b>,
    axis: &TimeAxis,
    layout: &Layout,
    y_label_area: u32,
    y_top: f64,
) -> Result<ChartContext<'a, Surface<'b>, TimeCoord>, Box<dyn std::error::Error>> {
    let chart = ChartBuilder::on(root)
        .margin_top(layout.plot_top.max(0) as u32)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .margin_bottom(MARGIN_BOTTOM)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(
            (axis.start..axis.end).with_key_points(axis.ticks.clone()),
            0f64..y_top,
        )?;
    Ok(chart)
}

fn draw_time_mesh(
    chart: &mut ChartContext<Surface, TimeCoord>,
    axis: &TimeAxis,
    y_desc: Option<&str>,
) -> DrawResult {
    let x_format = |t: &i64| axis.tick_label(*t);
    let y_format = |v: &f64| format_number(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .x_desc(axis.description.clone())
        .x_label_style(text_style(TICK_SIZE, &TEXT))
        .y_label_style(text_style(TICK_SIZE, &TEXT))
        .axis_desc_style(text_style(DESC_SIZE, &TEXT))
        .bold_line_style(GRID)
        .max_light_lines(0)
        .axis_style(AXIS)
        .y_labels(8);
    match y_desc {
        Some(desc) => {
            mesh.y_desc(desc);
        }
        None => {
            mesh.disable_y_mesh().disable_y_axis();
        }
    }
    mesh.draw()?;
    Ok(())
}

/// Light red columns over each outage window, from the outage label row down to the x axis.
fn draw_outage_windows(
    root: &Area,
    chart: &ChartContext<Surface, TimeCoord>,
    context: &Context,
    axis: &TimeAxis,
    layout: &Layout,
) -> DrawResult {
    let (_, y_pixels) = chart.plotting_area().get_pixel_range();
    let mut label_end = i32::MIN;
    for &(start, end) in &context.windows {
        let x0 = chart.backend_coord(&(start, 0.0)).0;
        let x1 = chart.backend_coord(&(end, 0.0)).0.max(x0 + 2);
        root.draw(&Rectangle::new(
            [(x0, layout.band_top), (x1, y_pixels.end)],
            OUTAGE_SHADE.mix(OUTAGE_SHADE_ALPHA).filled(),
        ))?;
        let style = bold_style(ANNOTATION_SIZE, &OUTAGE_TEXT);
        // Clock times only: the axis already carries the dates, and a short label fits more windows.
        let clock = |t: i64| {
            axis.local(t)
                .map(|local| local.format("%H:%M").to_string())
                .unwrap_or_default()
        };
        let long = format!("outage {}–{}", clock(start), clock(end));
        let text = if text_width(root, &long, &style)? + 12 <= x1 - x0 {
            long
        } else {
            "outage".to_string()
        };
        let x = x0 + 6;
        if x > label_end {
            draw_text(
                root,
                &text,
                (x, layout.band_top + OUTAGE_ROW / 2),
                &style,
                HPos::Left,
            )?;
            label_end = x + text_width(root, &text, &style)? + 10;
        }
    }
    Ok(())
}

/// Thin borders on top of the data, so a window stays visible where opaque areas cover its shading.
fn draw_outage_edges(
    root: &Area,
    chart: &ChartContext<Surface, TimeCoord>,
    context: &Context,
    layout: &Layout,
) -> DrawResult {
    let (_, y_pixels) = chart.plotting_area().get_pixel_range();
    let style = OUTAGE_TEXT.mix(0.6).stroke_width(1);
    for &(start, end) in &context.windows {
        for t in [start, end] {
            let x = chart.backend_coord(&(t, 0.0)).0;
            root.draw(&PathElement::new(
                vec![(x, layout.band_top), (x, y_pixels.end)],
                style,
            ))?;
        }
    }
    Ok(())
}

fn draw_markers(
    root: &Area,
    chart: &ChartContext<Surface, TimeCoord>,
    layout: &Layout,
) -> DrawResult {
    let (_, y_pixels) = chart.plotting_area().get_pixel_range();
    let style = text_style(ANNOTATION_SIZE, &TEXT);
    let mut unlabelled = 0;
    for (time, _, slot) in &layout.marker_labels {
        let x = chart.backend_coord(&(*time, 0.0)).0;
        let top = match slot {
            Some(slot) => layout.marker_row_center(slot.row) - MARKER_ROW / 2 + 3,
            None => {
                unlabelled += 1;
                y_pixels.start
            }
        };
        let (width, dash, gap) = MARKER_DASH;
        draw_dashed_line(
            root,
            (x, y_pixels.end),
            (x, top),
            &MARKER_LINE,
            width,
            dash,
            gap,
        )?;
    }
    // Labels after all lines, so no line is drawn across a label's box.
    for (time, text, slot) in &layout.marker_labels {
        let Some(slot) = slot else { continue };
        let x = chart.backend_coord(&(*time, 0.0)).0;
        let width = slot.span.1 - slot.span.0 - LABEL_LINE_GAP;
        let left = if slot.text_left() > slot.line_x {
            x + LABEL_LINE_GAP
        } else {
            x - LABEL_LINE_GAP - width
        };
        draw_boxed_text(
            root,
            text,
            (left, layout.marker_row_center(slot.row)),
            &style,
            width,
        )?;
    }
    if unlabelled > 0 {
        let note = if unlabelled == 1 {
            "+1 unlabelled event".to_string()
        } else {
            format!("+{unlabelled} unlabelled events")
        };
        let style = text_style(ANNOTATION_SIZE, &MUTED);
        draw_text(
            root,
            &note,
            (
                CHART_WIDTH as i32 - MARGIN_RIGHT as i32,
                y_pixels.start + 14,
            ),
            &style,
            HPos::Right,
        )?;
    }
    Ok(())
}

fn draw_note(root: &Area, chart: &ChartContext<Surface, TimeCoord>, note: &str) -> DrawResult {
    let (x_pixels, y_pixels) = chart.plotting_area().get_pixel_range();
    let style = text_style(NOTE_SIZE, &MUTED);
    let width = text_width(root, note, &style)?;
    let center = (
        (x_pixels.start + x_pixels.end) / 2,
        (y_pixels.start + y_pixels.end) / 2,
    );
    draw_boxed_text(root, note, (center.0 - width / 2, center.1), &style, width)
}

/// Splits a series at missing values so gaps stay visible instead of being bridged by a straight line.
fn segments(points: &[Option<(i64, f64)>]) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for point in points {
        match point {
            Some(p) => current.push(*p),
            None if !current.is_empty() => out.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn draw_percent_line(
    chart: &mut ChartContext<Surface, TimeCoord>,
    points: &[Option<(i64, f64)>],
) -> DrawResult {
    let segments = segments(points);
    let total: usize = segments.iter().map(Vec::len).sum();
    for segment in &segments {
        chart.draw_series(LineSeries::new(
            segment.iter().copied(),
            METRIC_LINE.stroke_width(2),
        ))?;
        // A lone point or a sparse series would be invisible as a line; dots show where values exist.
        if segment.len() == 1 || total <= 40 {
            chart.draw_series(
                segment
                    .iter()
                    .map(|&p| Circle::new(p, 4, METRIC_LINE.filled())),
            )?;
        }
    }
    Ok(())
}

/// Axis top for a percentage: 10 % headroom, at least 0–5 %, never far past 100 %.
fn percent_axis_top(max: f64) -> f64 {
    (max * 1.1).clamp(5.0, 105.0)
}

fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return String::new();
    }
    if value.abs() >= 1000.0 && value.fract().abs() < 1e-9 {
        return group_thousands(value.round() as i64);
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0 { format!("-{out}") } else { out }
}

// ---------------------------------------------------------------------------
// The four charts.

fn draw_error_rate(root: &Area, context: &Context, title: &str) -> DrawResult {
    let subtitle = context.subtitle();
    let Some(axis) = &context.axis else {
        return draw_placeholder(root, title, &subtitle, "No request data");
    };
    let points = context
        .percent_points(|t| (t.requests > 0).then(|| t.failed as f64 * 100.0 / t.requests as f64));
    let max = points
        .iter()
        .flatten()
        .map(|&(_, v)| v)
        .chain(context.baseline_pct)
        .fold(0.0, f64::max);

    let mut legend = vec![legend_item(
        Swatch::Line(METRIC_LINE),
        "Failed requests (%)",
    )];
    if !context.windows.is_empty() {
        legend.push(legend_item(
            Swatch::Fill(OUTAGE_SHADE, OUTAGE_SHADE_ALPHA),
            "Outage window",
        ));
    }
    if let Some(baseline) = context.baseline_pct {
        legend.push(legend_item(
            Swatch::Dashed(
                BASELINE_LINE,
                BASELINE_DASH.0,
                BASELINE_DASH.1,
                BASELINE_DASH.2,
            ),
            &format!("Baseline {baseline:.2}%"),
        ));
    }
    if !context.markers.is_empty() {
        legend.push(legend_item(
            Swatch::Dashed(MARKER_LINE, MARKER_DASH.0, MARKER_DASH.1, MARKER_DASH.2),
            "Event",
        ));
    }
    draw_header(root, title, &subtitle, &legend)?;

    let layout = Layout::new(root, context, axis, Y_LABEL_AREA, true)?;
    let mut chart = build_time_chart(root, axis, &layout, Y_LABEL_AREA, percent_axis_top(max))?;
    draw_time_mesh(&mut chart, axis, Some("Failed requests (%)"))?;
    draw_outage_windows(root, &chart, context, axis, &layout)?;

    draw_percent_line(&mut chart, &points)?;
    // Baseline over the data: it is the reference the reader compares the line against.
    if let Some(baseline) = context.baseline_pct {
        let (x_pixels, _) = chart.plotting_area().get_pixel_range();
        let y = chart.backend_coord(&(axis.start, baseline)).1;
        let (width, dash, gap) = BASELINE_DASH;
        draw_dashed_line(
            root,
            (x_pixels.start, y),
            (x_pixels.end, y),
            &BASELINE_LINE,
            width,
            dash,
            gap,
        )?;
        let style = text_style(ANNOTATION_SIZE, &TEXT);
        let label = format!("baseline {baseline:.2}%");
        let width = text_width(root, &label, &style)?;
        draw_boxed_text(
            root,
            &label,
            (x_pixels.end - width - 8, y - 15),
            &style,
            width,
        )?;
    }
    draw_outage_edges(root, &chart, context, &layout)?;
    draw_markers(root, &chart, &layout)?;

    if !context.has_minutes {
        draw_note(root, &chart, "No request data")?;
    } else if points.iter().all(Option::is_none) {
        draw_note(root, &chart, "No requests in this period")?;
    }
    Ok(())
}

fn draw_requests(root: &Area, context: &Context, title: &str) -> DrawResult {
    let subtitle = context.subtitle();
    let Some(axis) = &context.axis else {
        return draw_placeholder(root, title, &subtitle, "No request data");
    };
    let per_minute = context.bucket_minutes();
    let clamp = |t: i64| t.clamp(axis.start, axis.end);
    let all: Vec<(i64, f64)> = (0..context.totals.len())
        .map(|i| {
            (
                clamp(context.bucket_mid(i)),
                context.totals[i].requests as f64 / per_minute,
            )
        })
        .collect();
    let ok: Vec<(i64, f64)> = (0..context.totals.len())
        .map(|i| {
            let totals = context.totals[i];
            (
                clamp(context.bucket_mid(i)),
                totals.requests.saturating_sub(totals.failed) as f64 / per_minute,
            )
        })
        .collect();
    let max = all.iter().map(|&(_, v)| v).fold(0.0, f64::max);

    let mut legend = vec![
        legend_item(Swatch::Fill(OK_FILL, 1.0), "OK requests"),
        legend_item(Swatch::Fill(FAILED_FILL, 1.0), "Failed requests"),
    ];
    if !context.windows.is_empty() {
        legend.push(legend_item(
            Swatch::Fill(OUTAGE_SHADE, OUTAGE_SHADE_ALPHA),
            "Outage window",
        ));
    }
    draw_header(root, title, &subtitle, &legend)?;

    let layout = Layout::new(root, context, axis, Y_LABEL_AREA, false)?;
    let mut chart = build_time_chart(root, axis, &layout, Y_LABEL_AREA, (max * 1.1).max(5.0))?;
    draw_time_mesh(&mut chart, axis, Some("Requests per minute"))?;
    draw_outage_windows(root, &chart, context, axis, &layout)?;
    if max > 0.0 {
        // Stacked: the failed band is the total minus the OK area drawn over it.
        chart.draw_series(
            AreaSeries::new(all, 0.0, FAILED_FILL.mix(0.9))
                .border_style(FAILED_FILL.stroke_width(1)),
        )?;
        chart.draw_series(
            AreaSeries::new(ok, 0.0, OK_FILL.mix(0.9)).border_style(METRIC_LINE.stroke_width(1)),
        )?;
    }
    draw_outage_edges(root, &chart, context, &layout)?;
    if !context.has_minutes {
        draw_note(root, &chart, "No request data")?;
    } else if max <= 0.0 {
        draw_note(root, &chart, "No requests in this period")?;
    }
    Ok(())
}

fn draw_users_failing(root: &Area, context: &Context, title: &str) -> DrawResult {
    let subtitle = context.subtitle();
    let Some(axis) = &context.axis else {
        return draw_placeholder(root, title, &subtitle, "No user data");
    };
    let points = context.percent_points(|t| {
        (t.users_active > 0).then(|| t.users_failing as f64 * 100.0 / t.users_active as f64)
    });
    let max = points.iter().flatten().map(|&(_, v)| v).fold(0.0, f64::max);

    let mut legend = vec![legend_item(
        Swatch::Line(METRIC_LINE),
        "Active users with a failed request (%)",
    )];
    if !context.windows.is_empty() {
        legend.push(legend_item(
            Swatch::Fill(OUTAGE_SHADE, OUTAGE_SHADE_ALPHA),
            "Outage window",
        ));
    }
    draw_header(root, title, &subtitle, &legend)?;

    let layout = Layout::new(root, context, axis, Y_LABEL_AREA, false)?;
    let mut chart = build_time_chart(root, axis, &layout, Y_LABEL_AREA, percent_axis_top(max))?;
    draw_time_mesh(&mut chart, axis, Some("Users failing (%)"))?;
    draw_outage_windows(root, &chart, context, axis, &layout)?;
    draw_percent_line(&mut chart, &points)?;
    draw_outage_edges(root, &chart, context, &layout)?;
    if points.iter().all(Option::is_none) {
        draw_note(root, &chart, "No user data")?;
    }
    Ok(())
}

/// Shade for an events-per-minute value: log scale, so one event a minute is still clearly visible next to thousands.
fn heat_color(per_minute: f64, max_per_minute: f64) -> RGBColor {
    let strength = if max_per_minute > 0.0 {
        0.22 + 0.78 * ((1.0 + per_minute).ln() / (1.0 + max_per_minute).ln()).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let blend = |full: u8| {
        (255.0 + (f64::from(full) - 255.0) * strength)
            .round()
            .clamp(0.0, 255.0) as u8
    };
    RGBColor(blend(HEAT_FULL.0), blend(HEAT_FULL.1), blend(HEAT_FULL.2))
}

fn draw_sources(root: &Area, context: &Context, title: &str) -> DrawResult {
    let subtitle = context.subtitle();
    let Some(axis) = context.axis.as_ref().filter(|_| !context.lanes.is_empty()) else {
        return draw_placeholder(root, title, &subtitle, "No source data");
    };
    let per_minute = context.bucket_minutes();
    let max = context
        .lanes
        .iter()
        .flat_map(|lane| lane.events.iter())
        .map(|&count| count as f64 / per_minute)
        .fold(0.0, f64::max);

    let mut legend = Vec::new();
    if max > 0.0 {
        // Three sample shades so the reader can decode intensity without a colour bar.
        let mut samples = vec![1.0_f64.min(max)];
        let middle = 10f64.powf((max.log10() / 2.0).round());
        if middle > 1.0 && middle < max / 3.0 {
            samples.push(middle);
        }
        if max > 1.0 {
            samples.push(max);
        }
        for (i, value) in samples.iter().enumerate() {
            let mut label = format_number((value * 10.0).round() / 10.0);
            if i + 1 == samples.len() {
                label.push_str(" events/min");
            }
            legend.push(legend_item(
                Swatch::Fill(heat_color(*value, max), 1.0),
                &label,
            ));
        }
    }
    if !context.windows.is_empty() {
        legend.push(legend_item(
            Swatch::Fill(OUTAGE_SHADE, OUTAGE_SHADE_ALPHA),
            "Outage window",
        ));
    }
    draw_header(root, title, &subtitle, &legend)?;

    let layout = Layout::new(root, context, axis, LANE_LABEL_AREA, false)?;
    let lane_count = context.lanes.len();
    let mut chart = build_time_chart(root, axis, &layout, LANE_LABEL_AREA, lane_count as f64)?;
    // Lane i occupies y in [n-i-1, n-i] so the first input is on top.
    let lane_bottom = |i: usize| (lane_count - i - 1) as f64;
    chart.draw_series((0..lane_count).filter(|i| i % 2 == 0).map(|i| {
        Rectangle::new(
            [
                (axis.start, lane_bottom(i)),
                (axis.end, lane_bottom(i) + 1.0),
            ],
            LANE_STRIPE.filled(),
        )
    }))?;
    draw_time_mesh(&mut chart, axis, None)?;
    draw_outage_windows(root, &chart, context, axis, &layout)?;

    for (i, lane) in context.lanes.iter().enumerate() {
        let top = chart.backend_coord(&(axis.start, lane_bottom(i) + 0.82)).1;
        let bottom = chart.backend_coord(&(axis.start, lane_bottom(i) + 0.18)).1;
        for (b, count) in lane
            .events
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
        {
            let from =
                (context.first_bucket + b as i64 * context.bucket).clamp(axis.start, axis.end);
            let to = (from + context.bucket).clamp(axis.start, axis.end);
            let (x0, x1) = (
                chart.backend_coord(&(from, 0.0)).0,
                chart.backend_coord(&(to, 0.0)).0,
            );
            // At least 3 px, so a single event on a long axis is still a visible tick.
            let (x0, x1) = if x1 - x0 < 3 {
                (x0 - 1, x0 + 2)
            } else {
                (x0, x1)
            };
            let color = heat_color(*count as f64 / per_minute, max);
            root.draw(&Rectangle::new([(x0, top), (x1, bottom)], color.filled()))?;
        }
    }
    draw_outage_edges(root, &chart, context, &layout)?;

    let (x_pixels, _) = chart.plotting_area().get_pixel_range();
    let name_style = text_style(ANNOTATION_SIZE, &TEXT);
    let max_name_width = LANE_LABEL_AREA as i32 - 24;
    for (i, lane) in context.lanes.iter().enumerate() {
        let name = fit_text(root, &lane.name, &name_style, max_name_width, true)?;
        let y = chart.backend_coord(&(axis.start, lane_bottom(i) + 0.5)).1;
        draw_text(
            root,
            &name,
            (x_pixels.start - 12, y),
            &name_style,
            HPos::Right,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    /// 2023-10-15 12:00 EDT.
    const NOON_NY: i64 = 1_697_385_600;

    fn input<'a>(
        minutes: &'a [MinutePoint],
        windows: &'a [Window],
        markers: &'a [Marker],
        lanes: &'a [SourceLane],
    ) -> ChartInput<'a> {
        ChartInput {
            tz: New_York,
            title_prefix: "auth-service, 2023-10-15".to_string(),
            minutes,
            windows,
            markers,
            baseline_error_rate: Some(0.005),
            lanes,
        }
    }

    fn assert_valid_pngs(charts: &[Chart]) {
        let names: Vec<&str> = charts.iter().map(|c| c.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "error_rate.png",
                "requests.png",
                "users_failing.png",
                "sources.png"
            ]
        );
        for chart in charts {
            assert_eq!(&chart.png[..8], b"\x89PNG\r\n\x1a\n", "{}", chart.file_name);
            assert_eq!(&chart.png[12..16], b"IHDR");
            let width =
                u32::from_be_bytes([chart.png[16], chart.png[17], chart.png[18], chart.png[19]]);
            let height =
                u32::from_be_bytes([chart.png[20], chart.png[21], chart.png[22], chart.png[23]]);
            assert_eq!((width, height), (1400, 700));
            assert_eq!((chart.width, chart.height), (1400, 700));
            let decoded = image::load_from_memory_with_format(&chart.png, image::ImageFormat::Png)
                .unwrap_or_else(|e| panic!("{} does not decode: {e}", chart.file_name));
            assert_eq!((decoded.width(), decoded.height()), (1400, 700));
        }
    }

    /// A day of an auth service: steady traffic with 0.5 % errors, then two hours at ~60 % failed.
    fn outage_minutes() -> Vec<MinutePoint> {
        (0..480)
            .map(|i: i64| {
                let minute = NOON_NY + i * 60;
                // Deterministic wiggle between 30 and 150 requests a minute.
                let requests = 30 + ((i * 37 + (i * i) % 53) % 121) as u64;
                let in_outage = (180..300).contains(&i);
                let failed = if in_outage {
                    requests * 6 / 10
                } else {
                    u64::from(i % 4 == 0)
                };
                let users_active = requests / 3 + 5;
                let users_failing = if in_outage {
                    users_active * 7 / 10
                } else {
                    u64::from(i % 9 == 0)
                };
                MinutePoint {
                    minute,
                    requests,
                    failed,
                    users_active,
                    users_failing,
                }
            })
            .collect()
    }

    fn outage_markers() -> Vec<Marker> {
        [
            (185, "alert fired"),
            (186, "paged"),
            (192, "acknowledged"),
            (195, "escalated"),
            (280, "restore"),
            (305, "alert resolved"),
        ]
        .iter()
        .map(|&(minute, label)| Marker {
            time: NOON_NY + minute * 60,
            label: label.to_string(),
        })
        .collect()
    }

    fn outage_lanes() -> Vec<SourceLane> {
        let lane = |name: &str, every: i64, skip: std::ops::Range<i64>| SourceLane {
            name: name.to_string(),
            events_per_minute: (0..480)
                .filter(|i| i % every == 0 && !skip.contains(i))
                .map(|i| (NOON_NY + i * 60, (5 + (i * 13) % 200) as u64))
                .collect(),
        };
        vec![
            lane(
                "/var/log/incidents/2023-10-15/production/auth-service/app.log",
                1,
                0..0,
            ),
            lane("logs/nginx/access.log", 1, 200..230),
            lane("logs/postgresql-2023-10-15.log", 3, 0..100),
            lane("alerts.json", 60, 0..0),
            lane("pagerduty.csv", 1000, 0..0),
        ]
    }

    #[test]
    fn outage_charts_are_1400_by_700_pngs() {
        let (minutes, markers, lanes) = (outage_minutes(), outage_markers(), outage_lanes());
        let windows = [Window {
            start: NOON_NY + 180 * 60,
            end: NOON_NY + 300 * 60,
        }];
        let charts = render_charts(&input(&minutes, &windows, &markers, &lanes)).expect("render");
        assert_valid_pngs(&charts);
        assert_eq!(charts[0].title, ERROR_RATE_TITLE);
    }

    #[test]
    fn rendering_is_deterministic() {
        let (minutes, markers, lanes) = (outage_minutes(), outage_markers(), outage_lanes());
        let windows = [Window {
            start: NOON_NY + 180 * 60,
            end: NOON_NY + 300 * 60,
        }];
        let chart_input = input(&minutes, &windows, &markers, &lanes);
        let first = render_charts(&chart_input).expect("render");
        let second = render_charts(&chart_input).expect("render");
        assert_eq!(first, second);
    }

    #[test]
    fn empty_input_still_gives_four_charts() {
        let charts = render_charts(&input(&[], &[], &[], &[])).expect("render");
        assert_valid_pngs(&charts);
    }

    #[test]
    fn edge_cases_render_without_panicking() {
        let one = [MinutePoint {
            minute: NOON_NY,
            requests: 10,
            failed: 3,
            users_active: 4,
            users_failing: 1,
        }];
        let zeros: Vec<MinutePoint> = (0..30)
            .map(|i| MinutePoint {
                minute: NOON_NY + i * 60,
                ..Default::default()
            })
            .collect();
        let far_window = [Window {
            start: NOON_NY + 86_400 * 3,
            end: NOON_NY + 86_400 * 3 + 600,
        }];
        let reversed_window = [Window {
            start: NOON_NY + 600,
            end: NOON_NY,
        }];
        let marker = [Marker {
            time: NOON_NY + 30,
            label: "x".repeat(200),
        }];
        let empty_lane = [SourceLane {
            name: "empty.log".to_string(),
            events_per_minute: vec![],
        }];
        // Three weeks of minutes: bucketed, with day ticks.
        let weeks: Vec<MinutePoint> = (0..21 * 1440)
            .map(|i| MinutePoint {
                minute: NOON_NY + i * 60,
                requests: 100,
                failed: (i % 7) as u64,
                users_active: 10,
                users_failing: 1,
            })
            .collect();
        let absurd = [
            MinutePoint {
                minute: i64::MIN,
                requests: u64::MAX,
                failed: u64::MAX,
                users_active: 1,
                users_failing: 9,
            },
            MinutePoint {
                minute: i64::MAX,
                requests: u64::MAX,
                failed: 1,
                users_active: 0,
                users_failing: 0,
            },
        ];
        let many_lanes: Vec<SourceLane> = (0..40)
            .map(|i| SourceLane {
                name: format!("source-{i}.log"),
                events_per_minute: vec![(NOON_NY + i * 60, 1)],
            })
            .collect();
        let cases: Vec<ChartInput> = vec![
            input(&one, &[], &[], &[]),
            input(&zeros, &[], &[], &[]),
            input(&one, &far_window, &marker, &empty_lane),
            input(&one, &reversed_window, &[], &[]),
            input(&[], &far_window, &marker, &[]),
            input(&weeks, &[], &[], &[]),
            input(&absurd, &[], &[], &[]),
            input(&[], &[], &[], &many_lanes),
            ChartInput {
                baseline_error_rate: Some(f64::NAN),
                ..input(&one, &[], &[], &[])
            },
        ];
        for case in &cases {
            let charts = render_charts(case).expect("render");
            assert_valid_pngs(&charts);
        }
    }

    #[test]
    fn ticks_fall_on_round_local_times() {
        let axis = TimeAxis::new(New_York, NOON_NY, NOON_NY + 8 * 3600);
        assert_eq!(axis.step, TickStep::Minutes(60));
        let labels: Vec<String> = axis.ticks.iter().map(|&t| axis.tick_label(t)).collect();
        assert_eq!(
            labels,
            [
                "12:00", "13:00", "14:00", "15:00", "16:00", "17:00", "18:00", "19:00", "20:00"
            ]
        );
        assert_eq!(axis.description, "Time (America/New_York, EDT), 2023-10-15");

        let short = TimeAxis::new(New_York, NOON_NY + 7 * 60, NOON_NY + 97 * 60);
        assert_eq!(short.step, TickStep::Minutes(10));
        assert_eq!(short.tick_label(short.ticks[0]), "12:10");
    }

    #[test]
    fn ticks_survive_daylight_saving_change() {
        // 2023-11-05 01:00 EDT falls back to 01:00 EST; span 22:00 the day before to 10:00.
        let start = 1_699_149_600; // 2023-11-04 22:00 EDT
        let axis = TimeAxis::new(New_York, start, start + 13 * 3600);
        let labels: Vec<String> = axis.ticks.iter().map(|&t| axis.tick_label(t)).collect();
        assert!(labels.contains(&"Nov 5".to_string()), "{labels:?}");
        assert!(
            labels.windows(2).all(|pair| pair[0] != pair[1]),
            "{labels:?}"
        );
        assert_eq!(
            axis.description,
            "Time (America/New_York, EDT/EST), 2023-11-04 to 2023-11-05"
        );
        assert!(
            axis.ticks.len() >= 6 && axis.ticks.len() <= 14,
            "{labels:?}"
        );

        let utc = TimeAxis::new(chrono_tz::UTC, NOON_NY, NOON_NY + 21 * 86_400);
        assert_eq!(utc.step, TickStep::Days(2));
        assert!(
            utc.description.starts_with("Time (UTC), 2023-10-15 to"),
            "{}",
            utc.description
        );
    }

    #[test]
    fn close_marker_labels_do_not_overlap() {
        // 15:05, 15:06, 15:12, 15:15 on an 8-hour axis are only a few pixels apart.
        let items = [
            (500, 150),
            (502, 90),
            (517, 160),
            (525, 140),
            (900, 110),
            (962, 170),
        ];
        let slots = pack_marker_labels(&items, (100, 1390), 5);
        let placed: Vec<LabelSlot> = slots.iter().map(|s| s.expect("every label fits")).collect();
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                if a.row == b.row {
                    assert!(
                        a.span.1 <= b.span.0 || b.span.1 <= a.span.0,
                        "{a:?} overlaps {b:?}"
                    );
                }
            }
        }
        let rows: BTreeSet<usize> = placed[..4].iter().map(|s| s.row).collect();
        assert_eq!(
            rows.len(),
            4,
            "close markers get their own rows: {placed:?}"
        );
        assert_eq!(placed[4].row, 0, "a distant marker reuses the top row");
    }

    #[test]
    fn labels_near_the_right_edge_go_left_of_their_line() {
        let slots = pack_marker_labels(&[(1380, 120)], (100, 1390), 5);
        let slot = slots[0].expect("fits");
        assert_eq!(slot.span.1, 1380);
    }

    #[test]
    fn numbers_are_formatted_for_axes() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(0.30000000000000004), "0.3");
        assert_eq!(format_number(12000.0), "12,000");
        assert_eq!(group_thousands(-1_234_567), "-1,234,567");
    }

    /// Writes the outage charts to /tmp/charts-preview for a visual check: `cargo test --lib report::charts -- --ignored`.
    #[test]
    #[ignore]
    fn preview_outage_charts() {
        let (minutes, markers, lanes) = (outage_minutes(), outage_markers(), outage_lanes());
        let windows = [Window {
            start: NOON_NY + 180 * 60 + 12,
            end: NOON_NY + 300 * 60 + 40,
        }];
        let charts = render_charts(&input(&minutes, &windows, &markers, &lanes)).expect("render");
        let dir = std::path::Path::new("/tmp/charts-preview");
        std::fs::create_dir_all(dir).expect("preview dir");
        for chart in charts {
            std::fs::write(dir.join(&chart.file_name), &chart.png).expect("write preview");
        }
        let weeks: Vec<MinutePoint> = (0..21 * 1440)
            .map(|i| MinutePoint {
                minute: NOON_NY + i * 60,
                requests: 100 + (i % 1440 / 10) as u64,
                failed: (i % 7) as u64,
                users_active: 10,
                users_failing: u64::from(i % 11 == 0),
            })
            .collect();
        let charts = render_charts(&input(&weeks, &windows, &markers, &lanes)).expect("render");
        for chart in charts {
            std::fs::write(dir.join(format!("weeks_{}", chart.file_name)), &chart.png)
                .expect("write preview");
        }
        let one = [MinutePoint {
            minute: NOON_NY,
            requests: 10,
            failed: 3,
            users_active: 4,
            users_failing: 1,
        }];
        let charts = render_charts(&input(&one, &[], &[], &[])).expect("render");
        for chart in charts {
            std::fs::write(dir.join(format!("one_{}", chart.file_name)), &chart.png)
                .expect("write preview");
        }
        let charts = render_charts(&input(&[], &[], &[], &[])).expect("render");
        std::fs::write(dir.join("empty_error_rate.png"), &charts[0].png).expect("write preview");
        // Overnight, two windows, a marker at the very end: date ticks at midnight, labels left of the line.
        let overnight_start = NOON_NY + 10 * 3600;
        let overnight: Vec<MinutePoint> = (0..360)
            .map(|i| {
                let failing = (60..75).contains(&i) || (200..260).contains(&i);
                MinutePoint {
                    minute: overnight_start + i * 60,
                    requests: 40,
                    failed: if failing { 30 } else { u64::from(i % 5 == 0) },
                    users_active: 20,
                    users_failing: if failing { 15 } else { 0 },
                }
            })
            .collect();
        let windows = [
            Window {
                start: overnight_start + 60 * 60,
                end: overnight_start + 75 * 60,
            },
            Window {
                start: overnight_start + 200 * 60,
                end: overnight_start + 260 * 60,
            },
        ];
        let markers = [
            Marker {
                time: overnight_start + 62 * 60,
                label: "alert fired".to_string(),
            },
            Marker {
                time: overnight_start + 359 * 60,
                label: "incident resolved".to_string(),
            },
        ];
        let lanes = [SourceLane {
            name: "app.log".to_string(),
            events_per_minute: vec![],
        }];
        let charts = render_charts(&input(&overnight, &windows, &markers, &lanes)).expect("render");
        for chart in charts {
            std::fs::write(
                dir.join(format!("overnight_{}", chart.file_name)),
                &chart.png,
            )
            .expect("write preview");
        }
    }
}
