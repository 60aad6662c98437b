//! Text on the PNG charts, drawn glyph by glyph from the embedded font with each glyph's own bearing and
//! baseline.
//!
//! plotters' `ab_glyph` text path (the only one without system font libraries) places each glyph at a
//! truncated whole-pixel pen position, ignores the glyph's left side bearing and hangs it from half the font
//! size rather than from a baseline: at the 12–16 px of tick and legend labels letters overlap or gap and a
//! full stop floats half-way up the line. This backend wraps the bitmap backend and draws text itself,
//! positioned like the SVG backend positions it (same em size, same anchors), so a chart's PNG and SVG agree.
//! Every other drawing call goes to the bitmap backend unchanged.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle,
};

/// The regular and bold faces, parsed once.
fn faces() -> Option<&'static (FontRef<'static>, FontRef<'static>)> {
    static FACES: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let regular = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let bold = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            Some((regular, bold))
        })
        .as_ref()
}

/// The face and scale for a plotters text style: plotters' size is 1.24 em, as in its SVG output.
fn scaled<S: BackendTextStyle>(
    style: &S,
) -> Option<ab_glyph::PxScaleFont<&'static FontRef<'static>>> {
    let (regular, bold) = faces()?;
    let face = match style.style() {
        FontStyle::Bold => bold,
        _ => regular,
    };
    let em = (style.size() / 1.24) as f32;
    // PxScale is the height from descender to ascender; the em is a fixed part of it.
    let height = face.height_unscaled() / face.units_per_em().unwrap_or(2048.0);
    Some(face.as_scaled(PxScale::from(em * height)))
}

/// Pen positions of each glyph of `text` and the advance width of the whole.
fn layout<F: Font, SF: ScaleFont<F>>(
    font: &SF,
    text: &str,
) -> (Vec<(ab_glyph::GlyphId, f32)>, f32) {
    let mut x = 0.0;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            x += font.kern(p, id);
        }
        glyphs.push((id, x));
        x += font.h_advance(id);
        prev = Some(id);
    }
    (glyphs, x)
}

/// A bitmap backend whose text is drawn by [`raster`](self).
pub(super) struct Crisp<B>(pub B);

impl<B: DrawingBackend> DrawingBackend for Crisp<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<B::ErrorType>> {
        match scaled(style) {
            Some(font) => {
                let (_, width) = layout(&font, text);
                Ok((width.ceil() as u32, (style.size() / 1.24).round() as u32))
            }
            None => self.0.estimate_text_size(text, style),
        }
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let Some(font) = scaled(style) else {
            return self.0.draw_text(text, style, pos);
        };
        let (glyphs, width) = layout(&font, text);
        let em = (style.size() / 1.24) as f32;
        let x_height = font
            .outline_glyph(font.scaled_glyph('x'))
            .map_or(em * 0.55, |g| -g.px_bounds().min.y);
        // The SVG backend's anchors: `text-anchor` across; `dy` of 0.76 em (top), 0.5 ex (centre) or
        // -0.5 ex (bottom) from the anchor to the baseline.
        let dx = match style.anchor().h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = match style.anchor().v_pos {
            VPos::Top => 0.76 * em,
            VPos::Center => 0.5 * x_height,
            VPos::Bottom => -0.5 * x_height,
        };
        let transform = style.transform();
        let (w, h) = self.0.get_size();
        for (id, x) in glyphs {
            let glyph = id.with_scale_and_position(font.scale(), point(dx + x, baseline));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            let mut result = Ok(());
            outline.draw(|gx, gy, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                let local = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                let (rx, ry) = transform.transform(local.0, local.1);
                let (px, py) = (pos.0 + rx, pos.1 + ry);
                if px >= 0 && py >= 0 && (px as u32) < w && (py as u32) < h {
                    let c = BackendColor {
                        alpha: colour.alpha * f64::from(coverage.min(1.0)),
                        rgb: colour.rgb,
                    };
                    result = self.0.draw_pixel((px, py), c);
                }
            });
            result?;
        }
        Ok(())
    }
}
