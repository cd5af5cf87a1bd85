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
    /// Text of the page bodies.
    pub(super) body: String,
    /// Text marked as page headers.
    pub(super) header: String,
    /// Text marked as page footers.
    pub(super) footer: String,
    /// Codes shown that gave text.
    pub(super) glyphs: usize,
    /// Codes shown that gave no text (no Unicode information).
    pub(super) undecodable: usize,
    /// Images drawn.
    pub(super) images: usize,
    /// Most bytes of text kept (a font can map one code to a long text).
    pub(super) limit: usize,
    /// Text was dropped at the limit.
    pub(super) truncated: bool,
    /// The line being drawn, kept until it ends so that its word breaks can
    /// be decided from all of its gaps.
    line: Option<Line>,
}

/// Most glyphs kept for one line before they are written out: a hostile
/// content stream cannot make a line hold unbounded memory.
const MAX_LINE_GLYPHS: usize = 50_000;

/// A gap wider than this fraction of the font height separates words in
/// ordinary text (poppler's `pdftotext` starts a new word at 0.1).
const WORD_GAP: f64 = 0.15;
/// A move back along the line by more than this many font heights is a jump
/// to an earlier column, not an overlap of glyphs.
const JUMP_BACK: f64 = 1.5;
/// A baseline further than this fraction of the font height from the line's
/// starts a new line.
const BASELINE_SHIFT: f64 = 0.5;
/// A glyph drawn again with the same text less than this fraction of the
/// font height from where it was is a duplicate (simulated bold).
const DUPLICATE_SHIFT: f64 = 0.1;
/// Letter-spaced text: the widest even spacing (in font heights) still read
/// as tracking rather than as separate columns.
const MAX_TRACKING: f64 = 2.0;
/// Letter-spaced text: fewest single glyphs in a row before their even
/// spacing is taken for tracking (two letters apart are as likely two words).
const MIN_TRACKED_RUN: usize = 3;

/// One glyph placed on a line: its extent along the baseline and its text.
#[derive(Debug)]
struct Placed {
    /// Where the glyph starts along the line's direction.
    start: f64,
    /// Where its advance (without character or word spacing) ends.
    end: f64,
    /// Font height where it was drawn.
    height: f64,
    /// End of its text in the line's text (it starts where the previous ends).
    text_end: usize,
    /// Length of its text.
    text_len: usize,
    /// Offset of its baseline across the line's direction.
    offset: f64,
    /// Its text is white space (a space glyph drawn by the producer).
    blank: bool,
    /// Drawn well before the previous glyph (an earlier column): a word break.
    jump: bool,
}

/// Glyphs drawn along one baseline, waiting for their word breaks.
#[derive(Debug)]
struct Line {
    /// Where the line goes.
    target: Target,
    /// Unit vector of the text direction on the page.
    dir: [f64; 2],
    /// Offset of the baseline across the text direction.
    baseline: f64,
    /// The glyphs of the line in drawing order.
    glyphs: Vec<Placed>,
    /// Their texts, one after another.
    text: String,
    /// End of the last glyph already written out of this line (after a flush
    /// at [`MAX_LINE_GLYPHS`]), so the next glyph's gap is still judged.
    written_end: Option<(f64, f64)>,
}

impl TextOut {
    /// A collector of text that keeps at most `limit` bytes.
    pub(super) fn new(limit: usize) -> Self {
        TextOut {
            limit,
            ..TextOut::default()
        }
    }

    /// Appends `text` where `target` says, within the size limit, after the
    /// line being drawn.
    pub(super) fn push(&mut self, target: Target, text: &str) {
        self.end_line();
        if self.kept().saturating_add(text.len()) > self.limit {
            self.truncated = true;
            return;
        }
        self.buffer(target).push_str(text);
    }

    /// Bytes of text kept so far.
    fn kept(&self) -> usize {
        let line = self.line.as_ref().map_or(0, |l| l.text.len());
        self.body.len() + self.header.len() + self.footer.len() + line
    }

    /// The text written for `target`.
    fn buffer(&mut self, target: Target) -> &mut String {
        match target {
            Target::Body => &mut self.body,
            Target::Header => &mut self.header,
            Target::Footer => &mut self.footer,
        }
    }

    /// Ends the page: its last line is written and each text ends its line.
    pub(super) fn new_page(&mut self) {
        self.end_line();
        for target in [Target::Body, Target::Header, Target::Footer] {
            let buffer = self.buffer(target);
            if !buffer.is_empty() && !buffer.ends_with('\n') {
                buffer.push('\n');
            }
        }
    }

    /// Records a glyph with text `text` drawn from `start` to `end` (page
    /// space, the advance without character or word spacing), in direction
    /// `dir` (a unit vector) with font height `height`.
    pub(super) fn glyph(
        &mut self,
        target: Target,
        text: &str,
        start: [f64; 2],
        end: [f64; 2],
        dir: [f64; 2],
        height: f64,
    ) {
        if self.kept().saturating_add(text.len()) > self.limit {
            self.truncated = true;
            return;
        }
        let height = height.max(1e-3);
        let along = |p: [f64; 2]| p[0] * dir[0] + p[1] * dir[1];
        let across = |p: [f64; 2]| p[1] * dir[0] - p[0] * dir[1];
        let same_line = self.line.as_ref().is_some_and(|line| {
            let h = line.glyphs.last().map_or(height, |g| g.height.max(height));
            line.target == target
                && line.dir[0] * dir[0] + line.dir[1] * dir[1] > 0.99
                && (across(start) - line.baseline).abs() <= BASELINE_SHIFT * h
        });
        if !same_line {
            self.end_line();
            self.line = Some(Line {
                target,
                dir,
                baseline: across(start),
                glyphs: Vec::new(),
                text: String::new(),
                written_end: None,
            });
        } else if self
            .line
            .as_ref()
            .is_some_and(|l| l.glyphs.len() >= MAX_LINE_GLYPHS)
        {
            self.write_line(true);
        }
        let Some(line) = self.line.as_mut() else {
            return;
        };
        let offset = across(start);
        let (start, end) = (along(start), along(end));
        // The same glyph drawn again almost where it was (simulated bold, a
        // shadow) is shown once, as `pdftotext` drops such duplicates.
        if let Some(last) = line.glyphs.last() {
            let h = last.height.max(height);
            let last_text = line
                .text
                .get(line.text.len().saturating_sub(last.text_len)..)
                .unwrap_or_default();
            if last_text == text
                && (start - last.start).abs() < DUPLICATE_SHIFT * h
                && (offset - last.offset).abs() < DUPLICATE_SHIFT * h
            {
                return;
            }
        }
        let previous_end = line
            .glyphs
            .last()
            .map(|g| (g.end, g.height))
            .or(line.written_end);
        let jump = previous_end.is_some_and(|(e, h)| start < e - JUMP_BACK * h.max(height));
        line.text.push_str(text);
        line.glyphs.push(Placed {
            start,
            end: end.max(start),
            height,
            text_end: line.text.len(),
            text_len: text.len(),
            offset,
            blank: !text.is_empty() && text.chars().all(char::is_whitespace),
            jump,
        });
    }

    /// Writes out the line being drawn, if any.
    fn end_line(&mut self) {
        self.write_line(false);
    }

    /// Writes the line's text with its word breaks to its target; with
    /// `keep`, the line stays open (it was only too long to hold).
    fn write_line(&mut self, keep: bool) {
        let Some(mut line) = self.line.take() else {
            return;
        };
        let breaks = word_breaks(&line.glyphs, line.written_end);
        let buffer = self.buffer(line.target);
        if line.written_end.is_none() && !buffer.is_empty() && !buffer.ends_with('\n') {
            buffer.push('\n');
        }
        let mut from = 0;
        for (glyph, space_before) in line.glyphs.iter().zip(breaks) {
            let text = line.text.get(from..glyph.text_end).unwrap_or_default();
            from = glyph.text_end;
            if text.is_empty() {
                continue;
            }
            if space_before && !glyph.blank && !buffer.is_empty() && !buffer.ends_with([' ', '\n'])
            {
                buffer.push(' ');
            }
            buffer.push_str(text);
        }
        if keep {
            line.written_end = line.glyphs.last().map(|g| (g.end, g.height));
            line.glyphs.clear();
            line.text.clear();
            self.line = Some(line);
        }
    }
}

/// For each glyph of a line, whether a word break comes before it.
///
/// Ordinary text: a gap wider than [`WORD_GAP`] of the font height is a
/// break, as `pdftotext` decides. Letter-spaced text (CSS `letter-spacing`,
/// `Tc`, `TJ` offsets) leaves such a gap after every glyph, so a row of
/// glyphs that each stand apart (at least [`MIN_TRACKED_RUN`] of them not
/// spaces) is measured on its own: the narrowest gap between two of its
/// letters is the tracking, and only a gap clearly wider than that (by
/// [`WORD_GAP`] of the height, or a quarter of the tracking) breaks a word;
/// space glyphs in the row still separate words. A tracked `S E C R E T`
/// reads `SECRET`, a tracked `JM 41 29 87 B` keeps its spaces, and
/// `T O P   S E C R E T` drawn with a wider gap between the words reads
/// `TOP SECRET`. Linear in the glyphs.
fn word_breaks(glyphs: &[Placed], written_end: Option<(f64, f64)>) -> Vec<bool> {
    let n = glyphs.len();
    // The gap before each glyph, and whether ordinary spacing breaks there.
    let mut gap = vec![0.0f64; n];
    let mut wide = vec![false; n];
    for (i, g) in glyphs.iter().enumerate() {
        let previous = match i {
            0 => written_end,
            _ => glyphs.get(i - 1).map(|p| (p.end, p.height)),
        };
        if let Some((end, height)) = previous {
            let h = height.max(g.height);
            gap[i] = g.start - end;
            wide[i] = g.jump || gap[i] > WORD_GAP * h;
        }
    }
    let mut breaks = wide.clone();
    // A glyph stands alone when ordinary spacing breaks on both sides of it
    // (or the line starts or ends there). Space glyphs of letter-spaced text
    // stand alone too and stay in the run: they only add their own space.
    let starts_line = written_end.is_none();
    let single = |i: usize| {
        let before = wide[i] || (i == 0 && starts_line);
        let after = wide.get(i + 1).copied().unwrap_or(true);
        before && after
    };
    // Two letters side by side (no space glyph between them).
    let letters = |k: usize| !glyphs[k].blank && !glyphs[k - 1].blank;
    let mut a = 0;
    while a < n {
        if !single(a) {
            a += 1;
            continue;
        }
        // The run of single glyphs a..=b, each a moderate gap after the one
        // before.
        let mut b = a;
        while b + 1 < n && single(b + 1) && !glyphs[b + 1].jump && {
            let h = glyphs[b + 1].height.max(glyphs[b].height);
            gap[b + 1] <= MAX_TRACKING * h
        } {
            b += 1;
        }
        let shown = glyphs[a..=b].iter().filter(|g| !g.blank).count();
        let tracking = (a + 1..=b)
            .filter(|&k| letters(k))
            .map(|k| gap[k])
            .fold(f64::INFINITY, f64::min);
        if shown >= MIN_TRACKED_RUN && tracking.is_finite() {
            for k in (a + 1..=b).filter(|&k| letters(k)) {
                let h = glyphs[k].height.max(glyphs[k - 1].height);
                let slack = (WORD_GAP * h).max(0.25 * tracking);
                breaks[k] = gap[k] > tracking + slack;
            }
        }
        a = b + 1;
    }
    breaks
}

/// An affine matrix `[a b c d e f]`.
pub(super) type Matrix = [f64; 6];

/// The identity matrix.
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
