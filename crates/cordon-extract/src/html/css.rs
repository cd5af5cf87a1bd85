//! The little CSS a mail client applies that changes what a reader sees: the
//! declarations that hide text, and the strings of `::before`/`::after`
//! generated content. Selectors are resolved only when simple (`tag`, `.class`,
//! `#id`, `tag.class`, `tag#id`); everything is linear in the style text.

use std::collections::HashMap;
use std::rc::Rc;

/// Declarations of one element or rule that bear on whether its text shows.
/// `None` leaves the inherited or earlier value in place.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Declarations {
    /// `display: none` (`Some(false)` for any other display).
    pub display_none: Option<bool>,
    /// `visibility: hidden` or `collapse`; inherited, undone by `visible`.
    pub visibility_hidden: Option<bool>,
    /// A font size too small to read (`0` in any unit, under a pixel);
    /// `Some(false)` for an absolute readable size. Inherited.
    pub font_invisible: Option<bool>,
    /// `opacity` at or near zero.
    pub transparent: Option<bool>,
    /// A fully transparent text colour (`transparent`, alpha 0); inherited,
    /// undone by a real colour.
    pub color_invisible: Option<bool>,
    /// `text-transform: uppercase` or small capitals: lower-case letters
    /// shown as capitals (`Some(false)` for `none` and other transforms).
    pub capitals: Option<bool>,
    /// `transform: scale(0)` and its one-axis forms.
    pub scaled_away: Option<bool>,
    /// `height`, `max-height`, `width` or `max-width` of zero.
    pub zero_size: Option<bool>,
    /// `overflow: hidden` (with a zero size, nothing shows).
    pub overflow_hidden: Option<bool>,
    /// Outlook's `mso-hide: all`.
    pub mso_hide: Option<bool>,
    /// `direction: rtl` (`Some(false)` for `ltr`).
    pub right_to_left: Option<bool>,
    /// `unicode-bidi: bidi-override` (or `isolate-override`): the characters
    /// are laid out in `direction` order whatever their own direction.
    pub bidi_override: Option<bool>,
    /// Placed off the page: `text-indent`, `left` or `top` of -999px or
    /// further, or clipped to nothing (`clip: rect(0 0 0 0)`,
    /// `clip-path: inset(50%)`), as "visually hidden" text is.
    pub off_page: Option<bool>,
    /// The text colour, when it is one cordon can read (`white`, `#fff`,
    /// `rgb(...)`); inherited.
    pub text_rgb: Option<Rgb>,
    /// The background colour the element paints, when it is one cordon can
    /// read; its descendants' text stands on it.
    pub background_rgb: Option<Rgb>,
}

/// An opaque colour, red, green and blue.
pub(super) type Rgb = [u8; 3];

/// True when text of `text` colour on `background` cannot be told from it:
/// every channel within a few steps (white on white, `#fefefe` on `#fff`).
pub(super) fn same_colour(text: Rgb, background: Rgb) -> bool {
    text.iter()
        .zip(background)
        .all(|(&t, b)| t.abs_diff(b) <= 8)
}

/// The colour `value` names, when it is a hex colour, `rgb()`/`rgba()` with
/// numbers or percentages, or a common colour name; `None` otherwise.
pub(super) fn parse_rgb(value: &str) -> Option<Rgb> {
    let value = value.trim().to_ascii_lowercase();
    if let Some(hex) = value.strip_prefix('#') {
        let digit = |i: usize| u8::from_str_radix(hex.get(i..i + 1)?, 16).ok();
        let pair = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
        return match hex.len() {
            3 | 4 => Some([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17]),
            6 | 8 => Some([pair(0)?, pair(2)?, pair(4)?]),
            _ => None,
        };
    }
    if let Some(args) = value
        .strip_prefix("rgba(")
        .or_else(|| value.strip_prefix("rgb("))
    {
        let args = args.split(')').next()?;
        let mut channels = args
            .split([',', ' ', '/'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| match a.strip_suffix('%') {
                Some(pc) => pc.parse::<f64>().ok().map(|v| v * 2.55),
                None => a.parse::<f64>().ok(),
            });
        let mut next = || {
            channels
                .next()
                .flatten()
                .map(|v| v.clamp(0.0, 255.0).round() as u8)
        };
        return Some([next()?, next()?, next()?]);
    }
    let named = match value.as_str() {
        "white" => [255, 255, 255],
        "snow" => [255, 250, 250],
        "ivory" => [255, 255, 240],
        "whitesmoke" => [245, 245, 245],
        "black" => [0, 0, 0],
        "silver" => [192, 192, 192],
        "gray" | "grey" => [128, 128, 128],
        "red" => [255, 0, 0],
        "green" => [0, 128, 0],
        "blue" => [0, 0, 255],
        "yellow" => [255, 255, 0],
        "navy" => [0, 0, 128],
        _ => return None,
    };
    Some(named)
}

impl Declarations {
    /// Parses a declaration block such as an inline `style` attribute.
    pub(super) fn parse(block: &str) -> Self {
        // browsers accept comments anywhere: `display:/**/none`
        let uncommented;
        let block = if block.contains("/*") {
            uncommented = without_comments(block);
            &uncommented
        } else {
            block
        };
        let mut decls = Declarations::default();
        for (name, value) in declarations(block) {
            decls.apply(&name, value);
        }
        decls
    }

    /// Sets the property `name` (lower case) from its CSS `value`.
    fn apply(&mut self, name: &str, value: &str) {
        // escapes spell the same keyword: `n\6f ne` is `none`
        let keyword = unescape(value.trim()).to_ascii_lowercase();
        let keyword = match keyword.rsplit_once('!') {
            Some((value, flag)) if flag.trim() == "important" => value.trim_end(),
            _ => keyword.as_str(),
        };
        match name {
            "display" => self.display_none = keyword_flag(keyword, &["none"]),
            "visibility" => {
                self.visibility_hidden = match keyword {
                    "hidden" | "collapse" => Some(true),
                    "visible" => Some(false),
                    _ => None,
                }
            }
            "font-size" => self.font_invisible = font_invisible(keyword),
            "font" => {
                // the shorthand: the size is the token before the family, or before `/`
                // (a bare number such as `700` is a weight, not a size)
                if let Some(size) = keyword
                    .split(|c: char| c.is_ascii_whitespace() || c == '/')
                    .find(|t| number(t).is_some_and(|(v, unit)| !unit.is_empty() || v == 0.0))
                {
                    self.font_invisible = font_invisible(size);
                }
            }
            "opacity" => {
                self.transparent = number(keyword).map(|(v, unit)| {
                    let v = if unit == "%" { v / 100.0 } else { v };
                    v < 0.05
                });
            }
            "height" | "max-height" | "width" | "max-width" => {
                if let Some((v, _)) = number(keyword) {
                    let zero = v == 0.0;
                    // one zero dimension is enough to show nothing
                    self.zero_size = Some(zero || self.zero_size == Some(true));
                }
            }
            "overflow" | "overflow-x" | "overflow-y" => {
                self.overflow_hidden = Some(matches!(keyword, "hidden" | "clip"));
            }
            "mso-hide" => self.mso_hide = keyword_flag(keyword, &["all"]),
            "text-indent" | "left" | "top" | "margin-left" | "margin-top" => {
                if let Some((v, _)) = number(keyword) {
                    self.off_page = Some(v <= -999.0 || self.off_page == Some(true));
                }
            }
            "clip" => {
                self.off_page = Some(clipped_to_nothing(keyword) || self.off_page == Some(true))
            }
            "clip-path" => {
                let inset = keyword
                    .strip_prefix("inset(")
                    .and_then(|a| a.split([')', ' ']).next())
                    .and_then(number);
                let gone = inset.is_some_and(|(v, unit)| unit == "%" && v >= 50.0);
                self.off_page = Some(gone || self.off_page == Some(true));
            }
            "color" => {
                self.color_invisible = color_invisible(keyword);
                self.text_rgb = parse_rgb(keyword);
            }
            "background-color" => self.background_rgb = parse_rgb(keyword),
            "background" => {
                // the shorthand: the first token that is a colour
                if let Some(rgb) = keyword.split_ascii_whitespace().find_map(parse_rgb) {
                    self.background_rgb = Some(rgb);
                }
            }
            "text-transform" => self.capitals = keyword_flag(keyword, &["uppercase"]),
            "font-variant" | "font-variant-caps" => {
                self.capitals = keyword_flag(keyword, &[]).map(|_| keyword.contains("small-caps"));
            }
            "transform" => {
                self.scaled_away = keyword_flag(keyword, &[]).map(|_| scales_to_nothing(keyword));
            }
            "direction" => self.right_to_left = keyword_flag(keyword, &["rtl"]),
            "unicode-bidi" => {
                self.bidi_override = keyword_flag(keyword, &["bidi-override", "isolate-override"]);
            }
            _ => {}
        }
    }

    /// Overrides these declarations with the ones `later` sets.
    pub(super) fn merge(&mut self, later: &Declarations) {
        let fields = [
            (&mut self.display_none, later.display_none),
            (&mut self.visibility_hidden, later.visibility_hidden),
            (&mut self.font_invisible, later.font_invisible),
            (&mut self.transparent, later.transparent),
            (&mut self.color_invisible, later.color_invisible),
            (&mut self.scaled_away, later.scaled_away),
            (&mut self.capitals, later.capitals),
            (&mut self.zero_size, later.zero_size),
            (&mut self.overflow_hidden, later.overflow_hidden),
            (&mut self.mso_hide, later.mso_hide),
            (&mut self.right_to_left, later.right_to_left),
            (&mut self.bidi_override, later.bidi_override),
            (&mut self.off_page, later.off_page),
        ];
        for (field, value) in fields {
            if value.is_some() {
                *field = value;
            }
        }
        for (field, value) in [
            (&mut self.text_rgb, later.text_rgb),
            (&mut self.background_rgb, later.background_rgb),
        ] {
            if value.is_some() {
                *field = value;
            }
        }
    }

    /// True when the element and everything in it shows nothing, whatever
    /// its descendants declare.
    pub(super) fn removes(&self) -> bool {
        self.display_none == Some(true)
            || self.transparent == Some(true)
            || self.mso_hide == Some(true)
            || self.scaled_away == Some(true)
            || (self.zero_size == Some(true) && self.overflow_hidden == Some(true))
            || self.off_page == Some(true)
    }
}

/// `rect(0 0 0 0)` or `rect(0,0,0,0)`: a clip that shows nothing.
fn clipped_to_nothing(value: &str) -> bool {
    value
        .strip_prefix("rect(")
        .and_then(|r| r.split(')').next())
        .is_some_and(|args| {
            let values: Vec<&str> = args.split([',', ' ']).filter(|a| !a.is_empty()).collect();
            values.len() == 4
                && (values[0] == values[2] || values[1] == values[3])
                && values.iter().all(|v| number(v).is_some())
        })
}

/// `Some(true)` when `keyword` is one of `on`, `Some(false)` for any other
/// keyword, `None` for the CSS-wide keywords that defer to the cascade.
fn keyword_flag(keyword: &str, on: &[&str]) -> Option<bool> {
    match keyword {
        "" | "inherit" | "unset" | "revert" | "revert-layer" => None,
        _ => Some(on.contains(&keyword)),
    }
}

/// Whether a `font-size` value makes text unreadable: zero in any unit or
/// under two pixels (a dot, not a letter). Sizes relative to the parent (`em`, `%`, `smaller`)
/// keep the parent's verdict, so they give `None` unless zero.
fn font_invisible(value: &str) -> Option<bool> {
    if let Some((v, unit)) = number(value) {
        if v <= 0.0 {
            return Some(true);
        }
        let pixels = match unit {
            "px" | "" => v,
            "pt" => v * 4.0 / 3.0,
            "pc" => v * 16.0,
            "in" => v * 96.0,
            "cm" => v * 96.0 / 2.54,
            "mm" | "q" => v * 96.0 / 25.4,
            "rem" => v * 16.0,
            // relative to the parent: tiny factors of a readable size still show
            "em" | "%" | "ex" | "ch" => return None,
            _ => return Some(false),
        };
        return Some(pixels < 2.0);
    }
    match value {
        "smaller" | "larger" | "inherit" | "unset" | "revert" | "" => None,
        _ => Some(false),
    }
}

/// Whether a `color` value is fully transparent: `transparent`, or an alpha
/// of zero in `rgba()`, `hsla()`, `rgb(r g b / 0)` or `#rrggbb00`.
fn color_invisible(value: &str) -> Option<bool> {
    match value {
        "" | "inherit" | "unset" | "revert" | "currentcolor" => return None,
        "transparent" => return Some(true),
        _ => {}
    }
    if let Some(hex) = value.strip_prefix('#') {
        let alpha_zero = match hex.len() {
            4 => hex.ends_with('0'),
            8 => hex.ends_with("00"),
            _ => false,
        };
        return Some(alpha_zero);
    }
    if let Some(open) = value.find('(') {
        let args = value.get(open + 1..).unwrap_or("");
        let args = args.split(')').next().unwrap_or("");
        let parts: Vec<&str> = args
            .split([',', '/', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() == 4 {
            return Some(number(parts[3]).is_some_and(|(v, _)| v == 0.0));
        }
    }
    Some(false)
}

/// Whether a `transform` scales the element to nothing on some axis.
fn scales_to_nothing(value: &str) -> bool {
    value.match_indices("scale").any(|(at, _)| {
        let args = value.get(at..).unwrap_or("");
        let args = args.split_once('(').map_or("", |(_, a)| a);
        let args = args.split(')').next().unwrap_or("");
        args.split([',', ' '])
            .filter(|a| !a.is_empty())
            .any(|a| number(a.trim()).is_some_and(|(v, _)| v == 0.0))
    })
}

/// A CSS number with its unit, lower case: `0.5em` is `(0.5, "em")`.
fn number(value: &str) -> Option<(f64, &str)> {
    let end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(value.len());
    let v: f64 = value.get(..end)?.parse().ok()?;
    let unit = value.get(end..)?.trim();
    v.is_finite().then_some((v, unit))
}

/// The `name: value` pairs of a declaration block, names in lower case.
/// Semicolons inside quotes or parentheses do not end a declaration.
/// Only the properties that bear on what shows are kept, so the common
/// `font-family`, `color` or `margin` cost no allocation.
fn declarations(block: &str) -> impl Iterator<Item = (String, &str)> {
    split_outside_strings(block, b';').filter_map(|decl| {
        let (name, value) = decl.split_once(':')?;
        let name = unescape(name.trim());
        RELEVANT_PROPERTIES
            .iter()
            .any(|p| name.eq_ignore_ascii_case(p))
            .then(|| (name.to_ascii_lowercase(), value))
    })
}

/// The properties [`Declarations::apply`] and generated content read.
const RELEVANT_PROPERTIES: &[&str] = &[
    "display",
    "visibility",
    "font-size",
    "font",
    "opacity",
    "height",
    "max-height",
    "width",
    "max-width",
    "overflow",
    "overflow-x",
    "overflow-y",
    "mso-hide",
    "color",
    "background",
    "background-color",
    "text-indent",
    "left",
    "top",
    "margin-left",
    "margin-top",
    "clip",
    "clip-path",
    "transform",
    "text-transform",
    "font-variant",
    "font-variant-caps",
    "direction",
    "unicode-bidi",
    "content",
];

/// `text` with CSS escapes resolved (`\6f` or `\o` for `o`); borrowed when
/// it has none, as nearly all styles do.
fn unescape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('\\') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut code = 0u32;
        let mut digits = 0;
        while digits < 6
            && let Some(digit) = chars.peek().and_then(|h| h.to_digit(16))
        {
            code = code * 16 + digit;
            digits += 1;
            chars.next();
        }
        if digits > 0 {
            if chars.peek().is_some_and(|w| w.is_ascii_whitespace()) {
                chars.next();
            }
            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
        } else if let Some(escaped) = chars.next() {
            out.push(escaped);
        }
    }
    out.into()
}

/// Splits `text` at `separator` where it stands outside quotes and parentheses.
fn split_outside_strings(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut strings = Strings::default();
    let mut parens = 0u32;
    let mut i = 0;
    std::iter::from_fn(move || {
        if start > bytes.len() {
            return None;
        }
        while i < bytes.len() {
            let b = bytes[i];
            i += 1;
            if !strings.outside(b) {
                continue;
            }
            if b == b'(' {
                parens += 1;
            } else if b == b')' {
                parens = parens.saturating_sub(1);
            } else if b == separator && parens == 0 {
                let piece = text.get(start..i - 1).unwrap_or("");
                start = i;
                return Some(piece);
            }
        }
        let piece = text.get(start..).unwrap_or("");
        start = bytes.len() + 1;
        Some(piece)
    })
}

/// One piece of a `content` value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ContentPiece {
    /// A quoted string, escapes resolved.
    Text(String),
    /// `attr(name)`: the element's attribute of that name (lower case).
    Attribute(String),
}

/// The pieces of a `content` value, in order; `None` when it generates nothing.
/// Shared between the selectors of a rule, so a long selector list does not
/// copy a long string once per selector.
fn content_value(value: &str) -> Option<Rc<[ContentPiece]>> {
    let mut pieces = Vec::new();
    let mut chars = value.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '"' || c == '\'' {
            let mut text = String::new();
            while let Some((_, d)) = chars.next() {
                if d == c {
                    break;
                }
                if d == '\\' {
                    let mut hex = String::new();
                    while hex.len() < 6
                        && let Some(&(_, h)) = chars.peek()
                        && h.is_ascii_hexdigit()
                    {
                        hex.push(h);
                        chars.next();
                    }
                    if hex.is_empty() {
                        match chars.next() {
                            Some((_, '\n')) | None => {}
                            Some((_, other)) => text.push(other),
                        }
                    } else {
                        if let Some(&(_, ' ')) = chars.peek() {
                            chars.next();
                        }
                        let code = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
                        text.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                    }
                } else {
                    text.push(d);
                }
            }
            pieces.push(ContentPiece::Text(text));
        } else if value
            .get(at..at + 5)
            .is_some_and(|s| s.eq_ignore_ascii_case("attr("))
        {
            let rest = value.get(at + 5..).unwrap_or("");
            let name = rest.split(')').next().unwrap_or("");
            let name = name.split_whitespace().next().unwrap_or("");
            pieces.push(ContentPiece::Attribute(name.to_ascii_lowercase()));
            // skip to the closing parenthesis
            for (_, d) in chars.by_ref() {
                if d == ')' {
                    break;
                }
            }
        }
    }
    (!pieces.is_empty()).then(|| pieces.into())
}

/// Which generated box a rule's selector names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pseudo {
    None,
    Before,
    After,
    /// `::marker`: list markers show their `content` too, but are not placed.
    Marker,
}

/// What the rules of a style sheet say about elements matching one simple selector.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Rule {
    /// Declarations for the element itself, later rules overriding earlier.
    pub declarations: Declarations,
    /// Content of its `::before` box.
    pub before: Option<Rc<[ContentPiece]>>,
    /// Content of its `::after` box.
    pub after: Option<Rc<[ContentPiece]>>,
}

/// The rules of the `<style>` blocks of a document, keyed by simple selector
/// (`div`, `.note`, `p.note`, `#ref`, `p#ref`; tags and classes in lower case,
/// as mail HTML is rendered in quirks mode).
#[derive(Debug, Default)]
pub(super) struct StyleSheet {
    rules: HashMap<String, Rule>,
    /// Generated-content strings of rules that cannot be placed on an element
    /// (complex selectors, rules inside `@media`): visible somewhere, so kept.
    pub unplaced: Vec<String>,
}

impl StyleSheet {
    /// Reads the rules of a style sheet's text.
    pub(super) fn parse(&mut self, css: &str) {
        let css = without_comments(css);
        let bytes = css.as_bytes();
        let mut at = 0;
        // open `@media`-like blocks: rules inside apply only on some screens
        let mut conditional = 0u32;
        while at < bytes.len() {
            let Some(end) = find_outside_strings(bytes, at, b"{};") else {
                break;
            };
            let prelude = css.get(at..end).unwrap_or("").trim();
            match bytes[end] {
                b';' => at = end + 1,
                b'}' => {
                    conditional = conditional.saturating_sub(1);
                    at = end + 1;
                }
                _ => {
                    let lower = prelude.to_ascii_lowercase();
                    if ["@media", "@supports", "@document", "@layer", "@container"]
                        .iter()
                        .any(|r| lower.starts_with(r))
                    {
                        conditional += 1;
                        at = end + 1;
                    } else if lower.starts_with('@') {
                        at = skip_block(bytes, end + 1);
                    } else {
                        let close =
                            find_outside_strings(bytes, end + 1, b"}").unwrap_or(bytes.len());
                        let body = css.get(end + 1..close).unwrap_or("");
                        self.rule(prelude, body, conditional > 0);
                        at = close + 1;
                    }
                }
            }
        }
    }

    /// Records one rule `prelude { body }`.
    fn rule(&mut self, prelude: &str, body: &str, conditional: bool) {
        let mut decls = Declarations::default();
        let mut content = None;
        for (name, value) in declarations(body) {
            if name == "content" {
                content = content_value(value);
            } else {
                decls.apply(&name, value);
            }
        }
        let hides = decls != Declarations::default();
        if !hides && content.is_none() {
            return;
        }
        let mut unplaced = false;
        for selector in split_outside_strings(prelude, b',') {
            let (key, pseudo) = match simple_selector(selector) {
                Some(parsed) if !conditional => parsed,
                _ => {
                    // cannot say which element: the strings still show somewhere
                    unplaced |= pseudo_of(selector) != Pseudo::None;
                    continue;
                }
            };
            match pseudo {
                Pseudo::Marker => unplaced = true,
                Pseudo::None => {
                    if hides {
                        self.rules
                            .entry(key)
                            .or_default()
                            .declarations
                            .merge(&decls);
                    }
                }
                Pseudo::Before | Pseudo::After => {
                    if let Some(pieces) = &content {
                        let rule = self.rules.entry(key).or_default();
                        let slot = if pseudo == Pseudo::Before {
                            &mut rule.before
                        } else {
                            &mut rule.after
                        };
                        *slot = Some(Rc::clone(pieces));
                    }
                }
            }
        }
        if unplaced && let Some(pieces) = &content {
            // once per rule, however many of its selectors are complex
            self.unplaced.push(literal_text(pieces));
        }
    }

    /// True when the sheet has no rule that bears on an element.
    pub(super) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule for exactly this simple selector key.
    pub(super) fn get(&self, key: &str) -> Option<&Rule> {
        self.rules.get(key)
    }
}

/// The literal strings of a `content` value, without the attribute references
/// that need an element.
fn literal_text(pieces: &[ContentPiece]) -> String {
    pieces
        .iter()
        .filter_map(|p| match p {
            ContentPiece::Text(t) => Some(t.as_str()),
            ContentPiece::Attribute(_) => None,
        })
        .collect()
}

/// The pseudo-element a selector ends with.
fn pseudo_of(selector: &str) -> Pseudo {
    let lower = selector.trim().to_ascii_lowercase();
    if lower.ends_with(":before") {
        Pseudo::Before
    } else if lower.ends_with(":after") {
        Pseudo::After
    } else if lower.ends_with(":marker") {
        Pseudo::Marker
    } else {
        Pseudo::None
    }
}

/// The lookup key and pseudo-element of a simple selector (`p`, `.c`, `#i`,
/// `p.c`, `p#i`, optionally with `::before`/`::after`), or `None` for any
/// other selector.
fn simple_selector(selector: &str) -> Option<(String, Pseudo)> {
    let selector = selector.trim();
    let pseudo = pseudo_of(selector);
    let suffix = match pseudo {
        Pseudo::None => 0,
        Pseudo::Before => ":before".len(),
        Pseudo::After => ":after".len(),
        Pseudo::Marker => return None,
    };
    let base = selector.get(..selector.len() - suffix)?;
    // `::before` as well as the legacy `:before`
    let base = base.strip_suffix(':').unwrap_or(base);
    let split = base.find(['.', '#']).unwrap_or(base.len());
    let (tag, rest) = base.split_at(split);
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !(tag.is_empty() || name_ok(tag)) {
        return None;
    }
    if !rest.is_empty() && !name_ok(rest.get(1..)?) {
        return None;
    }
    if tag.is_empty() && rest.is_empty() {
        return None;
    }
    Some((base.to_ascii_lowercase(), pseudo))
}

/// The CSS text with `/* comments */` removed.
fn without_comments(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(open) = rest.find("/*") {
        out.push_str(rest.get(..open).unwrap_or(""));
        rest = match rest
            .get(open + 2..)
            .and_then(|r| r.find("*/").map(|c| (r, c)))
        {
            Some((r, close)) => r.get(close + 2..).unwrap_or(""),
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Position of the first of `targets` at or after `from`, outside quotes.
fn find_outside_strings(bytes: &[u8], from: usize, targets: &[u8]) -> Option<usize> {
    let mut strings = Strings::default();
    let rest = bytes.get(from..)?;
    rest.iter()
        .position(|&b| strings.outside(b) && targets.contains(&b))
        .map(|i| from + i)
}

/// Where a byte-by-byte scan of CSS stands with respect to quoted strings,
/// whose quotes, escapes and contents are never syntax.
#[derive(Default)]
struct Strings {
    /// The quote that opened the string being read, or 0 outside strings.
    quote: u8,
    /// The previous byte was a backslash inside a string.
    escaped: bool,
}

impl Strings {
    /// Takes the next byte; true when it stands outside any string (and is
    /// not a quote that opens one).
    fn outside(&mut self, b: u8) -> bool {
        if self.escaped {
            self.escaped = false;
        } else if self.quote != 0 {
            if b == b'\\' {
                self.escaped = true;
            } else if b == self.quote {
                self.quote = 0;
            }
        } else if b == b'"' || b == b'\'' {
            self.quote = b;
        } else {
            return true;
        }
        false
    }
}

/// Skips a `{ ... }` block whose opening brace was just before `from`,
/// nested blocks included; returns the position after its closing brace.
fn skip_block(bytes: &[u8], from: usize) -> usize {
    let mut depth = 1u32;
    let mut at = from;
    while let Some(i) = find_outside_strings(bytes, at, b"{}") {
        if bytes[i] == b'{' {
            depth += 1;
        } else {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
        at = i + 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hiding_declarations_are_read() {
        assert!(Declarations::parse("color:red; DISPLAY : none !important").removes());
        assert!(Declarations::parse("opacity:0").removes());
        assert!(Declarations::parse("opacity: 0.0%").removes());
        assert!(Declarations::parse("max-height:0;overflow:hidden").removes());
        assert!(Declarations::parse("mso-hide:all").removes());
        assert!(!Declarations::parse("max-height:0").removes());
        assert!(!Declarations::parse("display:block;opacity:1").removes());
        assert!(Declarations::parse("display: none ! important").removes());
        assert!(Declarations::parse("display:/* x */none").removes());
        assert!(Declarations::parse("disp\\lay:n\\6f ne").removes());
        assert!(Declarations::parse("d\\69splay:none").removes());
        assert!(Declarations::parse("transform: translateX(2px) scale(0)").removes());
        assert!(Declarations::parse("transform:scaleY(0.0)").removes());
        assert!(!Declarations::parse("transform:scale(0.5)").removes());
        for colour in [
            "transparent",
            "rgba(0,0,0,0)",
            "rgb(0 0 0 / 0%)",
            "#fff0",
            "#FFFFFF00",
        ] {
            let d = Declarations::parse(&format!("color:{colour}"));
            assert_eq!(d.color_invisible, Some(true), "{colour}");
        }
        for colour in ["#fff", "red", "rgba(0,0,0,.5)", "#ffffff"] {
            let d = Declarations::parse(&format!("color:{colour}"));
            assert_eq!(d.color_invisible, Some(false), "{colour}");
        }
        let vis = Declarations::parse("visibility:hidden");
        assert_eq!(vis.visibility_hidden, Some(true));
    }

    #[test]
    fn font_size_zero_in_any_unit_is_invisible() {
        for size in [
            "0", "0px", "0pt", "0em", "0%", "0.0rem", "0vw", "0.4px", "1px", "1pt",
        ] {
            let d = Declarations::parse(&format!("font-size:{size}"));
            assert_eq!(d.font_invisible, Some(true), "{size}");
        }
        for size in ["12px", "10pt", "small", "1rem"] {
            let d = Declarations::parse(&format!("font-size:{size}"));
            assert_eq!(d.font_invisible, Some(false), "{size}");
        }
        assert_eq!(Declarations::parse("font-size:1.2em").font_invisible, None);
        assert_eq!(
            Declarations::parse("font: 0/0 a").font_invisible,
            Some(true)
        );
        assert_eq!(
            Declarations::parse("font: 700 12px Arial").font_invisible,
            Some(false)
        );
    }

    #[test]
    fn simple_selectors_are_keyed_and_others_refused() {
        assert_eq!(simple_selector(" P "), Some(("p".into(), Pseudo::None)));
        assert_eq!(
            simple_selector("span.Code::after"),
            Some(("span.code".into(), Pseudo::After))
        );
        assert_eq!(
            simple_selector("#ref:before"),
            Some(("#ref".into(), Pseudo::Before))
        );
        assert_eq!(simple_selector("div p"), None);
        assert_eq!(simple_selector("a[href]"), None);
        assert_eq!(simple_selector("*"), None);
    }

    #[test]
    fn sheets_merge_rules_and_keep_unplaced_content() {
        let mut sheet = StyleSheet::default();
        sheet.parse(
            "/* x */ .a{display:none} @media (max-width:600px){ .b{display:none} p.q::after{content:'m'} }
             .a{color:red} div > b::before { content: \"JM \\34 1\" } #n::before{content:\"x;\" attr(data-v)}
             @font-face{font-family:f; src:url(a.woff)} h1{display:none} p:not(.x)::before{content:'n'}",
        );
        assert!(sheet.get(".a").unwrap().declarations.removes());
        assert!(sheet.get(".b").is_none());
        assert!(sheet.get("h1").unwrap().declarations.removes());
        assert_eq!(
            sheet.get("#n").unwrap().before.as_deref(),
            Some(
                [
                    ContentPiece::Text("x;".into()),
                    ContentPiece::Attribute("data-v".into())
                ]
                .as_slice()
            )
        );
        assert_eq!(sheet.unplaced, ["m", "JM 41", "n"]);
        assert!(sheet.get("p").is_none());
    }
}
