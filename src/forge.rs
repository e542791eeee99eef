//! Pull-request comments on GitHub and GitLab: finding the comments that show one plan by
//! the marker they start with, and creating, updating and deleting them through the
//! platform's REST API with the CI job's token, so that a pull request keeps one plan
//! comment (or one series of parts) however often it is pushed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;

use crate::cloud::client::http_client;
use crate::render::comment::part_of;

/// Comments listed per page.
const PAGE_SIZE: usize = 100;

/// The platforms cityform posts plans to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// GitHub (and GitHub Enterprise): the comments of a pull request.
    Github,
    /// GitLab: the notes of a merge request.
    Gitlab,
}

/// Why the comments could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// The environment does not say where to post, or with what token.
    #[error("{what} is not known: set {how}")]
    Missing {
        /// What is missing.
        what: &'static str,
        /// The variables (or option) that give it.
        how: &'static str,
    },
    /// A value the environment gives cannot be used.
    #[error("{what}: {detail}")]
    Invalid {
        /// Which value.
        what: String,
        /// Why.
        detail: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// A call failed: no answer, or an answer other than success.
    #[error("{action} `{url}` failed: {detail}")]
    Call {
        /// What was asked (`GET`, `POST`…).
        action: &'static str,
        /// Where, without any token.
        url: String,
        /// The status and the start of the answer, or why there was none.
        detail: String,
    },
}

/// The thread of comments of one pull (or merge) request.
#[derive(Debug, Clone)]
pub struct Thread {
    platform: Platform,
    /// The URL of the request's comments (list and create).
    comments_url: String,
    /// The URL of one comment, without its id.
    comment_url: String,
    /// What the thread is called in messages (`pull request #7`).
    pub name: String,
    token: String,
}

/// What publishing did to the thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Comments created.
    pub created: usize,
    /// Comments whose body changed.
    pub updated: usize,
    /// Comments already showing their part.
    pub unchanged: usize,
    /// Comments of an earlier, longer plan (or duplicates) deleted.
    pub deleted: usize,
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

impl Thread {
    /// The thread a CI job of `platform` runs for, from its `environment`; `number` names
    /// the request when given.
    pub fn from_environment(
        platform: Platform,
        environment: &BTreeMap<String, String>,
        number: Option<u64>,
    ) -> Result<Self, ForgeError> {
        match platform {
            Platform::Github => {
                let token = set(environment.get("GITHUB_TOKEN"))
                    .or_else(|| set(environment.get("GH_TOKEN")))
                    .ok_or(ForgeError::Missing {
                        what: "the GitHub token",
                        how: "GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}`)",
                    })?;
                let api = set(environment.get("GITHUB_API_URL"))
                    .map_or("https://api.github.com", String::as_str);
                let repository =
                    set(environment.get("GITHUB_REPOSITORY")).ok_or(ForgeError::Missing {
                        what: "the repository",
                        how: "GITHUB_REPOSITORY (`owner/name`; set in every workflow)",
                    })?;
                let number = match number {
                    Some(number) => number,
                    None => github_pull_request(environment)?,
                };
                let api = api.trim_end_matches('/');
                Ok(Self {
                    platform,
                    comments_url: format!("{api}/repos/{repository}/issues/{number}/comments"),
                    comment_url: format!("{api}/repos/{repository}/issues/comments/"),
                    name: format!("pull request #{number}"),
                    token: token.clone(),
                })
            }
            Platform::Gitlab => {
                let token = set(environment.get("CITYFORM_GITLAB_TOKEN"))
                    .or_else(|| set(environment.get("GITLAB_TOKEN")))
                    .ok_or(ForgeError::Missing {
                        what: "the GitLab token",
                        how: "CITYFORM_GITLAB_TOKEN (a project access token with the `api` scope; the job token cannot post notes)",
                    })?;
                let api = set(environment.get("CI_API_V4_URL")).ok_or(ForgeError::Missing {
                    what: "the GitLab API",
                    how: "CI_API_V4_URL (set in every job)",
                })?;
                let project = set(environment.get("CI_PROJECT_ID")).ok_or(ForgeError::Missing {
                    what: "the project",
                    how: "CI_PROJECT_ID (set in every job)",
                })?;
                let number = match number {
                    Some(number) => number,
                    None => {
                        let iid = set(environment.get("CI_MERGE_REQUEST_IID")).ok_or(ForgeError::Missing {
                            what: "the merge request",
                            how: "--number, or run in a merge request pipeline (CI_MERGE_REQUEST_IID)",
                        })?;
                        iid.parse().map_err(|_| ForgeError::Invalid {
                            what: "CI_MERGE_REQUEST_IID".to_owned(),
                            detail: format!("`{iid}` is not a number"),
                        })?
                    }
                };
                let api = api.trim_end_matches('/');
                let notes = format!("{api}/projects/{project}/merge_requests/{number}/notes");
                Ok(Self {
                    platform,
                    comment_url: format!("{notes}/"),
                    comments_url: notes,
                    name: format!("merge request !{number}"),
                    token: token.clone(),
                })
            }
        }
    }

    /// Makes the thread show `bodies` as the comments of the plan `key`: part `n` of an
    /// earlier run is updated in place (left alone when it already says the same),
    /// missing parts are created, and parts past the new count deleted. Other comments are
    /// never touched.
    pub async fn publish(&self, key: &str, bodies: &[String]) -> Result<Published, ForgeError> {
        let http = http_client(Duration::from_secs(10), Duration::from_secs(60))
            .map_err(|error| ForgeError::Client(error.to_string()))?;
        let existing = self.plan_comments(&http, key).await?;
        let mut published = Published::default();
        let mut kept = BTreeSet::new();
        for (index, body) in bodies.iter().enumerate() {
            match existing.get(&(index + 1)).and_then(|ids| ids.first()) {
                Some((id, old)) => {
                    kept.insert(*id);
                    if old == body {
                        published.unchanged += 1;
                    } else {
                        self.send(&http, self.update_method(), &self.one(*id), Some(body))
                            .await?;
                        published.updated += 1;
                    }
                }
                None => {
                    self.send(&http, reqwest::Method::POST, &self.comments_url, Some(body))
                        .await?;
                    published.created += 1;
                }
            }
        }
        for (id, _) in existing.values().flatten() {
            if !kept.contains(id) {
                self.send(&http, reqwest::Method::DELETE, &self.one(*id), None)
                    .await?;
                published.deleted += 1;
            }
        }
        Ok(published)
    }

    /// The comments of the plan `key`, by part, oldest first within a part.
    async fn plan_comments(
        &self,
        http: &reqwest::Client,
        key: &str,
    ) -> Result<BTreeMap<usize, Vec<(u64, String)>>, ForgeError> {
        let mut found: BTreeMap<usize, Vec<(u64, String)>> = BTreeMap::new();
        for page in 1.. {
            let url = format!("{}?per_page={PAGE_SIZE}&page={page}", self.comments_url);
            let answer = self.send(http, reqwest::Method::GET, &url, None).await?;
            let comments: Vec<Comment> =
                serde_json::from_str(&answer).map_err(|error| ForgeError::Call {
                    action: "GET",
                    url: url.clone(),
                    detail: format!("the answer is not a list of comments: {error}"),
                })?;
            let count = comments.len();
            for comment in comments {
                let body = comment.body.unwrap_or_default();
                if let Some((part, _)) = part_of(&body, key) {
                    found.entry(part).or_default().push((comment.id, body));
                }
            }
            if count < PAGE_SIZE {
                break;
            }
        }
        for comments in found.values_mut() {
            comments.sort_by_key(|(id, _)| *id);
        }
        Ok(found)
    }

    fn one(&self, id: u64) -> String {
        format!("{}{id}", self.comment_url)
    }

    fn update_method(&self) -> reqwest::Method {
        match self.platform {
            Platform::Github => reqwest::Method::PATCH,
            Platform::Gitlab => reqwest::Method::PUT,
        }
    }

    /// One call, returning the answer's body; anything but a success is an error.
    async fn send(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        url: &str,
        body: Option<&String>,
    ) -> Result<String, ForgeError> {
        let action = match method.as_str() {
            "GET" => "GET",
            "POST" => "POST",
            "PATCH" => "PATCH",
            "PUT" => "PUT",
            _ => "DELETE",
        };
        let mut request = http.request(method, url);
        request = match self.platform {
            Platform::Github => request
                .bearer_auth(&self.token)
                .header("Accept", "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28"),
            Platform::Gitlab => request.header("PRIVATE-TOKEN", &self.token),
        };
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(serde_json::json!({ "body": body }).to_string());
        }
        let failed = |detail: String| ForgeError::Call {
            action,
            url: url.to_owned(),
            detail,
        };
        let answer = request
            .send()
            .await
            .map_err(|error| failed(crate::cloud::client::error_chain(&error)))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|error| failed(crate::cloud::client::error_chain(&error)))?;
        if !status.is_success() {
            let excerpt: String = text.chars().take(300).collect();
            return Err(failed(format!("{status}: {excerpt}")));
        }
        Ok(text)
    }
}

/// A variable's value, when it is set and not empty.
fn set(value: Option<&String>) -> Option<&String> {
    value.filter(|value| !value.is_empty())
}

/// The pull request a GitHub Actions job runs for: from the event payload, else from
/// `GITHUB_REF` (`refs/pull/7/merge`).
fn github_pull_request(environment: &BTreeMap<String, String>) -> Result<u64, ForgeError> {
    if let Some(path) = environment.get("GITHUB_EVENT_PATH")
        && let Ok(text) = std::fs::read_to_string(path)
        && let Ok(event) = serde_json::from_str::<serde_json::Value>(&text)
        && let Some(number) = event["pull_request"]["number"]
            .as_u64()
            .or_else(|| event["number"].as_u64())
    {
        return Ok(number);
    }
    environment
        .get("GITHUB_REF")
        .and_then(|reference| reference.strip_prefix("refs/pull/"))
        .and_then(|rest| rest.split('/').next())
        .and_then(|number| number.parse().ok())
        .ok_or(ForgeError::Missing {
            what: "the pull request",
            how: "--number, or run on a `pull_request` event",
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn github_takes_the_pull_request_from_the_ref_or_the_option() {
        let base = [
            ("GITHUB_TOKEN", "t"),
            ("GITHUB_REPOSITORY", "city/cams"),
            ("GITHUB_REF", "refs/pull/7/merge"),
        ];
        let thread = Thread::from_environment(Platform::Github, &environment(&base), None).unwrap();
        assert_eq!(
            thread.comments_url,
            "https://api.github.com/repos/city/cams/issues/7/comments"
        );
        assert_eq!(thread.name, "pull request #7");
        let thread =
            Thread::from_environment(Platform::Github, &environment(&base), Some(9)).unwrap();
        assert_eq!(thread.name, "pull request #9");
        let error =
            Thread::from_environment(Platform::Github, &environment(&base[1..]), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the GitHub token is not known: set GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}`)"
        );
        let error =
            Thread::from_environment(Platform::Github, &environment(&base[..2]), None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the pull request is not known"),
            "{error}"
        );
    }

    #[test]
    fn gitlab_needs_its_api_project_and_merge_request() {
        let base = [
            ("CITYFORM_GITLAB_TOKEN", "t"),
            ("CI_API_V4_URL", "https://gitlab.example/api/v4/"),
            ("CI_PROJECT_ID", "42"),
            ("CI_MERGE_REQUEST_IID", "3"),
        ];
        let thread = Thread::from_environment(Platform::Gitlab, &environment(&base), None).unwrap();
        assert_eq!(
            thread.comments_url,
            "https://gitlab.example/api/v4/projects/42/merge_requests/3/notes"
        );
        let error =
            Thread::from_environment(Platform::Gitlab, &environment(&base[..3]), None).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the merge request is not known"),
            "{error}"
        );
        let wrong = [("CI_MERGE_REQUEST_IID", "three")];
        let mut invalid = environment(&base[..3]);
        invalid.extend(environment(&wrong));
        let error = Thread::from_environment(Platform::Gitlab, &invalid, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "CI_MERGE_REQUEST_IID: `three` is not a number"
        );
    }
}
