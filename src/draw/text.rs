//! Text: the embedded font, glyphs rasterised once per size and cached, measuring and
//! drawing a line of text.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use super::canvas::{Canvas, Paint};

/// DejaVu Sans 2.37 (Bitstream Vera licence, `fonts/LICENSE-DejaVu.txt`): covers Latin,
/// Greek, Cyrillic and many symbols, so labels in most European languages draw as written.
static EMBEDDED_FONT: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// A parsed font.
pub type Font = fontdue::Font;

/// The embedded font, parsed once per process.
pub fn embedded_font() -> Arc<Font> {
    static FONT: OnceLock<Arc<Font>> = OnceLock::new();
    FONT.get_or_init(|| {
        Arc::new(
            Font::from_bytes(EMBEDDED_FONT, fontdue::FontSettings::default())
                .expect("the embedded font parses"),
        )
    })
    .clone()
}

/// Loads a TrueType/OpenType font file (for scripts the embedded font does not cover).
pub fn load_font(path: &std::path::Path) -> Result<Arc<Font>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Font::from_bytes(bytes, fontdue::FontSettings::default())
        .map(Arc::new)
        .map_err(|e| format!("{} is not a usable font: {e}", path.display()))
}

/// One rasterised glyph.
struct Glyph {
    /// Offset of the bitmap's left edge from the pen position.
    xmin: i32,
    /// Offset of the bitmap's bottom edge above the baseline.
    ymin: i32,
    width: usize,
    height: usize,
    advance: f32,
    coverage: Vec<u8>,
}

/// Glyphs of one font at one pixel size, rasterised on first use and kept.
pub struct GlyphCache {
    font: Arc<Font>,
    size: f32,
    ascent: i32,
    descent: i32,
    glyphs: HashMap<char, Glyph>,
}

impl GlyphCache {
    /// A cache for `font` at `size` pixels (the em size, as `font-size` in CSS).
    pub fn new(font: Arc<Font>, size: f32) -> Self {
        let size = size.max(1.0);
        let (ascent, descent) = match font.horizontal_line_metrics(size) {
            Some(m) => (m.ascent.ceil() as i32, (-m.descent).ceil() as i32),
            None => ((size * 0.8).ceil() as i32, (size * 0.2).ceil() as i32),
        };
        GlyphCache {
            font,
            size,
            ascent,
            descent,
            glyphs: HashMap::new(),
        }
    }

    pub fn size(&self) -> f32 {
        self.size
    }

    pub fn font(&self) -> &Arc<Font> {
        &self.font
    }

    /// Pixels from the top of a line to its baseline.
    pub fn ascent(&self) -> i32 {
        self.ascent
    }

    /// Height of a line: ascent plus descent.
    pub fn line_height(&self) -> i32 {
        self.ascent + self.descent
    }

    /// Number of glyphs rasterised so far.
    pub fn cached(&self) -> usize {
        self.glyphs.len()
    }

    fn glyph(&mut self, c: char) -> &Glyph {
        let (font, size) = (&self.font, self.size);
        self.glyphs.entry(c).or_insert_with(|| {
            let (m, coverage) = font.rasterize(c, size);
            Glyph {
                xmin: m.xmin,
                ymin: m.ymin,
                width: m.width,
                height: m.height,
                advance: m.advance_width,
                coverage,
            }
        })
    }

    /// Width in pixels of `text` on one line.
    pub fn measure(&mut self, text: &str) -> i32 {
        let w: f32 = text.chars().map(|c| self.glyph(c).advance).sum();
        w.ceil() as i32
    }

    /// Draws `text` with its pen starting at `x` and its baseline at `baseline`, clipped to
    /// the frame.
    pub fn draw(
        &mut self,
        canvas: &mut Canvas<'_>,
        x: i32,
        baseline: i32,
        text: &str,
        paint: Paint,
    ) {
        let mut pen = x as f32;
        for c in text.chars() {
            let g = self.glyph(c);
            if g.width > 0 && g.height > 0 {
                let gx = pen.round() as i32 + g.xmin;
                let gy = baseline - (g.height as i32 + g.ymin);
                canvas.blend_mask(gx, gy, &g.coverage, g.width, g.height, paint);
            }
            pen += g.advance;
        }
    }
}
