//! The `Moved`, `Import` and `Removed` documents of a set, checked against each other and
//! against the job groups the set declares: each address claimed once, moves within one
//! instance and without cycles, imports of declared groups, removals of undeclared ones.
//! What needs the state or the live groups is the planner's business.
//!
//! A problem about two documents is reported at one of them and names where the other
//! starts.

use std::collections::BTreeMap;

use super::declaration::DeclarationDocument;
use super::desired::{
    DesiredGroup, ImportDeclaration, MoveDeclaration, RemovalDeclaration, SourceLocation,
};
use super::diagnostic::{Position, Problem};
use super::format::Kind;
use super::set::SetProblem;
use super::values::Field;
use crate::model::Address;

/// The declarations of a set that passed every check.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    pub moves: Vec<MoveDeclaration>,
    pub imports: Vec<ImportDeclaration>,
    pub removals: Vec<RemovalDeclaration>,
}

/// What a document claims about an address, for the messages about two claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    MovedFrom,
    MovedTo,
    Imported,
    Removed,
}

impl Claim {
    fn describe(self) -> &'static str {
        match self {
            Claim::MovedFrom => "moved away by the `Moved` document",
            Claim::MovedTo => "the destination of the `Moved` document",
            Claim::Imported => "imported by the `Import` document",
            Claim::Removed => "removed by the `Removed` document",
        }
    }
}

/// A document, located.
struct Located {
    index: usize,
    position: Position,
    source: SourceLocation,
}

/// Checks `documents` (each with the index of its source) against each other and against
/// `groups`; `names` are the sources' names.
pub(crate) fn check(
    documents: Vec<(usize, DeclarationDocument)>,
    groups: &BTreeMap<Address, DesiredGroup>,
    names: &[&str],
) -> (Declared, Vec<SetProblem>) {
    let mut problems: Vec<SetProblem> = Vec::new();
    let mut declared = Declared::default();
    let mut claims: BTreeMap<(Address, bool), (Claim, SourceLocation)> = BTreeMap::new();
    // Claims of one address by two documents: `from` and `to` of moves are told apart (a
    // chain moves a group on from where another move put it).
    let mut claim = |address: &Address,
                     what: Claim,
                     located: &Located,
                     problems: &mut Vec<SetProblem>|
     -> bool {
        let destination = what == Claim::MovedTo;
        let key = (address.clone(), destination);
        let other = claims.get(&key).cloned().or_else(|| {
            // Anything but a move's other end conflicts across the two.
            claims
                .get(&(address.clone(), !destination))
                .filter(|(other, _)| {
                    !matches!(
                        (what, other),
                        (Claim::MovedFrom, Claim::MovedTo) | (Claim::MovedTo, Claim::MovedFrom)
                    )
                })
                .cloned()
        });
        if let Some((other, at)) = other {
            let message = match (what, other) {
                (Claim::MovedTo, Claim::MovedTo) => format!(
                    "two moves to one address: `{address}` is already the destination of the `Moved` document at {at}"
                ),
                (Claim::MovedFrom, Claim::MovedFrom) => {
                    format!("`{address}` is moved twice: the `Moved` document at {at} moves it too")
                }
                _ if what == other => format!(
                    "`{address}` is {} twice; the first is at {at}",
                    match what {
                        Claim::Imported => "imported",
                        _ => "removed",
                    }
                ),
                _ => format!(
                    "`{address}` is also {} at {at}: one or the other",
                    other.describe()
                ),
            };
            problems.push((
                located.index,
                Problem::new(located.position, message).with_hint(
                    "each address is moved, imported or removed by one document at most",
                ),
            ));
            return false;
        }
        claims.insert(key, (what, located.source.clone()));
        true
    };
    for (index, document) in documents {
        let located = Located {
            index,
            position: document.position,
            source: SourceLocation {
                file: names[index].to_owned(),
                line: document.position.line,
                column: document.position.column,
            },
        };
        match document.kind {
            Kind::Moved => {
                let (Field::Given(from), Field::Given(to)) = (document.from, document.to) else {
                    continue;
                };
                if let Some(problem) = move_problem(&from, &to, groups) {
                    problems.push((
                        index,
                        Problem::new(located.position, problem.0).with_hint(problem.1),
                    ));
                    continue;
                }
                let from_free = claim(&from, Claim::MovedFrom, &located, &mut problems);
                if from_free && claim(&to, Claim::MovedTo, &located, &mut problems) {
                    declared.moves.push(MoveDeclaration {
                        from,
                        to,
                        source: located.source,
                    });
                }
            }
            Kind::Import => {
                let (Field::Given(address), id) = (document.address, document.id) else {
                    continue;
                };
                let Some(id) = optional(id) else {
                    continue;
                };
                if !groups.contains_key(&address) {
                    problems.push((
                        index,
                        Problem::new(
                            located.position,
                            format!("no `JobGroup` document declares `{address}`, which this `Import` adopts"),
                        )
                        .with_hint(
                            "declare the job group in a `JobGroup` document too, so that cityform knows what it should look like",
                        ),
                    ));
                    continue;
                }
                if claim(&address, Claim::Imported, &located, &mut problems) {
                    declared.imports.push(ImportDeclaration {
                        address,
                        job_group_id: id,
                        source: located.source,
                    });
                }
            }
            Kind::Removed => {
                let Field::Given(address) = document.address else {
                    continue;
                };
                if let Some(group) = groups.get(&address) {
                    // At both documents: either may be the one to take out.
                    problems.push((
                        index,
                        Problem::new(
                            located.position,
                            format!(
                                "`{address}` is removed here but declared by the `JobGroup` document at {}: one or the other",
                                group.source
                            ),
                        )
                        .with_hint(
                            "to stop managing the group, remove its `JobGroup` document; to keep managing it, remove this `Removed` document",
                        ),
                    ));
                    if let Some(group_index) =
                        names.iter().position(|name| *name == group.source.file)
                    {
                        problems.push((
                            group_index,
                            Problem::new(
                                Position {
                                    line: group.source.line,
                                    column: group.source.column,
                                },
                                format!(
                                    "`{address}` is declared here but removed by the `Removed` document at {}: one or the other",
                                    located.source
                                ),
                            ),
                        ));
                    }
                    continue;
                }
                if claim(&address, Claim::Removed, &located, &mut problems) {
                    declared.removals.push(RemovalDeclaration {
                        address,
                        source: located.source,
                    });
                }
            }
            Kind::JobGroup | Kind::Defaults => {}
        }
    }
    let cyclic = cycles(&declared.moves);
    if !cyclic.is_empty() {
        for cycle in &cyclic {
            let first = &declared.moves[cycle[0]];
            let steps: Vec<String> = cycle
                .iter()
                .map(|&at| {
                    let step = &declared.moves[at];
                    format!(
                        "`{}` to `{}` at {}",
                        step.from.name, step.to.name, step.source
                    )
                })
                .collect();
            let index = names
                .iter()
                .position(|name| *name == first.source.file)
                .unwrap_or_default();
            problems.push((
                index,
                Problem::new(
                    Position {
                        line: first.source.line,
                        column: first.source.column,
                    },
                    format!("these `Moved` documents form a cycle: {}", steps.join(", ")),
                )
                .with_hint(
                    "a chain of moves must end at an address no move leaves; remove one of them",
                ),
            ));
        }
        let dropped: Vec<usize> = cyclic.into_iter().flatten().collect();
        declared.moves = std::mem::take(&mut declared.moves)
            .into_iter()
            .enumerate()
            .filter(|(at, _)| !dropped.contains(at))
            .map(|(_, moved)| moved)
            .collect();
    }
    (declared, problems)
}

/// What is wrong with moving `from` to `to` on its own, with a hint.
fn move_problem(
    from: &Address,
    to: &Address,
    groups: &BTreeMap<Address, DesiredGroup>,
) -> Option<(String, String)> {
    if from == to {
        return Some((
            format!("`spec.from` and `spec.to` are the same address `{from}`"),
            "a move changes the name; remove the document if the group stays where it is"
                .to_owned(),
        ));
    }
    if (&from.region_id, &from.instance_id) != (&to.region_id, &to.instance_id) {
        let declared = groups
            .get(to)
            .map(|group| format!("; `{to}` is declared at {}", group.source))
            .unwrap_or_default();
        return Some((
            format!(
                "cannot move `{from}` to `{to}`: a job group cannot change region or instance, only its name{declared}"
            ),
            "to move a group to another instance, create it there and remove the old one"
                .to_owned(),
        ));
    }
    if let Some(group) = groups.get(from) {
        return Some((
            format!(
                "`{from}` is moved away, but the `JobGroup` document at {} still declares it",
                group.source
            ),
            "a moved group is declared under its new name only: rename the `JobGroup` document's `metadata.name`, or remove this document".to_owned(),
        ));
    }
    None
}

/// The moves that form cycles, each cycle as the indexes of its moves, in `moves` order of
/// its first member.
fn cycles(moves: &[MoveDeclaration]) -> Vec<Vec<usize>> {
    let by_from: BTreeMap<&Address, usize> = moves
        .iter()
        .enumerate()
        .map(|(at, moved)| (&moved.from, at))
        .collect();
    let mut in_cycle = vec![false; moves.len()];
    let mut found = Vec::new();
    for start in 0..moves.len() {
        if in_cycle[start] {
            continue;
        }
        // Each address is left by one move at most, so a walk either ends or comes back.
        let mut path = vec![start];
        let mut at = start;
        while let Some(&next) = by_from.get(&moves[at].to) {
            if next == start {
                for &member in &path {
                    in_cycle[member] = true;
                }
                found.push(path);
                break;
            }
            if path.contains(&next) || path.len() > moves.len() {
                break;
            }
            path.push(next);
            at = next;
        }
    }
    found
}

/// The value of an optional field: `Some(None)` when absent, `None` when written wrongly.
fn optional<T>(field: Field<T>) -> Option<Option<T>> {
    match field {
        Field::Given(value) => Some(Some(value)),
        Field::Absent => Some(None),
        Field::Invalid => None,
    }
}
