//! The documents that change what the state records rather than declare a job group:
//! `Moved`, `Import` and `Removed`, read from a YAML tree into a [`DeclarationDocument`],
//! with a problem for everything that is not what the format says. Whether they agree with
//! each other and with the job groups is the set's business (`declared.rs`).
//!
//! Their fields come from the tables of `format.rs`, like every other document's.

use super::diagnostic::{Position, Problem};
use super::document::{is_part, part_mapping, unknown_field};
use super::format::{FieldSpec, Kind, Part, Presence, Rule};
use super::suggest;
use super::values::{self, Field, FieldPath};
use super::yaml::{Entry, Mapping};
use crate::model::Address;

/// A `Moved`, `Import` or `Removed` document, as written. A field its kind does not take
/// stays `Absent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeclarationDocument {
    /// `Moved`, `Import` or `Removed`.
    pub kind: Kind,
    /// Where the document starts.
    pub position: Position,
    /// `spec.from` of a `Moved` document.
    pub from: Field<Address>,
    /// `spec.to` of a `Moved` document.
    pub to: Field<Address>,
    /// `spec.address` of an `Import` or `Removed` document.
    pub address: Field<Address>,
    /// `spec.id` of an `Import` document.
    pub id: Field<String>,
}

impl DeclarationDocument {
    fn new(kind: Kind, position: Position) -> Self {
        Self {
            kind,
            position,
            from: Field::Absent,
            to: Field::Absent,
            address: Field::Absent,
            id: Field::Absent,
        }
    }

    /// Where the address field `name` is kept.
    fn address_slot(&mut self, name: &str) -> Option<&mut Field<Address>> {
        match name {
            "from" => Some(&mut self.from),
            "to" => Some(&mut self.to),
            "address" => Some(&mut self.address),
            _ => None,
        }
    }

    /// Whether the field `field` of the `spec` is not written at all.
    fn is_absent(&mut self, field: &FieldSpec) -> bool {
        match field.rule {
            Rule::JobGroupId => self.id.is_absent(),
            _ => self
                .address_slot(field.name)
                .is_some_and(|slot| slot.is_absent()),
        }
    }

    /// Reads the `spec` field `field` from `entry`, with the check its rule names.
    fn read(&mut self, field: &'static FieldSpec, entry: Entry, problems: &mut Vec<Problem>) {
        let path = FieldPath::new(self.kind.spec_part(), field.name);
        match field.rule {
            Rule::JobGroupId => self.id = values::identifier(entry, path, problems),
            Rule::Address => {
                let read = values::address(entry, path, problems);
                if let Some(slot) = self.address_slot(field.name) {
                    *slot = read;
                }
            }
            // No field of these parts follows the others.
            _ => {}
        }
    }

    /// Counts the field as written, when a misspelling of it was reported already.
    fn mark_reported(&mut self, field: &FieldSpec) {
        if matches!(field.rule, Rule::JobGroupId) && self.id.is_absent() {
            self.id = Field::Invalid;
        } else if let Some(slot) = self.address_slot(field.name)
            && slot.is_absent()
        {
            *slot = Field::Invalid;
        }
    }
}

/// Reads a document of `kind` (`Moved`, `Import` or `Removed`) whose `apiVersion` and
/// `kind` are already checked.
pub(crate) fn read_declaration(
    root: Mapping,
    kind: Kind,
    position: Position,
    problems: &mut Vec<Problem>,
) -> Option<DeclarationDocument> {
    let part = kind.spec_part();
    let mut document = DeclarationDocument::new(kind, position);
    let mut spec_position = None;
    let mut suggested = Vec::new();
    for entry in root.entries {
        let field = Part::Document.field(kind, &entry.key);
        match field.map(|field| field.rule) {
            Some(Rule::ApiVersion | Rule::Kind) => {}
            Some(Rule::Part(held)) if held == part => {
                spec_position = Some(entry.key_position);
                read_spec(&mut document, entry, problems);
            }
            _ => suggested.extend(unknown_field(&entry, Part::Document, kind, problems)),
        }
    }
    if spec_position.is_none() {
        if !suggested.iter().any(|field| is_part(field, part)) {
            problems.push(Problem::new(position, "missing `spec`").with_hint(format!(
                "a `{}` document takes `spec:` with {}",
                kind.as_str(),
                suggest::list(&part.names(kind))
            )));
        }
        // Whatever `spec` would have held is unknown: nothing more is reported missing.
        for field in part.fields() {
            document.mark_reported(field);
        }
    }
    Some(document)
}

/// The `spec` of a declaration, as far as it can be read.
fn read_spec(document: &mut DeclarationDocument, entry: Entry, problems: &mut Vec<Problem>) {
    let kind = document.kind;
    let part = kind.spec_part();
    let key_position = entry.key_position;
    let position = entry.position();
    let mapping = match part_mapping("spec", entry.value) {
        Ok(mapping) => mapping,
        Err(message) => {
            problems.push(
                Problem::new(position, message)
                    .with_hint(format!("`spec` takes {}", suggest::list(&part.names(kind)))),
            );
            for field in part.fields() {
                document.mark_reported(field);
            }
            return;
        }
    };
    let mut suggested = Vec::new();
    for entry in mapping.entries {
        match part.field(kind, &entry.key) {
            Some(field) => document.read(field, entry, problems),
            None => suggested.extend(unknown_field(&entry, part, kind, problems)),
        }
    }
    for field in suggested {
        document.mark_reported(field);
    }
    for field in part
        .fields()
        .iter()
        .filter(|field| field.kinds.contains(&kind) && field.presence == Presence::Required)
    {
        if document.is_absent(field) {
            problems.push(
                Problem::new(key_position, format!("missing `spec.{}`", field.name)).with_hint(
                    format!(
                        "a `{}` document's `spec` takes {}",
                        kind.as_str(),
                        suggest::list(&part.names(kind))
                    ),
                ),
            );
            document.mark_reported(field);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::document::ManifestDocument;
    use super::*;

    fn read(text: &str) -> (Option<DeclarationDocument>, Vec<String>) {
        let (read, problems) = super::super::document::tests::read(text);
        let read = match read {
            Some(ManifestDocument::Declaration(declaration)) => Some(declaration),
            None => None,
            Some(other) => panic!("not a declaration: {other:?}"),
        };
        let rendered = problems
            .iter()
            .map(|problem| format!("{}: {}", problem.position, problem.message))
            .collect();
        (read, rendered)
    }

    #[test]
    fn reads_each_kind() {
        let (moved, problems) = read(
            "apiVersion: cityform/v1\nkind: Moved\nspec:\n  from: cn-shanghai/i/night-market\n  to: cn-shanghai/i/night-bazaar\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let moved = moved.unwrap();
        assert_eq!(moved.kind, Kind::Moved);
        assert_eq!(
            moved.from,
            Field::Given(Address::new("cn-shanghai", "i", "night-market"))
        );
        assert_eq!(
            moved.to,
            Field::Given(Address::new("cn-shanghai", "i", "night-bazaar"))
        );

        let (import, problems) = read(
            "apiVersion: cityform/v1\nkind: Import\nspec:\n  address: cn-shanghai/i/legacy-cams\n  id: 17\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        let import = import.unwrap();
        assert_eq!(import.id, Field::Given("17".to_owned()));
        assert_eq!(
            import.address,
            Field::Given(Address::new("cn-shanghai", "i", "legacy-cams"))
        );
        let (import, problems) = read(
            "apiVersion: cityform/v1\nkind: Import\nspec:\n  address: cn-shanghai/i/legacy-cams\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(import.unwrap().id, Field::Absent);

        let (removed, problems) = read(
            "apiVersion: cityform/v1\nkind: Removed\nspec:\n  address: cn-shanghai/i/retired\n",
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(removed.unwrap().kind, Kind::Removed);
    }

    #[test]
    fn reports_every_problem_where_it_is_written() {
        let (_, problems) = read(
            "apiVersion: cityform/v1\nkind: Moved\nspec:\n  to: cn-shanghai/i\n  form: a/b/c\nmetadata: {}\n",
        );
        assert_eq!(
            problems,
            [
                "4:7: `spec.to` must be an address `regionId/instanceId/name`, not `cn-shanghai/i`",
                "5:3: unknown field `form` in `spec`, did you mean `from`?",
                "6:1: unknown field `metadata`",
            ]
        );

        let (_, problems) =
            read("apiVersion: cityform/v1\nkind: Moved\nspec:\n  to: cn-shanghai/i/1bad\n");
        assert_eq!(
            problems,
            [
                "4:7: invalid job group name `1bad` in `spec.to`: must start with an ASCII letter or a CJK character, not `1`",
                "3:1: missing `spec.from`",
            ]
        );

        let (_, problems) = read(
            "apiVersion: cityform/v1\nkind: Import\nspec:\n  address: [a]\n  id: 1.5\n  name: x\n",
        );
        assert_eq!(
            problems,
            [
                "4:13: `spec.address` must be an address `regionId/instanceId/name`, not a sequence",
                "5:7: `spec.id` must be a string or a non-negative integer, not the number `1.5`",
                "6:3: unknown field `name` in `spec`",
            ]
        );

        let (_, problems) = read("apiVersion: cityform/v1\nkind: Removed\n");
        assert_eq!(problems, ["1:1: missing `spec`"]);
        let (_, problems) = read("apiVersion: cityform/v1\nkind: Removed\nspec: 3\n");
        assert_eq!(
            problems,
            ["3:7: `spec` must be a mapping, not the integer `3`"]
        );
        let (_, problems) =
            read("apiVersion: cityform/v1\nkind: Removed\nspec:\n  address: a b/c/d\n");
        assert_eq!(
            problems,
            ["4:12: the regionId of `spec.address` contains ' '"]
        );
    }

    #[test]
    fn a_misspelt_field_is_not_reported_missing_too() {
        let (_, problems) = read(
            "apiVersion: cityform/v1\nkind: Removed\nspec:\n  adress: cn-shanghai/i/retired\n",
        );
        assert_eq!(
            problems,
            ["4:3: unknown field `adress` in `spec`, did you mean `address`?"]
        );
        let (_, problems) = read(
            "apiVersion: cityform/v1\nkind: Removed\nspc:\n  address: cn-shanghai/i/retired\n",
        );
        assert_eq!(problems, ["3:1: unknown field `spc`, did you mean `spec`?"]);
    }
}
