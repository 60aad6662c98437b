//! A chart as plain data (a [`Figure`] of panels, lines, bars and one legend) and the one function that
//! draws it with plotters on any backend, so the PNG and the SVG of a chart come from the same code and
//! cannot drift apart. The legend is drawn in its own strip under the panels: it never hides data, and a
//! figure of several panels that share their series (one panel per node group) needs it only once.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Axis, Scale};
use super::error::PlotError;
use super::font::{self, FAMILY};
use super::raster::Crisp;
use crate::folder;

/// Line colours: Tableau 10, in an order that keeps the first few far apart and the pale yellow last.
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0x79, 0x70, 0x6E),
    RGBColor(0xED, 0xC9, 0x48),
];

/// Colour `i` of the palette, and whether to dash the line because the palette has come round again.
pub(super) fn colour(i: usize) -> (RGBColor, bool) {
    (PALETTE[i % PALETTE.len()], i >= PALETTE.len())
}

/// A darker shade of `c`, for the part of a bar that is a subset of it (throttled attempts).
pub(super) fn darker(c: RGBColor) -> RGBColor {
    let d = |v: u8| (f64::from(v) * 0.45) as u8;
    RGBColor(d(c.0), d(c.1), d(c.2))
}

/// One drawn line, optionally with a shaded band (low, high) behind it and dots at its points.
#[derive(Clone, Debug)]
pub(super) struct Line {
    pub colour: RGBColor,
    pub dashed: bool,
    pub markers: bool,
    /// In data units.
    pub points: Vec<(f64, f64)>,
    /// `(x, low, high)` in data units; empty for no band.
    pub band: Vec<(f64, f64, f64)>,
}

/// A panel of lines.
#[derive(Clone, Debug)]
pub(super) struct LinePanel {
    pub caption: String,
    pub x: Axis,
    pub y: Axis,
    pub lines: Vec<Line>,
}

/// One series of a bar panel: a bar per category.
#[derive(Clone, Debug)]
pub(super) struct BarGroup {
    pub colour: RGBColor,
    pub values: Vec<f64>,
    /// A part of each bar drawn as a narrower, darker bar inside it (empty for none).
    pub inner: Vec<f64>,
    /// Text written at the end of each bar (empty for none).
    pub notes: Vec<String>,
}

/// A panel of grouped bars: for each category one bar per group.
#[derive(Clone, Debug)]
pub(super) struct BarPanel {
    pub caption: String,
    pub category_label: String,
    pub categories: Vec<String>,
    /// The value axis (linear or log; a log axis starts its bars at its low end).
    pub value: Axis,
    pub groups: Vec<BarGroup>,
    /// Categories down the left side, bars to the right: room for long category names.
    pub horizontal: bool,
}

/// A panel of coloured cells in rows, each row labelled on the left (a subnet's /28 blocks, lowest first).
#[derive(Clone, Debug)]
pub(super) struct BlockPanel {
    pub caption: String,
    /// Cells a row.
    pub per_row: usize,
    pub cells: Vec<RGBColor>,
    /// One label per row (may be empty to leave a row unlabelled).
    pub row_labels: Vec<String>,
}

impl BlockPanel {
    fn rows(&self) -> usize {
        self.cells.len().div_ceil(self.per_row.max(1))
    }

    /// Pixel height of a row: smaller as rows grow many, so that a /16's 4,096 blocks still fit a page.
    fn row_height(&self) -> u32 {
        match self.rows() {
            0..=32 => 24,
            33..=64 => 14,
            _ => 8,
        }
    }
}

/// How a point of a [`PointPanel`] is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Marker {
    Dot,
    Cross,
    /// A large open circle, drawn round a point to single it out.
    Ring,
}

/// Points drawn alike.
#[derive(Clone, Debug)]
pub(super) struct PointSeries {
    pub colour: RGBColor,
    pub marker: Marker,
    /// In data units.
    pub points: Vec<(f64, f64)>,
}

/// A panel of points (a scatter), over lines joining some of them (a trade-off front).
#[derive(Clone, Debug)]
pub(super) struct PointPanel {
    pub caption: String,
    pub x: Axis,
    pub y: Axis,
    pub lines: Vec<Line>,
    pub series: Vec<PointSeries>,
}

#[derive(Clone, Debug)]
pub(super) enum Panel {
    Lines(LinePanel),
    Bars(BarPanel),
    Blocks(BlockPanel),
    Points(PointPanel),
}

/// What a legend entry's swatch looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Swatch {
    Line {
        dashed: bool,
    },
    /// A line over its shaded band.
    Band,
    Bar,
    /// The darker inner bar.
    InnerBar,
    Marker(Marker),
}

#[derive(Clone, Debug)]
pub(super) struct LegendEntry {
    pub label: String,
    pub colour: RGBColor,
    pub swatch: Swatch,
}

/// A chart: a title, an optional line under it, panels in a grid, and a legend.
#[derive(Clone, Debug)]
pub(super) struct Figure {
    /// File name without extension.
    pub stem: String,
    pub title: String,
    pub subtitle: String,
    pub panels: Vec<Panel>,
    pub legend: Vec<LegendEntry>,
}

const TITLE_SIZE: f64 = 27.0;
const SUBTITLE_SIZE: f64 = 17.0;
const CAPTION_SIZE: f64 = 19.0;
const DESC_SIZE: f64 = 18.0;
const TICK_SIZE: f64 = 16.0;
const LEGEND_SIZE: f64 = 17.0;
const NOTE_SIZE: f64 = 14.5;
const LEGEND_ROW: u32 = 24;
const LEGEND_SWATCH: i32 = 30;

/// Sizes of the parts of a figure, in pixels.
struct Layout {
    width: u32,
    header: u32,
    cols: usize,
    rows: usize,
    panel_h: u32,
    legend_cols: usize,
    legend_col_w: u32,
    legend_h: u32,
}

/// Width of `text` at `size` in the embedded font (an estimate from the glyph advances).
fn text_width(text: &str, size: f64) -> u32 {
    // Layout must not depend on whether a chart was drawn before in this process.
    let _ = font::ensure();
    (FAMILY, size).into_font().box_size(text).map_or(
        text.chars().count() as u32 * (size * 0.6) as u32,
        |(w, _)| w,
    )
}

impl Layout {
    fn of(fig: &Figure) -> Layout {
        let n = fig.panels.len().max(1);
        let cols = match n {
            1 | 2 => 1,
            3..=8 => 2,
            _ => 3,
        };
        let rows = n.div_ceil(cols);
        let width = if cols == 1 { 1000 } else { 1200 };
        let panel_h = match fig.panels.as_slice() {
            // One row per bar: tall enough that each bar can carry its count.
            [Panel::Bars(b)] if b.horizontal => {
                let bars = (b.categories.len() * b.groups.len().max(1)) as u32;
                (bars * 20 + 150).clamp(520, 2400)
            }
            [Panel::Blocks(b)] => b.rows() as u32 * b.row_height() + 70,
            [_] => 520,
            _ => 360,
        };
        let header = if fig.subtitle.is_empty() { 46 } else { 72 };
        let widest = fig
            .legend
            .iter()
            .map(|e| text_width(&e.label, LEGEND_SIZE))
            .max()
            .unwrap_or(0);
        let legend_col_w = widest + LEGEND_SWATCH as u32 + 34;
        let legend_cols = ((width - 80) / legend_col_w.max(1))
            .clamp(1, 4)
            .min(fig.legend.len().max(1) as u32) as usize;
        let legend_rows = fig.legend.len().div_ceil(legend_cols) as u32;
        let legend_h = if legend_rows == 0 {
            10
        } else {
            legend_rows * LEGEND_ROW + 20
        };
        Layout {
            width,
            header,
            cols,
            rows,
            panel_h,
            legend_cols,
            legend_col_w,
            legend_h,
        }
    }

    fn size(&self) -> (u32, u32) {
        (
            self.width,
            self.header + self.rows as u32 * self.panel_h + self.legend_h,
        )
    }
}

/// The pixel size a figure is drawn at.
pub(super) fn size(fig: &Figure) -> (u32, u32) {
    Layout::of(fig).size()
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `fig` on `root`, which must be [`size`] big.
pub(super) fn draw<DB: DrawingBackend>(
    fig: &Figure,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    font::ensure()?;
    let layout = Layout::of(fig);
    root.fill(&WHITE).map_err(err)?;
    let centre = layout.width as i32 / 2;
    let title = (FAMILY, TITLE_SIZE)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    root.draw_text(&fig.title, &title, (centre, 12))
        .map_err(err)?;
    if !fig.subtitle.is_empty() {
        let sub = (FAMILY, SUBTITLE_SIZE)
            .into_font()
            .color(&RGBColor(80, 80, 80))
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw_text(&fig.subtitle, &sub, (centre, 44))
            .map_err(err)?;
    }
    let (_, rest) = root.split_vertically(layout.header);
    let (body, legend) = rest.split_vertically(layout.rows as u32 * layout.panel_h);
    // One width for every panel's y labels, so that stacked panels share their x positions.
    let y_area = fig
        .panels
        .iter()
        .map(|p| match p {
            Panel::Lines(l) => label_area(&l.y),
            Panel::Points(p) => label_area(&p.y),
            Panel::Bars(b) if b.horizontal => label_area(&category_axis(b)),
            Panel::Bars(b) => label_area(&b.value),
            Panel::Blocks(b) => {
                b.row_labels
                    .iter()
                    .map(|l| text_width(l, TICK_SIZE))
                    .max()
                    .unwrap_or(0)
                    + 24
            }
        })
        .max()
        .unwrap_or(60);
    for (panel, area) in fig
        .panels
        .iter()
        .zip(body.split_evenly((layout.rows, layout.cols)))
    {
        match panel {
            Panel::Lines(p) => draw_lines(p, &area, y_area)?,
            Panel::Bars(p) => draw_bars(p, &area, y_area)?,
            Panel::Blocks(p) => draw_blocks(p, &area, y_area)?,
            Panel::Points(p) => draw_points(p, &area, y_area)?,
        }
    }
    draw_legend(&fig.legend, &legend, &layout)
}

/// Room for the widest tick label of `axis` plus its rotated description.
fn label_area(axis: &Axis) -> u32 {
    let widest = axis
        .ticks()
        .iter()
        .map(|&t| text_width(&axis.tick_label(t), TICK_SIZE))
        .max()
        .unwrap_or(0);
    widest + 44
}

/// A linear `f64` coordinate whose ticks are given (by [`Axis::ticks`]) rather than chosen by plotters.
#[derive(Clone)]
struct Ticked {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let f = if span > 0.0 {
            (v - self.lo) / span
        } else {
            0.5
        };
        let px = f64::from(limit.1 - limit.0) * f;
        limit.0 + px.clamp(-1e6, 1e6).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl Ticked {
    fn of(axis: &Axis) -> Ticked {
        let (lo, hi) = axis.plot_range();
        Ticked {
            lo,
            hi,
            ticks: axis.ticks(),
        }
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// A chart context over `x` and `y` on `area`, with its mesh and axis labels drawn.
fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: &Axis,
    y: &Axis,
    x_grid: bool,
    y_grid: bool,
    y_area: u32,
) -> Result<Chart<'a, DB>, String> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(10)
        .margin_right(28)
        .x_label_area_size(52)
        .y_label_area_size(y_area);
    if !caption.is_empty() {
        builder.caption(caption, (FAMILY, CAPTION_SIZE));
    }
    let mut chart = builder
        .build_cartesian_2d(Ticked::of(x), Ticked::of(y))
        .map_err(err)?;
    let xf = |v: &f64| x.tick_label(*v);
    let yf = |v: &f64| y.tick_label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x.label.as_str())
        .y_desc(y.label.as_str())
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style((FAMILY, TICK_SIZE))
        .axis_desc_style((FAMILY, DESC_SIZE))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .axis_style(RGBColor(90, 90, 90));
    if !x_grid {
        mesh.disable_x_mesh();
    }
    if !y_grid {
        mesh.disable_y_mesh();
    }
    mesh.draw().map_err(err)?;
    Ok(chart)
}

fn draw_lines<DB: DrawingBackend>(
    p: &LinePanel,
    area: &DrawingArea<DB, Shift>,
    y_area: u32,
) -> Result<(), String> {
    let categorical = matches!(p.x.scale, Scale::Categories(_));
    let mut chart = chart(area, &p.caption, &p.x, &p.y, !categorical, true, y_area)?;
    let at = |(x, y): (f64, f64)| (p.x.to_plot(x), p.y.to_plot(y));
    for l in &p.lines {
        if l.band.is_empty() {
            continue;
        }
        let mut outline: Vec<(f64, f64)> = l.band.iter().map(|&(x, _, hi)| at((x, hi))).collect();
        outline.extend(l.band.iter().rev().map(|&(x, lo, _)| at((x, lo))));
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                l.colour.mix(0.16).filled(),
            )))
            .map_err(err)?;
    }
    plot_lines(&mut chart, &p.lines, at)
}

/// Draws `lines` on `chart`, `at` taking data units to the chart's.
fn plot_lines<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    lines: &[Line],
    at: impl Fn((f64, f64)) -> (f64, f64),
) -> Result<(), String> {
    for l in lines {
        let pts: Vec<(f64, f64)> = l.points.iter().map(|&q| at(q)).collect();
        let style = l.colour.stroke_width(2);
        if l.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 8, 5, style))
                .map_err(err)?;
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(err)?;
        }
        if l.markers {
            chart
                .draw_series(pts.iter().map(|&q| Circle::new(q, 4, l.colour.filled())))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// A marker's size in pixels and its style: dots filled, crosses and rings stroked.
fn marker_style(m: Marker, colour: RGBColor) -> (u32, ShapeStyle) {
    match m {
        Marker::Dot => (5, colour.filled()),
        Marker::Cross => (6, colour.stroke_width(2)),
        Marker::Ring => (11, colour.stroke_width(3)),
    }
}

fn draw_points<DB: DrawingBackend>(
    p: &PointPanel,
    area: &DrawingArea<DB, Shift>,
    y_area: u32,
) -> Result<(), String> {
    let mut chart = chart(area, &p.caption, &p.x, &p.y, true, true, y_area)?;
    let at = |(x, y): (f64, f64)| (p.x.to_plot(x), p.y.to_plot(y));
    plot_lines(&mut chart, &p.lines, at)?;
    for s in &p.series {
        let (size, style) = marker_style(s.marker, s.colour);
        let pts = s.points.iter().map(|&q| at(q));
        match s.marker {
            Marker::Cross => chart
                .draw_series(pts.map(|q| Cross::new(q, size, style)))
                .map_err(err)?,
            Marker::Dot | Marker::Ring => chart
                .draw_series(pts.map(|q| Circle::new(q, size, style)))
                .map_err(err)?,
        };
    }
    Ok(())
}

/// The category axis of a bar panel (horizontal bars list the first category at the top).
fn category_axis(p: &BarPanel) -> Axis {
    let mut names = p.categories.clone();
    if p.horizontal {
        names.reverse();
    }
    Axis::categories(p.category_label.clone(), names)
}

fn draw_bars<DB: DrawingBackend>(
    p: &BarPanel,
    area: &DrawingArea<DB, Shift>,
    y_area: u32,
) -> Result<(), String> {
    let n = p.categories.len();
    let slot = |c: usize| {
        if p.horizontal {
            (n - 1 - c) as f64
        } else {
            c as f64
        }
    };
    let cat = category_axis(p);
    let (x, y) = if p.horizontal {
        (&p.value, &cat)
    } else {
        (&cat, &p.value)
    };
    let mut chart = chart(area, &p.caption, x, y, p.horizontal, !p.horizontal, y_area)?;
    let base = p.value.to_plot(p.value.range.0);
    let g = p.groups.len().max(1) as f64;
    let width = 0.8 / g;
    // (category position, value) → chart coordinates.
    let xy = |c: f64, v: f64| if p.horizontal { (v, c) } else { (c, v) };
    let note_style = (FAMILY, NOTE_SIZE).into_font().color(&RGBColor(40, 40, 40));
    // Counts are written at the bars' ends only where a bar is thick enough (horizontal) or wide enough
    // (vertical) for its text not to run into the next one.
    let (aw, ah) = area.dim_in_pixel();
    let bar_px = if p.horizontal { ah } else { aw } as f64 * 0.8 / (n.max(1) as f64 * g);
    let widest_note = p
        .groups
        .iter()
        .flat_map(|gr| gr.notes.iter())
        .map(|t| text_width(t, NOTE_SIZE))
        .max()
        .unwrap_or(0) as f64;
    let notes = if p.horizontal {
        bar_px >= NOTE_SIZE
    } else {
        bar_px >= widest_note * 0.95 + 4.0
    };
    for (gi, group) in p.groups.iter().enumerate() {
        for (c, &v) in group.values.iter().enumerate().take(n) {
            // The first group on the left of a category, or at its top for horizontal bars.
            let lo = if p.horizontal {
                slot(c) + 0.4 - (gi + 1) as f64 * width
            } else {
                slot(c) - 0.4 + gi as f64 * width
            };
            let hi = lo + width;
            let top = p.value.to_plot(v);
            if v > 0.0 || matches!(p.value.scale, Scale::Linear) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [xy(lo, base), xy(hi, top)],
                        group.colour.filled(),
                    )))
                    .map_err(err)?;
            }
            if let Some(&inner) = group.inner.get(c)
                && inner > 0.0
            {
                let pad = width * 0.2;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [xy(lo + pad, base), xy(hi - pad, p.value.to_plot(inner))],
                        darker(group.colour).filled(),
                    )))
                    .map_err(err)?;
            }
            if let Some(note) = group.notes.get(c).filter(|s| notes && !s.is_empty()) {
                let mid = (lo + hi) / 2.0;
                let end = xy(mid, top.max(base));
                // Past the bar's end, or inside it (white) when the plot has no room left there.
                let (px, py) = chart.backend_coord(&end);
                let (xr, yr) = chart.plotting_area().get_pixel_range();
                let room = if p.horizontal {
                    xr.end - px - 5
                } else {
                    py - yr.start - 4
                };
                let need = if p.horizontal {
                    text_width(note, NOTE_SIZE) as i32
                } else {
                    NOTE_SIZE as i32
                };
                let inside = room < need;
                let (anchor, offset) = match (p.horizontal, inside) {
                    (true, false) => (Pos::new(HPos::Left, VPos::Center), (5, 0)),
                    (true, true) => (Pos::new(HPos::Right, VPos::Center), (-5, 0)),
                    (false, false) => (Pos::new(HPos::Center, VPos::Bottom), (0, -4)),
                    (false, true) => (Pos::new(HPos::Center, VPos::Top), (0, 4)),
                };
                let style = if inside {
                    note_style.color(&WHITE)
                } else {
                    note_style.clone()
                };
                let elem =
                    EmptyElement::at(end) + Text::new(note.clone(), offset, style.pos(anchor));
                chart.draw_series(std::iter::once(elem)).map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Draws a block panel: the caption, then the rows of cells right of their labels, a pixel of white between
/// cells so that neighbours of one colour stay countable. Rows too thin for a label of their own are labelled
/// every few rows.
fn draw_blocks<DB: DrawingBackend>(
    p: &BlockPanel,
    area: &DrawingArea<DB, Shift>,
    y_area: u32,
) -> Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let top = if p.caption.is_empty() { 10 } else { 40 };
    if !p.caption.is_empty() {
        let style = (FAMILY, CAPTION_SIZE)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(&p.caption, &style, (w as i32 / 2, 8))
            .map_err(err)?;
    }
    let per_row = p.per_row.max(1);
    let left = y_area as i32;
    let cell_w = (w.saturating_sub(y_area + 28) / per_row as u32).max(2) as i32;
    let row_h = p.row_height() as i32;
    let label_every = match p.row_height() {
        24.. => 1,
        14.. => 2,
        _ => 8,
    };
    let label = (FAMILY, TICK_SIZE)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, c) in p.cells.iter().enumerate() {
        let (row, col) = ((i / per_row) as i32, (i % per_row) as i32);
        let (x, y) = (left + col * cell_w, top + row * row_h);
        area.draw(&Rectangle::new(
            [(x, y), (x + cell_w - 2, y + row_h - 2)],
            c.filled(),
        ))
        .map_err(err)?;
    }
    for (row, text) in p.row_labels.iter().enumerate() {
        if row % label_every == 0 && !text.is_empty() {
            let y = top + row as i32 * row_h + row_h / 2;
            area.draw_text(text, &label, (left - 8, y)).map_err(err)?;
        }
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(
    entries: &[LegendEntry],
    area: &DrawingArea<DB, Shift>,
    layout: &Layout,
) -> Result<(), String> {
    let used = layout.legend_cols as u32 * layout.legend_col_w;
    let left = (layout.width.saturating_sub(used) / 2) as i32;
    let text = (FAMILY, LEGEND_SIZE)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, e) in entries.iter().enumerate() {
        let (row, col) = (i / layout.legend_cols, i % layout.legend_cols);
        let x = left + col as i32 * layout.legend_col_w as i32;
        let y = 8 + row as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let (x1, h) = (x + LEGEND_SWATCH, 7);
        match e.swatch {
            Swatch::Line { dashed: false } => area
                .draw(&PathElement::new(
                    vec![(x, y), (x1, y)],
                    e.colour.stroke_width(3),
                ))
                .map_err(err)?,
            Swatch::Line { dashed: true } => area
                .draw(&DashedPathElement::new(
                    vec![(x, y), (x1, y)],
                    7,
                    4,
                    e.colour.stroke_width(3),
                ))
                .map_err(err)?,
            Swatch::Band => {
                area.draw(&Rectangle::new(
                    [(x, y - h), (x1, y + h)],
                    e.colour.mix(0.16).filled(),
                ))
                .map_err(err)?;
                area.draw(&PathElement::new(
                    vec![(x, y), (x1, y)],
                    e.colour.stroke_width(3),
                ))
                .map_err(err)?;
            }
            Swatch::Bar => area
                .draw(&Rectangle::new(
                    [(x, y - h), (x1, y + h)],
                    e.colour.filled(),
                ))
                .map_err(err)?,
            Swatch::InnerBar => area
                .draw(&Rectangle::new(
                    [(x + 6, y - h), (x1 - 6, y + h)],
                    e.colour.filled(),
                ))
                .map_err(err)?,
            Swatch::Marker(m) => {
                let (size, style) = marker_style(m, e.colour);
                let centre = ((x + x1) / 2, y);
                match m {
                    Marker::Cross => area.draw(&Cross::new(centre, size, style)),
                    Marker::Dot | Marker::Ring => {
                        area.draw(&Circle::new(centre, size.min(9), style))
                    }
                }
                .map_err(err)?
            }
        }
        area.draw_text(&e.label, &text, (x1 + 8, y)).map_err(err)?;
    }
    Ok(())
}

/// The files of one drawn chart.
#[derive(Clone, Debug)]
pub(super) struct Rendered {
    pub title: String,
    pub png: PathBuf,
    pub svg: PathBuf,
    /// The SVG document, for inlining in the HTML report.
    pub svg_text: String,
}

/// Draws `fig` as SVG text.
pub(super) fn svg(fig: &Figure) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size(fig)).into_drawing_area();
        draw(fig, &root)?;
        root.present().map_err(err)?;
    }
    Ok(text)
}

/// Draws `fig` into an RGB pixel buffer of [`size`].
pub(super) fn rgb(fig: &Figure) -> Result<Vec<u8>, String> {
    let (w, h) = size(fig);
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let root = Crisp(BitMapBackend::with_buffer(&mut buf, (w, h))).into_drawing_area();
        draw(fig, &root)?;
        root.present().map_err(err)?;
    }
    Ok(buf)
}

/// Draws `fig` as PNG bytes (the encoding plotters gives a file, made in memory so that the file is written
/// like every other result).
fn png(fig: &Figure) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let (w, h) = size(fig);
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgb(fig)?, w, h, image::ColorType::Rgb8)
        .map_err(err)?;
    Ok(bytes)
}

/// Writes `fig` as `dir/STEM.png` and `dir/STEM.svg`, each atomically ([`folder::write_atomic`]).
pub(super) fn write(fig: &Figure, dir: &Path) -> Result<Rendered, PlotError> {
    let png_path = dir.join(format!("{}.png", fig.stem));
    let svg_path = dir.join(format!("{}.svg", fig.stem));
    let draw_error = |path: &Path, message: String| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let png_bytes = png(fig).map_err(|m| draw_error(&png_path, m))?;
    folder::write_atomic(&png_path, &png_bytes)?;
    let svg_text = svg(fig).map_err(|m| draw_error(&svg_path, m))?;
    folder::write_atomic(&svg_path, svg_text.as_bytes())?;
    Ok(Rendered {
        title: fig.title.clone(),
        png: png_path,
        svg: svg_path,
        svg_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(title: &str) -> Figure {
        Figure {
            stem: "t".into(),
            title: title.into(),
            subtitle: String::new(),
            panels: vec![Panel::Lines(LinePanel {
                caption: String::new(),
                x: Axis::linear("x (s)", 0.0, 10.0),
                y: Axis::linear("y", 0.0, 1.0),
                lines: vec![Line {
                    colour: PALETTE[0],
                    dashed: false,
                    markers: false,
                    points: vec![(0.0, 0.0), (10.0, 1.0)],
                    band: vec![],
                }],
            })],
            legend: vec![],
        }
    }

    /// The title's pixels differ with and without a title string: glyphs are rasterised from the embedded
    /// font, not silently skipped (which is what plotters does when it has no font).
    #[test]
    fn title_glyphs_are_drawn_with_the_embedded_font() {
        let with = figure("Pod IP wait");
        let without = figure("");
        assert_eq!(size(&with), size(&without));
        let (w, _) = size(&with);
        let (a, b) = (rgb(&with).unwrap(), rgb(&without).unwrap());
        // The title band: the top 40 rows.
        let band = 40 * w as usize * 3;
        let differing = a[..band]
            .iter()
            .zip(&b[..band])
            .filter(|(x, y)| x != y)
            .count();
        assert!(differing > 300, "only {differing} title bytes differ");
        // Without a title the band is white.
        assert!(b[..band].iter().all(|&v| v == 255));
    }

    #[test]
    fn svg_names_a_generic_font_family_and_holds_the_text() {
        let s = svg(&figure("A <title> & more")).unwrap();
        assert!(s.contains("font-family=\"sans-serif\""), "{s}");
        assert!(s.contains("A &lt;title&gt; &amp; more"));
        assert!(s.contains(">\nx (s)\n</text>"), "{s}");
    }

    #[test]
    fn same_figure_same_svg() {
        assert_eq!(svg(&figure("x")).unwrap(), svg(&figure("x")).unwrap());
    }
}
