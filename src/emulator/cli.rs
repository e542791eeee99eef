//! `cityform emulator`: the flags, their resolution into an [`EmulatorConfig`], and running
//! until Ctrl-C. The first line on stdout is `cityform emulator listening on http://ADDR/`
//! so that scripts can read the port when they asked for port 0.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser as _};

use super::config::{Credentials, EmulatorConfig, Faults};
use super::dialect::Dialect;
use super::seed::Seed;
use super::{EmulatorError, EmulatorHandle, start};

/// Run a local CityVisual endpoint for tests, demos and CI.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 takes a free port (printed on the first line).
    #[arg(long, default_value = "127.0.0.1:8790", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Accepted AccessKeyId [default: the development pair `cityform-dev`]
    #[arg(long, env = "CITYFORM_EMULATOR_ACCESS_KEY_ID", value_name = "ID")]
    pub access_key_id: Option<String>,

    /// Accepted AccessKeySecret (never printed) [default: `cityform-dev-secret` with the development id]
    #[arg(
        long,
        env = "CITYFORM_EMULATOR_ACCESS_KEY_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub access_key_secret: Option<String>,

    /// YAML file adding instances, algorithm libraries, resource profiles and job groups.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Milliseconds added before every API answer.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub latency_ms: u64,

    /// Probability (0–1) of answering 400 `Throttling.User`.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub throttle_rate: f64,

    /// Probability (0–1) of answering 503 `ServiceUnavailable`.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub error_rate: f64,

    /// The Nth successful CreateJobGroup creates its group, then closes the connection
    /// without answering (once).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub drop_after_commit: Option<u64>,

    /// The account's flow limit: at most N requests a second over all actions (a token
    /// bucket holding N); beyond it, 400 `Throttling.User`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub qps: Option<u32>,

    /// Seed of the fault generator: the same seed and requests give the same faults.
    #[arg(long, default_value_t = 1, value_name = "SEED")]
    pub fault_seed: u64,

    /// How long the credentials its STS issues last, at least a second: e.g. `1h`, `15m`, `2`
    /// (a bare number is seconds).
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = sts_duration)]
    pub sts_duration: Duration,

    /// The one token AssumeRoleWithOIDC accepts (never printed) [default: any non-empty token]
    #[arg(
        long,
        env = "CITYFORM_EMULATOR_OIDC_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub oidc_token: Option<String>,

    /// Also serve the ECS instance metadata service (IMDSv2 token, RAM role name and its
    /// credentials, issued by this STS) on the same address; point cityform at it with
    /// `CITYFORM_ECS_METADATA_ENDPOINT`.
    #[arg(long)]
    pub metadata: bool,

    /// Do not log one line per request to stderr.
    #[arg(long)]
    pub quiet: bool,

    /// How DescribeJobGroups answers: as the SDK models read it, or as the API reference shows it
    #[arg(
        long,
        default_value = "sdk",
        value_name = "DIALECT",
        value_parser = PossibleValuesParser::new(Dialect::NAMES)
            .try_map(|name| name.parse::<Dialect>())
    )]
    pub dialect: Dialect,

    /// Milliseconds a started or stopped group shows `starting` or `stopping` first.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub transition_ms: u64,
}

/// `--sts-duration`: a duration of at least a second.
fn sts_duration(text: &str) -> Result<Duration, String> {
    let duration = crate::duration::parse_duration(text).map_err(|error| error.to_string())?;
    if duration < Duration::from_secs(1) {
        return Err(format!(
            "`{text}` is shorter than a second: credentials must last at least `1s`"
        ));
    }
    Ok(duration)
}

impl EmulatorArgs {
    /// Resolves the flags (and their environment variables) into a configuration, reading
    /// the seed file if one is named.
    pub fn to_config(&self) -> Result<EmulatorConfig, EmulatorError> {
        let credentials = match (&self.access_key_id, &self.access_key_secret) {
            (Some(id), Some(secret)) => Credentials::new(id, secret),
            (None, None) => Credentials::development(),
            _ => return Err(EmulatorError::IncompleteCredentials),
        };
        let seed = match &self.seed {
            Some(path) => Seed::load(path)?,
            None => Seed::default(),
        };
        Ok(EmulatorConfig {
            listen: self.listen,
            credentials,
            seed,
            faults: Faults {
                latency: Duration::from_millis(self.latency_ms),
                throttle_rate: self.throttle_rate,
                error_rate: self.error_rate,
                drop_after_commit: self.drop_after_commit,
                seed: self.fault_seed,
            },
            qps: self.qps,
            log_requests: !self.quiet,
            dialect: self.dialect,
            transition: Duration::from_millis(self.transition_ms),
            sts_duration: self.sts_duration,
            oidc_token: self.oidc_token.clone().map(crate::cloud::Secret::new),
            metadata: self.metadata,
            ..EmulatorConfig::default()
        })
    }
}

/// Runs the emulator until Ctrl-C (or, on Unix, SIGTERM as sent by `docker stop` and CI).
pub async fn run(args: EmulatorArgs) -> Result<(), EmulatorError> {
    let emulator = start(args.to_config()?).await?;
    // Listen for signals before the banner: whoever reads it may stop us at once.
    let stop = StopSignals::install()?;
    print_banner(&emulator);
    stop.wait().await;
    emulator.shutdown().await;
    Ok(())
}

/// Ctrl-C and SIGTERM, installed before anyone can know the emulator is up.
#[cfg(unix)]
struct StopSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    fn install() -> Result<Self, EmulatorError> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).map_err(EmulatorError::Signal)?,
            terminate: signal(SignalKind::terminate()).map_err(EmulatorError::Signal)?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Ctrl-C where there is no SIGTERM.
#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn install() -> Result<Self, EmulatorError> {
        Ok(Self)
    }

    async fn wait(self) {
        // If Ctrl-C cannot be watched, the process is stopped some other way.
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn print_banner(emulator: &EmulatorHandle) {
    let credentials = emulator.credentials();
    let mut banner = format!(
        "cityform emulator listening on {}\naccess key id: {}\n",
        emulator.endpoint(),
        credentials.access_key_id
    );
    if credentials.is_development() {
        banner.push_str(&format!(
            "access key secret: {} (public development pair)\n",
            credentials.access_key_secret()
        ));
    } else {
        banner.push_str("access key secret: as given (not shown)\n");
    }
    let mut stdout = std::io::stdout().lock();
    // A closed stdout must not stop the emulator: whoever started it may ignore the banner.
    let _ = stdout.write_all(banner.as_bytes());
    let _ = stdout.flush();
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    fn parse(arguments: &[&str]) -> Result<EmulatorArgs, clap::Error> {
        Command::try_parse_from(std::iter::once("emulator").chain(arguments.iter().copied()))
            .map(|command| command.args)
    }

    #[test]
    fn defaults_give_the_development_pair_on_port_8790() {
        let config = parse(&[]).unwrap().to_config().unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8790");
        assert!(config.credentials.is_development());
        assert_eq!(config.faults, Faults::default());
        assert!(config.log_requests);
        assert_eq!(config.dialect, Dialect::Sdk);
        assert_eq!(config.transition, Duration::ZERO);
    }

    #[test]
    fn dialect_and_transition_reach_the_config() {
        let config = parse(&["--dialect", "reference", "--transition-ms=200"])
            .unwrap()
            .to_config()
            .unwrap();
        assert_eq!(config.dialect, Dialect::Reference);
        assert_eq!(config.transition, Duration::from_millis(200));
        assert!(parse(&["--dialect=Reference"]).is_err());
        assert!(parse(&["--transition-ms=-1"]).is_err());
    }

    #[test]
    fn every_fault_flag_reaches_the_config() {
        let config = parse(&[
            "--listen=127.0.0.1:0",
            "--latency-ms=25",
            "--throttle-rate=0.25",
            "--error-rate=0.5",
            "--drop-after-commit=2",
            "--fault-seed=9",
            "--quiet",
        ])
        .unwrap()
        .to_config()
        .unwrap();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(
            config.faults,
            Faults {
                latency: Duration::from_millis(25),
                throttle_rate: 0.25,
                error_rate: 0.5,
                drop_after_commit: Some(2),
                seed: 9,
            }
        );
        assert!(!config.log_requests);
    }

    #[test]
    fn half_a_key_pair_is_refused() {
        let args = parse(&["--access-key-id=someone"]).unwrap();
        assert!(matches!(
            args.to_config(),
            Err(EmulatorError::IncompleteCredentials)
        ));
        let config = parse(&["--access-key-id=someone", "--access-key-secret=s3cret"])
            .unwrap()
            .to_config()
            .unwrap();
        assert_eq!(config.credentials.access_key_id, "someone");
        assert!(!config.credentials.is_development());
    }

    #[test]
    fn drop_after_commit_counts_from_one() {
        assert!(parse(&["--drop-after-commit=0"]).is_err());
    }

    #[test]
    fn the_flow_limit_is_off_unless_asked_and_at_least_one() {
        assert_eq!(parse(&[]).unwrap().to_config().unwrap().qps, None);
        let config = parse(&["--qps=100"]).unwrap().to_config().unwrap();
        assert_eq!(config.qps, Some(100));
        assert!(parse(&["--qps=0"]).is_err());
    }
}
