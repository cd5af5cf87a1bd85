//! Where shown text goes and how pieces of text drawn on a page are joined
//! into words and lines.

/// Where text goes: body, or a header or footer artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target {
    Body,
    Header,
    Footer,
}

/// Text gathered from the pages, with counts that tell whether the PDF was
/// readable.
#[derive(Debug, Default)]
pub(super) struct TextOut {
    pub(super) body: String,
    pub(super) header: String,
    pub(super) footer: String,
    /// Codes shown that gave text.
    pub(super) glyphs: usize,
    /// Codes shown that gave no text (no Unicode information).
    pub(super) undecodable: usize,
    /// Images drawn.
    pub(super) images: usize,
    /// End of the last text drawn: (x, y, font height) in page space, and where it went.
    pub(super) last: Option<(f64, f64, f64, Target)>,
    /// Most bytes of text kept (a font can map one code to a long text).
    pub(super) limit: usize,
    /// Text was dropped at the limit.
    pub(super) truncated: bool,
}

impl TextOut {
    /// Appends `text` where `target` says, within the size limit.
    pub(super) fn push(&mut self, target: Target, text: &str) {
        let total = self.body.len() + self.header.len() + self.footer.len();
        if total.saturating_add(text.len()) > self.limit {
            self.truncated = true;
            return;
        }
        self.buffer(target).push_str(text);
    }

    pub(super) fn buffer(&mut self, target: Target) -> &mut String {
        match target {
            Target::Body => &mut self.body,
            Target::Header => &mut self.header,
            Target::Footer => &mut self.footer,
        }
    }

    pub(super) fn new_page(&mut self) {
        for target in [Target::Body, Target::Header, Target::Footer] {
            let buffer = self.buffer(target);
            if !buffer.is_empty() && !buffer.ends_with('\n') {
                buffer.push('\n');
            }
        }
        self.last = None;
    }

    /// The separator before text drawn at (x, y) with font height `h`.
    pub(super) fn separate(&mut self, target: Target, x: f64, y: f64, h: f64) {
        let Some((last_x, last_y, last_h, last_target)) = self.last else {
            return;
        };
        let h = h.max(last_h).max(1e-3);
        let separator = if last_target != target || (y - last_y).abs() > 0.5 * h {
            Some('\n')
        } else if (x - last_x) > 0.15 * h || (last_x - x) > 1.5 * h {
            Some(' ')
        } else {
            None
        };
        if let Some(separator) = separator {
            let buffer = self.buffer(target);
            if !buffer.is_empty() && !buffer.ends_with(['\n', ' ']) {
                buffer.push(separator);
            }
        }
    }
}

/// An affine matrix `[a b c d e f]`.
pub(super) type Matrix = [f64; 6];

pub(super) const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `m × n`.
pub(super) fn multiply(m: &Matrix, n: &Matrix) -> Matrix {
    [
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    ]
}
