//! Report: renders the analysis (pure renderers, one module per output) and writes the files,
//! atomically, into an output folder that is checked before any long work starts. This is the
//! one place that writes files.

pub mod charts;
pub mod doc;
pub mod draft;
pub mod html;
pub mod markdown;
pub mod summary;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use std::collections::BTreeMap;

use crate::event::{NS_PER_SEC, PageAction};
use crate::pipeline::Analysis;
use crate::redact::Redaction;
use charts::{ChartFormats, ChartInput, Marker, MinutePoint, SourceLane, Window};
use draft::{ChartRef, DraftOptions, common_folder};

/// What to write besides postmortem.md, summary.json and the PNG charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportOptions {
    /// `--html`: postmortem.html, self-contained.
    pub html: bool,
    /// `--svg`: charts/*.svg beside the PNGs.
    pub svg: bool,
    /// On by default; `--no-redact` turns it off.
    pub redaction: Redaction,
}

/// Folder for the charts, inside the output folder.
pub const CHARTS_DIR: &str = "charts";

/// Checks the output folder can be used, before the analysis: it may not exist yet, or be
/// empty, or be overwritten with `force`.
pub fn prepare_output_dir(dir: &Path, force: bool) -> Result<()> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            bail!(
                "{}: the output folder is a symbolic link; give a real folder",
                dir.display()
            )
        }
        Ok(meta) if !meta.is_dir() => {
            bail!(
                "{}: exists and is not a folder; choose another --output",
                dir.display()
            )
        }
        Ok(_) => {
            let non_empty = fs::read_dir(dir)
                .with_context(|| format!("{}: cannot read the output folder", dir.display()))?
                .next()
                .is_some();
            if non_empty && !force {
                bail!(
                    "{}: the output folder is not empty; use --force to overwrite it, or choose another --output",
                    dir.display()
                );
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => bail!("{}: {e}", dir.display()),
    }
    fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the output folder", dir.display()))?;
    // A `charts` entry that is a link (or a file) would lead writes elsewhere: replace it. Only
    // the link itself is removed, never what it points to.
    let charts = dir.join(CHARTS_DIR);
    if let Ok(meta) = fs::symlink_metadata(&charts)
        && !meta.is_dir()
    {
        fs::remove_file(&charts).with_context(|| {
            format!(
                "{}: cannot replace this entry with a folder",
                charts.display()
            )
        })?;
    }
    fs::create_dir_all(&charts)
        .with_context(|| format!("{}: cannot create the charts folder", charts.display()))?;
    Ok(())
}

/// Writes a file atomically: a temporary file beside it, then a rename, so no reader ever sees
/// a half-written report. Not synced to disk: a power cut in the second after a run may lose the
/// report (run it again), and a sync per file cost 5–15 ms each at the end of every run.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp"));
    let result = (|| -> io::Result<()> {
        // A leftover (or planted) temporary entry is removed, not followed: `create_new` refuses
        // to open through a symbolic link, and the rename replaces a link at `path` instead of
        // writing where it points.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("{}: cannot write", path.display()));
    }
    Ok(())
}

/// What the charts are drawn from, owned (the renderer borrows it).
struct ChartData {
    minutes: Vec<MinutePoint>,
    windows: Vec<Window>,
    markers: Vec<Marker>,
    lanes: Vec<SourceLane>,
    baseline: Option<f64>,
    title: String,
}

/// Chart data from the analysis: the per-minute series of the stream outages are measured on.
fn chart_data(a: &Analysis) -> ChartData {
    let stream_key = a
        .outages
        .first()
        .map(|o| o.outage.stream.clone())
        .or_else(|| a.detection.primary_stream.clone());
    let mut minutes = Vec::new();
    if let Some(key) = &stream_key
        && let Some(stream) = a.aggregates.streams.get(key)
        && let (Some((&m0, _)), Some((&m1, _))) = (
            stream.minutes.first_key_value(),
            stream.minutes.last_key_value(),
        )
    {
        let mut m = m0;
        while m <= m1 {
            let c = stream.minutes.get(&m).copied().unwrap_or_default();
            let (users_active, users_failing) = stream.users.estimate_in_minute(m);
            minutes.push(MinutePoint {
                minute: m,
                requests: c.requests,
                failed: c.failed,
                users_active,
                users_failing,
            });
            m += 60;
        }
    }
    let windows = a
        .outages
        .iter()
        .map(|o| Window {
            start: o.outage.start / NS_PER_SEC,
            end: o.outage.end / NS_PER_SEC,
        })
        .collect();
    let mut markers = Vec::new();
    for o in &a.outages {
        let r = &o.response;
        if let Some(c) = o.story.candidates.first().filter(|c| c.kind == "change") {
            let label = crate::notable::classify_text(&c.text)
                .map(|ch| ch.operation)
                .unwrap_or_else(|| "change".to_string());
            markers.push(Marker {
                time: c.time / NS_PER_SEC,
                label,
            });
        }
        if let Some(f) = &r.first_alert {
            let label = if f
                .event
                .page
                .as_ref()
                .is_some_and(|p| p.action == PageAction::Triggered)
            {
                "paged"
            } else {
                "alert fired"
            };
            markers.push(Marker {
                time: f.time / NS_PER_SEC,
                label: label.to_string(),
            });
        }
        if let Some(p) = &r.paged
            && r.first_alert.as_ref().is_none_or(|f| f.time != p.time)
        {
            markers.push(Marker {
                time: p.time / NS_PER_SEC,
                label: "paged".to_string(),
            });
        }
        if let Some(ack) = &r.acknowledged {
            markers.push(Marker {
                time: ack.time / NS_PER_SEC,
                label: "acknowledged".to_string(),
            });
        }
        if let Some(esc) = r.escalated.first() {
            markers.push(Marker {
                time: esc.time / NS_PER_SEC,
                label: "escalated".to_string(),
            });
        }
        if let Some(act) = o.story.actions.first() {
            markers.push(Marker {
                time: act.first / NS_PER_SEC,
                label: crate::timeline::action_label(act.kind).to_lowercase(),
            });
        }
        if let Some(res) = &r.alert_resolved {
            markers.push(Marker {
                time: res.time / NS_PER_SEC,
                label: "alert resolved".to_string(),
            });
        }
    }
    markers.sort_by_key(|m| m.time);
    // Lanes are named relative to the folder all inputs share, so the names stay short.
    let common = common_folder(a.inputs.iter().map(|i| i.path.as_str()));
    let lanes = a
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| SourceLane {
            name: input.path[common..].to_string(),
            events_per_minute: a
                .aggregates
                .events_per_file
                .get(&(i as u32))
                .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
                .unwrap_or_default(),
        })
        .collect();
    let baseline = a.outages.first().map(|o| {
        o.impact
            .baseline_error_rate
            .unwrap_or(o.outage.evidence.baseline_rate)
    });
    let service = a
        .outages
        .first()
        .map(|o| o.outage.stream.service.clone())
        .filter(|s| !s.is_empty())
        .or_else(|| stream_key.map(|k| k.label()))
        .unwrap_or_default();
    let date = a
        .span()
        .map(|(f, _)| {
            crate::time::in_zone(f, a.report_tz)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default();
    let title = if service.is_empty() {
        date
    } else {
        format!("{service}, {date}")
    };
    ChartData {
        minutes,
        windows,
        markers,
        lanes,
        baseline,
        title,
    }
}

/// Renders and writes every output; returns the files written, relative to `dir`.
pub fn write_report(dir: &Path, a: &Analysis, options: &ReportOptions) -> Result<Vec<PathBuf>> {
    let data = chart_data(a);
    let input = ChartInput {
        tz: a.report_tz,
        title_prefix: data.title.clone(),
        minutes: &data.minutes,
        windows: &data.windows,
        markers: &data.markers,
        baseline_error_rate: data.baseline,
        lanes: &data.lanes,
    };
    let rendered = charts::render_charts_as(&input, ChartFormats { svg: options.svg })
        .context("drawing the charts")?;
    let mut written = Vec::new();
    let mut chart_refs = Vec::new();
    let mut chart_paths = Vec::new();
    let mut images = BTreeMap::new();
    for chart in &rendered {
        let rel = format!("{CHARTS_DIR}/{}", chart.file_name);
        write_atomic(&dir.join(&rel), &chart.png)?;
        written.push(PathBuf::from(&rel));
        chart_paths.push(rel.clone());
        let mut also = Vec::new();
        if let Some(svg) = &chart.svg {
            let svg_rel = rel.replace(".png", ".svg");
            write_atomic(&dir.join(&svg_rel), svg.as_bytes())?;
            written.push(PathBuf::from(&svg_rel));
            chart_paths.push(svg_rel.clone());
            also.push(svg_rel);
        }
        images.insert(rel.clone(), chart.png.clone());
        chart_refs.push(ChartRef {
            path: rel,
            title: chart.title.clone(),
            also,
        });
    }
    let summary =
        summary::render(a, &chart_paths, options.redaction).context("encoding summary.json")?;
    write_atomic(&dir.join("summary.json"), &summary)?;
    written.push(PathBuf::from("summary.json"));
    let doc = draft::draft(
        a,
        &DraftOptions {
            redaction: options.redaction,
            charts: chart_refs,
        },
    );
    write_atomic(
        &dir.join("postmortem.md"),
        markdown::render(&doc).as_bytes(),
    )?;
    written.push(PathBuf::from("postmortem.md"));
    if options.html {
        write_atomic(
            &dir.join("postmortem.html"),
            html::render(&doc, &images).as_bytes(),
        )?;
        written.push(PathBuf::from("postmortem.html"));
    }
    Ok(written)
}
