//! Property-based fuzzing of everything cityform reads, without cargo-fuzz: the fuzz targets'
//! own functions (`fuzz/src/lib.rs`, included here) run on the committed seeds
//! (`fuzz/corpus/TARGET/`) after random mutations. Each function panics when an input breaks
//! an invariant, so a case fails with the mutated input that did it.
//!
//! `.ci/fuzz` runs this file with a high `PROPTEST_CASES` where nightly Rust or cargo-fuzz is
//! missing; `cargo test` runs it with proptest's default case count.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use crate::fuzzing;

use std::path::Path;

use proptest::prelude::*;

/// The seed inputs of `target`, in file-name order.
fn seeds(target: &str) -> Vec<Vec<u8>> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot list `{}`: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect();
    assert!(!seeds.is_empty(), "no seeds in `{}`", directory.display());
    seeds
}

/// Byte strings that change the meaning of the inputs most often: separators, quotes,
/// brackets, escapes, numbers at the edges of their types, YAML and form syntax.
const TOKENS: &[&[u8]] = &[
    &[fuzzing::SEPARATOR],
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b"\0",
    b"\x1b[2K\r",
    b"\xff",
    b"\xc3",
    b"---\n",
    b"...\n",
    b": ",
    b"- ",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"!tag ",
    b"\"",
    b"'",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"\\u0000",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"2147483648",
    b"4294967296",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e309",
    b"&",
    b"=",
    b"%",
    b"%2",
    b"%FF",
    b"+",
    b"/",
    b"JobGroupParams.1.Key=",
    b"<",
    b"</",
    b"/>",
    b"<![CDATA[",
    b"&#x",
    b"<JobGroup>",
    b"<ComputeJobs>",
];

/// One change to an input.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flip bits of the byte at a fraction of the length.
    Flip(f64, u8),
    /// Insert a byte.
    Insert(f64, u8),
    /// Insert one of the tokens.
    Token(f64, usize),
    /// Remove up to this many bytes.
    Remove(f64, usize),
    /// Repeat a stretch of the input after itself.
    Repeat(f64, usize),
    /// Keep only what comes before.
    Truncate(f64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0_f64;
    prop_oneof![
        3 => (at.clone(), 1..=255_u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
        2 => (at.clone(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        4 => (at.clone(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Token(at, token)),
        2 => (at.clone(), 1..64_usize).prop_map(|(at, length)| Mutation::Remove(at, length)),
        1 => (at.clone(), 1..256_usize).prop_map(|(at, length)| Mutation::Repeat(at, length)),
        1 => at.prop_map(Mutation::Truncate),
    ]
}

fn apply(mut input: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    let index = |at: f64, length: usize| ((at * length as f64) as usize).min(length);
    for mutation in mutations {
        let length = input.len();
        match *mutation {
            Mutation::Flip(at, bits) => {
                if length > 0 {
                    let position = index(at, length - 1);
                    input[position] ^= bits;
                }
            }
            Mutation::Insert(at, byte) => input.insert(index(at, length), byte),
            Mutation::Token(at, token) => {
                let position = index(at, length);
                input.splice(position..position, TOKENS[token].iter().copied());
            }
            Mutation::Remove(at, count) => {
                let start = index(at, length);
                input.drain(start..(start + count).min(length));
            }
            Mutation::Repeat(at, count) => {
                let start = index(at, length);
                let stretch = input[start..(start + count).min(length)].to_vec();
                let end = start + stretch.len();
                input.splice(end..end, stretch);
            }
            Mutation::Truncate(at) => input.truncate(index(at, length)),
        }
    }
    input
}

/// An input, shown as escaped text when a case fails.
#[derive(Clone)]
struct Input(Vec<u8>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// A seed of `target` with zero to eight mutations.
fn input(target: &str) -> impl Strategy<Value = Input> + use<> {
    (
        prop::sample::select(seeds(target)),
        prop::collection::vec(mutation(), 0..8),
    )
        .prop_map(|(seed, mutations)| Input(apply(seed, &mutations)))
}

fn run(target: &str) -> fn(&[u8]) {
    fuzzing::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .unwrap()
}

proptest! {
    // PROPTEST_CASES sets the number of cases; failures are kept as named tests, not seeds.
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn manifest_load(data in input("manifest_load")) {
        run("manifest_load")(&data.0);
    }

    #[test]
    fn state_parse(data in input("state_parse")) {
        run("state_parse")(&data.0);
    }

    #[test]
    fn journal_replay(data in input("journal_replay")) {
        run("journal_replay")(&data.0);
    }

    #[test]
    fn saved_plan(data in input("saved_plan")) {
        run("saved_plan")(&data.0);
    }

    #[test]
    fn emulator_request(data in input("emulator_request")) {
        run("emulator_request")(&data.0);
    }

    #[test]
    fn client_response(data in input("client_response")) {
        run("client_response")(&data.0);
    }
}

#[test]
fn every_target_has_seeds_and_every_seed_passes() {
    for (target, run) in fuzzing::TARGETS {
        for seed in seeds(target) {
            run(&seed);
        }
    }
}

#[test]
fn mutations_change_inputs_as_described() {
    let input = b"abcdef".to_vec();
    assert_eq!(apply(input.clone(), &[Mutation::Truncate(0.5)]), b"abc");
    assert_eq!(apply(input.clone(), &[Mutation::Remove(0.0, 2)]), b"cdef");
    assert_eq!(
        apply(input.clone(), &[Mutation::Repeat(0.0, 2)]),
        b"ababcdef"
    );
    assert_eq!(
        apply(input.clone(), &[Mutation::Token(1.0, 1)]),
        b"abcdef\n"
    );
    assert_eq!(apply(input, &[Mutation::Flip(0.0, 0x20)]), b"Abcdef");
    assert_eq!(apply(Vec::new(), &[Mutation::Flip(0.5, 1)]), b"");
}

// ---------------------------------------------------------------------------------------------
// Inputs that broke an invariant once, named after what broke.

/// A manifest key with an escape sequence reached the terminal raw through its diagnostic.
#[test]
fn diagnostics_showed_a_control_character_from_a_manifest_raw() {
    fuzzing::manifest_load(
        b"apiVersion: cityform/v1\nkind: JobGroup\nmetadata:\n  name: traffic-east\nspec:\n  \"r\\e[2K\\regionId\": cn-shanghai\n",
    );
}

/// A job group id from a state file reached the Markdown plan raw.
#[test]
fn markdown_plans_showed_a_control_character_from_a_state_raw() {
    fuzzing::state_parse(
        br#"{"format_version":1,"lineage":"l","serial":1,"job_groups":{"cn-shanghai/i/traffic-east":{"job_group_id":"7\u001b[2K\r","spec":{"algoLibId":"3","resourceProfileId":"6","planedJobCount":1,"streamPerJob":1},"request_id":"r","applied_at":"t"}}}"#,
    );
}

/// An address with a control character read from a state file was accepted, and shown raw.
#[test]
fn addresses_with_control_characters_were_read_from_state_files() {
    fuzzing::state_parse(
        br#"{"format_version":1,"lineage":"l","serial":1,"job_groups":{"cn-shanghai/i/traffic\u001b[31m":{"job_group_id":"7","spec":{"algoLibId":"3","resourceProfileId":"6","planedJobCount":1,"streamPerJob":1},"request_id":"r","applied_at":"t"}}}"#,
    );
}

/// A params key from a saved plan (found by `cargo fuzz run saved_plan`) and a number that
/// is not one reached the text and Markdown plans raw.
#[test]
fn plans_showed_control_characters_in_attribute_names_and_numbers_raw() {
    fuzzing::saved_plan(
        br#"{"state":{"lineage":"l","serial":1},"actions":[
            {"action":"create","address":"cn-shanghai/i/traffic-east","spec":{"algoLibId":"3","resourceProfileId":"6","planedJobCount":1,"streamPerJob":1,"params":{"SCHEDULE_FLOW_START\u007fTIME":"Oldest"}},"source":{"file":"m.yaml","line":1,"column":1}},
            {"action":"update","address":"cn-shanghai/i/traffic-west","job_group_id":"4","changes":[{"attribute":"planedJobCount","before":"1","after":"2\u001b[2K\r"},{"attribute":"params.\u001b[31mX","before":null,"after":"True"}],"spec":{"algoLibId":"3","resourceProfileId":"6","planedJobCount":2,"streamPerJob":1},"source":{"file":"m.yaml","line":9,"column":1}}
        ],"unchanged":0}"#,
    );
}

/// An error answer's code and message, and an unknown field of a state file or a saved plan,
/// reached the terminal with their escape sequences.
#[test]
fn errors_quoted_control_characters_from_answers_and_files_raw() {
    let mut answer = vec![1, 44]; // 400
    answer.extend_from_slice(
        br#"{"Code":"Bad\u001b[2K","Message":"over\rwritten","RequestId":"R\u0007"}"#,
    );
    fuzzing::client_response(&answer);
    fuzzing::state_parse(
        br#"{"format_version":1,"lineage":"l","serial":1,"job_groups":{},"x\u001b[31m":1}"#,
    );
    fuzzing::saved_plan(br#"{"state":null,"actions":[{"action":"x\u001b[2K"}],"unchanged":0}"#);
}

/// A job group id with an escape sequence, from a create's answer or a listing, would have
/// been recorded in the state and shown as it is.
#[test]
fn job_group_ids_with_control_characters_were_taken_from_answers() {
    let mut created = vec![0, 100]; // 200
    created.extend_from_slice(br#"{"JobGroupId":"4\u001b[2K","RequestId":"R"}"#);
    fuzzing::client_response(&created);
    let mut page = vec![0, 100];
    page.extend_from_slice(
        br#"{"JobGroups":{"JobGroup":[{"JobGroupId":"1\r","JobGroupName":"n","AlgoLibId":"3","ResourceProfileId":"6","PlanedJobCount":1,"StreamPerJob":1}]}}"#,
    );
    fuzzing::client_response(&page);
}

/// A document given up for its alias expansions, with an unknown anchor further on, made the
/// YAML parser panic on what it handed over as the next document: `cityform validate`
/// crashed (found by this file's `manifest_load` at 60,000 cases).
#[test]
fn a_given_up_document_with_an_unknown_anchor_crashed_the_parser() {
    fuzzing::manifest_load(
        b"a: &a\nb: &b [*a,*a]\nc: &c [*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*d,*l]",
    );
    fuzzing::manifest_load(
        b"apiVersion: cityform/v1\nkind: JobGroup\n---\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [1, {k: *nowhere}, 2]\n---\nf: 1\n",
    );
}
