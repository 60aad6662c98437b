//! The font the charts are drawn with, compiled into the binary.
//!
//! plotters draws text through a font table that is empty until fonts are registered (its system-font lookup
//! needs fontconfig and freetype, which a fresh machine lacks and which this crate does not enable). Without a
//! registered font the bitmap backend skips every label silently, so the charts would have no text. DejaVu
//! Sans comes from the `dejavu` crate; its licence (Bitstream Vera terms plus public-domain DejaVu changes, in
//! the crate's `assets/dejavu-fonts-ttf-2.37/LICENSE`) allows embedding and redistribution, and the font file
//! carries its copyright notice in its own name table.
//!
//! The font is registered under the generic family `sans-serif`, the family plotters uses by default and the
//! one written into SVG `<text>` elements, so a browser shows the SVG with whatever sans-serif font it has.

use std::sync::OnceLock;

use plotters::style::FontStyle;

/// The family every chart text uses: generic, so SVG viewers need no particular font installed.
pub(super) const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process; an error if the font data were unreadable (they are checked
/// by a unit test, so this does not happen in a release).
pub(super) fn ensure() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let fail =
            |style: &str| format!("the embedded DejaVu Sans {style} font is not a valid font");
        plotters::style::register_font(FAMILY, FontStyle::Normal, dejavu::sans::regular())
            .map_err(|_| fail("regular"))?;
        plotters::style::register_font(FAMILY, FontStyle::Bold, dejavu::sans::bold())
            .map_err(|_| fail("bold"))?;
        Ok(())
    })
    .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_font_registers() {
        assert_eq!(super::ensure(), Ok(()));
    }
}
