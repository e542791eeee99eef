//! What `validate` found, for programs and CI systems: a versioned JSON document, GitHub
//! Actions workflow commands (annotations on the lines of a pull request), and a GitLab
//! code-quality report. Pure functions from diagnostics to text; the people's form is the
//! diagnostics' own `Display`.

use std::fmt::Write as _;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::manifest::{Diagnostic, Severity};
use crate::model::printable;

/// The format version of `validate --format json`; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct ValidationDocument<'a> {
    format_version: u32,
    kind: &'static str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_groups: Option<usize>,
    errors: usize,
    warnings: usize,
    problems: Vec<ProblemDocument<'a>>,
}

#[derive(Serialize)]
struct ProblemDocument<'a> {
    severity: &'static str,
    file: Option<&'a str>,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
    hint: Option<&'a str>,
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// `validate --format json`: whether the manifests are valid, how many job groups they
/// declare (`job_groups`, when valid), and every problem, errors and warnings, in the order
/// the text shows them. Pretty-printed, ending in a newline.
pub fn render_json(
    problems: &[Diagnostic],
    job_groups: Option<usize>,
) -> Result<String, serde_json::Error> {
    let errors = problems.iter().filter(|problem| problem.is_error()).count();
    let document = ValidationDocument {
        format_version: FORMAT_VERSION,
        kind: "validation",
        valid: errors == 0,
        job_groups: job_groups.filter(|_| errors == 0),
        errors,
        warnings: problems.len() - errors,
        problems: problems
            .iter()
            .map(|problem| ProblemDocument {
                severity: severity(problem.severity),
                file: problem.location.as_ref().map(|at| at.file.as_str()),
                line: problem.location.as_ref().map(|at| at.line),
                column: problem.location.as_ref().map(|at| at.column),
                message: &problem.message,
                hint: problem.hint.as_deref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&document)?;
    text.push('\n');
    Ok(text)
}

/// `validate --format github`: one workflow command per problem,
/// `::error file=F,line=L,col=C::message`, which GitHub Actions shows on the line of the
/// file it names (`::warning` for a warning). The hint follows the message on a line of
/// its own.
pub fn render_github(problems: &[Diagnostic]) -> String {
    let mut out = String::new();
    for problem in problems {
        let mut properties = Vec::new();
        if let Some(at) = &problem.location {
            properties.push(format!("file={}", escape_property(&at.file)));
            properties.push(format!("line={}", at.line));
            properties.push(format!("col={}", at.column));
        }
        properties.push(format!("title={}", escape_property("cityform validate")));
        let _ = writeln!(
            out,
            "::{} {}::{}",
            severity(problem.severity),
            properties.join(","),
            escape_data(&message_with_hint(problem))
        );
    }
    out
}

/// The message, and the hint on the next line.
fn message_with_hint(problem: &Diagnostic) -> String {
    let mut text = printable(&problem.message).into_owned();
    if let Some(hint) = &problem.hint {
        text.push_str("\nhint: ");
        text.push_str(&printable(hint));
    }
    text
}

/// A workflow command's message: `%`, carriage returns and line feeds are escaped, so that
/// no text can end the command or start another.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`escape_data`], and `:` and `,`, which would
/// end the value.
fn escape_property(text: &str) -> String {
    escape_data(&printable(text))
        .replace(':', "%3A")
        .replace(',', "%2C")
}

#[derive(Serialize)]
struct CodeQualityIssue<'a> {
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    location: CodeQualityLocation<'a>,
}

#[derive(Serialize)]
struct CodeQualityLocation<'a> {
    path: &'a str,
    lines: CodeQualityLines,
}

#[derive(Serialize)]
struct CodeQualityLines {
    begin: usize,
}

/// `validate --format gitlab`: a GitLab code-quality report (a JSON array of issues with
/// `description`, `check_name`, `fingerprint`, `severity` and `location.path` /
/// `location.lines.begin`), which a merge request shows on the lines it names. An error is
/// `major`, a warning `minor`; a problem with a path rather than a line (a missing file) is
/// reported on `.`, line 1. The fingerprint is stable for the same problem at the same place.
pub fn render_gitlab(problems: &[Diagnostic]) -> Result<String, serde_json::Error> {
    let issues: Vec<CodeQualityIssue<'_>> = problems
        .iter()
        .map(|problem| {
            let (path, line, column) = problem
                .location
                .as_ref()
                .map_or((".", 1, 1), |at| (at.file.as_str(), at.line, at.column));
            let description = message_with_hint(problem);
            let digest =
                Sha256::digest(format!("{path}\0{line}\0{column}\0{description}").as_bytes());
            let mut fingerprint = String::with_capacity(32);
            for byte in &digest[..16] {
                let _ = write!(fingerprint, "{byte:02x}");
            }
            CodeQualityIssue {
                description,
                check_name: match problem.severity {
                    Severity::Error => "cityform-validate-error",
                    Severity::Warning => "cityform-validate-warning",
                },
                fingerprint,
                severity: match problem.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                },
                location: CodeQualityLocation {
                    path,
                    lines: CodeQualityLines { begin: line },
                },
            }
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&issues)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::manifest::SourceLocation;

    fn problems() -> Vec<Diagnostic> {
        vec![
            Diagnostic {
                severity: Severity::Error,
                location: Some(SourceLocation {
                    file: "manifests/a,b:c.yaml".into(),
                    line: 7,
                    column: 3,
                }),
                message: "unknown field `planedJobCont` in `spec`, 100% sure".into(),
                hint: Some("did you mean `planedJobCount`?".into()),
            },
            Diagnostic {
                severity: Severity::Warning,
                location: Some(SourceLocation {
                    file: "manifests/traffic.yaml".into(),
                    line: 4,
                    column: 9,
                }),
                message: "line one\r\nline two".into(),
                hint: None,
            },
            Diagnostic {
                severity: Severity::Error,
                location: None,
                message: "`manifests` does not exist".into(),
                hint: None,
            },
        ]
    }

    #[test]
    fn github_annotations_escape_what_would_end_a_command() {
        insta::assert_snapshot!(render_github(&problems()), @r"
        ::error file=manifests/a%2Cb%3Ac.yaml,line=7,col=3,title=cityform validate::unknown field `planedJobCont` in `spec`, 100%25 sure%0Ahint: did you mean `planedJobCount`?
        ::warning file=manifests/traffic.yaml,line=4,col=9,title=cityform validate::line one\r\nline two
        ::error title=cityform validate::`manifests` does not exist
        ");
    }

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("a%b\rc\nd:e,f"), "a%25b%0Dc%0Ad:e,f");
        assert_eq!(escape_property("a%b:c,d"), "a%25b%3Ac%2Cd");
    }

    #[test]
    fn a_gitlab_report_locates_each_problem() {
        let report: serde_json::Value =
            serde_json::from_str(&render_gitlab(&problems()).unwrap()).unwrap();
        insta::assert_json_snapshot!(report);
        let fingerprints: std::collections::BTreeSet<&str> = report
            .as_array()
            .unwrap()
            .iter()
            .map(|issue| issue["fingerprint"].as_str().unwrap())
            .collect();
        assert_eq!(fingerprints.len(), 3);
        assert_eq!(
            render_gitlab(&problems()).unwrap(),
            render_gitlab(&problems()).unwrap()
        );
    }

    #[test]
    fn the_json_document_counts_and_lists_every_problem() {
        let invalid: serde_json::Value =
            serde_json::from_str(&render_json(&problems(), None).unwrap()).unwrap();
        insta::assert_json_snapshot!(invalid);
        let valid: serde_json::Value =
            serde_json::from_str(&render_json(&problems()[1..2], Some(5)).unwrap()).unwrap();
        assert_eq!(valid["valid"], true);
        assert_eq!(valid["job_groups"], 5);
        assert_eq!(valid["warnings"], 1);
    }
}
