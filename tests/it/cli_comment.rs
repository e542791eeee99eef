//! `cityform comment`: the real binary against local fakes of the GitHub pull-request
//! comment API and the GitLab merge-request note API. One plan comment per key is created,
//! then updated in place on every run (never a second one); a plan too long for one comment
//! is posted whole in parts, and a shorter plan later deletes the parts it no longer needs;
//! comments written by people are never touched; the token is sent only as the platform's
//! header and never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support;
use crate::credentials_support;
use crate::forge_support;

use std::sync::Arc;

use cli_support::Cityform;
use forge_support::{Shared, TOKEN, github, gitlab};

/// A workspace with a saved plan of `groups` new groups in `plan.bin`.
fn saved_plan(workspace: &Cityform, groups: usize) {
    let mut manifests = String::new();
    for index in 0..groups {
        manifests.push_str(&format!(
            "---\napiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: group-{index:04}\nspec:\n  regionId: cn-shanghai\n  instanceId: cityvisual-Instance\n  algoLibId: \"3\"\n  resourceProfileId: \"6\"\n  planedJobCount: 2\n  streamPerJob: 2\n"
        ));
    }
    std::fs::create_dir_all(workspace.join("manifests")).unwrap();
    std::fs::write(workspace.join("manifests/groups.yaml"), manifests).unwrap();
    let _ = std::fs::remove_file(workspace.join("plan.bin"));
    workspace
        .then()
        .args(["plan", "--refresh=false", "--out", "plan.bin"])
        .run()
        .success();
}

fn bodies(thread: &Shared) -> Vec<(u64, String)> {
    thread.lock().unwrap().comments.clone()
}

fn take_calls(thread: &Shared) -> Vec<String> {
    std::mem::take(&mut thread.lock().unwrap().calls)
}

/// The scenario on either platform: `workspace` posts with `comment`.
fn one_comment_updated_in_place(workspace: &Cityform, thread: &Shared, platform: &str) {
    thread.lock().unwrap().next_id = 100;
    // A person's comment, which cityform must never touch.
    thread
        .lock()
        .unwrap()
        .comments
        .push((1, "Looks good to me".into()));
    let comment = || {
        workspace
            .then()
            .args(["comment", platform, "plan.bin"])
            .run()
    };

    saved_plan(workspace, 2);
    let first = comment();
    first.success();
    assert!(
        first
            .stdout
            .contains("(1 created, 0 updated, 0 unchanged, 0 deleted)"),
        "{}",
        first.stdout
    );
    let posted = bodies(thread);
    assert_eq!(posted.len(), 2);
    assert!(
        posted[1]
            .1
            .starts_with("<!-- cityform-plan key=default part=1/1 -->\n### cityform plan"),
        "{}",
        posted[1].1
    );
    assert!(posted[1].1.contains("2 to create"));

    // Pushed again, unchanged: nothing written. Changed: the same comment is edited.
    take_calls(thread);
    comment().success();
    assert_eq!(take_calls(thread), ["GET page 1"]);
    saved_plan(workspace, 3);
    let edited = comment();
    edited.success();
    assert!(
        edited
            .stdout
            .contains("(0 created, 1 updated, 0 unchanged, 0 deleted)"),
        "{}",
        edited.stdout
    );
    assert_eq!(take_calls(thread), ["GET page 1", "EDIT 101"]);
    let posted = bodies(thread);
    assert_eq!(posted.len(), 2);
    assert!(posted[1].1.contains("3 to create"));

    // Too long for one comment: posted whole, in parts that say so.
    saved_plan(workspace, 1_500);
    let long = comment();
    long.success();
    let posted = bodies(thread);
    let parts = posted.len() - 1;
    assert!(parts > 1, "{}", long.stdout);
    assert!(
        long.stdout.contains(&format!(
            "in {parts} comments: it is longer than one comment can hold"
        )),
        "{}",
        long.stdout
    );
    assert_eq!(posted[1].0, 101, "part 1 is the comment of before");
    let whole: String = posted[1..].iter().map(|(_, body)| body.as_str()).collect();
    for index in 0..1_500 {
        assert!(
            whole.contains(&format!("group-{index:04}` | create")),
            "group-{index:04} is missing"
        );
    }
    for (part, (_, body)) in posted[1..].iter().enumerate() {
        assert!(body.len() <= 65_536);
        assert!(
            body.contains(&format!("_Part {} of {parts}:", part + 1)),
            "{body}"
        );
    }

    // Short again: part 1 edited, the other parts deleted, the person's comment kept.
    saved_plan(workspace, 1);
    let short = comment();
    short.success();
    assert!(
        short.stdout.contains(&format!(
            "(0 created, 1 updated, 0 unchanged, {} deleted)",
            parts - 1
        )),
        "{}",
        short.stdout
    );
    let posted = bodies(thread);
    assert_eq!(posted.len(), 2);
    assert_eq!(posted[0], (1, "Looks good to me".to_owned()));
    assert_eq!(posted[1].0, 101);
    assert!(posted[1].1.contains("1 to create"));

    // Another key keeps a comment of its own.
    workspace
        .then()
        .args(["comment", platform, "plan.bin", "--key", "staging"])
        .run()
        .success();
    assert_eq!(bodies(thread).len(), 3);

    for run in [&first, &edited, &long, &short] {
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    }
}

#[test]
fn a_github_pull_request_keeps_one_plan_comment() {
    let thread = Shared::default();
    let server = credentials_support::serve(github(Arc::clone(&thread)));
    let workspace = Cityform::new()
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", &server.base)
        .env("GITHUB_REPOSITORY", "city/cams")
        .env("GITHUB_REF", "refs/pull/7/merge");
    one_comment_updated_in_place(&workspace, &thread, "github");
}

#[test]
fn a_gitlab_merge_request_keeps_one_plan_note() {
    let thread = Shared::default();
    let server = credentials_support::serve(gitlab(Arc::clone(&thread)));
    let workspace = Cityform::new()
        .env("CITYFORM_GITLAB_TOKEN", TOKEN)
        .env("CI_API_V4_URL", format!("{}/api/v4", server.base))
        .env("CI_PROJECT_ID", "42")
        .env("CI_MERGE_REQUEST_IID", "3");
    one_comment_updated_in_place(&workspace, &thread, "gitlab");
}

#[test]
fn a_refused_token_or_a_missing_setting_is_an_error_that_names_it() {
    let thread = Shared::default();
    let server = credentials_support::serve(github(Arc::clone(&thread)));
    let workspace = Cityform::new()
        .env("GITHUB_TOKEN", "wrong-token-value")
        .env("GITHUB_API_URL", &server.base)
        .env("GITHUB_REPOSITORY", "city/cams")
        .env("GITHUB_REF", "refs/pull/7/merge");
    saved_plan(&workspace, 1);
    let refused = workspace
        .then()
        .args(["comment", "github", "plan.bin"])
        .run();
    refused.failure();
    assert!(
        refused
            .stderr
            .contains("could not post the plan on pull request #7")
            && refused.stderr.contains("401 Unauthorized"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("wrong-token-value"));
    assert!(bodies(&thread).is_empty());

    let unset = Cityform::new()
        .args(["comment", "gitlab", "plan.bin"])
        .run();
    unset.failure();
    assert!(
        unset
            .stderr
            .contains("the GitLab token is not known: set CITYFORM_GITLAB_TOKEN"),
        "{}",
        unset.stderr
    );
}
