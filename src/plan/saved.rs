//! Saved plan files (`plan --out FILE`): everything `apply FILE` needs, sealed with a checksum.
//!
//! The plan carries the full desired specs and the state (lineage and serial) it was computed
//! against, so applying it needs no manifests and refuses a state that moved on. The
//! checksum covers the plan's exact bytes as written, so any edit is detected.
//!
//! A file may also carry what was shown beside the plan when it was saved (where each update
//! and orphan was last applied from), so that `cityform show` prints the plan exactly as
//! `plan` printed it. It has a checksum of its own: a build that does not know it ignores
//! it and still verifies the plan.

use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::Plan;
use crate::model::printable;

/// The saved-plan format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    /// The file is not a saved plan at all.
    #[error("`{file}` is not a cityform saved plan: {reason}")]
    Malformed {
        /// The file.
        file: String,
        /// What the parser said, with line and column.
        reason: String,
    },
    /// Written by a newer cityform.
    #[error(
        "`{file}` was written by a newer cityform (saved-plan format {found}, this build reads {FORMAT_VERSION}); upgrade cityform or plan again"
    )]
    NewerFormat {
        /// The file.
        file: String,
        /// The format it declares.
        found: u32,
    },
    /// The contents do not match the checksum: the file was edited or damaged.
    #[error("`{file}` has been modified since it was saved (checksum mismatch); plan again")]
    ChecksumMismatch {
        /// The file.
        file: String,
    },
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format_version: u32,
    cityform_version: &'a str,
    checksum: String,
    plan: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    shown_checksum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shown: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EnvelopeIn<'a> {
    format_version: u32,
    #[serde(rename = "cityform_version")]
    _cityform_version: String,
    checksum: String,
    #[serde(borrow)]
    plan: &'a RawValue,
    #[serde(default)]
    shown_checksum: Option<String>,
    #[serde(default, borrow)]
    shown: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct VersionOnly {
    format_version: u32,
}

fn checksum(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut text = String::from("sha256:");
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// Serialises a plan as a saved-plan file.
pub fn to_bytes(plan: &Plan) -> Result<Vec<u8>, serde_json::Error> {
    seal(plan, None)
}

/// Serialises a plan as a saved-plan file, with what was shown beside it (`shown`), sealed
/// with a checksum of its own.
pub fn to_bytes_with_shown(
    plan: &Plan,
    shown: &impl Serialize,
) -> Result<Vec<u8>, serde_json::Error> {
    let shown = RawValue::from_string(serde_json::to_string(shown)?)?;
    seal(plan, Some(&shown))
}

fn seal(plan: &Plan, shown: Option<&RawValue>) -> Result<Vec<u8>, serde_json::Error> {
    let body = serde_json::to_string(plan)?;
    let raw = RawValue::from_string(body)?;
    let envelope = EnvelopeOut {
        format_version: FORMAT_VERSION,
        cityform_version: env!("CARGO_PKG_VERSION"),
        checksum: checksum(raw.get().as_bytes()),
        plan: &raw,
        shown_checksum: shown.map(|shown| checksum(shown.get().as_bytes())),
        shown,
    };
    let mut bytes = serde_json::to_vec_pretty(&envelope)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads a saved-plan file; `file` names it in errors.
pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Plan, SavedPlanError> {
    let envelope = open(file, bytes)?;
    read_plan(file, &envelope)
}

/// Reads a saved-plan file and what was shown beside the plan when it was saved (`None` for
/// a file saved without it); `file` names it in errors.
pub fn from_bytes_with_shown<T: DeserializeOwned>(
    file: &str,
    bytes: &[u8],
) -> Result<(Plan, Option<T>), SavedPlanError> {
    let envelope = open(file, bytes)?;
    let plan = read_plan(file, &envelope)?;
    let Some(shown) = envelope.shown else {
        return Ok((plan, None));
    };
    if envelope.shown_checksum.as_deref() != Some(checksum(shown.get().as_bytes()).as_str()) {
        return Err(SavedPlanError::ChecksumMismatch {
            file: file.to_owned(),
        });
    }
    let shown = serde_json::from_str(shown.get()).map_err(|error| malformed(file, &error))?;
    Ok((plan, Some(shown)))
}

fn malformed(file: &str, error: &serde_json::Error) -> SavedPlanError {
    SavedPlanError::Malformed {
        file: file.to_owned(),
        // serde quotes an unknown field or variant as written, escape sequences included.
        reason: printable(&error.to_string()).into_owned(),
    }
}

/// The envelope of `bytes`, its format checked.
fn open<'a>(file: &str, bytes: &'a [u8]) -> Result<EnvelopeIn<'a>, SavedPlanError> {
    let version: VersionOnly =
        serde_json::from_slice(bytes).map_err(|error| malformed(file, &error))?;
    if version.format_version > FORMAT_VERSION {
        return Err(SavedPlanError::NewerFormat {
            file: file.to_owned(),
            found: version.format_version,
        });
    }
    serde_json::from_slice(bytes).map_err(|error| malformed(file, &error))
}

/// The plan of `envelope`, its checksum verified.
fn read_plan(file: &str, envelope: &EnvelopeIn<'_>) -> Result<Plan, SavedPlanError> {
    if envelope.format_version != FORMAT_VERSION
        || envelope.checksum != checksum(envelope.plan.get().as_bytes())
    {
        return Err(SavedPlanError::ChecksumMismatch {
            file: file.to_owned(),
        });
    }
    serde_json::from_str(envelope.plan.get()).map_err(|error| malformed(file, &error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::SourceLocation;
    use crate::model::{Address, JobGroupSpec};
    use crate::plan::{Action, StateBinding};

    fn plan() -> Plan {
        Plan {
            state: Some(StateBinding {
                lineage: "9d1c".into(),
                serial: 5,
            }),
            actions: vec![Action::Create {
                address: Address::new("cn-shanghai", "cityvisual-Instance", "traffic-east"),
                spec: JobGroupSpec::example().with_param("ES_ENABLE", "True"),
                source: SourceLocation {
                    file: "manifests/traffic.yaml".into(),
                    line: 3,
                    column: 1,
                },
                replaces_id: None,
                prevent_destroy: false,
            }],
            unchanged: 2,
            refreshed: false,
            conflicts: Vec::new(),
            unmanaged: Vec::new(),
            targets: Vec::new(),
            excludes: Vec::new(),
            refresh_skipped_reason: None,
        }
    }

    #[test]
    fn a_start_saved_before_its_source_was_recorded_still_reads()
    -> Result<(), Box<dyn std::error::Error>> {
        let old = r#"{"action":"set_status","address":"cn-shanghai/cityvisual-Instance/traffic-east","job_group_id":"7","from":"Stopped","to":"Running"}"#;
        let action: Action = serde_json::from_str(old)?;
        assert!(
            matches!(&action, Action::SetStatus { source: None, job_group_id: Some(id), .. } if id == "7"),
            "{action:?}"
        );
        assert_eq!(serde_json::to_string(&action)?, old);
        Ok(())
    }

    #[test]
    fn round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let bytes = to_bytes(&plan())?;
        assert_eq!(from_bytes("plan.json", &bytes)?, plan());
        Ok(())
    }

    #[test]
    fn what_was_shown_round_trips_and_an_edit_of_it_is_detected()
    -> Result<(), Box<dyn std::error::Error>> {
        let shown = serde_json::json!({"note": "last applied from 3f2a9c1"});
        let bytes = to_bytes_with_shown(&plan(), &shown)?;
        // A build that knows nothing of it still reads the plan.
        assert_eq!(from_bytes("plan.json", &bytes)?, plan());
        let (read, read_shown) = from_bytes_with_shown::<serde_json::Value>("plan.json", &bytes)?;
        assert_eq!((read, read_shown), (plan(), Some(shown)));
        let (_, none) =
            from_bytes_with_shown::<serde_json::Value>("plan.json", &to_bytes(&plan())?)?;
        assert_eq!(none, None);

        let edited = String::from_utf8(bytes)?.replace("3f2a9c1", "0000000");
        let error =
            from_bytes_with_shown::<serde_json::Value>("plan.json", edited.as_bytes()).err();
        assert!(
            matches!(error, Some(SavedPlanError::ChecksumMismatch { .. })),
            "{error:?}"
        );
        Ok(())
    }

    #[test]
    fn moves_imports_and_removals_are_carried() -> Result<(), Box<dyn std::error::Error>> {
        let document = |line| SourceLocation {
            file: "manifests/changes.yaml".into(),
            line,
            column: 1,
        };
        let mut declared = plan();
        declared.actions = vec![
            Action::Move {
                address: Address::example("night-bazaar"),
                from: Address::example("night-market"),
                job_group_id: "1".into(),
                source: document(1),
            },
            Action::Import {
                address: Address::example("legacy-cams"),
                job_group_id: "17".into(),
                live_name: "legacy".into(),
                spec: JobGroupSpec::example(),
                status: Some(crate::model::Status::Running),
                source: document(7),
            },
            Action::Forget {
                address: Address::example("retired-group"),
                job_group_id: "4".into(),
                source: document(13),
            },
        ];
        assert_eq!(from_bytes("plan.json", &to_bytes(&declared)?)?, declared);
        Ok(())
    }

    #[test]
    fn any_edit_is_detected() -> Result<(), Box<dyn std::error::Error>> {
        let text = String::from_utf8(to_bytes(&plan())?)?;
        let edited = text.replace("\"planedJobCount\":10", "\"planedJobCount\":11");
        assert_ne!(edited, text, "the edit must hit something");
        let error = from_bytes("plan.json", edited.as_bytes()).err();
        assert!(
            matches!(error, Some(SavedPlanError::ChecksumMismatch { .. })),
            "{error:?}"
        );
        Ok(())
    }

    #[test]
    fn newer_formats_are_refused_by_name() -> Result<(), Box<dyn std::error::Error>> {
        let text = String::from_utf8(to_bytes(&plan())?)?;
        let newer = text.replace("\"format_version\": 1", "\"format_version\": 2");
        let error = from_bytes("plan.json", newer.as_bytes()).err();
        assert!(
            matches!(error, Some(SavedPlanError::NewerFormat { found: 2, .. })),
            "{error:?}"
        );
        Ok(())
    }

    /// An unknown action kind reached the terminal with its escape sequence.
    #[test]
    fn a_malformed_plan_is_described_with_its_control_characters_escaped() {
        let body = r#"{"state":null,"actions":[{"action":"x\u001b[2K"}],"unchanged":0}"#;
        let sealed = format!(
            "{{\"format_version\": 1, \"cityform_version\": \"0\", \"checksum\": \"{}\", \"plan\": {body}}}",
            checksum(body.as_bytes())
        );
        let error = from_bytes("plan.json", sealed.as_bytes()).err();
        let message = error.map(|error| error.to_string()).unwrap_or_default();
        assert!(message.contains("x\\u{1b}[2K"), "{message}");
    }

    #[test]
    fn garbage_is_malformed_with_a_location() {
        let error = from_bytes("plan.json", b"{\"format_version\": 1,\n  oops").err();
        let message = error.map(|error| error.to_string()).unwrap_or_default();
        assert!(
            message.starts_with("`plan.json` is not a cityform saved plan: "),
            "{message}"
        );
        assert!(message.contains("line 2"), "{message}");
    }
}
