//! Web addresses that provenance records: CI job and project URLs made safe to store, and
//! git remotes turned into the repository's web page.
//!
//! Whatever the input, the result never carries a user name, password, token, query or
//! fragment: a remote such as `https://oauth2:glpat-…@gitlab.com/acme/city.git` or a CI URL
//! with `?private_token=…` must not end up in a state file or a pull-request comment. The
//! results are rebuilt from the parts that are kept, never edited out of the input.

use reqwest::Url;

use super::record::Forge;

/// An `http(s)` URL as stored: without credentials, query, fragment or trailing `/`;
/// `None` when `text` is not an absolute `http(s)` URL with a host.
pub fn sanitize_web_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let mut clean = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        clean.push_str(&format!(":{port}"));
    }
    clean.push_str(url.path().trim_end_matches('/'));
    Some(clean)
}

/// The web page of the repository a git remote points to, and its forge, when the remote is
/// on GitHub or GitLab; `None` for any other host, local paths and URLs cityform does not
/// understand.
///
/// Understood: `https://` and `http://` (both become `https://`), `ssh://`, `git://` and
/// the scp-like `git@host:owner/repository.git`. A host is GitHub's or GitLab's when one of
/// its dot-separated labels is `github` or `gitlab` (`github.com`, `gitlab.example.com`);
/// GitHub's and GitLab's alternative SSH hosts map to their web hosts.
pub fn repository_web_url(remote: &str) -> Option<(String, Forge)> {
    let remote = remote.trim();
    let (host, port, path) = if remote.contains("://") {
        let url = Url::parse(remote).ok()?;
        let port = match url.scheme() {
            // A web port stays; an SSH or git-protocol port says nothing about the web.
            "https" | "http" => url.port(),
            "ssh" | "git" | "git+ssh" | "ssh+git" => None,
            _ => return None,
        };
        (url.host_str()?.to_owned(), port, url.path().to_owned())
    } else {
        scp_like(remote)?
    };
    let host = web_host(&host.to_ascii_lowercase());
    let forge = forge_of(&host)?;
    let path = repository_path(&path, forge)?;
    let mut url = format!("https://{host}");
    if let Some(port) = port {
        url.push_str(&format!(":{port}"));
    }
    url.push('/');
    url.push_str(&path);
    Some((url, forge))
}

/// `[user@]host:path`, git's short form of an SSH URL: a colon before any slash.
fn scp_like(remote: &str) -> Option<(String, Option<u16>, String)> {
    let (before, path) = remote.split_once(':')?;
    if before.contains('/') || path.starts_with("//") {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, host)| host);
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-'));
    valid_host.then(|| (host.to_owned(), None, path.to_owned()))
}

/// The web host behind an SSH-only host name.
fn web_host(host: &str) -> String {
    match host {
        "ssh.github.com" => "github.com".to_owned(),
        "altssh.gitlab.com" => "gitlab.com".to_owned(),
        other => other.to_owned(),
    }
}

/// Which forge a host belongs to, by its labels.
fn forge_of(host: &str) -> Option<Forge> {
    let labels: Vec<&str> = host.split('.').collect();
    if labels.contains(&"github") {
        Some(Forge::Github)
    } else if labels.contains(&"gitlab") {
        Some(Forge::Gitlab)
    } else {
        None
    }
}

/// `owner/repository` (GitHub: exactly two parts; GitLab: groups, subgroups and the
/// project) without `.git`, or `None` when a part is not a plain name.
pub(crate) fn repository_path(path: &str, forge: Forge) -> Option<String> {
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    let count_fits = match forge {
        Forge::Github => parts.len() == 2,
        Forge::Gitlab => parts.len() >= 2,
    };
    let names_are_plain = parts.iter().all(|part| {
        !part.is_empty()
            && *part != "."
            && *part != ".."
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
    });
    (count_fits && names_are_plain).then(|| parts.join("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn github(url: &str) -> Option<(String, Forge)> {
        Some((url.to_owned(), Forge::Github))
    }

    fn gitlab(url: &str) -> Option<(String, Forge)> {
        Some((url.to_owned(), Forge::Gitlab))
    }

    #[test]
    fn github_remotes_in_every_form() {
        let page = github("https://github.com/acme/city");
        for remote in [
            "https://github.com/acme/city.git",
            "https://github.com/acme/city",
            "https://github.com/acme/city/",
            "http://github.com/acme/city.git",
            "git@github.com:acme/city.git",
            "github.com:acme/city",
            "ssh://git@github.com/acme/city.git",
            "ssh://git@ssh.github.com:443/acme/city.git",
            "git://github.com/acme/city.git",
            "  https://GitHub.com/acme/city.git\n",
        ] {
            assert_eq!(repository_web_url(remote), page, "{remote}");
        }
    }

    #[test]
    fn gitlab_remotes_keep_their_groups() {
        assert_eq!(
            repository_web_url("git@gitlab.com:acme/platform/city.git"),
            gitlab("https://gitlab.com/acme/platform/city")
        );
        assert_eq!(
            repository_web_url("ssh://git@gitlab.example.com:2222/acme/city.git"),
            gitlab("https://gitlab.example.com/acme/city"),
            "an SSH port is not the web port"
        );
        assert_eq!(
            repository_web_url("https://gitlab.example.com:8443/acme/city.git"),
            gitlab("https://gitlab.example.com:8443/acme/city"),
        );
        assert_eq!(
            repository_web_url("git@github.example.com:acme/city.git"),
            github("https://github.example.com/acme/city"),
        );
    }

    #[test]
    fn credentials_never_survive() {
        for remote in [
            "https://x-access-token:ghs_s3cr3t@github.com/acme/city.git",
            "https://oauth2:glpat-s3cr3t@github.com/acme/city.git?token=s3cr3t#s3cr3t",
            "https://s3cr3t@github.com/acme/city.git",
            "ssh://s3cr3t:s3cr3t@github.com/acme/city.git",
            "s3cr3t@github.com:acme/city.git",
        ] {
            let (url, _) = repository_web_url(remote).unwrap();
            assert_eq!(url, "https://github.com/acme/city", "{remote}");
        }
    }

    #[test]
    fn other_hosts_and_paths_give_nothing() {
        for remote in [
            "",
            "/srv/git/city.git",
            "../city",
            "file:///srv/git/city.git",
            "https://bitbucket.org/acme/city.git",
            "git@example.com:acme/city.git",
            "https://github.com/acme",
            "https://github.com/acme/city/extra",
            "https://github.com/acme/ci%20ty",
            "https://github.com/acme/../city",
            "C:\\repositories\\city",
            "ftp://github.com/acme/city",
        ] {
            assert_eq!(repository_web_url(remote), None, "{remote}");
        }
    }

    #[test]
    fn web_urls_lose_credentials_query_and_fragment() {
        assert_eq!(
            sanitize_web_url("https://user:s3cr3t@gitlab.example.com/acme/city/-/jobs/42?private_token=s3cr3t#top")
                .unwrap(),
            "https://gitlab.example.com/acme/city/-/jobs/42"
        );
        assert_eq!(
            sanitize_web_url("https://github.example.com:8443/").unwrap(),
            "https://github.example.com:8443"
        );
        assert_eq!(sanitize_web_url("github.com/acme"), None);
        assert_eq!(sanitize_web_url("javascript:alert(1)"), None);
        assert_eq!(sanitize_web_url("file:///etc/passwd"), None);
    }
}
