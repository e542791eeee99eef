//! What one recorded action carries about where it came from: [`Provenance`], its
//! [`Actor`], and the short form and links that plans and `history` show.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::manifest::SourceLocation;

/// Where a recorded action came from: which commit of the manifests, whether the working
/// tree had uncommitted changes to them, which manifest line declared the group, who ran
/// cityform, when, and the service's `RequestId`.
///
/// The field names are part of the state and `history --format json`, and do not change.
/// Every field is collected from git, the command line and a few named CI variables (see
/// `docs/provenance.md`); none can hold a secret, and URLs never carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The full commit id (40 or 64 lower-case hex digits) of the manifests; `None` when
    /// they are not in a git repository and neither `--commit` nor CI names one.
    pub commit: Option<String>,
    /// Whether the manifest files had uncommitted changes; `None` when git could not tell.
    pub dirty: Option<bool>,
    /// The manifest line that declared the group (relative to the repository root when the
    /// manifests are in a git repository); `None` for actions no manifest asks for, such as
    /// deleting an orphan.
    pub source: Option<SourceLocation>,
    /// Who ran cityform.
    pub actor: Actor,
    /// When the action's result was recorded, RFC 3339 in UTC.
    #[serde(with = "utc_rfc3339")]
    pub at: OffsetDateTime,
    /// The `RequestId` of the call that carried the action out; `None` for actions without
    /// a call (an import of a group found by name is recorded with the call that found it).
    pub request_id: Option<String>,
    /// The web address of the repository (`https://github.com/owner/repository`), for
    /// links; never with credentials.
    pub repository_url: Option<String>,
    /// What kind of host `repository_url` is on, which decides the shape of links.
    pub forge: Option<Forge>,
}

/// Who ran cityform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Actor {
    /// A person, from `USER` (or `LOGNAME`) and the host name.
    User {
        /// The login name; `unknown` when neither variable is set.
        user: String,
        /// The host name; `unknown` when the system does not say.
        host: String,
    },
    /// A CI job.
    Ci {
        /// The web address of the job (GitHub Actions run, GitLab job).
        url: String,
        /// Which CI system ran it.
        system: Forge,
    },
}

/// The code hosts cityform knows how to link to, which are also the CI systems it
/// recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forge {
    /// GitHub (github.com or GitHub Enterprise), and GitHub Actions.
    Github,
    /// GitLab (gitlab.com or self-managed), and GitLab CI.
    Gitlab,
}

/// How many hex digits of a commit id the short forms show.
pub const SHORT_COMMIT_LENGTH: usize = 7;

impl Provenance {
    /// The commit id shortened for display: `3f2a9c1`.
    pub fn short_commit(&self) -> Option<&str> {
        self.commit.as_deref().map(short_commit)
    }

    /// A short form for plans and logs: `3f2a9c1 by ci/run 8812`,
    /// `3f2a9c1 (dirty) by alice@laptop`, `unknown commit by alice@laptop`.
    pub fn short(&self) -> String {
        format!("{} by {}", self.commit_label(), self.actor.short())
    }

    /// `3f2a9c1`, `3f2a9c1 (dirty)` or `unknown commit`.
    pub fn commit_label(&self) -> String {
        let mut label = match self.short_commit() {
            Some(commit) => commit.to_owned(),
            None => "unknown commit".to_owned(),
        };
        if self.dirty == Some(true) {
            label.push_str(" (dirty)");
        }
        label
    }

    /// The web page of the commit, when both the commit and the repository are known.
    pub fn commit_url(&self) -> Option<String> {
        let commit = self.commit.as_deref()?;
        let repository = self.repository_url.as_deref()?;
        Some(match self.forge? {
            Forge::Github => format!("{repository}/commit/{commit}"),
            Forge::Gitlab => format!("{repository}/-/commit/{commit}"),
        })
    }

    /// The web page of the declaring manifest line at the recorded commit, when the commit,
    /// the repository and the line are known and the file was committed (not dirty).
    pub fn source_url(&self) -> Option<String> {
        if self.dirty != Some(false) {
            return None;
        }
        let commit = self.commit.as_deref()?;
        let repository = self.repository_url.as_deref()?;
        let source = self.source.as_ref()?;
        if source.file == "-"
            || source.file.starts_with('/')
            || source.file.split('/').any(|part| part == "..")
        {
            return None;
        }
        let path = percent_encoding::utf8_percent_encode(&source.file, PATH).to_string();
        Some(match self.forge? {
            Forge::Github => format!("{repository}/blob/{commit}/{path}#L{}", source.line),
            Forge::Gitlab => format!("{repository}/-/blob/{commit}/{path}#L{}", source.line),
        })
    }
}

/// The characters escaped in a file path placed in a link: everything but unreserved
/// characters and `/`.
const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The first [`SHORT_COMMIT_LENGTH`] characters of a commit id.
pub fn short_commit(commit: &str) -> &str {
    commit
        .char_indices()
        .nth(SHORT_COMMIT_LENGTH)
        .map_or(commit, |(end, _)| &commit[..end])
}

impl Actor {
    /// `alice@laptop`, `ci/run 8812` (GitHub Actions) or `ci/job 4711` (GitLab).
    pub fn short(&self) -> String {
        match self {
            Actor::User { user, host } => format!("{user}@{host}"),
            Actor::Ci { url, system } => {
                let number =
                    url.trim_end_matches('/').rsplit('/').next().filter(|last| {
                        !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())
                    });
                let kind = match system {
                    Forge::Github => "run",
                    Forge::Gitlab => "job",
                };
                match number {
                    Some(number) => format!("ci/{kind} {number}"),
                    None => format!("ci/{kind}"),
                }
            }
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
        })
    }
}

/// `at` as RFC 3339 in UTC: whatever offset a stored value was written with, it is read
/// as the same instant in UTC, so that entries compare and print alike.
pub(crate) mod utc_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, UtcOffset};

    pub(crate) fn serialize<S: Serializer>(
        at: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = at
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(|at| at.to_offset(UtcOffset::UTC))
            .map_err(|error| {
                serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {error}"))
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const COMMIT: &str = "3f2a9c1e5b7d9f0a1c3e5b7d9f0a1c3e5b7d9f0a";

    fn provenance() -> Provenance {
        Provenance {
            commit: Some(COMMIT.to_owned()),
            dirty: Some(false),
            source: Some(SourceLocation {
                file: "manifests/traffic.yaml".to_owned(),
                line: 12,
                column: 1,
            }),
            actor: Actor::User {
                user: "alice".to_owned(),
                host: "laptop".to_owned(),
            },
            at: datetime!(2026-11-27 08:00:00 UTC),
            request_id: Some("2F2B1C7E-6A1D-4F0B-9E57-3C8D0A4B5E61".to_owned()),
            repository_url: Some("https://github.com/acme/city".to_owned()),
            forge: Some(Forge::Github),
        }
    }

    fn github_run(number: &str) -> Actor {
        Actor::Ci {
            url: format!("https://github.com/acme/city/actions/runs/{number}"),
            system: Forge::Github,
        }
    }

    #[test]
    fn the_short_form_names_the_commit_and_who() {
        let mut provenance = provenance();
        assert_eq!(provenance.short(), "3f2a9c1 by alice@laptop");
        provenance.dirty = Some(true);
        assert_eq!(provenance.short(), "3f2a9c1 (dirty) by alice@laptop");
        provenance.dirty = None;
        provenance.actor = github_run("8812");
        assert_eq!(provenance.short(), "3f2a9c1 by ci/run 8812");
        provenance.commit = None;
        assert_eq!(provenance.short(), "unknown commit by ci/run 8812");
    }

    #[test]
    fn ci_actors_are_shortened_to_their_run_or_job_number() {
        assert_eq!(github_run("8812").short(), "ci/run 8812");
        let gitlab = Actor::Ci {
            url: "https://gitlab.example.com/acme/city/-/jobs/4711".to_owned(),
            system: Forge::Gitlab,
        };
        assert_eq!(gitlab.short(), "ci/job 4711");
        let odd = Actor::Ci {
            url: "https://ci.example.com/pipelines/latest".to_owned(),
            system: Forge::Gitlab,
        };
        assert_eq!(odd.short(), "ci/job");
    }

    #[test]
    fn short_commits_are_seven_characters() {
        assert_eq!(short_commit(COMMIT), "3f2a9c1");
        assert_eq!(short_commit("abc"), "abc");
    }

    #[test]
    fn links_follow_each_forge() {
        let mut provenance = provenance();
        assert_eq!(
            provenance.commit_url().unwrap(),
            format!("https://github.com/acme/city/commit/{COMMIT}")
        );
        assert_eq!(
            provenance.source_url().unwrap(),
            format!("https://github.com/acme/city/blob/{COMMIT}/manifests/traffic.yaml#L12")
        );
        provenance.repository_url = Some("https://gitlab.com/acme/infra/city".to_owned());
        provenance.forge = Some(Forge::Gitlab);
        assert_eq!(
            provenance.commit_url().unwrap(),
            format!("https://gitlab.com/acme/infra/city/-/commit/{COMMIT}")
        );
        assert_eq!(
            provenance.source_url().unwrap(),
            format!(
                "https://gitlab.com/acme/infra/city/-/blob/{COMMIT}/manifests/traffic.yaml#L12"
            )
        );
    }

    #[test]
    fn no_link_without_what_it_needs() {
        let mut provenance = provenance();
        provenance.dirty = Some(true);
        assert_eq!(provenance.source_url(), None, "a dirty file may differ");
        provenance.dirty = Some(false);
        provenance.source.as_mut().unwrap().file = "-".to_owned();
        assert_eq!(provenance.source_url(), None, "standard input");
        provenance.forge = None;
        assert_eq!(provenance.commit_url(), None);
        provenance.forge = Some(Forge::Github);
        provenance.repository_url = None;
        assert_eq!(provenance.commit_url(), None);
        let mut provenance = self::provenance();
        provenance.commit = None;
        assert_eq!(provenance.commit_url(), None);
    }

    #[test]
    fn paths_in_links_are_escaped() {
        let mut provenance = provenance();
        provenance.source.as_mut().unwrap().file = "man ifests/#1.yaml".to_owned();
        assert_eq!(
            provenance.source_url().unwrap(),
            format!("https://github.com/acme/city/blob/{COMMIT}/man%20ifests/%231.yaml#L12")
        );
    }

    #[test]
    fn serializes_with_stable_field_names() {
        let json = serde_json::to_value(provenance()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "commit": COMMIT,
                "dirty": false,
                "source": {"file": "manifests/traffic.yaml", "line": 12, "column": 1},
                "actor": {"kind": "user", "user": "alice", "host": "laptop"},
                "at": "2026-11-27T08:00:00Z",
                "request_id": "2F2B1C7E-6A1D-4F0B-9E57-3C8D0A4B5E61",
                "repository_url": "https://github.com/acme/city",
                "forge": "github",
            })
        );
        let ci = serde_json::to_value(github_run("8812")).unwrap();
        assert_eq!(
            ci,
            serde_json::json!({
                "kind": "ci",
                "url": "https://github.com/acme/city/actions/runs/8812",
                "system": "github",
            })
        );
    }

    #[test]
    fn times_are_read_back_in_utc() {
        let mut json = serde_json::to_value(provenance()).unwrap();
        json["at"] = "2026-11-27T09:30:00+01:30".into();
        let read: Provenance = serde_json::from_value(json).unwrap();
        assert_eq!(read.at, datetime!(2026-11-27 08:00:00 UTC));
        assert_eq!(
            serde_json::to_value(&read).unwrap()["at"],
            "2026-11-27T08:00:00Z"
        );
    }

    #[test]
    fn round_trips_and_refuses_what_it_does_not_know() {
        let provenance = provenance();
        let text = serde_json::to_string(&provenance).unwrap();
        assert_eq!(
            serde_json::from_str::<Provenance>(&text).unwrap(),
            provenance
        );
        let mut json = serde_json::to_value(&provenance).unwrap();
        json["at"] = "yesterday".into();
        let error = serde_json::from_value::<Provenance>(json).unwrap_err();
        assert!(error.to_string().contains("`yesterday`"), "{error}");
        let mut json = serde_json::to_value(&provenance).unwrap();
        json["token"] = "x".into();
        assert!(serde_json::from_value::<Provenance>(json).is_err());
    }
}
