//! A Markdown plan as the bodies of pull-request comments: each body starts with a hidden
//! marker naming the plan's key and the part, so that the next run finds and updates the
//! same comments instead of adding new ones; a plan too long for one comment is split at
//! line boundaries into several, each saying which part it is, with code blocks and
//! collapsed sections closed at the end of a part and opened again in the next.

/// The longest comment body produced: GitHub refuses bodies over 65,536 characters, and
/// the marker and part notes need room.
pub const MAX_BODY: usize = 60_000;

/// The marker that starts every body of the plan with `key`, before its part number.
pub fn marker_prefix(key: &str) -> String {
    format!("<!-- cityform-plan key={key} part=")
}

/// Which part of the plan with `key` a comment body is, `(part, of)` counted from 1, when
/// it is one.
pub fn part_of(body: &str, key: &str) -> Option<(usize, usize)> {
    let rest = body.strip_prefix(&marker_prefix(key))?;
    let (numbers, _) = rest.split_once(" -->")?;
    let (part, of) = numbers.split_once('/')?;
    Some((part.parse().ok()?, of.parse().ok()?))
}

/// The bodies of the comments that show `markdown` under `key`, each at most `max_body`
/// bytes (a line longer than that is cut at a character boundary, and says so).
pub fn comment_bodies(markdown: &str, key: &str, max_body: usize) -> Vec<String> {
    // Room for the marker, the part note and the constructs closed and reopened.
    let room = max_body.saturating_sub(600).max(1_000);
    let chunks = split(markdown, room);
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| {
            let mut body = format!("{}{}/{count} -->\n", marker_prefix(key), index + 1);
            if count > 1 {
                body.push_str(&format!(
                    "_Part {} of {count}: the plan is longer than one comment can hold, so it is split in {count} comments, in order._\n\n",
                    index + 1
                ));
            }
            body.push_str(&chunk);
            body
        })
        .collect()
}

/// Lines grouped into chunks of at most `room` bytes, never splitting a line unless it alone
/// is longer; a chunk ends by closing the code block and `<details>` sections open at its
/// end, and the next one opens them again.
fn split(markdown: &str, room: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    // Opening lines of the constructs open at this point, outermost first.
    let mut open: Vec<String> = Vec::new();
    for line in pieces(markdown, room / 2) {
        let closing = closing_of(&open);
        if !current.is_empty() && current.len() + line.len() + closing.len() > room {
            current.push_str(&closing);
            chunks.push(std::mem::take(&mut current));
            for opening in &open {
                current.push_str(opening);
                current.push('\n');
            }
        }
        current.push_str(&line);
        track(&mut open, line.trim_end_matches('\n'));
    }
    if !current.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The lines of `markdown` with their line ends, a line longer than `longest` cut into
/// pieces of at most that many bytes.
fn pieces(markdown: &str, longest: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    for line in markdown.split_inclusive('\n') {
        if line.len() <= longest {
            pieces.push(line.to_owned());
            continue;
        }
        let mut start = 0;
        while start < line.len() {
            let mut end = (start + longest).min(line.len());
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            let mut piece = line[start..end].to_owned();
            if !piece.ends_with('\n') {
                piece.push('\n');
            }
            pieces.push(piece);
            start = end;
        }
    }
    pieces
}

/// Updates the constructs open after `line`: a fence opens or closes a code block, a
/// `<details>` line opens a section and `</details>` closes it.
fn track(open: &mut Vec<String>, line: &str) {
    let trimmed = line.trim_start();
    if trimmed.starts_with("```") {
        if open
            .last()
            .is_some_and(|last| last.trim_start().starts_with("```"))
        {
            open.pop();
        } else {
            open.push(line.to_owned());
        }
    } else if trimmed.starts_with("<details>") && !trimmed.contains("</details>") {
        open.push(line.to_owned());
    } else if trimmed.starts_with("</details>")
        && open
            .last()
            .is_some_and(|last| last.trim_start().starts_with("<details>"))
    {
        open.pop();
    }
}

/// The lines that close `open`, innermost first.
fn closing_of(open: &[String]) -> String {
    open.iter()
        .rev()
        .map(|opening| {
            if opening.trim_start().starts_with("```") {
                "```\n"
            } else {
                "\n</details>\n"
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn a_short_plan_is_one_body_with_its_marker() {
        let bodies = comment_bodies("### cityform plan\n\nNo changes.\n", "main", MAX_BODY);
        assert_eq!(
            bodies,
            ["<!-- cityform-plan key=main part=1/1 -->\n### cityform plan\n\nNo changes.\n"]
        );
        assert_eq!(part_of(&bodies[0], "main"), Some((1, 1)));
        assert_eq!(part_of(&bodies[0], "other"), None);
        assert_eq!(part_of("a comment by a person", "main"), None);
    }

    #[test]
    fn a_long_plan_is_split_with_every_line_kept_and_its_blocks_balanced() {
        let mut markdown =
            String::from("### cityform plan\n\n| | Job group | Action |\n|---|---|---|\n");
        for index in 0..3_000 {
            markdown.push_str(&format!(
                "| `+` | `cn-shanghai/inst/group-{index:04}` | create |\n"
            ));
        }
        markdown.push_str("\n<details><summary>Show attribute changes</summary>\n\n```diff\n");
        for index in 0..3_000 {
            markdown.push_str(&format!(
                "+ cn-shanghai/inst/group-{index:04}\n+     planedJobCount = 10\n"
            ));
        }
        markdown.push_str("```\n\n</details>\n");
        let bodies = comment_bodies(&markdown, "main", 20_000);
        let count = bodies.len();
        assert!(count > 5, "{count}");
        let mut kept = String::new();
        for (index, body) in bodies.iter().enumerate() {
            assert!(body.len() <= 20_000, "part {index}: {}", body.len());
            assert_eq!(part_of(body, "main"), Some((index + 1, count)));
            assert!(body.contains(&format!("_Part {} of {count}:", index + 1)));
            assert_eq!(body.matches("```").count() % 2, 0, "part {index}");
            assert_eq!(
                body.matches("<details>").count(),
                body.matches("</details>").count(),
                "part {index}"
            );
            kept.push_str(body);
        }
        for index in 0..3_000 {
            let row = format!("| `+` | `cn-shanghai/inst/group-{index:04}` | create |\n");
            assert_eq!(kept.matches(&row).count(), 1, "{row}");
            let detail = format!("+ cn-shanghai/inst/group-{index:04}\n");
            assert_eq!(kept.matches(&detail).count(), 1, "{detail}");
        }
    }

    #[test]
    fn a_line_longer_than_a_comment_is_cut_at_a_character_boundary() {
        let markdown = "路".repeat(10_000);
        let bodies = comment_bodies(&markdown, "k", 4_000);
        assert!(bodies.len() > 1);
        let kept: String = bodies
            .iter()
            .flat_map(|body| body.lines().filter(|line| line.starts_with('路')))
            .collect();
        assert_eq!(kept, markdown);
    }
}
