//! `format=flowed` text (RFC 3676): a line ending in a space continues on
//! the next line, so clients join them into one paragraph and an identifier
//! broken across the soft line break reads whole. With `DelSp=yes` the space
//! before the break was added by the sender's client and is removed.
//! Space-stuffing is undone, and quoted lines keep their depth: lines join
//! only with lines of the same depth, and come out as `> ` prefixes.

/// The text as a flowed-aware client shows it, one line per paragraph.
/// The output is never longer than the input plus one quote prefix per line.
pub(crate) fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The depth of the paragraph still open (its last line was flowed).
    let mut open: Option<usize> = None;
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if lines.peek().is_none() && line.is_empty() {
            break; // the text's final line break
        }
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content); // space-stuffing
        let signature = content == "-- ";
        let flowed = content.ends_with(' ') && !signature;
        match open {
            Some(open_depth) if open_depth == depth => {}
            Some(_) => {
                out.push('\n');
                start_line(&mut out, depth);
            }
            None => start_line(&mut out, depth),
        }
        let content = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        out.push_str(content);
        if flowed {
            open = Some(depth);
        } else {
            out.push('\n');
            open = None;
        }
    }
    if open.is_some() {
        out.push('\n');
    }
    out
}

/// Starts an output line with the quote prefix of `depth`.
fn start_line(out: &mut String, depth: usize) {
    if depth > 0 {
        out.extend(std::iter::repeat_n('>', depth));
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_breaks_join() {
        let text = "Her NI number is JM 41 \r\n29 87 B and the\r\nnext line is hard.\r\n";
        assert_eq!(
            unflow(text, false),
            "Her NI number is JM 41 29 87 B and the\nnext line is hard.\n"
        );
    }

    #[test]
    fn delsp_removes_the_added_space() {
        // The word break before "today" keeps its own space.
        let text = "Operation Night \r\njar begins  \r\ntoday.\r\n";
        assert_eq!(unflow(text, true), "Operation Nightjar begins today.\n");
        assert_eq!(unflow(text, false), "Operation Night jar begins  today.\n");
    }

    #[test]
    fn quotes_and_stuffing() {
        let text = concat!(
            "> JM 41 \r\n> 29 87 B\r\n",
            ">> deeper \r\n> shallower\r\n",
            " From the desk \r\n",
            "-- \r\nSam\r\n"
        );
        assert_eq!(
            unflow(text, false),
            "> JM 41 29 87 B\n>> deeper \n> shallower\nFrom the desk -- \nSam\n"
        );
    }

    #[test]
    fn hostile_input() {
        assert_eq!(unflow("", true), "");
        assert_eq!(unflow(" ", true), "\n");
        assert_eq!(unflow(">>>>", false), ">>>> \n");
        let long = "a \n".repeat(100_000);
        let out = unflow(&long, true);
        assert_eq!(out.len(), 100_001);
    }

    proptest::proptest! {
        #[test]
        fn output_is_bounded(text in "([> ]{0,4}[a-z ]{0,10}\r?\n){0,30}", delsp in proptest::bool::ANY) {
            let out = unflow(&text, delsp);
            let lines = text.split('\n').count();
            // Each line gains at most one space after its quote marks, and the last line a break.
            proptest::prop_assert!(out.len() <= text.len() + lines + 1);
        }
    }
}
