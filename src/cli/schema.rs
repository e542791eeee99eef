//! `cityform schema`: print a JSON Schema: of the manifest documents (generated from
//! [`crate::manifest::schema`]), of `plan --format json`, or of the events of
//! `apply --format json`.

use clap::{Args, ValueEnum};

use super::{Outcome, output};
use crate::manifest::schema::manifest_schema_json;

/// The JSON Schema of `cityform plan --format json` (`docs/json-output.md`).
pub const PLAN_SCHEMA: &str = include_str!("../../docs/schema/plan-v2.json");

/// The JSON Schema of one line of `cityform apply --format json` (`docs/json-output.md`).
pub const APPLY_EVENTS_SCHEMA: &str = include_str!("../../docs/schema/apply-events-v1.json");

/// Arguments of `cityform schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which document the schema describes.
    #[arg(value_enum, default_value_t = SchemaKind::Manifest)]
    kind: SchemaKind,
}

/// The documents cityform has a schema for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SchemaKind {
    /// A manifest document (`kind: JobGroup`, `Defaults`, `Moved`, `Import` or `Removed`), for editors and linters.
    Manifest,
    /// The output of `cityform plan --format json`.
    Plan,
    /// One line of `cityform apply --format json`.
    ApplyEvents,
}

pub(super) fn run(args: &SchemaArgs) -> anyhow::Result<Outcome> {
    let text = match args.kind {
        SchemaKind::Manifest => manifest_schema_json(),
        SchemaKind::Plan => PLAN_SCHEMA.to_owned(),
        SchemaKind::ApplyEvents => APPLY_EVENTS_SCHEMA.to_owned(),
    };
    output::print(&text)?;
    Ok(Outcome::Success)
}
