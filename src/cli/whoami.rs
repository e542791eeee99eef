//! `cityform whoami`: which source of the credential chain is used, whose identity STS says
//! it is (`GetCallerIdentity`), and when the credentials expire. Never a secret or a token.

use std::fmt::Write as _;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::settings::process_environment;
use super::{Outcome, output};
use crate::cloud::connection::chain_for;
use crate::cloud::credentials::sts;

/// Arguments of `cityform whoami`.
#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// The aliyun CLI profile, or else the section of `~/.alibabacloud/credentials`, to take
    /// credentials from; without it, the official credential chain (`docs/credentials.md`).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = WhoamiFormat::Text)]
    format: WhoamiFormat,
}

/// How `whoami` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum WhoamiFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

#[derive(Serialize)]
struct WhoamiDocument {
    format_version: u32,
    kind: &'static str,
    source: String,
    access_key_id: String,
    account_id: String,
    arn: String,
    identity_type: String,
    expiration: Option<String>,
}

pub(super) async fn run(args: WhoamiArgs) -> anyhow::Result<Outcome> {
    let environment = process_environment();
    let chain = chain_for(args.profile.clone(), &environment);
    let resolved = chain.resolve().await?;
    let provider = resolved.provider;
    tracing::info!(source = %provider.source().label(), "using credentials from {}", provider.source());
    let issued = provider.current().await?;
    // The role's STS, so that a profile's `sts_region` is asked rather than the public one.
    let endpoint = chain.sts_endpoint()?;
    let http = crate::cloud::client::http_client(Duration::from_secs(5), Duration::from_secs(15))?;
    let identity = sts::get_caller_identity(&http, &endpoint, &issued.credentials).await?;
    let document = WhoamiDocument {
        format_version: 1,
        kind: "whoami",
        source: provider.source().label(),
        access_key_id: issued.credentials.access_key_id.clone(),
        account_id: identity.account_id,
        arn: identity.arn,
        identity_type: identity.identity_type,
        expiration: issued
            .expiration
            .and_then(|moment| moment.format(&Rfc3339).ok()),
    };
    let text = match args.format {
        WhoamiFormat::Json => {
            let mut text = serde_json::to_string_pretty(&document)?;
            text.push('\n');
            text
        }
        WhoamiFormat::Text => {
            let mut text = String::new();
            let _ = writeln!(text, "source:        {}", document.source);
            let _ = writeln!(text, "access key id: {}", document.access_key_id);
            let _ = writeln!(text, "account:       {}", document.account_id);
            let _ = writeln!(
                text,
                "identity:      {} ({})",
                document.arn, document.identity_type
            );
            let _ = writeln!(
                text,
                "expires:       {}",
                document
                    .expiration
                    .as_deref()
                    .unwrap_or("never (a long-term key)")
            );
            text
        }
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}
