//! The fuzz targets' bodies, and the invariants every value cityform accepts must keep
//! whatever it was read from. A failed invariant panics, which libFuzzer reports as a crash
//! together with the input that caused it.
//!
//! Each `fuzz_targets/NAME.rs` calls the function `NAME` here. The property tests in
//! `tests/it/properties_inputs.rs` include this file too and run the same functions on mutated
//! seeds, which is how `.ci/fuzz` still fuzzes where cargo-fuzz or nightly Rust is missing.
//!
//! One input often holds several things (files of a manifest set, a state and its journal,
//! a sequence of requests): they are separated by [`SEPARATOR`].

use std::fmt::Write as _;
use std::path::Path;

use cityform::cloud::Credentials;
use cityform::cloud::error::{CloudErrorKind, ErrorClass, error_from_answer};
use cityform::cloud::job_groups::{parse_acknowledged, parse_created, parse_page};
use cityform::cloud::redact::Redactor;
use cityform::cloud::signer;
use cityform::emulator::offline::{OfflineAnswer, OfflineEmulator, OfflineRequest};
use cityform::emulator::{DEV_ACCESS_KEY_SECRET, EmulatorConfig};
use cityform::manifest::{Desired, Source, load_sources};
use cityform::model::Address;
use cityform::plan::{self, Action, Plan};
use cityform::render;
use cityform::state::journal::{parse_journal, replay};
use cityform::state::{State, StateEntry, parse_state};
use sha2::{Digest, Sha256};

/// Separates the parts of one input: the ASCII record separator, which no valid manifest,
/// state, journal or request contains.
pub const SEPARATOR: u8 = 0x1e;

/// A fuzz target: its name (of the binary, of the seed directory `corpus/NAME/` and of the
/// function here) and the function that runs one input.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
pub const TARGETS: [Target; 6] = [
    ("manifest_load", manifest_load),
    ("state_parse", state_parse),
    ("journal_replay", journal_replay),
    ("saved_plan", saved_plan),
    ("emulator_request", emulator_request),
    ("client_response", client_response),
];

/// The parts of `data` between separators.
pub fn parts(data: &[u8]) -> Vec<&[u8]> {
    data.split(|byte| *byte == SEPARATOR).collect()
}

// ---------------------------------------------------------------------------------------------
// Targets

/// Manifest loading and validation (`manifest::load_sources`): the parts of `data` are the
/// files of one set. A refused set must say where each problem is; an accepted one must plan,
/// save, render and apply.
pub fn manifest_load(data: &[u8]) {
    let sources: Vec<Source> = parts(data)
        .into_iter()
        .enumerate()
        .map(|(index, bytes)| Source {
            name: format!("manifests/f{index}.yaml"),
            bytes: bytes.to_vec(),
        })
        .collect();
    match load_sources(sources) {
        Ok(desired) => check_desired(&desired, None),
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "refused without a reason");
            for diagnostic in &diagnostics {
                let location = diagnostic
                    .location
                    .as_ref()
                    .unwrap_or_else(|| panic!("a problem in a text has no place: {diagnostic}"));
                assert!(
                    location.line >= 1 && location.column >= 1,
                    "a problem at line {} column {}: {diagnostic}",
                    location.line,
                    location.column
                );
            }
            assert_printable(&diagnostics.to_string(), "diagnostics");
        }
    }
}

/// State loading (`state::parse_state`). An accepted state must write back as itself, and
/// plan, save and render against manifests that declare nothing (every group an orphan).
pub fn state_parse(data: &[u8]) {
    match parse_state(Path::new("state.json"), data) {
        Ok(state) => {
            check_state(&state);
            check_desired(&Desired::default(), Some(&state));
        }
        Err(error) => assert_printable(&error.to_string(), "state error"),
    }
}

/// Journal parsing (`state::journal::parse_journal`) and replay. `data` is a journal, or a
/// state file, a separator and a journal; the journal is replayed onto that state (or onto an
/// empty one), and the result must write back as itself.
pub fn journal_replay(data: &[u8]) {
    let (state, journal) = match data.iter().position(|byte| *byte == SEPARATOR) {
        Some(at) => match parse_state(Path::new("state.json"), &data[..at]) {
            Ok(state) => (state, &data[at + 1..]),
            Err(_) => return,
        },
        None => (State::new("lineage-1"), data),
    };
    let parsed = match parse_journal(journal) {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = format!("{error:?}");
            return;
        }
    };
    match &parsed.damaged_tail {
        Some(tail) => {
            assert_eq!(
                tail.offset, parsed.valid_length,
                "the tail starts elsewhere"
            );
            assert_eq!(
                tail.offset + tail.length,
                journal.len() as u64,
                "the damaged tail does not reach the end"
            );
        }
        None => assert_eq!(parsed.valid_length, journal.len() as u64),
    }
    // What a recovery keeps is a journal of its own, with the same records and no tail.
    let valid = usize::try_from(parsed.valid_length).expect("a length in memory");
    let kept = parse_journal(&journal[..valid]).expect("the valid part of a journal is valid");
    assert_eq!(kept.records, parsed.records);
    assert!(kept.damaged_tail.is_none());

    let (replayed, open) = replay(state.clone(), &parsed.records);
    check_state(&replayed);
    assert!(
        replayed.serial >= state.serial,
        "replaying moved the serial back"
    );
    for intent in &open {
        check_address(&intent.address);
    }
    // Replaying is idempotent in content.
    let (again, open_again) = replay(replayed.clone(), &parsed.records);
    assert_eq!(again.job_groups, replayed.job_groups);
    assert_eq!(open_again, open);
}

/// Saved-plan loading (`plan::saved::from_bytes`), twice: `data` as a whole file, and `data`
/// as the plan inside a file sealed with its right checksum, so that the plan's own parsing
/// is reached. An accepted plan must save, read back and render.
pub fn saved_plan(data: &[u8]) {
    if let Ok(plan) = plan::saved::from_bytes("plan.json", data) {
        check_plan(&plan);
    }
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let mut checksum = String::from("sha256:");
    for byte in Sha256::digest(body.as_bytes()) {
        let _ = write!(checksum, "{byte:02x}");
    }
    let sealed = format!(
        "{{\"format_version\": 1, \"cityform_version\": \"0.1.0\", \"checksum\": \"{checksum}\", \"plan\": {body}}}"
    );
    match plan::saved::from_bytes("plan.json", sealed.as_bytes()) {
        Ok(plan) => check_plan(&plan),
        Err(error) => assert_printable(&error.to_string(), "saved-plan error"),
    }
}

/// The access key secret the client's answers are checked against.
pub const CLIENT_SECRET: &str = "SECRET-fuzz/8e1f+x";
/// The security token the client's answers are checked against.
pub const CLIENT_TOKEN: &str = "TOKEN-fuzz/=3a7c";

/// The client's answer parsing: the error classification (`cloud::error_from_answer`) and the
/// success parsers of `cloud::job_groups`. The first two bytes are the HTTP status, the rest
/// the body. No error message may carry the secret or the token, in any encoding.
pub fn client_response(data: &[u8]) {
    let [high, low, body @ ..] = data else {
        return;
    };
    let status = 100 + u16::from_be_bytes([*high, *low]) % 900;
    let redactor = Redactor::new(
        &Credentials::new("LTAIfuzz", CLIENT_SECRET).with_security_token(CLIENT_TOKEN),
    );

    let (kind, class) = error_from_answer(status.max(300), body, &redactor);
    if status >= 500 {
        assert_eq!(class, ErrorClass::Retryable, "{status}: {kind}");
    }
    if let CloudErrorKind::Service(service) = &kind {
        assert!(!service.code.is_empty(), "a service error without a code");
    }
    assert_printable(&kind.to_string(), "error answer");
    let shown = format!("{kind} {kind:?}");
    for secret in [CLIENT_SECRET, CLIENT_TOKEN] {
        let once = signer::percent_encode(secret);
        let twice = signer::percent_encode(&once);
        for leaked in [secret.to_owned(), once, twice] {
            assert!(!shown.contains(&leaked), "`{leaked}` in {shown}");
        }
    }

    if let Ok(created) = parse_created(body) {
        assert!(
            !created.job_group_id.is_empty(),
            "a create answer with an empty id"
        );
        assert_printable(&created.job_group_id, "job group id");
        assert_printable(&created.request_id, "request id");
    }
    if let Ok(acknowledged) = parse_acknowledged(body) {
        assert_printable(&acknowledged.request_id, "request id");
    }
    if let Ok(page) = parse_page(body) {
        for group in &page.job_groups {
            assert_printable(&group.job_group_id, "job group id");
            let _ = group.to_spec();
        }
    }
}

/// The emulator's request handling without sockets (`emulator::offline`): decoding, common
/// checks, signature, timestamp and nonce verification, and the actions, for a sequence of
/// requests against one store.
///
/// Each part is `METHOD`, a line with the query, a line with the content type (empty: none)
/// and the body. A method written with a trailing `!` (`POST!`) has its parameters signed
/// with the development secret first, so that the actions behind the signature check are
/// reached; such a request must never be answered `SignatureDoesNotMatch`.
pub fn emulator_request(data: &[u8]) {
    let Ok(emulator) = OfflineEmulator::new(&EmulatorConfig::default()) else {
        panic!("the default emulator must start");
    };
    let now = time::macros::datetime!(2026-11-27 10:00:00 UTC);
    for request in parts(data).into_iter().take(16) {
        let mut lines = request.splitn(4, |byte| *byte == b'\n');
        let mut line = || String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
        let (method, query, content_type) = (line(), line(), line());
        let body = lines.next().unwrap_or_default();
        let (method, sign) = match method.strip_suffix('!') {
            Some(method) => (method.to_owned(), true),
            None => (method, false),
        };
        let query = if sign {
            signed(&method, &query, body)
        } else {
            query
        };
        let answer = emulator.answer(
            &OfflineRequest {
                method: &method,
                query: &query,
                content_type: (!content_type.is_empty()).then_some(content_type.as_str()),
                body,
            },
            now,
        );
        check_answer(&answer);
        assert!(
            !(sign && answer.code == Some("SignatureDoesNotMatch")),
            "a request signed with the right secret does not match: {}",
            answer.body
        );
    }
}

/// `query` with a `Signature` over every parameter of the query and the body, as a lenient
/// decoder reads them (the emulator's strict decoder refuses whatever it reads differently).
fn signed(method: &str, query: &str, body: &[u8]) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    pairs.extend(form_urlencoded::parse(body).into_owned());
    let string_to_sign = signer::string_to_sign(
        method,
        pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    let signature = signer::sign(DEV_ACCESS_KEY_SECRET, &string_to_sign);
    let separator = if query.is_empty() { "" } else { "&" };
    format!(
        "{query}{separator}Signature={}",
        signer::percent_encode(&signature)
    )
}

fn check_answer(answer: &OfflineAnswer) {
    assert!(
        (200..600).contains(&answer.status),
        "status {}",
        answer.status
    );
    assert_eq!(answer.status == 200, answer.code.is_none());
    if answer.content_type.starts_with("application/json") {
        if let Err(error) = serde_json::from_str::<serde_json::Value>(&answer.body) {
            panic!("the JSON answer is not JSON ({error}): {}", answer.body);
        }
    } else {
        assert!(answer.body.starts_with("<?xml"), "{}", answer.body);
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants

/// An address must read back as itself, or a state that records it could not be read again.
pub fn check_address(address: &Address) {
    let text = address.to_string();
    let parsed: Address = text
        .parse()
        .unwrap_or_else(|error| panic!("address `{text}` does not read back: {error}"));
    assert_eq!(&parsed, address, "address `{text}` reads back differently");
}

/// A state must survive its own file format: written, it reads back equal.
pub fn check_state(state: &State) {
    for address in state.job_groups.keys() {
        check_address(address);
    }
    let bytes = serde_json::to_vec_pretty(state).expect("a state always serialises");
    let read = parse_state(Path::new("state.json"), &bytes)
        .unwrap_or_else(|error| panic!("a written state does not read back: {error}"));
    assert_eq!(&read, state, "a written state reads back differently");
}

/// A plan must survive its saved form, and every renderer must finish with output that a
/// terminal or a pull-request comment shows as written: no control character but the newline.
pub fn check_plan(plan: &Plan) {
    for action in &plan.actions {
        check_address(action.address());
    }
    let saved = plan::saved::to_bytes(plan).expect("a plan always serialises");
    let read = plan::saved::from_bytes("plan.json", &saved)
        .unwrap_or_else(|error| panic!("a saved plan does not read back: {error}"));
    assert_eq!(&read, plan, "a saved plan reads back differently");

    let text = render::plan_text::render_plan(plan, render::plan_text::Color::Never);
    assert_printable(&text, "text plan");
    let _coloured = render::plan_text::render_plan(plan, render::plan_text::Color::Always);
    let markdown = render::plan_markdown::render_plan(plan);
    assert_printable(&markdown, "Markdown plan");
    assert!(
        markdown.len() <= render::plan_markdown::MAX_LENGTH,
        "the Markdown plan is {} bytes, more than its limit",
        markdown.len()
    );
    let json = render::plan_json::render_plan(plan).expect("a plan always renders as JSON");
    serde_json::from_str::<serde_json::Value>(&json).expect("the JSON plan is JSON");
}

/// Panics when `text` holds a control character other than a newline: such a character from
/// a manifest or an answer could rewrite what a reviewer's terminal shows.
pub fn assert_printable(text: &str, what: &str) {
    if let Some(character) = text
        .chars()
        .find(|character| character.is_control() && *character != '\n')
    {
        panic!("the {what} contains the control character {character:?}:\n{text}");
    }
}

/// The state after an apply that carried out every create and update of `plan`, recorded as
/// the applier records them.
pub fn applied(plan: &Plan, state: Option<&State>) -> State {
    let mut state = state.cloned().unwrap_or_else(|| State::new("fuzz-lineage"));
    for (index, action) in plan.actions.iter().enumerate() {
        match action {
            Action::Create { address, spec, .. } => {
                state.job_groups.insert(
                    address.clone(),
                    StateEntry {
                        job_group_id: format!("jg-{index}"),
                        spec: spec.clone(),
                        request_id: format!("request-{index}"),
                        applied_at: "2026-11-27T08:00:00Z".to_owned(),
                        status: None,
                        prevent_destroy: false,
                    },
                );
            }
            Action::Update { address, spec, .. } => {
                if let Some(entry) = state.job_groups.get_mut(address) {
                    entry.spec = spec.clone();
                }
            }
            Action::SetStatus { address, to, .. } => {
                if let Some(entry) = state.job_groups.get_mut(address) {
                    entry.status = Some(*to);
                }
            }
            Action::Protect {
                address,
                prevent_destroy,
                ..
            } => {
                if let Some(entry) = state.job_groups.get_mut(address) {
                    entry.prevent_destroy = *prevent_destroy;
                }
            }
            Action::Delete { address, .. } => {
                state.job_groups.remove(address);
            }
            Action::Move { address, from, .. } => {
                if let Some(entry) = state.job_groups.remove(from) {
                    state.job_groups.insert(address.clone(), entry);
                }
            }
            Action::Import {
                address,
                job_group_id,
                spec,
                ..
            } => {
                state.job_groups.insert(
                    address.clone(),
                    StateEntry::new(job_group_id.clone(), spec.clone(), "", ""),
                );
            }
            Action::Forget { address, .. } => {
                state.job_groups.remove(address);
            }
            Action::Orphan { .. } | Action::BlockedDelete { .. } => {}
        }
    }
    state
}

/// A desired set must plan, save, render and apply; once applied, nothing is left to create
/// or update.
pub fn check_desired(desired: &Desired, state: Option<&State>) {
    for address in desired.groups.keys() {
        check_address(address);
    }
    let first = plan::compute(desired, state);
    check_plan(&first);
    let after = applied(&first, state);
    check_state(&after);
    let second = plan::compute(desired, Some(&after));
    assert!(
        second
            .actions
            .iter()
            .all(|action| matches!(action, Action::Orphan { .. })),
        "after applying, the plan still changes something: {:?}",
        second.actions
    );
}
