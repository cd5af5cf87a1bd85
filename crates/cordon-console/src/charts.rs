//! Small bar charts drawn on the server as inline SVG: markup only (no
//! script, no inline style), so they pass the console's CSP. Colours come
//! from the stylesheet through classes.

use std::fmt::Write;

use crate::html::escape;

/// One bar: a label and a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bar {
    /// What the bar counts (escaped when drawn).
    pub label: String,
    /// The count.
    pub value: u64,
}

/// Width of the label column, the bar area and the count column, in pixels.
const LABEL_WIDTH: u64 = 230;
const BAR_WIDTH: u64 = 300;
const COUNT_WIDTH: u64 = 50;
/// Height of one row and of the bar in it.
const ROW_HEIGHT: u64 = 24;
const BAR_HEIGHT: u64 = 16;
/// Labels longer than this are cut (with an ellipsis).
const MAX_LABEL_CHARS: usize = 32;

/// A horizontal bar chart of `bars`, titled `title` (for screen readers;
/// the page shows its own heading). An empty list draws a "nothing" note.
pub(crate) fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH;
    let rows = u64::try_from(bars.len()).unwrap_or(u64::MAX).max(1);
    let height = rows.saturating_mul(ROW_HEIGHT);
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" role="img" aria-label="{title}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>"#,
        title = escape(title),
    );
    if bars.is_empty() {
        let _ = write!(
            svg,
            r#"<text class="chart-label" x="0" y="{}">Nothing to show.</text>"#,
            ROW_HEIGHT - 8
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = u64::try_from(i)
            .unwrap_or(u64::MAX)
            .saturating_mul(ROW_HEIGHT);
        let length = if max == 0 {
            0
        } else {
            // At least a sliver for any non-zero count.
            (u128::from(bar.value) * u128::from(BAR_WIDTH) / u128::from(max))
                .try_into()
                .unwrap_or(BAR_WIDTH)
                .max(u64::from(bar.value > 0) * 2)
        };
        let text_y = y + ROW_HEIGHT - 8;
        let _ = write!(
            svg,
            r#"<text class="chart-label" x="0" y="{text_y}">{label}</text><rect class="chart-bar" x="{LABEL_WIDTH}" y="{bar_y}" width="{length}" height="{BAR_HEIGHT}"/><text class="chart-count" x="{count_x}" y="{text_y}">{value}</text>"#,
            label = escape(&shorten(&bar.label)),
            bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) / 2,
            count_x = LABEL_WIDTH + length + 6,
            value = bar.value,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `label` cut to [`MAX_LABEL_CHARS`] characters.
fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: u64) -> Bar {
        Bar {
            label: label.into(),
            value,
        }
    }

    #[test]
    fn bars_scale_to_the_largest() {
        let svg = bar_chart("By rule", &[bar("a", 4), bar("b", 2), bar("c", 0)]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"width="300" height="16""#), "{svg}");
        assert!(svg.contains(r#"width="150" height="16""#), "{svg}");
        assert!(svg.contains(r#"width="0" height="16""#), "{svg}");
        assert!(svg.contains(">4</text>") && svg.contains(">2</text>"));
        assert!(
            !svg.contains("style"),
            "no inline style: the CSP forbids it"
        );
    }

    #[test]
    fn labels_are_escaped_and_shortened() {
        let svg = bar_chart(
            "<t>",
            &[bar("<script>x</script>", 1), bar(&"r".repeat(80), 1)],
        );
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains("<title>&lt;t&gt;</title>"));
        assert!(svg.contains(&format!("{}…", "r".repeat(31))));
    }

    #[test]
    fn empty_and_huge_do_not_panic() {
        assert!(bar_chart("x", &[]).contains("Nothing to show."));
        let svg = bar_chart("x", &[bar("a", u64::MAX), bar("b", 1)]);
        assert!(svg.contains(r#"width="300""#));
    }
}
