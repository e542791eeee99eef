//! A throw-away PostgreSQL for tests: finds the server's programs, makes a cluster in a
//! temporary directory, starts it on a Unix socket there (and on a loopback port, for the
//! password tests), gives each test a database of its own, and stops the cluster when the
//! last test using it lets go.
//!
//! - `CITYFORM_TEST_POSTGRES_URL` set: that server is used instead (its role must be able
//!   to create databases); each test's database is dropped afterwards.
//! - No PostgreSQL installed: outside CI, each test prints a loud `SKIP` line and passes;
//!   with `CI` set, it fails, so that CI cannot skip silently. `.ci/postgres` installs it.
//!   [`skip`] writes past the test harness's capture, so that a passing run shows it too.
//! - Running as root (PostgreSQL refuses to run as root): the cluster's directory is given
//!   to the `postgres` user and the server's programs run as that user through `runuser`.
//! - [`tls_database`]: a second cluster, with `ssl = on` and a server certificate for
//!   `localhost` signed by a certificate authority made here (`rcgen`), trusting loopback
//!   TCP without a password, except for [`CERTIFICATE_USER`], who must present a client
//!   certificate that authority signed, and [`PASSWORD_USER`], who must give a password over
//!   TLS (SCRAM); never an external server, whose TLS set-up is unknown.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // helpers of tests: a failed unwrap is a failed test

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Says that a test did not run, and why, on the process's standard error itself: the test
/// harness captures `eprintln!` and shows it only for a failed test, and a skip must show in
/// a passing run's log.
pub fn skip(reason: &str) {
    let _ = writeln!(std::io::stderr().lock(), "SKIP: {reason}");
}
use std::sync::{Arc, Mutex, Weak};

use tempfile::TempDir;

/// The superuser of a cluster made here.
const SUPERUSER: &str = "cityform_admin";

/// A database for one test, on a server that lives at least as long.
pub struct TestDatabase {
    /// Its name.
    pub name: String,
    /// The connection string that reaches it as the superuser (no password needed).
    pub url: String,
    server: Arc<Server>,
}

enum Server {
    Cluster(Cluster),
    External { url: String },
}

/// A cluster made and started here; stopped when dropped.
struct Cluster {
    directory: TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    tls: Option<TlsFiles>,
}

/// The certificates of a TLS cluster, PEM files in its directory.
pub struct TlsFiles {
    /// The certificate authority that signed the server's certificate.
    pub ca: PathBuf,
    /// A certificate authority that signed nothing the server shows.
    pub other_ca: PathBuf,
    /// A client certificate for [`CERTIFICATE_USER`], signed by `ca`.
    pub client_certificate: PathBuf,
    /// Its private key (mode 0600).
    pub client_key: PathBuf,
    /// A certificate revocation list of `ca` that revokes the server's certificate.
    pub server_revoked: PathBuf,
    /// A certificate revocation list of `ca` that revokes another certificate only.
    pub other_revoked: PathBuf,
}

/// The user a TLS cluster lets in over TCP only with a client certificate (`cert` in
/// `pg_hba.conf`). The role is not made: a test that uses it creates it.
pub const CERTIFICATE_USER: &str = "cityform_cert";

/// The user a TLS cluster lets in over TCP only over TLS and with a password
/// (`scram-sha-256` in `pg_hba.conf`). The role is not made: a test that uses it creates it.
pub const PASSWORD_USER: &str = "cityform_scram";

/// The one name in the server certificate of a TLS cluster.
pub const TLS_SERVER_NAME: &str = "localhost";

static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
static SHARED_TLS: Mutex<Weak<Server>> = Mutex::new(Weak::new());

/// A fresh, empty database; `None` (after printing why) when PostgreSQL is not installed
/// and `CI` is not set.
pub async fn database() -> Option<TestDatabase> {
    let server = server()?;
    database_on(server).await
}

/// A fresh, empty database on the TLS cluster; `None` (after printing why) when PostgreSQL
/// is not installed and `CI` is not set, or when `CITYFORM_TEST_POSTGRES_URL` names the
/// server to use.
pub async fn tls_database() -> Option<TestDatabase> {
    if std::env::var("CITYFORM_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty()) {
        skip("the TLS tests need a cluster made here, not CITYFORM_TEST_POSTGRES_URL");
        return None;
    }
    let server = {
        let mut shared = SHARED_TLS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match shared.upgrade() {
            Some(server) => server,
            None => {
                let server = Arc::new(Server::Cluster(Cluster::start(&find_bin()?, true)));
                *shared = Arc::downgrade(&server);
                server
            }
        }
    };
    database_on(server).await
}

async fn database_on(server: Arc<Server>) -> Option<TestDatabase> {
    let name = format!("cityform_test_{}", uuid::Uuid::new_v4().simple());
    let admin = connect(&server.admin_url("postgres")).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = server.admin_url(&name);
    Some(TestDatabase { name, url, server })
}

impl TestDatabase {
    /// A connection to this database as the superuser, for inspecting and tampering.
    pub async fn admin(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }

    /// A connection string over loopback TCP as `user`, with no password in it; `None`
    /// when the server is not one made here (the password tests need its `pg_hba.conf`).
    pub fn tcp_url(&self, user: &str) -> Option<String> {
        match &*self.server {
            Server::Cluster(cluster) => Some(format!(
                "postgres://{user}@127.0.0.1:{}/{}",
                cluster.port, self.name
            )),
            Server::External { .. } => None,
        }
    }

    /// A connection string over TCP to `host` (which must reach 127.0.0.1) as `user`, with
    /// no password in it; `None` when the server is not one made here.
    pub fn tcp_url_via(&self, host: &str, user: &str) -> Option<String> {
        match &*self.server {
            Server::Cluster(cluster) => Some(format!(
                "postgres://{user}@{host}:{}/{}",
                cluster.port, self.name
            )),
            Server::External { .. } => None,
        }
    }

    /// The cluster's TCP port; `None` when the server is not one made here.
    pub fn port(&self) -> Option<u16> {
        match &*self.server {
            Server::Cluster(cluster) => Some(cluster.port),
            Server::External { .. } => None,
        }
    }

    /// The certificates, when this database is on the TLS cluster.
    pub fn tls_files(&self) -> Option<&TlsFiles> {
        match &*self.server {
            Server::Cluster(cluster) => cluster.tls.as_ref(),
            Server::External { .. } => None,
        }
    }

    /// The superuser's name.
    pub fn superuser(&self) -> &'static str {
        SUPERUSER
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // A cluster made here goes as a whole; on someone else's server, tidy up.
        if let Server::External { .. } = &*self.server {
            let admin_url = self.server.admin_url("postgres");
            let name = self.name.clone();
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let admin = connect(&admin_url).await;
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                });
            })
            .join();
        }
    }
}

impl Server {
    fn admin_url(&self, database: &str) -> String {
        match self {
            Server::Cluster(cluster) => format!(
                "postgres://{SUPERUSER}@/{database}?host={}&port={}",
                cluster.directory.path().display(),
                cluster.port
            ),
            Server::External { url } => with_database(url, database),
        }
    }
}

/// The shared server, started when no test holds one.
fn server() -> Option<Arc<Server>> {
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(server) = shared.upgrade() {
        return Some(server);
    }
    let server = Arc::new(match std::env::var("CITYFORM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Server::External { url },
        _ => Server::Cluster(Cluster::start(&find_bin()?, false)),
    });
    *shared = Arc::downgrade(&server);
    Some(server)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// The directory of `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/*/bin`, else
/// `pg_config --bindir`, else `PATH`.
pub fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let from_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let found = from_pg_config
        .into_iter()
        .chain(from_path)
        .find(|directory| directory.join("initdb").exists() && directory.join("pg_ctl").exists());
    if found.is_none() {
        if in_ci() {
            panic!(
                "CI is set but PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin, \
                 pg_config --bindir or PATH): run `.ci/postgres` first, or set CITYFORM_TEST_POSTGRES_URL"
            );
        }
        skip(
            "PostgreSQL is not installed, so this PostgreSQL state test did not run; install it \
             (`.ci/postgres`) or set CITYFORM_TEST_POSTGRES_URL",
        );
    }
    found
}

impl Cluster {
    /// `tls`: `ssl = on` with certificates made here, and loopback TCP trusted.
    fn start(bin: &Path, tls: bool) -> Self {
        let directory = tempfile::Builder::new()
            .prefix("cityform-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(directory.path(), Some(uid), Some(gid)).unwrap();
        }
        let tls_files = tls.then(|| make_certificates(directory.path(), as_postgres));
        let cluster = Self {
            port: free_port(),
            bin: bin.to_path_buf(),
            directory,
            as_postgres,
            tls: tls_files,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                if tls {
                    "--auth-host=trust"
                } else {
                    "--auth-host=scram-sha-256"
                },
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} \
             -c max_connections=400 -c shared_buffers=32MB",
            cluster.port,
            cluster.directory.path().display()
        );
        if tls {
            let certificates = cluster.directory.path().join("tls");
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} -c ssl_ca_file={}",
                certificates.join("server.pem").display(),
                certificates.join("server.key").display(),
                certificates.join("ca.pem").display()
            ));
            // The first matching line wins: these users need a certificate or a password
            // over TLS, everyone else is trusted as before.
            let hba = Path::new(&data).join("pg_hba.conf");
            let rest = std::fs::read_to_string(&hba).unwrap();
            std::fs::write(
                &hba,
                format!(
                    "hostssl all {CERTIFICATE_USER} 127.0.0.1/32 cert\n\
                     hostssl all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n\
                     host all {PASSWORD_USER} 127.0.0.1/32 reject\n{rest}"
                ),
            )
            .unwrap();
        }
        let log = cluster.directory.path().join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-w",
                "-t",
                "60",
                "-l",
                &log.display().to_string(),
                "-o",
                &options,
                "start",
            ],
        );
        cluster
    }

    fn data(&self) -> String {
        self.directory.path().join("data").display().to_string()
    }

    /// `program` of the server's, run as the `postgres` user when this process is root.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        }
    }

    fn run(&self, program: &str, arguments: &[&str]) {
        let output = self
            .command(program)
            .args(arguments)
            .current_dir(self.directory.path())
            .output()
            .unwrap();
        if !output.status.success() {
            let log = std::fs::read_to_string(self.directory.path().join("server.log"))
                .unwrap_or_default();
            panic!(
                "`{program} {}` failed: {}\n{}\n{}\nserver log:\n{log}",
                arguments.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// The serial number of a TLS cluster's server certificate.
const SERVER_SERIAL: u64 = 0x5e_12e4;

/// A certificate authority, a server certificate for [`TLS_SERVER_NAME`] it signs, its key
/// (mode 0600, owned by the server's user, as PostgreSQL insists), and a second authority,
/// in `directory/tls`; a client certificate and two revocation lists of the first
/// authority, in `directory`.
fn make_certificates(directory: &Path, as_postgres: bool) -> TlsFiles {
    use std::os::unix::fs::PermissionsExt;

    fn authority(name: &str) -> rcgen::CertifiedIssuer<'static, rcgen::KeyPair> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap()
    }

    let tls = directory.join("tls");
    std::fs::create_dir(&tls).unwrap();
    let ca = authority("cityform test authority");
    let other = authority("cityform other authority");
    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut server = rcgen::CertificateParams::new(vec![TLS_SERVER_NAME.to_owned()]).unwrap();
    server.serial_number = Some(rcgen::SerialNumber::from(SERVER_SERIAL));
    let server = server.signed_by(&server_key, &ca).unwrap();
    let revoking = |serial: u64| {
        let now = time::OffsetDateTime::now_utc();
        rcgen::CertificateRevocationListParams {
            this_update: now - time::Duration::hours(1),
            next_update: now + time::Duration::days(1),
            crl_number: rcgen::SerialNumber::from(serial),
            issuing_distribution_point: None,
            revoked_certs: vec![rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(serial),
                revocation_time: now - time::Duration::hours(1),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        }
        .signed_by(&ca)
        .unwrap()
        .pem()
        .unwrap()
    };
    let mut client = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    client
        .distinguished_name
        .push(rcgen::DnType::CommonName, CERTIFICATE_USER);
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client = client.signed_by(&client_key, &ca).unwrap();
    let files = TlsFiles {
        ca: tls.join("ca.pem"),
        other_ca: tls.join("other-ca.pem"),
        client_certificate: directory.join("client.crt"),
        client_key: directory.join("client.key"),
        server_revoked: directory.join("server-revoked.crl"),
        other_revoked: directory.join("other-revoked.crl"),
    };
    std::fs::write(&files.server_revoked, revoking(SERVER_SERIAL)).unwrap();
    std::fs::write(&files.other_revoked, revoking(SERVER_SERIAL + 1)).unwrap();
    std::fs::write(&files.client_certificate, client.pem()).unwrap();
    std::fs::write(&files.client_key, client_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&files.client_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&files.ca, ca.as_ref().pem()).unwrap();
    std::fs::write(&files.other_ca, other.as_ref().pem()).unwrap();
    std::fs::write(tls.join("server.pem"), server.pem()).unwrap();
    let key = tls.join("server.key");
    std::fs::write(&key, server_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    if as_postgres {
        let (uid, gid) = postgres_ids();
        for path in [tls.clone(), tls.join("server.pem"), key] {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
    }
    files
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
        .unwrap_or(false)
}

fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "running as root needs a `postgres` user to run the server as (Debian's postgresql package makes one)"
        );
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap()
    };
    (id("-u"), id("-g"))
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `url` pointed at `database` instead.
fn with_database(url: &str, database: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let query = tail.split_once('?').map(|(_, query)| query);
        return match query {
            Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
            None => format!("{scheme}://{authority}/{database}"),
        };
    }
    format!("{url} dbname={database}")
}

/// A connection driven on the current runtime.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to the test server: {error:?}"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}
