//! The few environment variables provenance reads, and what each one means. Nothing else in
//! the environment is looked at, so no secret a CI job holds can reach a record.

use std::collections::BTreeMap;

use super::record::{Actor, Forge};
use super::web::{repository_path, sanitize_web_url};

/// Every environment variable provenance reads, and nothing else.
pub const VARIABLES: &[&str] = &[
    GITHUB_SHA,
    GITHUB_SERVER_URL,
    GITHUB_REPOSITORY,
    GITHUB_RUN_ID,
    CI_COMMIT_SHA,
    CI_JOB_URL,
    CI_PROJECT_URL,
    USER,
    LOGNAME,
];

/// GitHub Actions: the commit the workflow runs on.
const GITHUB_SHA: &str = "GITHUB_SHA";
/// GitHub Actions: `https://github.com`, or the GitHub Enterprise server.
const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
/// GitHub Actions: `owner/repository`.
const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
/// GitHub Actions: the number of the workflow run.
const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
/// GitLab CI: the commit the pipeline runs on.
const CI_COMMIT_SHA: &str = "CI_COMMIT_SHA";
/// GitLab CI: the web page of the job.
const CI_JOB_URL: &str = "CI_JOB_URL";
/// GitLab CI: the web page of the project.
const CI_PROJECT_URL: &str = "CI_PROJECT_URL";
/// The login name (POSIX).
const USER: &str = "USER";
/// The login name (System V, and where `USER` is not set).
const LOGNAME: &str = "LOGNAME";

/// Where a run's commit id came from, most trusted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommitSource {
    /// `--commit`.
    Flag,
    /// `GITHUB_SHA`.
    GithubSha,
    /// `CI_COMMIT_SHA`.
    GitlabCommitSha,
    /// `git rev-parse HEAD` in the manifest directory.
    Git,
}

/// A variable's value, trimmed; `None` when it is unset or blank.
fn variable<'e>(environment: &'e BTreeMap<String, String>, name: &str) -> Option<&'e str> {
    environment
        .get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

/// Whether `text` is a full commit id: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_full_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The commit the CI system says the job runs on: `GITHUB_SHA`, else `CI_COMMIT_SHA`. A value
/// that is not a full commit id is ignored.
pub(crate) fn ci_commit(environment: &BTreeMap<String, String>) -> Option<(String, CommitSource)> {
    [
        (GITHUB_SHA, CommitSource::GithubSha),
        (CI_COMMIT_SHA, CommitSource::GitlabCommitSha),
    ]
    .into_iter()
    .find_map(|(name, source)| {
        variable(environment, name)
            .filter(|value| is_full_commit_id(value))
            .map(|value| (value.to_ascii_lowercase(), source))
    })
}

/// The CI job running cityform: a GitHub Actions run when `GITHUB_SERVER_URL`,
/// `GITHUB_REPOSITORY` and `GITHUB_RUN_ID` are all set, else a GitLab job when `CI_JOB_URL`
/// is.
pub(crate) fn ci_actor(environment: &BTreeMap<String, String>) -> Option<Actor> {
    if let Some(repository) = github_repository(environment) {
        let run = variable(environment, GITHUB_RUN_ID)
            .filter(|run| run.bytes().all(|byte| byte.is_ascii_digit()));
        if let Some(run) = run {
            return Some(Actor::Ci {
                url: format!("{repository}/actions/runs/{run}"),
                system: Forge::Github,
            });
        }
    }
    let url = sanitize_web_url(variable(environment, CI_JOB_URL)?)?;
    Some(Actor::Ci {
        url,
        system: Forge::Gitlab,
    })
}

/// `GITHUB_SERVER_URL/GITHUB_REPOSITORY`, when both are set and sound.
fn github_repository(environment: &BTreeMap<String, String>) -> Option<String> {
    let server = sanitize_web_url(variable(environment, GITHUB_SERVER_URL)?)?;
    let repository = repository_path(variable(environment, GITHUB_REPOSITORY)?, Forge::Github)?;
    Some(format!("{server}/{repository}"))
}

/// The repository's web page as the CI system names it: GitHub's from `GITHUB_SERVER_URL`
/// and `GITHUB_REPOSITORY`, else GitLab's `CI_PROJECT_URL`.
pub(crate) fn ci_repository(environment: &BTreeMap<String, String>) -> Option<(String, Forge)> {
    if let Some(repository) = github_repository(environment) {
        return Some((repository, Forge::Github));
    }
    // A project URL from GitLab CI is GitLab's, whatever the host is called.
    let url = sanitize_web_url(variable(environment, CI_PROJECT_URL)?)?;
    Some((url, Forge::Gitlab))
}

/// The login name: `USER`, else `LOGNAME`.
pub(crate) fn user_name(environment: &BTreeMap<String, String>) -> Option<&str> {
    variable(environment, USER).or_else(|| variable(environment, LOGNAME))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::test_support::environment;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
    const OTHER_SHA: &str = "89abcdef0123456789abcdef0123456789abcdef";

    fn github() -> Vec<(&'static str, &'static str)> {
        vec![
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/city"),
            ("GITHUB_RUN_ID", "8812"),
        ]
    }

    #[test]
    fn github_sha_comes_before_gitlab_commit_sha() {
        let both = environment(&[("GITHUB_SHA", SHA), ("CI_COMMIT_SHA", OTHER_SHA)]);
        assert_eq!(
            ci_commit(&both),
            Some((SHA.to_owned(), CommitSource::GithubSha))
        );
        let gitlab = environment(&[("CI_COMMIT_SHA", &OTHER_SHA.to_uppercase())]);
        assert_eq!(
            ci_commit(&gitlab),
            Some((OTHER_SHA.to_owned(), CommitSource::GitlabCommitSha))
        );
        assert_eq!(ci_commit(&environment(&[])), None);
    }

    #[test]
    fn a_commit_variable_that_is_not_a_commit_id_is_ignored() {
        let odd = environment(&[("GITHUB_SHA", "main"), ("CI_COMMIT_SHA", OTHER_SHA)]);
        assert_eq!(
            ci_commit(&odd),
            Some((OTHER_SHA.to_owned(), CommitSource::GitlabCommitSha))
        );
        assert_eq!(ci_commit(&environment(&[("GITHUB_SHA", "3f2a9c1")])), None);
        assert!(is_full_commit_id(&"a".repeat(64)));
        assert!(!is_full_commit_id(&"g".repeat(40)));
    }

    #[test]
    fn github_actions_runs_are_linked() {
        let actor = ci_actor(&environment(&github())).unwrap();
        assert_eq!(
            actor,
            Actor::Ci {
                url: "https://github.com/acme/city/actions/runs/8812".to_owned(),
                system: Forge::Github,
            }
        );
        assert_eq!(
            ci_repository(&environment(&github())),
            Some(("https://github.com/acme/city".to_owned(), Forge::Github))
        );
    }

    #[test]
    fn github_enterprise_servers_keep_their_address() {
        let mut pairs = github();
        pairs[0] = ("GITHUB_SERVER_URL", "https://github.acme.example:8443/");
        let actor = ci_actor(&environment(&pairs)).unwrap();
        assert_eq!(
            actor,
            Actor::Ci {
                url: "https://github.acme.example:8443/acme/city/actions/runs/8812".to_owned(),
                system: Forge::Github,
            }
        );
    }

    #[test]
    fn gitlab_jobs_are_linked() {
        let gitlab = environment(&[
            (
                "CI_JOB_URL",
                "https://git.acme.example/infra/city/-/jobs/4711",
            ),
            ("CI_PROJECT_URL", "https://git.acme.example/infra/city"),
        ]);
        assert_eq!(
            ci_actor(&gitlab),
            Some(Actor::Ci {
                url: "https://git.acme.example/infra/city/-/jobs/4711".to_owned(),
                system: Forge::Gitlab,
            })
        );
        assert_eq!(
            ci_repository(&gitlab),
            Some((
                "https://git.acme.example/infra/city".to_owned(),
                Forge::Gitlab
            ))
        );
    }

    #[test]
    fn an_incomplete_github_environment_is_not_a_run() {
        for missing in 0..3 {
            let mut pairs = github();
            pairs.remove(missing);
            assert_eq!(ci_actor(&environment(&pairs)), None, "without {missing}");
        }
        let mut pairs = github();
        pairs[2] = ("GITHUB_RUN_ID", "../../evil");
        assert_eq!(ci_actor(&environment(&pairs)), None);
        let mut pairs = github();
        pairs[1] = ("GITHUB_REPOSITORY", "acme/city/../../x");
        assert_eq!(ci_repository(&environment(&pairs)), None);
    }

    #[test]
    fn ci_urls_lose_credentials() {
        let gitlab = environment(&[
            (
                "CI_JOB_URL",
                "https://gitlab-ci-token:s3cr3t@gitlab.com/a/b/-/jobs/1?t=s3cr3t",
            ),
            (
                "CI_PROJECT_URL",
                "https://gitlab-ci-token:s3cr3t@gitlab.com/a/b",
            ),
        ]);
        let actor = format!("{:?}", ci_actor(&gitlab));
        let repository = format!("{:?}", ci_repository(&gitlab));
        assert!(!actor.contains("s3cr3t"), "{actor}");
        assert!(!repository.contains("s3cr3t"), "{repository}");
        assert!(actor.contains("https://gitlab.com/a/b/-/jobs/1"), "{actor}");
    }

    #[test]
    fn the_user_is_user_then_logname() {
        assert_eq!(
            user_name(&environment(&[("USER", "alice"), ("LOGNAME", "bob")])),
            Some("alice")
        );
        assert_eq!(
            user_name(&environment(&[("USER", " "), ("LOGNAME", "bob")])),
            Some("bob")
        );
        assert_eq!(user_name(&environment(&[("USERNAME", "carol")])), None);
    }
}
