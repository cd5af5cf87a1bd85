//! HTML as a mail client renders it. Two readings come out: the *visible* text
//! (what a reader sees: text hidden by CSS or attributes left out, `<noscript>`
//! and CSS generated content put in), so hidden junk cannot break up an
//! identifier the reader sees; and the *full* text (everything but scripts and
//! styles, hidden text and `<template>` content included), since a hidden
//! identifier still leaks. Both keep the reading order: block elements on
//! their own lines, inline tags joining without a space (`Opera<b>tion</b>`
//! stays one word), table cells apart, `alt` and `title` text in place.
//! Outlook's conditional comments go into the full reading; right-to-left
//! directions (`<bdo dir="rtl">`, `dir="rtl"`) become Unicode bidi controls,
//! so that the visual reading of the text shows them as a reader sees them.
//!
//! Linear in the input: a bounded stack of open elements, per-name counts of
//! open elements so that a stray end tag costs nothing, hash maps for style rules.

mod css;

use std::collections::HashMap;

use html5gum::{HtmlString, StartTag, State, Token, Tokenizer};

use css::{ContentPiece, Declarations, Rgb, StyleSheet};

/// Most open elements tracked; deeper nesting is not rendered faithfully
/// (browsers cap their tree depth too).
const MAX_OPEN_ELEMENTS: usize = 10_000;

/// Bytes of CSS generated content allowed beyond the size of the document.
const GENERATED_SLACK: usize = 64 << 10;

/// The two readings of an HTML document.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// The text a reader sees.
    pub visible: String,
    /// All the text, hidden parts included; `None` when it is the visible text.
    pub full: Option<String>,
    /// Why the visible reading may differ from what a reader sees (more
    /// elements open at once than [`MAX_OPEN_ELEMENTS`], more generated
    /// content than the budget allows), if it may.
    pub unrendered: Option<&'static str>,
}

/// Renders an HTML document or fragment to its visible and full readings.
pub(crate) fn render(html: &str) -> Rendered {
    render_with(html, true)
}

/// [`render`], reading the HTML inside Outlook's conditional comments
/// (`<!--[if mso]>...<![endif]-->`, shown by Outlook alone) into the full
/// reading when `conditional_comments` is set. Their content is rendered
/// without it: it holds no complete comment, so one level is all there is.
fn render_with(html: &str, conditional_comments: bool) -> Rendered {
    let mut sheet = StyleSheet::default();
    for block in style_blocks(html) {
        sheet.parse(block);
    }
    let mut renderer = Renderer {
        sheet: &sheet,
        stack: Vec::new(),
        names: HashMap::new(),
        name_of: Vec::new(),
        open_count: Vec::new(),
        scratch: String::new(),
        out: Readings::default(),
        in_script_or_style: false,
        generated_budget: html.len().saturating_add(GENERATED_SLACK),
        unrendered: None,
    };
    let mut tokenizer = Tokenizer::new(html);
    while let Some(Ok(token)) = tokenizer.next() {
        match token {
            Token::StartTag(tag) => {
                if let Some(state) = renderer.start(&tag) {
                    tokenizer.set_state(state);
                }
            }
            Token::EndTag(tag) => renderer.end(&tag.name),
            Token::String(text) if !renderer.in_script_or_style => {
                let now = renderer.current();
                let text = String::from_utf8_lossy(&text);
                if now.capitals && !now.hidden() {
                    renderer.out.push_shown_as(&text.to_uppercase(), &text);
                } else {
                    renderer.out.push(&text, now.hidden());
                }
            }
            Token::Comment(comment) if conditional_comments => {
                if let Some(inner) = conditional_comment(&String::from_utf8_lossy(&comment)) {
                    let shown = render_with(inner, false);
                    // Outlook shows it, other clients do not: in the full reading only
                    let text = shown.full.unwrap_or(shown.visible);
                    renderer.out.push(&text, true);
                    renderer.unrendered = renderer.unrendered.or(shown.unrendered);
                }
            }
            _ => {}
        }
    }
    while let Some(frame) = renderer.stack.pop() {
        renderer.close(frame);
    }
    for text in &sheet.unplaced {
        // generated content that no element could be found for still shows
        renderer.generated(&format!("\n{text}\n"));
    }
    Rendered {
        unrendered: renderer.unrendered,
        visible: renderer.out.visible,
        full: renderer.out.full,
    }
}

/// The HTML inside a conditional comment (`[if mso]>...<![endif]`), if the
/// comment is one.
fn conditional_comment(comment: &str) -> Option<&str> {
    let rest = comment.trim_start();
    if !rest.get(..3).is_some_and(|s| s.eq_ignore_ascii_case("[if")) {
        return None;
    }
    let start = rest.find("]>")? + 2;
    let inner = rest.get(start..)?;
    Some(
        inner
            .rfind("<![endif]")
            .and_then(|end| inner.get(..end))
            .unwrap_or(inner),
    )
}

/// Whether the text of an element shows, as inherited from its ancestors.
#[derive(Clone, Copy, Debug)]
struct Visibility {
    /// Not rendered at all (`display:none`, `hidden`, `<template>`, zero
    /// opacity...): no descendant can show again.
    removed: bool,
    /// `visibility:hidden`, which a descendant can undo with `visible`.
    visibility_hidden: bool,
    /// A font too small to read, which a descendant can undo with a real size.
    font_invisible: bool,
    /// A transparent text colour, which a descendant can undo with a colour.
    color_invisible: bool,
    /// The text colour (black until a style or `<font color>` says).
    text: Rgb,
    /// The background the text stands on (white until an element paints one).
    background: Rgb,
    /// Lower-case letters shown as capitals (`text-transform: uppercase`,
    /// small capitals): a banner typed in lower case still reads as one.
    capitals: bool,
}

impl Default for Visibility {
    /// The document itself: everything shows, black text on white.
    fn default() -> Self {
        Visibility {
            removed: false,
            visibility_hidden: false,
            font_invisible: false,
            color_invisible: false,
            text: [0, 0, 0],
            background: [255, 255, 255],
            capitals: false,
        }
    }
}

impl Visibility {
    /// True when text here does not show.
    fn hidden(self) -> bool {
        self.removed
            || self.visibility_hidden
            || self.font_invisible
            || self.color_invisible
            || css::same_colour(self.text, self.background)
    }
}

/// The colour an HTML presentational attribute (`color`, `bgcolor`) gives.
fn attribute_rgb(tag: &StartTag<()>, attribute: &[u8]) -> Option<Rgb> {
    let value = tag.attributes.get(attribute)?;
    css::parse_rgb(&String::from_utf8_lossy(value))
}

/// An open element.
struct Frame {
    /// Its tag name, as an index into [`Renderer::name_of`].
    name: usize,
    visibility: Visibility,
    /// Its `::after` generated content, shown when it closes.
    after: Option<String>,
    /// The bidi control that ends its direction override or isolate, if it
    /// opened one.
    bidi_end: Option<char>,
}

/// The visible and full readings as they are written; they share one string
/// until the first hidden or generated text makes them differ.
#[derive(Default)]
struct Readings {
    visible: String,
    full: Option<String>,
}

impl Readings {
    /// Appends document text, which is in the full reading even when hidden.
    fn push(&mut self, text: &str, hidden: bool) {
        if hidden {
            self.full_mut().push_str(text);
        } else {
            self.visible.push_str(text);
            if let Some(full) = &mut self.full {
                full.push_str(text);
            }
        }
    }

    /// Appends document text that is shown as `shown` (transformed by CSS).
    fn push_shown_as(&mut self, shown: &str, text: &str) {
        if shown == text {
            self.push(text, false);
        } else {
            self.full_mut().push_str(text);
            self.visible.push_str(shown);
        }
    }

    /// Appends text that only a reader sees (CSS generated content).
    fn push_visible_only(&mut self, text: &str) {
        self.full_mut();
        self.visible.push_str(text);
    }

    /// The full reading, split off from the visible one on first need.
    fn full_mut(&mut self) -> &mut String {
        self.full.get_or_insert_with(|| self.visible.clone())
    }
}

/// Walks the tokens, keeping the open elements and what they hide.
struct Renderer<'s> {
    sheet: &'s StyleSheet,
    stack: Vec<Frame>,
    /// Index of each tag name seen, so frames carry no name of their own.
    names: HashMap<Vec<u8>, usize>,
    /// The tag name of each index.
    name_of: Vec<Vec<u8>>,
    /// How many elements of each name index are open.
    open_count: Vec<u32>,
    /// Scratch space for style-sheet lookups.
    scratch: String,
    out: Readings,
    /// Inside `<script>` or `<style>`, whose text is never shown.
    in_script_or_style: bool,
    /// Bytes of generated content that may still be inserted: one rule can
    /// apply to every element, and the work must stay linear in the input.
    generated_budget: usize,
    unrendered: Option<&'static str>,
}

impl Renderer<'_> {
    /// The visibility of text at this point.
    fn current(&self) -> Visibility {
        self.stack.last().map(|f| f.visibility).unwrap_or_default()
    }

    /// Handles a start tag; returns the tokenizer state its content needs.
    fn start(&mut self, tag: &StartTag<()>) -> Option<State> {
        let name = tag.name.as_slice();
        if matches!(name, b"script" | b"style") {
            self.in_script_or_style = true;
            return Some(if name == b"script" {
                State::ScriptData
            } else {
                State::RawText
            });
        }
        self.close_implied(name);
        let mut declarations = Declarations::default();
        let mut before = None;
        let mut after = None;
        let sheet = self.sheet;
        if !sheet.is_empty() {
            let key = &mut self.scratch;
            apply_sheet(sheet, tag, key, &mut declarations, &mut before, &mut after);
        }
        if let Some(style) = tag.attributes.get(b"style".as_slice()) {
            declarations.merge(&Declarations::parse(&String::from_utf8_lossy(style)));
        }
        // the `hidden` attribute is `display:none` unless a style says otherwise
        let hidden_attribute = tag.attributes.contains_key(b"hidden".as_slice())
            && declarations.display_none != Some(false);
        let parent = self.current();
        let visibility = Visibility {
            removed: parent.removed
                || declarations.removes()
                || hidden_attribute
                || matches!(name, b"template" | b"iframe" | b"noembed" | b"noframes"),
            visibility_hidden: declarations
                .visibility_hidden
                .unwrap_or(parent.visibility_hidden),
            font_invisible: declarations.font_invisible.unwrap_or(parent.font_invisible),
            color_invisible: declarations
                .color_invisible
                .unwrap_or(parent.color_invisible),
            // presentational attributes (`<font color>`, `bgcolor`) yield to CSS
            text: declarations
                .text_rgb
                .or_else(|| {
                    matches!(name, b"font" | b"basefont")
                        .then(|| attribute_rgb(tag, b"color"))
                        .flatten()
                })
                .unwrap_or(parent.text),
            background: declarations
                .background_rgb
                .or_else(|| attribute_rgb(tag, b"bgcolor"))
                .unwrap_or(parent.background),
            capitals: declarations.capitals.unwrap_or(parent.capitals),
        };
        let hidden = visibility.hidden();
        if is_block(name) {
            self.out.push("\n", hidden);
        } else if is_cell(name) {
            self.out.push(" ", hidden);
        }
        // alt and title text is visible to the reader too, and so is the
        // value of a form field (a hidden field's only in the full reading)
        let field = name == b"input";
        let hidden_field = field
            && tag
                .attributes
                .get(b"type".as_slice())
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"hidden"));
        for attribute in [b"alt".as_slice(), b"title", b"value", b"placeholder"] {
            if !field && matches!(attribute, b"value" | b"placeholder") {
                continue;
            }
            if let Some(value) = tag.attributes.get(attribute) {
                self.out.push(
                    &format!(" {} ", String::from_utf8_lossy(value)),
                    hidden || hidden_field,
                );
            }
        }
        if is_void(name) {
            return None;
        }
        let bidi = bidi_controls(name, tag, &declarations);
        if let Some((open, _)) = bidi {
            self.out.push(open.encode_utf8(&mut [0; 4]), hidden);
        }
        if !hidden && let Some(pieces) = before {
            self.generated(&resolve(pieces, tag));
        }
        let after = after.filter(|_| !hidden).map(|pieces| resolve(pieces, tag));
        if self.stack.len() >= MAX_OPEN_ELEMENTS {
            self.unrendered = Some("HTML nested too deeply to tell which text is shown");
        } else {
            let index = self.intern(name);
            if let Some(count) = self.open_count.get_mut(index) {
                *count += 1;
            }
            self.stack.push(Frame {
                name: index,
                visibility,
                after,
                bidi_end: bidi.map(|(_, end)| end),
            });
        }
        raw_state(name)
    }

    /// Handles an end tag: closes the innermost open element of that name
    /// and every element opened inside it.
    fn end(&mut self, name: &HtmlString) {
        if self.in_script_or_style {
            // in script and style states the tokenizer ends only at their end tag
            self.in_script_or_style = false;
            return;
        }
        let name = name.as_slice();
        let index = self.names.get(name).copied();
        if let Some(index) = index
            && self.open_count.get(index).is_some_and(|&n| n > 0)
        {
            while let Some(frame) = self.stack.pop() {
                let matched = frame.name == index;
                self.close(frame);
                if matched {
                    break;
                }
            }
        } else {
            // a stray end tag: `</p>` and `</br>` still break the line
            let hidden = self.current().hidden();
            if is_block(name) {
                self.out.push("\n", hidden);
            } else if is_cell(name) {
                self.out.push(" ", hidden);
            }
        }
    }

    /// Writes what an element shows when it closes and forgets it.
    fn close(&mut self, frame: Frame) {
        if let Some(count) = self.open_count.get_mut(frame.name) {
            *count = count.saturating_sub(1);
        }
        let name = self.name_of.get(frame.name).map_or(&[][..], Vec::as_slice);
        let (block, cell) = (is_block(name), is_cell(name));
        let hidden = frame.visibility.hidden();
        if let Some(after) = &frame.after {
            self.generated(after);
        }
        if let Some(end) = frame.bidi_end {
            self.out.push(end.encode_utf8(&mut [0; 4]), hidden);
        }
        if block {
            self.out.push("\n", hidden);
        } else if cell {
            self.out.push(" ", hidden);
        }
    }

    /// The index of a tag name, assigned on first sight.
    fn intern(&mut self, name: &[u8]) -> usize {
        if let Some(&index) = self.names.get(name) {
            return index;
        }
        let index = self.name_of.len();
        self.names.insert(name.to_vec(), index);
        self.name_of.push(name.to_vec());
        self.open_count.push(0);
        index
    }

    /// Inserts generated content into the visible reading, within the budget.
    fn generated(&mut self, text: &str) {
        if text.len() <= self.generated_budget {
            self.generated_budget -= text.len();
            self.out.push_visible_only(text);
        } else {
            self.unrendered = Some("more CSS generated content than cordon renders");
        }
    }

    /// Closes the elements a new `name` element ends without an end tag, as
    /// the HTML parser does (`<p>a<p>b`, `<li>a<li>b`, `<td>a<td>b`), so that
    /// unclosed paragraphs, items and cells do not pile up on the stack.
    fn close_implied(&mut self, name: &[u8]) {
        while let Some(top) = self.stack.last() {
            let open = self.name_of.get(top.name).map_or(&[][..], Vec::as_slice);
            let implied = match open {
                b"p" => is_block(name) && name != b"br",
                b"li" => name == b"li",
                b"dt" | b"dd" => matches!(name, b"dt" | b"dd"),
                b"td" | b"th" => {
                    matches!(name, b"td" | b"th" | b"tr" | b"tbody" | b"thead" | b"tfoot")
                }
                b"tr" => matches!(name, b"tr" | b"tbody" | b"thead" | b"tfoot"),
                b"option" => matches!(name, b"option" | b"optgroup"),
                _ => false,
            };
            if !implied {
                break;
            }
            if let Some(frame) = self.stack.pop() {
                self.close(frame);
            }
        }
    }
}

/// Adds what the style sheet says of the element: its declarations in
/// increasing specificity (tag, class, id) and its generated content.
/// `key` is scratch space, so that the lookups allocate nothing.
fn apply_sheet<'r>(
    sheet: &'r StyleSheet,
    tag: &StartTag<()>,
    key: &mut String,
    declarations: &mut Declarations,
    before: &mut Option<&'r [ContentPiece]>,
    after: &mut Option<&'r [ContentPiece]>,
) {
    let mut apply = |key: &str| {
        if let Some(rule) = sheet.get(key) {
            declarations.merge(&rule.declarations);
            if let Some(pieces) = &rule.before {
                *before = Some(pieces);
            }
            if let Some(pieces) = &rule.after {
                *after = Some(pieces);
            }
        }
    };
    let name = String::from_utf8_lossy(&tag.name);
    apply(&name);
    for (attribute, sigil) in [(b"class".as_slice(), '.'), (b"id", '#')] {
        let Some(value) = tag.attributes.get(attribute) else {
            continue;
        };
        for word in String::from_utf8_lossy(value).split_ascii_whitespace() {
            for with_tag in [false, true] {
                key.clear();
                if with_tag {
                    key.push_str(&name);
                }
                key.push(sigil);
                key.extend(word.chars().map(|c| c.to_ascii_lowercase()));
                apply(key);
            }
        }
    }
}

/// The Unicode controls that do what an element's right-to-left direction
/// does to the order its text is shown in (opening and closing), so that the
/// visual reading sees it: `<bdo dir="rtl">` and `unicode-bidi: bidi-override`
/// reverse like U+202E, `dir="rtl"` isolates like U+2067. Left-to-right
/// directions are left out: they reorder nothing in the English text most
/// mail is, and controls would cost it the ASCII fast path of normalisation.
fn bidi_controls(
    name: &[u8],
    tag: &StartTag<()>,
    declarations: &Declarations,
) -> Option<(char, char)> {
    let dir_rtl = || {
        tag.attributes
            .get(b"dir".as_slice())
            .map(|d| d.trim_ascii().eq_ignore_ascii_case(b"rtl"))
    };
    if declarations.right_to_left.or_else(dir_rtl) != Some(true) {
        return None;
    }
    if name == b"bdo" || declarations.bidi_override == Some(true) {
        Some(('\u{202E}', '\u{202C}'))
    } else {
        Some(('\u{2067}', '\u{2069}'))
    }
}

/// The text of generated content for one element.
fn resolve(pieces: &[ContentPiece], tag: &StartTag<()>) -> String {
    let mut text = String::new();
    for piece in pieces {
        match piece {
            ContentPiece::Text(t) => text.push_str(t),
            ContentPiece::Attribute(name) => {
                if let Some(value) = tag.attributes.get(name.as_bytes()) {
                    text.push_str(&String::from_utf8_lossy(value));
                }
            }
        }
    }
    text
}

/// The tokenizer state for the content of elements whose text is not markup.
/// `<noscript>` is markup: mail clients run no scripts, so they show it.
fn raw_state(name: &[u8]) -> Option<State> {
    match name {
        b"textarea" | b"title" => Some(State::RcData),
        b"plaintext" => Some(State::PlainText),
        b"iframe" | b"xmp" | b"noembed" | b"noframes" => Some(State::RawText),
        _ => None,
    }
}

/// The text of every `<style>` element, found before rendering because its
/// rules apply to elements before it as well as after. Comments and scripts
/// are skipped. Linear: one scan for `<`.
fn style_blocks(html: &str) -> Vec<&str> {
    let bytes = html.as_bytes();
    let mut blocks = Vec::new();
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'<', bytes.get(at..).unwrap_or(&[])) {
        let lt = at + offset;
        let rest = bytes.get(lt..).unwrap_or(&[]);
        if rest.starts_with(b"<!--") {
            at = memchr::memmem::find(rest, b"-->").map_or(bytes.len(), |e| lt + e + 3);
        } else if let Some(element) = [b"style".as_slice(), b"script"]
            .into_iter()
            .find(|e| starts_tag(rest, e))
        {
            let Some(open_end) = memchr::memchr(b'>', rest).map(|e| lt + e + 1) else {
                break;
            };
            let close = find_end_tag(bytes, open_end, element).unwrap_or(bytes.len());
            if element == b"style" {
                blocks.push(html.get(open_end..close).unwrap_or(""));
            }
            at = close.max(open_end);
        } else {
            at = lt + 1;
        }
    }
    blocks
}

/// Whether `rest` starts with the start tag `<element` (any case).
fn starts_tag(rest: &[u8], element: &[u8]) -> bool {
    rest.len() > element.len() + 1
        && rest[1..=element.len()].eq_ignore_ascii_case(element)
        && matches!(
            rest[element.len() + 1],
            b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | b'\x0c'
        )
}

/// Position of the next `</element` (any case) at or after `from`.
fn find_end_tag(bytes: &[u8], from: usize, element: &[u8]) -> Option<usize> {
    let mut at = from;
    while let Some(offset) = memchr::memchr(b'<', bytes.get(at..)?) {
        let lt = at + offset;
        let rest = bytes.get(lt..)?;
        if rest.get(1) == Some(&b'/')
            && rest
                .get(2..2 + element.len())
                .is_some_and(|n| n.eq_ignore_ascii_case(element))
        {
            return Some(lt);
        }
        at = lt + 1;
    }
    None
}

/// Elements that never have content or an end tag.
fn is_void(name: &[u8]) -> bool {
    matches!(
        name,
        b"area"
            | b"base"
            | b"br"
            | b"col"
            | b"embed"
            | b"hr"
            | b"img"
            | b"input"
            | b"link"
            | b"meta"
            | b"param"
            | b"source"
            | b"track"
            | b"wbr"
    )
}

/// Elements that start a new line.
fn is_block(name: &[u8]) -> bool {
    const BLOCKS: &[&[u8]] = &[
        b"p",
        b"div",
        b"br",
        b"hr",
        b"li",
        b"ul",
        b"ol",
        b"dl",
        b"dt",
        b"dd",
        b"tr",
        b"table",
        b"thead",
        b"tbody",
        b"tfoot",
        b"caption",
        b"h1",
        b"h2",
        b"h3",
        b"h4",
        b"h5",
        b"h6",
        b"pre",
        b"blockquote",
        b"section",
        b"article",
        b"header",
        b"footer",
        b"nav",
        b"aside",
        b"main",
        b"address",
        b"figure",
        b"figcaption",
        b"form",
        b"fieldset",
        b"legend",
        b"title",
        b"body",
        b"center",
    ];
    BLOCKS.iter().any(|n| name.eq_ignore_ascii_case(n))
}

/// Table cells: separated by a space so neighbouring cells do not run together.
fn is_cell(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"td") || name.eq_ignore_ascii_case(b"th")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize;

    /// The visible reading, normalised as detectors get it.
    fn text(html: &str) -> String {
        normalize(&render(html).visible)
    }

    /// The full reading, normalised; the visible one when they agree.
    fn full(html: &str) -> String {
        let rendered = render(html);
        normalize(rendered.full.as_deref().unwrap_or(&rendered.visible))
    }

    #[test]
    fn text_placed_off_the_page_is_hidden() {
        for style in [
            "position:absolute;left:-9999px",
            "text-indent:-10000px;overflow:hidden",
            "position:absolute;clip:rect(0 0 0 0)",
            "clip-path: inset(50%)",
        ] {
            let html = format!(r#"<p>JM 41 <span style="{style}">zz</span>29 87 B</p>"#);
            assert_eq!(text(&html), "JM 41 29 87 B", "{style}");
            assert_eq!(full(&html), "JM 41 zz29 87 B", "{style}");
        }
        // a small offset or an ordinary clip shows the text
        assert_eq!(
            text(r#"<p style="margin-left:-20px;clip:rect(0 10px 20px 0)">shown</p>"#),
            "shown"
        );
    }

    #[test]
    fn text_the_colour_of_its_background_is_hidden() {
        let nino = "JM 41 29 87 B";
        for html in [
            r##"<p>JM 41 <span style="color:#fff">zz</span>29 87 B</p>"##,
            r##"<p>JM 41 <span style="color: rgb(254, 254, 254)">zz</span>29 87 B</p>"##,
            r##"<p>JM 41 <font color="white">zz</font>29 87 B</p>"##,
            r##"<table bgcolor="#003366"><tr><td>JM 41 <span style="color:#003366">zz</span>29 87 B</td></tr></table>"##,
            r##"<p style="background:#ffc url(x.png)">JM 41 <b style="color:#ffffcc">zz</b>29 87 B</p>"##,
        ] {
            assert!(text(html).contains(nino), "{html}: {}", text(html));
            assert!(full(html).contains("zz"), "{html}");
        }
        // white text on a dark background shows, and so does ordinary text
        assert_eq!(
            text(
                r##"<div style="background-color:black"><span style="color:white">JM 41</span></div>"##
            ),
            "JM 41"
        );
        assert_eq!(
            text(r##"<td bgcolor="navy"><font color="#fff">shown</font></td>"##),
            "shown"
        );
        assert!(render("<p>plain <b>text</b></p>").full.is_none());
    }

    #[test]
    fn inline_tags_do_not_split_words() {
        assert_eq!(
            text("<p>Opera<b>tion</b> Night<span>jar</span></p>"),
            "Operation Nightjar"
        );
    }

    #[test]
    fn blocks_become_lines() {
        assert_eq!(
            text("<div>OFFICIAL-SENSITIVE</div><p>Dear all</p>"),
            "OFFICIAL-SENSITIVE\nDear all"
        );
        assert_eq!(text("line one<br>line two"), "line one\nline two");
    }

    #[test]
    fn table_cells_are_separated() {
        assert_eq!(
            text("<table><tr><td>NINO</td><td>JM412987B</td></tr></table>"),
            "NINO JM412987B"
        );
    }

    #[test]
    fn script_style_and_comments_are_dropped_entities_decoded() {
        assert_eq!(
            text(
                "<style>p{color:red}</style><script>var x='<p>';</script><!-- hidden -->Fish &amp; chips&nbsp;&pound;5"
            ),
            "Fish & chips £5"
        );
    }

    #[test]
    fn broken_markup_does_not_lose_text() {
        assert_eq!(text("<p>unclosed <b>bold <i>text"), "unclosed bold text");
        assert_eq!(text("a < b > c"), "a < b > c");
    }

    #[test]
    fn hidden_span_cannot_split_a_nino() {
        let html = r#"<p>NI number JM 41<span style="display:none">x</span> 29 87 B</p>"#;
        assert_eq!(text(html), "NI number JM 41 29 87 B");
        // the hidden text still leaks: the full reading keeps it
        assert_eq!(full(html), "NI number JM 41x 29 87 B");
    }

    #[test]
    fn every_way_of_hiding_is_recognised() {
        for hider in [
            r#"<span style="visibility:hidden">x</span>"#,
            r#"<span style="visibility: collapse">x</span>"#,
            r#"<span style="font-size:0">x</span>"#,
            r#"<span style="font-size:0pt">x</span>"#,
            r#"<span style="FONT-SIZE: 0.0em !important">x</span>"#,
            r#"<span style="opacity:0">x</span>"#,
            r#"<div style="max-height:0;overflow:hidden">x</div>"#,
            r#"<span style="mso-hide:all">x</span>"#,
            r#"<span hidden>x</span>"#,
            r#"<template>x</template>"#,
            r#"<b class="gone">x</b>"#,
            r#"<i id="junk">x</i>"#,
            r#"<span style="color:transparent">x</span>"#,
            r#"<span style="color:rgba(255,255,255,0)">x</span>"#,
            r#"<span style="transform:scale(0)">x</span>"#,
            r#"<span style="font-size:1px">x</span>"#,
        ] {
            let html = format!(
                "<style>.gone{{display:none}} #junk{{color:red;display:none}}</style>JM 41{hider} 29 87 B"
            );
            assert_eq!(text(&html), "JM 41 29 87 B", "{hider}");
            assert!(full(&html).contains('x'), "{hider}");
        }
    }

    #[test]
    fn aria_hidden_and_overridden_hiding_still_show() {
        assert_eq!(
            text(r#"JM 41<span aria-hidden="true">2</span>9"#),
            "JM 4129"
        );
        assert_eq!(
            text(r#"<span hidden style="display:inline">shown</span>"#),
            "shown"
        );
        // a descendant can undo visibility:hidden and a zero font size, not display:none
        assert_eq!(
            text(r#"<div style="visibility:hidden">a<b style="visibility:visible">b</b></div>"#),
            "b"
        );
        assert_eq!(
            text(r#"<td style="font-size:0"><span style="font-size:14px">cell</span>&nbsp;</td>"#),
            "cell"
        );
        assert_eq!(
            text(r#"<div style="display:none">a<b style="display:block">b</b></div>"#),
            ""
        );
    }

    #[test]
    fn capitals_from_css_are_read_as_shown() {
        let html = r#"<div style="text-transform:uppercase">official-<span style="font-variant:small-caps">sensitive</span></div>"#;
        assert_eq!(text(html), "OFFICIAL-SENSITIVE");
        assert_eq!(full(html), "official-sensitive");
        let undone =
            r#"<div style="text-transform:uppercase">a<i style="text-transform:none">b</i></div>"#;
        assert_eq!(text(undone), "Ab");
    }

    #[test]
    fn form_field_values_are_read() {
        let html = r#"<form>NI <input value="JM 41 29 87 B"><input type=hidden value="x"></form>"#;
        assert_eq!(text(html), "NI JM 41 29 87 B");
        assert_eq!(full(html), "NI JM 41 29 87 B x");
    }

    #[test]
    fn list_marker_content_ends_the_visible_reading() {
        let html = r#"<style>li::marker{content:"JM 41 29 87 B"}</style><ul><li>one</li></ul>"#;
        assert_eq!(text(html), "one\nJM 41 29 87 B");
    }

    #[test]
    fn zero_font_junk_cannot_split_a_banner_marking() {
        let html = r#"<div>OFFICIAL<span style="font-size:0px">zz</span>-SENSI<font style="font-size:0">q</font>TIVE</div><p>Dear all</p>"#;
        assert_eq!(text(html), "OFFICIAL-SENSITIVE\nDear all");
    }

    #[test]
    fn template_content_is_only_in_the_full_reading() {
        let html = "<p>Ref</p><template><p>JM 41 29 87 B</p></template>";
        assert_eq!(text(html), "Ref");
        assert_eq!(full(html), "Ref\nJM 41 29 87 B");
    }

    #[test]
    fn noscript_content_is_visible_markup() {
        let html = "<script>document.write('x')</script><noscript><p>Operation <b>Nightjar</b></p></noscript>";
        assert_eq!(text(html), "Operation Nightjar");
        assert!(render(html).full.is_none());
    }

    #[test]
    fn generated_content_is_placed_on_matching_elements() {
        let html = r#"<style>
            span.a::before { content: "JM " }
            .b:after { content: '41 2' }
            #c::before { content: "9 87 " attr(data-l) }
            em::after { content: none }
        </style><p>NI <span class="a"></span><i class="b"></i><b id="c" data-l="B"></b><em>!</em></p>"#;
        assert_eq!(text(html), "NI JM 41 29 87 B!");
        // generated content is not in the document: the full reading lacks it
        assert_eq!(full(html), "NI !");
    }

    #[test]
    fn generated_content_of_unplaceable_rules_ends_the_visible_reading() {
        let html = r#"<style>div > p::after { content: "Operation Nightjar" }</style><div><p>Hello</p></div>"#;
        assert_eq!(text(html), "Hello\nOperation Nightjar");
        assert_eq!(full(html), "Hello");
    }

    #[test]
    fn generated_content_is_bounded_by_the_document_size() {
        let long = "x".repeat(10_000);
        let html = format!(
            "<style>p::before{{content:\"{long}\"}}</style>{}",
            "<p>".repeat(10_000)
        );
        let rendered = render(&html);
        assert!(rendered.unrendered.is_some());
        assert!(rendered.visible.len() <= 2 * html.len() + (64 << 10));
        // one string for a long selector list, and one unplaced line per rule
        let selectors: Vec<String> = (0..5_000).map(|i| format!("div .c{i}::after")).collect();
        let html = format!(
            "<style>{}{{content:\"{long}\"}}</style>a",
            selectors.join(",")
        );
        assert_eq!(text(&html), format!("a\n{long}"));
    }

    #[test]
    fn hidden_elements_show_no_generated_content() {
        let html = r#"<style>.x::before{content:"seen"} .h{display:none}</style><span class="x h">y</span>z"#;
        assert_eq!(text(html), "z");
    }

    #[test]
    fn style_rules_apply_before_the_style_block() {
        let html = r#"<body>JM 41<u class="k">x</u> 29 87 B<style>.k{display:none}</style></body>"#;
        assert_eq!(text(html), "JM 41 29 87 B");
    }

    #[test]
    fn plain_html_has_one_reading() {
        let rendered = render("<p>Dear all,</p><p>Regards</p>");
        assert_eq!(rendered.full, None);
        assert_eq!(rendered.unrendered, None);
    }

    #[test]
    fn unclosed_paragraphs_cells_and_self_closing_spans_nest_as_browsers_do() {
        // `<span/>` is an open span in HTML: its hidden style covers what follows
        assert_eq!(
            text(r#"JM 41<span style="display:none"/>x</span> 29 87 B"#),
            "JM 41 29 87 B"
        );
        for html in [
            "<p>para".repeat(20_000),
            format!("<ul>{}</ul>", "<li>item".repeat(20_000)),
            format!("<table>{}</table>", "<tr><td>a<td>b".repeat(20_000)),
        ] {
            assert_eq!(render(&html).unrendered, None);
        }
        assert_eq!(
            text("<table><tr><td>NINO<td>JM 41 29 87 B<tr><td>NHS<td>401 023 2137</table>"),
            "NINO JM 41 29 87 B\nNHS 401 023 2137"
        );
    }

    #[test]
    fn deep_nesting_finishes_and_is_reported() {
        let depth = 100_000;
        let html = format!(
            "{}JM 41 29 87 B{}",
            "<div><span>".repeat(depth),
            "</span></div>".repeat(depth)
        );
        let rendered = render(&html);
        assert!(rendered.unrendered.is_some());
        assert_eq!(normalize(&rendered.visible), "JM 41 29 87 B");
        // many stray end tags against a deep stack cost nothing each
        let html = format!("{}x{}", "<b>".repeat(5_000), "</i>".repeat(100_000));
        assert_eq!(text(&html), "x");
    }

    proptest::proptest! {
        /// Any tag soup renders without a panic, and the full reading holds
        /// every word of the visible one that is not generated content.
        #[test]
        fn tag_soup_renders(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "<p>", "</p>", "<span style='display:none'>", "</span>", "<b hidden>", "</b>",
                    "<template>", "</template>", "<style>.k{font-size:0}.k::after{content:'g'}</style>",
                    "<i class=k>", "</i>", "<!--[if mso]>", "<![endif]-->", "<!--", "-->", "<td>",
                    "<script>", "</script>", "<noscript>", "</noscript>", "<", ">", "&amp;", "word",
                    " ", "\u{202E}", "<br/>", "<textarea>", "</textarea>", "<plaintext>",
                ]),
                0..40,
            )
        ) {
            let html: String = pieces.concat();
            let rendered = render(&html);
            let full = normalize(rendered.full.as_deref().unwrap_or(&rendered.visible));
            let words = full.matches("word").count();
            proptest::prop_assert!(normalize(&rendered.visible).matches("word").count() <= words);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

        /// Nesting, stray tags and style rules in bulk all finish: the
        /// renderer is linear in its input.
        #[test]
        fn large_documents_render(
            depth in 1usize..100_000,
            rules in 0usize..20_000,
            tag in "(div|span|b|p|td|li|template|font)",
        ) {
            let mut html = String::from("<style>");
            for i in 0..rules {
                html.push_str(&format!(".c{i}{{display:none}} .c{i}::after{{content:'{i}'}} "));
            }
            html.push_str("</style>");
            for i in 0..depth {
                html.push_str(&format!("<{tag} class=\"c{} k\" style=\"font-size:0\">", i % (rules + 1)));
            }
            html.push_str("JM 41 29 87 B");
            for _ in 0..depth {
                html.push_str(&format!("</{tag}>"));
            }
            let rendered = render(&html);
            let full = rendered.full.unwrap_or(rendered.visible);
            proptest::prop_assert!(normalize(&full).contains("JM 41 29 87 B"));
        }
    }

    #[test]
    fn outlook_conditional_content_is_in_the_full_reading() {
        let html =
            "<p>Hello</p><!--[if mso]><p>Operation <b>Nightjar</b></p><![endif]--><!-- note -->";
        assert_eq!(text(html), "Hello");
        assert_eq!(full(html), "Hello\nOperation Nightjar");
        // nested openings in an unterminated conditional comment are read one
        // level deep, in linear time; the text in them is in a comment for all
        let nested = format!("<!--[if mso]>{}x", "<!--[if mso]>".repeat(50_000));
        assert_eq!(full(&nested), "");
    }

    #[test]
    fn html_direction_becomes_bidi_controls_for_the_visual_reading() {
        use crate::normalize::visual_order;
        let shown = |html: &str| {
            let visible = render(html).visible;
            normalize(&visual_order(&visible).unwrap_or(visible))
        };
        assert_eq!(
            shown(r#"NI: JM 41 <bdo dir="rtl">B 78 92</bdo>"#),
            "NI: JM 41 29 87 B"
        );
        assert_eq!(
            shown(
                r#"<style>.r{unicode-bidi:bidi-override;direction:rtl}</style>NI: JM 41 <span class=r>B 78 92</span>"#
            ),
            "NI: JM 41 29 87 B"
        );
        // the logical reading is unchanged by the controls
        assert_eq!(
            text(r#"NI: JM 41 <bdo dir="rtl">B 78 92</bdo>"#),
            "NI: JM 41 B 78 92"
        );
        assert_eq!(shown(r#"<p dir="ltr">Dear all</p>"#), "Dear all");
        assert_eq!(
            visual_order(&render(r#"<div dir="ltr">Dear all</div>"#).visible),
            None
        );
    }
}
