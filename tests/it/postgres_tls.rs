//! TLS to the PostgreSQL state, against a throw-away cluster with `ssl = on` and a server
//! certificate for `localhost` made by the test (`support_postgres::tls_database`): each
//! libpq mode connects encrypted or plain as libpq would, `verify-full` checks the
//! certificate authority and the host name (and, given a revocation list, that the server's
//! certificate is not revoked), a client certificate gets in where the server asks for one,
//! a password is bound to the server's certificate, and a refused connection gets nothing
//! written.
//!
//! Without PostgreSQL these print `SKIP` and pass, unless `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support_postgres;

use std::process::Command;
use std::time::Duration;

use cityform::state::{LockOptions, PostgresBackend, PostgresError, StateError};
use support_postgres::{CERTIFICATE_USER, PASSWORD_USER, TLS_SERVER_NAME, TestDatabase};

const WORKSPACE: &str = "tls";

fn options() -> LockOptions {
    LockOptions::new("cityform tls test").with_timeout(Duration::from_secs(10))
}

/// `postgres://SUPERUSER@HOST:PORT/DB?QUERY` on the TLS cluster.
fn url(database: &TestDatabase, host: &str, query: &str) -> String {
    let base = database
        .tcp_url_via(host, database.superuser())
        .expect("the TLS cluster is made here");
    format!("{base}?{query}")
}

fn ca(database: &TestDatabase) -> String {
    database.tls_files().unwrap().ca.display().to_string()
}

fn other_ca(database: &TestDatabase) -> String {
    database.tls_files().unwrap().other_ca.display().to_string()
}

/// Whether the sessions the backend opened (application `cityform`, on this database) are
/// encrypted, as the server sees them; panics when there is none.
async fn backend_sessions_encrypted(database: &TestDatabase) -> bool {
    let admin = database.admin().await;
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.datname = $1 AND a.application_name = 'cityform'",
            &[&database.name],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the backend has no session on the server");
    let encrypted: Vec<bool> = rows.iter().map(|row| row.get(0)).collect();
    assert!(
        encrypted.iter().all(|flag| *flag == encrypted[0]),
        "sessions differ: {encrypted:?}"
    );
    encrypted[0]
}

/// Opens the backend at `url` and tells whether its sessions are encrypted.
async fn open_and_check(database: &TestDatabase, url: &str) -> bool {
    let backend = PostgresBackend::open(url, WORKSPACE, &options())
        .await
        .unwrap_or_else(|error| panic!("cannot open `{url}`: {error}"));
    let encrypted = backend_sessions_encrypted(database).await;
    backend.close().await.unwrap();
    encrypted
}

/// Opening the backend at `url` fails, for the reason `why` says; the error.
async fn refused(url: &str, why: &str) -> StateError {
    PostgresBackend::open(url, WORKSPACE, &options())
        .await
        .expect_err(why)
}

/// Runs `sql` on the test's database as the superuser.
async fn as_admin(database: &TestDatabase, sql: &str) {
    database.admin().await.batch_execute(sql).await.unwrap();
}

/// Whether cityform's tables exist in the database: a refused connection must create none.
async fn anything_written(database: &TestDatabase) -> bool {
    let admin = database.admin().await;
    let row = admin
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'cityform%'",
            &[],
        )
        .await
        .unwrap();
    row.get::<_, i64>(0) > 0
}

#[tokio::test]
async fn require_connects_encrypted() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    let url = url(&database, "127.0.0.1", "sslmode=require");
    assert!(open_and_check(&database, &url).await);
}

#[tokio::test]
async fn prefer_is_encrypted_and_disable_is_plain_against_the_same_server() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    assert!(open_and_check(&database, &url(&database, "127.0.0.1", "sslmode=prefer")).await);
    assert!(open_and_check(&database, &url(&database, "127.0.0.1", "sslmode=allow")).await);
    assert!(!open_and_check(&database, &url(&database, "127.0.0.1", "sslmode=disable")).await);
}

#[tokio::test]
async fn verify_full_with_the_servers_authority_and_name_connects_encrypted() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    let query = format!("sslmode=verify-full&sslrootcert={}", ca(&database));
    assert!(open_and_check(&database, &url(&database, TLS_SERVER_NAME, &query)).await);
    // The keyword form, with the path quoted.
    let keywords = format!(
        "host={TLS_SERVER_NAME} port={} user={} dbname={} sslmode=verify-full sslrootcert='{}'",
        database.port().unwrap(),
        database.superuser(),
        database.name,
        ca(&database)
    );
    assert!(open_and_check(&database, &keywords).await);
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_of_another_authority_and_writes_nothing() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    let query = format!("sslmode=verify-full&sslrootcert={}", other_ca(&database));
    let with_password = url(&database, TLS_SERVER_NAME, &query).replacen(
        &format!("{}@", database.superuser()),
        &format!("{}:s3cret@", database.superuser()),
        1,
    );
    let error = refused(
        &with_password,
        "a server whose certificate another authority signed is refused",
    )
    .await;
    let message = error.to_string();
    assert!(
        matches!(
            error,
            StateError::Postgres(PostgresError::DatabaseConnect { .. })
        ),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
    assert!(
        message.contains(&format!(
            "TLS handshake with `{TLS_SERVER_NAME}` (`sslmode=verify-full`) failed"
        )),
        "{message}"
    );
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(!anything_written(&database).await);

    // The same authority without the host name check (`verify-ca`) is refused as well.
    let query = format!("sslmode=verify-ca&sslrootcert={}", other_ca(&database));
    let error = refused(
        &url(&database, "127.0.0.1", &query),
        "verify-ca checks the chain",
    )
    .await;
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    assert!(!anything_written(&database).await);
}

/// The certificate names `localhost` only: `verify-full` to `127.0.0.1` is refused, while
/// `verify-ca`, which checks no name, connects.
#[tokio::test]
async fn verify_full_refuses_a_host_the_certificate_does_not_name() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    let query = format!("sslmode=verify-full&sslrootcert={}", ca(&database));
    let error = refused(
        &url(&database, "127.0.0.1", &query),
        "the certificate does not name 127.0.0.1",
    )
    .await;
    let message = error.to_string();
    assert!(
        message.contains("TLS handshake with `127.0.0.1` (`sslmode=verify-full`) failed"),
        "{message}"
    );
    assert!(
        message.contains("certificate not valid for name \"127.0.0.1\""),
        "{message}"
    );
    assert!(!anything_written(&database).await);

    let query = format!("sslmode=verify-ca&sslrootcert={}", ca(&database));
    assert!(open_and_check(&database, &url(&database, "127.0.0.1", &query)).await);
}

/// `pg_hba.conf` asks `cityform_cert` for a client certificate: without `sslcert` and
/// `sslkey` the server refuses and nothing is written; with them the backend gets in.
#[tokio::test]
async fn a_client_certificate_gets_in_where_the_server_asks_for_one() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    as_admin(
        &database,
        &format!("CREATE ROLE {CERTIFICATE_USER} LOGIN SUPERUSER"),
    )
    .await;
    let files = database.tls_files().unwrap();
    let base = database
        .tcp_url_via(TLS_SERVER_NAME, CERTIFICATE_USER)
        .unwrap();
    let verified = format!("{base}?sslmode=verify-full&sslrootcert={}", ca(&database));

    let error = refused(&verified, "the server asks for a certificate").await;
    let message = error.to_string();
    assert!(
        matches!(
            error,
            StateError::Postgres(PostgresError::DatabaseConnect { .. })
        ),
        "{message}"
    );
    assert!(message.contains("certificate"), "{message}");
    assert!(!anything_written(&database).await);

    let with_certificate = format!(
        "{verified}&sslcert={}&sslkey={}",
        files.client_certificate.display(),
        files.client_key.display()
    );
    assert!(open_and_check(&database, &with_certificate).await);
}

#[tokio::test]
async fn a_revoked_server_certificate_is_refused_and_nothing_is_written() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    let files = database.tls_files().unwrap();
    let verified = format!("sslmode=verify-full&sslrootcert={}", ca(&database));

    let revoked = url(
        &database,
        TLS_SERVER_NAME,
        &format!("{verified}&sslcrl={}", files.server_revoked.display()),
    );
    let error = refused(&revoked, "the server's certificate is revoked").await;
    let message = error.to_string();
    assert!(
        matches!(
            error,
            StateError::Postgres(PostgresError::DatabaseConnect { .. })
        ),
        "{message}"
    );
    assert!(
        message.contains("invalid peer certificate: Revoked"),
        "{message}"
    );
    assert!(!anything_written(&database).await);

    // A list that revokes another certificate lets the server in.
    let listed = url(
        &database,
        TLS_SERVER_NAME,
        &format!("{verified}&sslcrl={}", files.other_revoked.display()),
    );
    assert!(open_and_check(&database, &listed).await);

    // A list that was named but is not there is an error, not a check skipped.
    let missing = url(
        &database,
        TLS_SERVER_NAME,
        &format!("{verified}&sslcrl=/nonexistent/root.crl"),
    );
    let error = refused(&missing, "the list is missing").await;
    assert!(
        error.to_string().contains("/nonexistent/root.crl"),
        "{error}"
    );
}

#[tokio::test]
async fn a_password_over_tls_is_bound_to_the_servers_certificate() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    as_admin(
        &database,
        &format!(
            "SET password_encryption = 'scram-sha-256'; \
             CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD 'scram-secret'"
        ),
    )
    .await;
    // A role the server lets in without a password cannot be bound: refused, and said why.
    let unbound = url(
        &database,
        "127.0.0.1",
        "sslmode=require&channel_binding=require",
    );
    let error = refused(&unbound, "no SCRAM, no binding").await;
    assert!(error.to_string().contains("channel binding"), "{error}");
    let hint = error.hint().unwrap();
    assert!(
        hint.contains("`channel_binding=require` needs SCRAM authentication over TLS"),
        "{hint}"
    );
    assert!(!anything_written(&database).await);

    let base = format!(
        "postgres://{PASSWORD_USER}:scram-secret@127.0.0.1:{}/{}?sslmode=require",
        database.port().unwrap(),
        database.name
    );
    // `require` connects only through SCRAM-SHA-256-PLUS, and the server checks the
    // binding against its own certificate: a missing or wrong one is refused.
    assert!(open_and_check(&database, &format!("{base}&channel_binding=require")).await);
    assert!(open_and_check(&database, &format!("{base}&channel_binding=disable")).await);

    let wrong = format!(
        "postgres://{PASSWORD_USER}:not-it@127.0.0.1:{}/{}?sslmode=require&channel_binding=require",
        database.port().unwrap(),
        database.name
    );
    let error = refused(&wrong, "a wrong password").await;
    let message = error.to_string();
    assert!(message.contains("password"), "{message}");
    assert!(
        !message.contains("not-it"),
        "the password is shown: {message}"
    );
}

/// The binary, end to end: `state list` over `verify-full`, and its refusal of another
/// authority with exit code 1 and the reason.
#[tokio::test]
async fn the_binary_lists_a_state_over_verify_full() {
    let Some(database) = support_postgres::tls_database().await else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let run = |root: &str| {
        let backend = url(
            &database,
            TLS_SERVER_NAME,
            &format!("sslmode=verify-full&sslrootcert={root}"),
        );
        let output = Command::new(env!("CARGO_BIN_EXE_cityform"))
            .args(["state", "list", "--backend", &backend])
            .current_dir(home.path())
            .env("HOME", home.path())
            .env_remove("CITYFORM_BACKEND")
            .env_remove("CITYFORM_WORKSPACE")
            .env_remove("PGSSLMODE")
            .env_remove("PGSSLROOTCERT")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&ca(&database));
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        anything_written(&database).await,
        "the backend was not opened"
    );

    let (code, stdout, stderr) = run(&other_ca(&database));
    assert_eq!(code, Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stderr.contains("(`sslmode=verify-full`) failed") && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
}
