//! The one escaping of text from other people's files (backend names, error
//! messages, worker stderr, paths, notes) for markdown: summary.md, the
//! gate's comment, compare's and sweep's tables. A hostile or merely odd
//! string must stay one literal run of text: it cannot end a table cell,
//! start a line of its own, open a code span, a link or an image, nor carry
//! raw HTML (GitHub renders some of it) or terminal escapes (summaries are
//! printed too).

/// Characters with a meaning anywhere inside a markdown line (CommonMark +
/// GFM: emphasis, strikethrough, code spans, links and images (which need
/// `[`), raw HTML and autolinks (`<`), entities, table cells). Each is
/// written backslash-escaped, which CommonMark allows for every ASCII
/// punctuation character and renders as the character itself.
const INLINE: &[char] = &['\\', '`', '*', '~', '[', ']', '<', '>', '|', '&'];

/// Characters that start a block (list, heading, thematic break) when first
/// on a line: escaped there only, so "python-subprocess" stays readable.
const LEADING: &[char] = &['-', '+', '=', '#'];

/// `text` as literal inline markdown, safe in a table cell and inside any
/// other inline text: markdown punctuation backslash-escaped, line breaks
/// and other control characters (ANSI escapes included) turned into spaces.
pub fn md_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    // "1." or "1)" first on a line starts an ordered list.
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    let list_dot = (digits > 0 && matches!(chars.get(digits), Some('.' | ')'))).then_some(digits);
    let mut out = String::with_capacity(text.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        // `_` inside a word never emphasises: "itl_median_ns" stays as is.
        let lone_underscore = c == '_' && !(word(i.checked_sub(1)) && word(Some(i + 1)));
        if is_break(c) {
            out.push(' ');
        } else if INLINE.contains(&c)
            || lone_underscore
            || (i == 0 && LEADING.contains(&c))
            || list_dot == Some(i)
        {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as a complete code span (backticks included): shown verbatim in
/// monospace. Backslash escapes do not work inside a code span, so the span
/// is fenced with one backtick more than the longest run inside it; only
/// pipes (which GFM splits table cells on before it sees spans) and line
/// breaks are changed.
pub fn md_code(text: &str) -> String {
    let mut body = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        match c {
            '|' => body.push_str("\\|"),
            c if is_break(c) => body.push(' '),
            c => body.push(c),
        }
    }
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick needs a space inside the
    // fence (stripped again by the renderer); an empty span needs one to exist.
    if body.is_empty() {
        return "` `".into();
    }
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// The cells of one GFM table row as a renderer splits them (on pipes not
/// escaped by a backslash), trimmed: for tests that a value stays in its cell.
pub fn md_cells(row: &str) -> Vec<String> {
    let row = row.trim();
    let row = row.strip_prefix('|').unwrap_or(row);
    let row = row.strip_suffix('|').unwrap_or(row);
    let (mut cells, mut cell) = (Vec::new(), String::new());
    let mut escaped = false;
    for c in row.chars() {
        if c == '|' && !escaped {
            cells.push(std::mem::take(&mut cell).trim().to_string());
        } else {
            cell.push(c);
        }
        escaped = c == '\\' && !escaped;
    }
    cells.push(cell.trim().to_string());
    cells
}

/// Line and paragraph breaks and other control characters: in a table a
/// newline ends the row, on a terminal ESC starts a control sequence.
fn is_break(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<img src=x onerror=alert(1)>\"><script>x</script> | a\nb\r\n`c` [l](javascript:x) ![i](y) **b** &amp; \u{1b}[31m";

    #[test]
    fn text_stays_in_its_cell_and_carries_no_markup() {
        let row = format!("| {} | next |", md_text(HOSTILE));
        assert_eq!(row.lines().count(), 1, "{row}");
        let cells = md_cells(&row);
        assert_eq!(cells.len(), 2, "{row}");
        assert_eq!(cells[1], "next");
        let cell = &cells[0];
        // Every markdown-active character is escaped: none is left bare.
        let mut prev = ' ';
        for c in cell.chars() {
            if "<>[]`*&|".contains(c) {
                assert_eq!(prev, '\\', "bare `{c}` in {cell}");
            }
            prev = if prev == '\\' { ' ' } else { c };
        }
        assert!(!cell.contains('\u{1b}'));
        assert!(md_text("-x").starts_with("\\-") && md_text("a-b") == "a-b");
        assert_eq!(md_text("12. x"), "12\\. x");
        assert_eq!(md_text("itl_median_ns _e_"), "itl_median_ns \\_e\\_");
    }

    #[test]
    fn code_span_holds_any_backticks_and_pipes() {
        assert_eq!(md_code("run-1"), "`run-1`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x"), "`` `x ``");
        assert_eq!(md_code(""), "` `");
        let row = format!("| {} | next |", md_code("a|b\nc"));
        assert_eq!(md_cells(&row).len(), 2, "{row}");
    }
}
