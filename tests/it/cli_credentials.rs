//! The credential chain end to end: the real binary against a `cityform emulator` process
//! that answers STS, with small metadata and credentials servers of the tests' own. Every
//! source and profile mode signs the CityVisual calls with the key it obtained; every bad
//! case ends quickly with an error naming the source and the fix, and changes nothing.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_apply_support;
use crate::credentials_support;

use std::time::{Duration, Instant};

use cli_apply_support::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, Emulator, Run, Workspace, names, spawn};
use credentials_support::{credentials_json, credentials_uri, metadata_service, silent_listener};

const ROLE_ARN: &str = "acs:ram::1234567890123456:role/deploy";
const PROVIDER_ARN: &str = "acs:ram::1234567890123456:oidc-provider/github";
const OIDC_TOKEN: &str = "oidc-token-NEVER-PRINTED";
const FAR_FUTURE: &str = "2099-01-01T00:00:00Z";

/// Runs `cityform ARGUMENTS` in `workspace` with only `environment` for credentials.
fn run(workspace: &Workspace, environment: &[(&str, &str)], arguments: &[&str]) -> (Run, Duration) {
    let mut command = workspace.bare_command(arguments);
    for (name, value) in environment {
        command.env(name, value);
    }
    let started = Instant::now();
    let run = spawn(command).finish();
    (run, started.elapsed())
}

fn apply(workspace: &Workspace, environment: &[(&str, &str)]) -> (Run, Duration) {
    let endpoint = workspace.endpoint.clone();
    run(
        workspace,
        environment,
        &["apply", "--endpoint", &endpoint, "--auto-approve", "-v"],
    )
}

fn count(emulator: &Emulator, action: &str) -> usize {
    let needle = format!(" {action} -> 200");
    emulator
        .requests()
        .iter()
        .filter(|line| line.contains(&needle))
        .count()
}

fn oidc_environment<'a>(workspace: &'a Workspace, token_file: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE_ARN),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", PROVIDER_ARN),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token_file),
        ("ALIBABA_CLOUD_STS_ENDPOINT", workspace.endpoint.as_str()),
    ]
}

/// The run failed fast, said `words`, and nothing was created or recorded.
fn assert_refused(
    emulator: &Emulator,
    workspace: &Workspace,
    (run, elapsed): (Run, Duration),
    words: &[&str],
) {
    run.expect_code(1);
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}: {run}");
    for word in words {
        assert!(run.stderr.contains(word), "`{word}` missing: {run}");
    }
    assert!(!run.stderr.contains(OIDC_TOKEN) && !run.stdout.contains(OIDC_TOKEN));
    assert_eq!(count(emulator, "CreateJobGroup"), 0, "{run}");
    assert!(
        workspace
            .state()
            .is_none_or(|state| state.job_groups.is_empty())
    );
}

#[test]
fn oidc_exchanges_the_token_at_sts_and_signs_with_the_issued_key() {
    let emulator = Emulator::start(&["--oidc-token", OIDC_TOKEN]);
    let workspace = Workspace::with_groups(&emulator, &names("oidc", 2));
    let token_file = workspace.path().join("token");
    std::fs::write(&token_file, format!("{OIDC_TOKEN}\n")).unwrap();
    let token_path = token_file.to_str().unwrap().to_owned();
    let environment = oidc_environment(&workspace, &token_path);
    let (run, _) = apply(&workspace, &environment);
    run.expect_code(0);
    assert!(run.stderr.contains("using credentials from OIDC"), "{run}");
    assert_eq!(count(&emulator, "AssumeRoleWithOIDC"), 1);
    assert_eq!(count(&emulator, "CreateJobGroup"), 2);
    assert!(!run.stderr.contains(OIDC_TOKEN) && !run.stdout.contains(OIDC_TOKEN));

    let (whoami, _) = run_whoami(&workspace, &environment);
    let document: serde_json::Value = serde_json::from_str(&whoami.stdout).unwrap();
    assert_eq!(document["source"], "oidc");
    assert_eq!(document["account_id"], "1234567890123456");
    assert_eq!(
        document["arn"],
        "acs:ram::1234567890123456:assumed-role/deploy/cityform"
    );
    assert!(
        document["access_key_id"]
            .as_str()
            .unwrap()
            .starts_with("STS.")
    );
    assert!(document["expiration"].is_string());
}

fn run_whoami(workspace: &Workspace, environment: &[(&str, &str)]) -> (Run, Duration) {
    let (run, elapsed) = run(workspace, environment, &["whoami", "--format", "json"]);
    run.expect_code(0);
    (run, elapsed)
}

#[test]
fn every_bad_oidc_case_names_the_source_and_the_fix() {
    let emulator = Emulator::start(&["--oidc-token", OIDC_TOKEN]);
    let workspace = Workspace::with_groups(&emulator, &names("bad", 1));
    let missing = workspace
        .path()
        .join("no-token")
        .to_str()
        .unwrap()
        .to_owned();
    let environment = oidc_environment(&workspace, &missing);
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &environment),
        &[
            "cannot get credentials from OIDC",
            "cannot read the OIDC token file",
            "id-token: write",
        ],
    );

    let empty = workspace.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let empty = empty.to_str().unwrap().to_owned();
    let environment = oidc_environment(&workspace, &empty);
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &environment),
        &["OIDC", "is empty", "write the identity token"],
    );

    // A directory cannot be read as a file, even by root.
    let unreadable = workspace.path().join("a-directory");
    std::fs::create_dir(&unreadable).unwrap();
    let unreadable = unreadable.to_str().unwrap().to_owned();
    let environment = oidc_environment(&workspace, &unreadable);
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &environment),
        &["OIDC", "cannot read the OIDC token file"],
    );

    let wrong = workspace.path().join("wrong");
    std::fs::write(&wrong, "another-token").unwrap();
    let wrong = wrong.to_str().unwrap().to_owned();
    let environment = oidc_environment(&workspace, &wrong);
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &environment),
        &[
            "STS refused `AssumeRoleWithOIDC`",
            "AuthenticationFail.OIDCToken.Invalid",
            "trust policy",
        ],
    );

    let right = workspace.path().join("right");
    std::fs::write(&right, OIDC_TOKEN).unwrap();
    let right = right.to_str().unwrap().to_owned();
    let mut environment = oidc_environment(&workspace, &right);
    environment[0] = ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::999:role/elsewhere");
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &environment),
        &["OIDC", "EntityNotExist.Role", "check the role ARN"],
    );
}

fn write_cli_config(workspace: &Workspace, profiles: &str) {
    workspace.write(
        ".aliyun/config.json",
        &format!(r#"{{"current": "default", "profiles": [{profiles}]}}"#),
    );
}

fn dev_profile(name: &str) -> String {
    format!(
        r#"{{"name": "{name}", "mode": "AK", "access_key_id": "{ACCESS_KEY_ID}", "access_key_secret": "{ACCESS_KEY_SECRET}"}}"#
    )
}

#[test]
fn every_cli_profile_mode_obtains_and_signs() {
    let emulator = Emulator::start(&["--oidc-token", OIDC_TOKEN]);
    let workspace = Workspace::with_groups(&emulator, &names("modes", 1));
    std::fs::write(workspace.path().join("token"), OIDC_TOKEN).unwrap();
    let token_file = workspace.path().join("token").to_str().unwrap().to_owned();
    let uri = credentials_uri(credentials_json(
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        "uri-token",
        FAR_FUTURE,
    ));
    let metadata = metadata_service(
        "builder",
        credentials_json(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "ecs-token", FAR_FUTURE),
        true,
    );
    let script = workspace.path().join("print-key");
    std::fs::write(&script, format!("#!/bin/sh\necho '{{\"mode\": \"AK\", \"access_key_id\": \"{ACCESS_KEY_ID}\", \"access_key_secret\": \"{ACCESS_KEY_SECRET}\"}}'\n")).unwrap();
    std::process::Command::new("chmod")
        .args(["+x", script.to_str().unwrap()])
        .status()
        .unwrap();
    let profiles = [
        dev_profile("default"),
        format!(
            r#"{{"name": "sts", "mode": "StsToken", "access_key_id": "{ACCESS_KEY_ID}", "access_key_secret": "{ACCESS_KEY_SECRET}", "sts_token": "any"}}"#
        ),
        format!(
            r#"{{"name": "role", "mode": "RamRoleArn", "access_key_id": "{ACCESS_KEY_ID}", "access_key_secret": "{ACCESS_KEY_SECRET}", "ram_role_arn": "{ROLE_ARN}", "ram_session_name": "laptop"}}"#
        ),
        r#"{"name": "chained", "mode": "ChainableRamRoleArn", "source_profile": "role", "ram_role_arn": "acs:ram::1234567890123456:role/next"}"#.to_owned(),
        r#"{"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "builder"}"#.to_owned(),
        format!(
            r#"{{"name": "oidc", "mode": "OIDC", "ram_role_arn": "{ROLE_ARN}", "oidc_provider_arn": "{PROVIDER_ARN}", "oidc_token_file": "{token_file}"}}"#
        ),
        format!(
            r#"{{"name": "uri", "mode": "CredentialsURI", "credentials_uri": "{}/credentials"}}"#,
            uri.base
        ),
        format!(
            r#"{{"name": "external", "mode": "External", "process_command": "{}"}}"#,
            script.display()
        ),
    ];
    write_cli_config(&workspace, &profiles.join(","));
    let endpoint = workspace.endpoint.clone();
    let environment = [
        ("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()),
        ("CITYFORM_ECS_METADATA_ENDPOINT", metadata.base.as_str()),
    ];
    let expectations = [
        ("default", "profile default (AK)", None),
        ("sts", "profile sts (StsToken)", None),
        (
            "role",
            "profile role (RamRoleArn)",
            Some("assumed-role/deploy/laptop"),
        ),
        (
            "chained",
            "profile chained (ChainableRamRoleArn)",
            Some("assumed-role/next/cityform"),
        ),
        ("ecs", "profile ecs (EcsRamRole)", None),
        (
            "oidc",
            "profile oidc (OIDC)",
            Some("assumed-role/deploy/cityform"),
        ),
        ("uri", "profile uri (CredentialsURI)", None),
        ("external", "profile external (External)", None),
    ];
    for (profile, label, arn) in expectations {
        let (whoami, _) = run(
            &workspace,
            &environment,
            &["whoami", "--format", "json", "--profile", profile],
        );
        whoami.expect_code(0);
        let document: serde_json::Value = serde_json::from_str(&whoami.stdout).unwrap();
        assert_eq!(document["source"], label, "{whoami}");
        if let Some(arn) = arn {
            assert!(document["arn"].as_str().unwrap().ends_with(arn), "{whoami}");
            assert!(
                document["access_key_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("STS.")
            );
        }
    }
    assert!(metadata.hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert!(uri.hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // And a change signed with an assumed role's key goes through.
    let (applied, _) = run(
        &workspace,
        &environment,
        &[
            "apply",
            "--endpoint",
            &endpoint,
            "--auto-approve",
            "--profile",
            "chained",
        ],
    );
    applied.expect_code(0);
    assert_eq!(count(&emulator, "CreateJobGroup"), 1);
}

#[test]
fn a_profile_loop_and_sign_in_modes_are_refused_quickly() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("loop", 1));
    write_cli_config(
        &workspace,
        r#"{"name": "default", "mode": "ChainableRamRoleArn", "source_profile": "b", "ram_role_arn": "acs:ram::1234567890123456:role/a"},
           {"name": "b", "mode": "ChainableRamRoleArn", "source_profile": "default", "ram_role_arn": "acs:ram::1234567890123456:role/b"},
           {"name": "sso", "mode": "CloudSSO"}"#,
    );
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &[]),
        &[
            "leads back to itself (default → b → default)",
            "point the last one at a profile with a key",
        ],
    );
    let endpoint = workspace.endpoint.clone();
    let refused = run(
        &workspace,
        &[],
        &[
            "apply",
            "--endpoint",
            &endpoint,
            "--auto-approve",
            "--profile",
            "sso",
        ],
    );
    assert_refused(
        &emulator,
        &workspace,
        refused,
        &["uses mode `CloudSSO`", "External"],
    );
}

#[test]
fn the_shared_credentials_file_types_obtain_and_sign() {
    let emulator = Emulator::start(&["--oidc-token", OIDC_TOKEN]);
    let workspace = Workspace::with_groups(&emulator, &names("shared", 1));
    std::fs::write(workspace.path().join("token"), OIDC_TOKEN).unwrap();
    let token_file = workspace.path().join("token");
    let uri = credentials_uri(credentials_json(
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        "t",
        FAR_FUTURE,
    ));
    let metadata = metadata_service(
        "builder",
        credentials_json(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "t", FAR_FUTURE),
        false,
    );
    workspace.write(
        ".alibabacloud/credentials",
        &format!(
            "[default]\ntype = access_key\naccess_key_id = {ACCESS_KEY_ID}\naccess_key_secret = {ACCESS_KEY_SECRET}\n\n\
             [sts]\ntype = sts\naccess_key_id = {ACCESS_KEY_ID}\naccess_key_secret = {ACCESS_KEY_SECRET}\nsecurity_token = any\n\n\
             [role]\ntype = ram_role_arn\naccess_key_id = {ACCESS_KEY_ID}\naccess_key_secret = {ACCESS_KEY_SECRET}\nrole_arn = {ROLE_ARN}\n\n\
             [ecs]\ntype = ecs_ram_role\n\n\
             [oidc]\ntype = oidc_role_arn\nrole_arn = {ROLE_ARN}\noidc_provider_arn = {PROVIDER_ARN}\noidc_token_file_path = {}\n\n\
             [uri]\ntype = credentials_uri\ncredentials_uri = {}/credentials\n",
            token_file.display(),
            uri.base
        ),
    );
    let endpoint = workspace.endpoint.clone();
    for (section, label) in [
        ("default", "credentials-file default (access_key)"),
        ("sts", "credentials-file sts (sts)"),
        ("role", "credentials-file role (ram_role_arn)"),
        ("ecs", "credentials-file ecs (ecs_ram_role)"),
        ("oidc", "credentials-file oidc (oidc_role_arn)"),
        ("uri", "credentials-file uri (credentials_uri)"),
    ] {
        let environment = [
            ("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()),
            ("CITYFORM_ECS_METADATA_ENDPOINT", metadata.base.as_str()),
            ("ALIBABA_CLOUD_PROFILE", section),
        ];
        let (whoami, _) = run(&workspace, &environment, &["whoami", "--format", "json"]);
        whoami.expect_code(0);
        let document: serde_json::Value = serde_json::from_str(&whoami.stdout).unwrap();
        assert_eq!(document["source"], label, "{whoami}");
    }
    let (applied, _) = run(
        &workspace,
        &[
            ("ALIBABA_CLOUD_STS_ENDPOINT", endpoint.as_str()),
            ("ALIBABA_CLOUD_PROFILE", "role"),
        ],
        &["apply", "--endpoint", &endpoint, "--auto-approve"],
    );
    applied.expect_code(0);
    assert_eq!(count(&emulator, "AssumeRole"), 2);
}

#[test]
fn the_ecs_role_is_found_through_imdsv2_or_v1_and_a_silent_service_fails_within_two_seconds() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("ecs", 1));
    for imdsv2 in [true, false] {
        let metadata = metadata_service(
            "builder",
            credentials_json(ACCESS_KEY_ID, ACCESS_KEY_SECRET, "ecs-token", FAR_FUTURE),
            imdsv2,
        );
        let environment = [
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false"),
            ("CITYFORM_ECS_METADATA_ENDPOINT", metadata.base.as_str()),
            ("ALIBABA_CLOUD_STS_ENDPOINT", workspace.endpoint.as_str()),
        ];
        let (whoami, _) = run(&workspace, &environment, &["whoami", "--format", "json"]);
        whoami.expect_code(0);
        let document: serde_json::Value = serde_json::from_str(&whoami.stdout).unwrap();
        assert_eq!(document["source"], "ecs-ram-role", "{whoami}");
        assert_eq!(metadata.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        if !imdsv2 {
            let refused = [
                ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false"),
                ("ALIBABA_CLOUD_ECS_METADATA", "builder"),
                ("ALIBABA_CLOUD_IMDSV1_DISABLED", "true"),
                ("CITYFORM_ECS_METADATA_ENDPOINT", metadata.base.as_str()),
            ];
            assert_refused(
                &emulator,
                &workspace,
                apply(&workspace, &refused),
                &[
                    "the ECS instance RAM role",
                    "gave no session token",
                    "ALIBABA_CLOUD_IMDSV1_DISABLED",
                ],
            );
        }
    }
    let (silent, _thread) = silent_listener();
    let explicit = [
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false"),
        ("ALIBABA_CLOUD_ECS_METADATA", "builder"),
        ("CITYFORM_ECS_METADATA_ENDPOINT", silent.as_str()),
    ];
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &explicit),
        &[
            "the ECS instance RAM role",
            "did not answer within 1 s",
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
        ],
    );
    // Nothing configured at all: the chain still ends within two seconds, listing it all.
    let probing = [
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false"),
        ("CITYFORM_ECS_METADATA_ENDPOINT", silent.as_str()),
    ];
    assert_refused(
        &emulator,
        &workspace,
        apply(&workspace, &probing),
        &[
            "no Alibaba Cloud credentials found",
            "`ALIBABA_CLOUD_ACCESS_KEY_ID`",
            "the ECS instance RAM role",
            "ALIBABA_CLOUD_CREDENTIALS_URI",
        ],
    );
}

#[test]
fn a_credentials_uri_signs_and_expired_credentials_from_it_are_refused() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::with_groups(&emulator, &names("uri", 1));
    let stale = credentials_uri(credentials_json(
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        "t",
        "2001-01-01T00:00:00Z",
    ));
    let url = format!("{}/credentials", stale.base);
    assert_refused(
        &emulator,
        &workspace,
        apply(
            &workspace,
            &[("ALIBABA_CLOUD_CREDENTIALS_URI", url.as_str())],
        ),
        &[
            "cannot get credentials from `ALIBABA_CLOUD_CREDENTIALS_URI`",
            "expired at",
            "make it renew them",
        ],
    );
    let fresh = credentials_uri(credentials_json(
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        "t",
        FAR_FUTURE,
    ));
    let url = format!("{}/credentials", fresh.base);
    let (run, _) = apply(
        &workspace,
        &[("ALIBABA_CLOUD_CREDENTIALS_URI", url.as_str())],
    );
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("using credentials from `ALIBABA_CLOUD_CREDENTIALS_URI`"),
        "{run}"
    );
    assert_eq!(count(&emulator, "CreateJobGroup"), 1);
}

#[test]
fn an_apply_outlives_its_four_second_credentials() {
    let emulator = Emulator::start(&[
        "--sts-duration",
        "4",
        "--oidc-token",
        OIDC_TOKEN,
        "--latency-ms",
        "20",
        "--quiet",
    ]);
    let workspace = Workspace::with_groups(&emulator, &names("long", 300));
    std::fs::write(workspace.path().join("token"), OIDC_TOKEN).unwrap();
    let token_file = workspace.path().join("token").to_str().unwrap().to_owned();
    let environment = oidc_environment(&workspace, &token_file);
    let endpoint = workspace.endpoint.clone();
    let started = Instant::now();
    let (run, _) = run(
        &workspace,
        &environment,
        &[
            "apply",
            "--endpoint",
            &endpoint,
            "--auto-approve",
            "--parallelism",
            "1",
            "-v",
        ],
    );
    let elapsed = started.elapsed();
    run.expect_code(0);
    assert!(
        elapsed > Duration::from_secs(6),
        "the apply took only {elapsed:?}"
    );
    let obtained = run.stderr.matches("obtained temporary credentials").count();
    assert!(
        obtained >= 2,
        "credentials obtained {obtained} times: {run}"
    );
    assert_eq!(workspace.state().unwrap().job_groups.len(), 300);
    assert!(!run.stderr.contains(OIDC_TOKEN));
}

#[test]
fn a_profiles_region_is_the_region_of_groups_that_give_none() {
    let emulator = Emulator::start(&[]);
    let workspace = Workspace::new(&emulator);
    let manifests = cli_apply_support::job_groups(&names("regional", 2))
        .replace("  regionId: cn-shanghai\n", "")
        + &cli_apply_support::job_group("pinned", "3", 1);
    workspace.write("manifests/groups.yaml", &manifests);
    write_cli_config(
        &workspace,
        &format!(
            r#"{{"name": "default", "mode": "AK", "access_key_id": "{ACCESS_KEY_ID}", "access_key_secret": "{ACCESS_KEY_SECRET}", "region_id": "cn-beijing"}}"#
        ),
    );
    let (validated, _) = run(&workspace, &[], &["validate"]);
    validated.expect_code(0);
    let (applied, _) = apply(&workspace, &[]);
    applied.expect_code(0);
    assert!(
        applied
            .stdout
            .contains("cn-beijing/cityvisual-Instance/regional-000"),
        "{applied}"
    );
    let mut placed: Vec<(String, String)> = emulator
        .groups()
        .into_iter()
        .map(|group| (group.name, group.region_id))
        .collect();
    placed.sort();
    assert_eq!(
        placed,
        [
            ("pinned".to_owned(), "cn-shanghai".to_owned()),
            ("regional-000".to_owned(), "cn-beijing".to_owned()),
            ("regional-001".to_owned(), "cn-beijing".to_owned()),
        ]
    );
    // A plan reads the same region: nothing left to do.
    let endpoint = workspace.endpoint.clone();
    let (planned, _) = run(
        &workspace,
        &[],
        &["plan", "--endpoint", &endpoint, "--detailed-exitcode"],
    );
    planned.expect_code(0);

    // Without the profile's region, the same manifests miss a `regionId`.
    write_cli_config(&workspace, &dev_profile("default"));
    let (refused, _) = run(&workspace, &[], &["validate"]);
    refused.expect_code(1);
    assert!(refused.stderr.contains("spec.regionId"), "{refused}");
}

/// A credentials server handing out keys of the emulator's STS (`AssumeRoleWithOIDC`) that
/// claim to last until 2099: the first one only once the emulator holds it expired, so
/// that the service, not the client, finds it expired.
fn expired_first_credentials_server(
    sts: String,
    lifetime: Duration,
) -> credentials_support::Served {
    use axum::routing::get;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let router = axum::Router::new().route(
        "/credentials",
        get(move || {
            let sts = sts.clone();
            let hit = counted.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                let _already_installed = rustls::crypto::ring::default_provider().install_default();
                let mut url = reqwest::Url::parse(&sts).unwrap();
                url.query_pairs_mut()
                    .append_pair("Action", "AssumeRoleWithOIDC")
                    .append_pair("Version", "2015-04-01")
                    .append_pair("Format", "JSON")
                    .append_pair("RoleArn", ROLE_ARN)
                    .append_pair("OIDCProviderArn", PROVIDER_ARN)
                    .append_pair("OIDCToken", OIDC_TOKEN)
                    .append_pair("RoleSessionName", "renewed");
                let body = reqwest::get(url).await.unwrap().text().await.unwrap();
                let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
                let issued = &answer["Credentials"];
                if hit == 1 {
                    tokio::time::sleep(lifetime + Duration::from_millis(300)).await;
                }
                credentials_json(
                    issued["AccessKeyId"].as_str().unwrap(),
                    issued["AccessKeySecret"].as_str().unwrap(),
                    issued["SecurityToken"].as_str().unwrap(),
                    FAR_FUTURE,
                )
            }
        }),
    );
    let mut served = credentials_support::serve(router);
    served.hits = hits;
    served
}

#[test]
fn a_call_the_service_finds_expired_is_sent_once_more_with_fresh_credentials() {
    let emulator = Emulator::start(&["--sts-duration", "2", "--oidc-token", OIDC_TOKEN]);
    let workspace = Workspace::with_groups(&emulator, &names("expired", 1));
    let server =
        expired_first_credentials_server(workspace.endpoint.clone(), Duration::from_secs(2));
    let uri = format!("{}/credentials", server.base);
    let (run, _) = apply(
        &workspace,
        &[("ALIBABA_CLOUD_CREDENTIALS_URI", uri.as_str())],
    );
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("the security token expired: sending again with fresh credentials"),
        "{run}"
    );
    // The first call to the service (the listing before the plan) is refused and sent
    // again; the create that follows is sent once.
    let requests = emulator.requests();
    let calls: Vec<&String> = requests
        .iter()
        .filter(|line| !line.contains("AssumeRole"))
        .collect();
    assert_eq!(calls.len(), 3, "{requests:#?}");
    assert!(
        calls[0].contains(" DescribeJobGroups -> 400 InvalidSecurityToken.Expired"),
        "{requests:#?}"
    );
    assert!(
        calls[1].contains(" DescribeJobGroups -> 200"),
        "{requests:#?}"
    );
    assert!(calls[2].contains(" CreateJobGroup -> 200"), "{requests:#?}");
    // Obtained twice: once to start, once after the service refused the first key.
    assert_eq!(server.hits.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(emulator.groups().len(), 1);
    assert_eq!(workspace.state().unwrap().job_groups.len(), 1);
}

#[test]
fn the_emulators_metadata_service_hands_out_the_instance_roles_credentials() {
    let emulator = Emulator::start(&["--metadata"]);
    let workspace = Workspace::with_groups(&emulator, &names("imds", 1));
    let base = workspace.endpoint.trim_end_matches('/').to_owned();
    let environment = [
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false"),
        ("ALIBABA_CLOUD_IMDSV1_DISABLED", "true"),
        ("CITYFORM_ECS_METADATA_ENDPOINT", base.as_str()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", workspace.endpoint.as_str()),
    ];
    let (whoami, _) = run(&workspace, &environment, &["whoami", "--format", "json"]);
    whoami.expect_code(0);
    let document: serde_json::Value = serde_json::from_str(&whoami.stdout).unwrap();
    assert_eq!(document["source"], "ecs-ram-role", "{whoami}");
    assert_eq!(
        document["arn"],
        "acs:ram::1234567890123456:assumed-role/cityform-emulator-ecs-role/ecs-instance"
    );
    assert!(document["expiration"].is_string(), "{whoami}");
    let (applied, _) = apply(&workspace, &environment);
    applied.expect_code(0);
    assert!(
        applied
            .stderr
            .contains("using credentials from the ECS instance RAM role"),
        "{applied}"
    );
    assert_eq!(count(&emulator, "CreateJobGroup"), 1);

    // Without the flag, nothing answers as a metadata service: the role is not found.
    let plain = Emulator::start(&[]);
    let refused = [
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "false"),
        ("ALIBABA_CLOUD_IMDSV1_DISABLED", "true"),
        (
            "CITYFORM_ECS_METADATA_ENDPOINT",
            plain.endpoint.trim_end_matches('/'),
        ),
    ];
    let (run, elapsed) = run(&workspace, &refused, &["whoami"]);
    run.expect_code(1);
    assert!(elapsed < Duration::from_secs(2), "{run}");
    assert!(run.stderr.contains("the ECS instance RAM role"), "{run}");
}
