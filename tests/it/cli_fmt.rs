//! `cityform fmt` with the real binary: the bundled manifests are canonical, a messy file is
//! rewritten to a text that `--check` accepts and that validates and plans the same, and a
//! file it does not handle is refused and left byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::cli_support::Cityform;

/// A job group written every way but the canonical one, with comments in the way.
const MESSY: &str = "\
# yaml-language-server: $schema=../docs/schema/cityform-v1.json
kind: JobGroup
apiVersion: cityform/v1
spec:
    # Counting lanes on the ring road.
    streamPerJob: 5   # per job
    algoLibId: 3
    params:
        OUT_MQ_ENABLE: true
        # to the archive
        DATAHUB_ENABLE: true
    planedJobCount: 4
metadata:
    name: traffic-ring
";

#[test]
fn the_bundled_manifests_are_canonical() {
    let run = Cityform::new().manifests().args(["fmt", "--check"]).run();
    run.success();
    assert_eq!(run.stdout, "");
}

#[test]
fn a_messy_file_is_rewritten_and_reads_the_same() {
    let workspace = Cityform::new()
        .manifests()
        .file("manifests/ring.yaml", MESSY);
    let validate = || workspace.then().arg("validate").run();
    let plan = || workspace.then().arg("plan").run();
    let (validated, planned) = (validate(), plan());
    validated.success();
    planned.success();

    let check = workspace.then().args(["fmt", "--check"]).run();
    check.failure();
    assert_run_snapshot!("check_before", check);
    assert_eq!(
        std::fs::read_to_string(workspace.join("manifests/ring.yaml")).unwrap(),
        MESSY
    );

    let run = workspace.then().arg("fmt").run();
    run.success();
    assert_run_snapshot!(run);
    let formatted = std::fs::read_to_string(workspace.join("manifests/ring.yaml")).unwrap();
    insta::assert_snapshot!("formatted", formatted);

    workspace.then().args(["fmt", "--check"]).run().success();
    let (revalidated, replanned) = (validate(), plan());
    assert_eq!(revalidated.report(), validated.report());
    assert_eq!(replanned.report(), planned.report());
}

#[test]
fn a_file_in_flow_style_is_refused_and_left_as_it_is() {
    let flow = MESSY.replace(
        "metadata:\n    name: traffic-ring",
        "metadata: {name: traffic-ring}",
    );
    let workspace = Cityform::new()
        .manifests()
        .file("manifests/ring.yaml", &flow);
    workspace.then().arg("validate").run().success();
    for arguments in [&["fmt"][..], &["fmt", "--check"]] {
        let run = workspace.then().args(arguments).run();
        run.failure();
        assert_run_snapshot!("refused", run);
        assert_eq!(
            std::fs::read(workspace.join("manifests/ring.yaml")).unwrap(),
            flow.as_bytes()
        );
    }
}

#[test]
fn a_set_that_does_not_load_is_reported_and_nothing_is_written() {
    let broken = MESSY.replace("planedJobCount: 4", "planedJobCount: 0");
    let workspace = Cityform::new()
        .manifests()
        .file("manifests/ring.yaml", &broken);
    let run = workspace.then().arg("fmt").run();
    run.failure();
    assert_run_snapshot!(run);
    assert_eq!(
        std::fs::read_to_string(workspace.join("manifests/ring.yaml")).unwrap(),
        broken
    );
}
