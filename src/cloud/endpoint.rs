//! Which URL a request for a region goes to.
//!
//! By default each region has its own endpoint, `https://cityvisual.<region>.aliyuncs.com/`.
//! An override URL (the CLI's `--endpoint` or `CITYFORM_ENDPOINT`) replaces all of them, for
//! the emulator, a proxy or a private endpoint. Plain `http://` is accepted only for loopback
//! hosts: anywhere else it would expose the signed requests and their security token.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

/// Endpoint selection: per region, or one override for every region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoints {
    override_url: Option<Url>,
}

/// Why an endpoint or a region cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The override does not parse as a URL.
    #[error("endpoint `{input}` is not a URL: {detail}")]
    NotAUrl {
        /// The text as given, with any user information replaced by `***`.
        input: String,
        /// What the URL parser said.
        detail: String,
    },
    /// The override uses a scheme other than `https` or `http`.
    #[error(
        "endpoint `{url}` uses scheme `{scheme}`: use `https://` (or `http://` for a loopback host)"
    )]
    UnsupportedScheme {
        /// The URL, user information removed.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// Plain HTTP to a host that is not loopback.
    #[error(
        "endpoint `{url}` uses plain `http://` for host `{host}`, which is not a loopback address: use `https://`; plain HTTP is allowed only for 127.0.0.0/8, `::1` and `localhost`"
    )]
    PlainHttpNotLoopback {
        /// The URL.
        url: String,
        /// Its host.
        host: String,
    },
    /// The override has a user name or password in it.
    #[error(
        "endpoint `{url}` carries user information: remove it; credentials come from the environment or the aliyun CLI's profiles"
    )]
    CarriesUserInformation {
        /// The URL with the user information replaced by `***`.
        url: String,
    },
    /// The override has a query or a fragment, which requests could not keep.
    #[error("endpoint `{url}` has a query or fragment: give only scheme, host, port and path")]
    HasQueryOrFragment {
        /// The URL.
        url: String,
    },
    /// The override has no `scheme://`, as in `localhost:8790`.
    #[error("endpoint `{input}` has no scheme: write `{suggestion}`")]
    MissingScheme {
        /// The override as given, user information removed.
        input: String,
        /// It with the scheme it most likely meant: `http://` for a loopback host (the
        /// emulator), `https://` otherwise.
        suggestion: String,
    },
    /// The override has no host.
    #[error("endpoint `{url}` has no host")]
    NoHost {
        /// The URL.
        url: String,
    },
    /// A region id that cannot be part of a host name.
    #[error(
        "region `{region}` is not a region id: expected lower-case letters, digits and `-`, like `cn-shanghai`"
    )]
    InvalidRegion {
        /// The region as given.
        region: String,
    },
}

impl Endpoints {
    /// One endpoint per region, `https://cityvisual.<region>.aliyuncs.com/`.
    pub fn regional() -> Self {
        Self::default()
    }

    /// Every region goes to `url`.
    pub fn with_override(url: &str) -> Result<Self, EndpointError> {
        Ok(Self {
            override_url: Some(parse_override(url)?),
        })
    }

    /// The override URL, when one is set.
    pub fn override_url(&self) -> Option<&Url> {
        self.override_url.as_ref()
    }

    /// The URL that requests for `region_id` are sent to.
    pub fn url_for(&self, region_id: &str) -> Result<Url, EndpointError> {
        validate_region(region_id)?;
        match &self.override_url {
            Some(url) => Ok(url.clone()),
            None => {
                Url::parse(&format!("https://cityvisual.{region_id}.aliyuncs.com/")).map_err(|_| {
                    EndpointError::InvalidRegion {
                        region: region_id.to_owned(),
                    }
                })
            }
        }
    }
}

impl fmt::Display for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.override_url {
            Some(url) => write!(f, "{url}"),
            None => f.write_str("https://cityvisual.<region>.aliyuncs.com/"),
        }
    }
}

/// Checks that a region id can stand in a host name: `cn-shanghai`, `ap-southeast-1`.
pub fn validate_region(region_id: &str) -> Result<(), EndpointError> {
    let well_formed = !region_id.is_empty()
        && region_id.len() <= 64
        && !region_id.starts_with('-')
        && !region_id.ends_with('-')
        && region_id
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if well_formed {
        Ok(())
    } else {
        Err(EndpointError::InvalidRegion {
            region: region_id.to_owned(),
        })
    }
}

/// Whether plain HTTP to `host` (as a URL spells it: `[::1]` with brackets) stays on this
/// machine: 127.0.0.0/8, `::1` or `localhost`.
pub fn is_loopback(host: &str) -> bool {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    match unbracketed.parse::<IpAddr>() {
        Ok(address) => address.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

fn parse_override(input: &str) -> Result<Url, EndpointError> {
    let trimmed = input.trim();
    if !trimmed.contains("://") {
        // `localhost:8790` parses as a URL of scheme `localhost`: say what is missing.
        let shown = hide_user_information(trimmed);
        let host = match shown.strip_prefix('[') {
            Some(rest) => rest
                .find(']')
                .map_or(shown.as_str(), |end| &shown[..end + 2]),
            None => shown.split([':', '/']).next().unwrap_or_default(),
        };
        let host = host.rsplit('@').next().unwrap_or(host);
        let scheme = if is_loopback(host) { "http" } else { "https" };
        let suggestion = format!("{scheme}://{shown}");
        if Url::parse(&suggestion).is_ok_and(|url| url.host_str().is_some_and(|h| !h.is_empty())) {
            return Err(EndpointError::MissingScheme {
                suggestion,
                input: shown,
            });
        }
    }
    let url = Url::parse(input.trim()).map_err(|error| EndpointError::NotAUrl {
        input: hide_user_information(input),
        detail: error.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        let mut shown = url.clone();
        // Both setters only fail for URLs that cannot have a host, which was ruled out above
        // by the user information being present at all.
        let _ = shown.set_username("***");
        let _ = shown.set_password(None);
        return Err(EndpointError::CarriesUserInformation {
            url: shown.to_string(),
        });
    }
    let shown = url.to_string();
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EndpointError::HasQueryOrFragment { url: shown });
    }
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| EndpointError::NoHost { url: shown.clone() })?
        .to_owned();
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(EndpointError::PlainHttpNotLoopback { host, url: shown }),
        scheme => Err(EndpointError::UnsupportedScheme {
            scheme: scheme.to_owned(),
            url: shown,
        }),
    }
}

/// `scheme://user:password@host` → `scheme://***@host`, for echoing input that did not parse.
fn hide_user_information(input: &str) -> String {
    let after_scheme = input.find("://").map_or(0, |index| index + 3);
    let authority_end = input[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(input.len(), |index| after_scheme + index);
    match input[after_scheme..authority_end].rfind('@') {
        Some(at) => format!(
            "{}***{}",
            &input[..after_scheme],
            &input[after_scheme + at..]
        ),
        None => input.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn each_region_has_its_own_https_endpoint() {
        let endpoints = Endpoints::regional();
        assert_eq!(
            endpoints.url_for("cn-shanghai").unwrap().as_str(),
            "https://cityvisual.cn-shanghai.aliyuncs.com/"
        );
        assert_eq!(
            endpoints.url_for("ap-southeast-1").unwrap().as_str(),
            "https://cityvisual.ap-southeast-1.aliyuncs.com/"
        );
    }

    #[test]
    fn an_override_replaces_every_region() {
        let endpoints = Endpoints::with_override("https://proxy.example.com:8443/cv/").unwrap();
        for region in ["cn-shanghai", "cn-beijing"] {
            assert_eq!(
                endpoints.url_for(region).unwrap().as_str(),
                "https://proxy.example.com:8443/cv/"
            );
        }
    }

    #[test]
    fn plain_http_only_for_loopback_hosts() {
        for url in [
            "http://127.0.0.1:8080/",
            "http://127.1.2.3/",
            "http://[::1]:9000",
            "http://localhost:3000",
            "http://LOCALHOST/",
        ] {
            assert!(Endpoints::with_override(url).is_ok(), "{url}");
        }
        for url in [
            "http://10.0.0.1/",
            "http://example.com/",
            "http://localhost.example.com/",
            "http://128.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(
                matches!(
                    Endpoints::with_override(url),
                    Err(EndpointError::PlainHttpNotLoopback { .. })
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn refuses_other_schemes_queries_and_non_urls() {
        assert!(matches!(
            Endpoints::with_override("ftp://127.0.0.1/"),
            Err(EndpointError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            Endpoints::with_override("https://example.com/?a=b"),
            Err(EndpointError::HasQueryOrFragment { .. })
        ));
        assert!(matches!(
            Endpoints::with_override("not a url"),
            Err(EndpointError::NotAUrl { .. })
        ));
    }

    #[test]
    fn a_missing_scheme_is_named_with_the_url_meant() {
        let message = |input: &str| Endpoints::with_override(input).unwrap_err().to_string();
        assert_eq!(
            message("localhost:8790"),
            "endpoint `localhost:8790` has no scheme: write `http://localhost:8790`"
        );
        assert_eq!(
            message("127.0.0.1:8080/api"),
            "endpoint `127.0.0.1:8080/api` has no scheme: write `http://127.0.0.1:8080/api`"
        );
        assert_eq!(
            message("[::1]:9"),
            "endpoint `[::1]:9` has no scheme: write `http://[::1]:9`"
        );
        assert_eq!(
            message("cityvisual.example.com"),
            "endpoint `cityvisual.example.com` has no scheme: write `https://cityvisual.example.com`"
        );
        assert!(matches!(
            Endpoints::with_override("not a url"),
            Err(EndpointError::NotAUrl { .. })
        ));
    }

    #[test]
    fn user_information_is_refused_and_never_echoed() {
        let error = Endpoints::with_override("https://me:pa55word@example.com/").unwrap_err();
        assert!(matches!(
            error,
            EndpointError::CarriesUserInformation { .. }
        ));
        assert!(!error.to_string().contains("pa55word"), "{error}");
        let error = Endpoints::with_override("https://me:pa55word@exa mple.com/").unwrap_err();
        assert!(!error.to_string().contains("pa55word"), "{error}");
    }

    #[test]
    fn region_ids_must_fit_in_a_host_name() {
        let endpoints = Endpoints::regional();
        for region in [
            "",
            "cn-shanghai.evil.com/",
            "CN",
            "-cn",
            "cn-",
            "cn shanghai",
        ] {
            assert!(
                matches!(
                    endpoints.url_for(region),
                    Err(EndpointError::InvalidRegion { .. })
                ),
                "{region:?}"
            );
        }
    }
}
