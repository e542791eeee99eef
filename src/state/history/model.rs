//! The history of recorded actions in memory: what was done to which job group, and its
//! [`Provenance`], kept per group up to a retention limit. A pure container: storing it is
//! the backends' business (the local one in [`super::file`]).

use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::model::Address;
use crate::provenance::Provenance;

/// How many actions [`History`] keeps per job group unless configured otherwise: the last
/// 1,000. At a change a day, that is nearly three years of a group's life, in about
/// 500 KB of JSON per group.
pub const DEFAULT_RETAIN_PER_GROUP: usize = 1_000;

/// What a recorded action did to a job group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryAction {
    /// `CreateJobGroup`.
    Create,
    /// The group's spec was changed.
    Update,
    /// `DeleteJobGroup`.
    Delete,
    /// The group's jobs were started.
    Start,
    /// The group's jobs were stopped.
    Stop,
    /// An existing group was adopted on purpose (`import`).
    Import,
    /// A create whose answer was lost was found to have succeeded, and recorded.
    Recover,
    /// The group's protection against deletion (`preventDestroy`) was changed.
    Protect,
    /// The group was removed from the state (`state rm`) and left as it was in the service:
    /// cityform no longer manages it.
    Forget,
    /// The state records the group under another address (`state mv`); recorded under
    /// both, each entry naming both ([`HistoryEntry::moved`]).
    Move,
}

impl HistoryAction {
    /// Every action, in the order above.
    pub const ALL: [HistoryAction; 10] = [
        HistoryAction::Create,
        HistoryAction::Update,
        HistoryAction::Delete,
        HistoryAction::Start,
        HistoryAction::Stop,
        HistoryAction::Import,
        HistoryAction::Recover,
        HistoryAction::Protect,
        HistoryAction::Forget,
        HistoryAction::Move,
    ];

    /// The action's name in records and output: `create`, `update`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryAction::Create => "create",
            HistoryAction::Update => "update",
            HistoryAction::Delete => "delete",
            HistoryAction::Start => "start",
            HistoryAction::Stop => "stop",
            HistoryAction::Import => "import",
            HistoryAction::Recover => "recover",
            HistoryAction::Protect => "protect",
            HistoryAction::Forget => "forget",
            HistoryAction::Move => "move",
        }
    }

    /// Whether the action made the group's spec what a manifest declared (create, update,
    /// import, recover): the actions "last applied from" refers to.
    pub fn applies_spec(self) -> bool {
        matches!(
            self,
            HistoryAction::Create
                | HistoryAction::Update
                | HistoryAction::Import
                | HistoryAction::Recover
        )
    }
}

impl fmt::Display for HistoryAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`HistoryAction`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a recorded action: expected one of create, update, delete, start, stop, import, recover, protect, forget, move"
)]
pub struct UnknownAction(pub String);

impl FromStr for HistoryAction {
    type Err = UnknownAction;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        HistoryAction::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or_else(|| UnknownAction(text.to_owned()))
    }
}

/// One recorded action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// The job group.
    pub address: Address,
    /// What was done.
    pub action: HistoryAction,
    /// The group's id at the service.
    pub job_group_id: String,
    /// Where the action came from.
    pub provenance: Provenance,
    /// For a [`HistoryAction::Move`]: the address the group was recorded under before, and
    /// the one after. Absent (and not written) for every other action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<Moved>,
}

/// The two addresses of a [`HistoryAction::Move`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moved {
    /// Where the state recorded the group before.
    pub from: Address,
    /// Where it records it now.
    pub to: Address,
}

/// Recorded actions, at most [`History::retain_per_group`] per job group, in the order they
/// were recorded.
///
/// "Newest first" means most recently recorded first: actions carried out concurrently are
/// recorded in the order their results became durable, which their `at` times may not show.
/// The history of a deleted group is kept like any other.
///
/// Stored (serde) as `{"retain_per_group": 1000, "entries": [...]}`, oldest first. Reading
/// keeps every stored entry, even beyond the retention; the next [`History::push`] on a
/// group or [`History::compact`] trims it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "StoredHistory", from = "ReadHistory")]
pub struct History {
    retain_per_group: usize,
    groups: BTreeMap<Address, VecDeque<Recorded>>,
    /// The sequence number the next entry gets; it orders entries across groups.
    next_sequence: u64,
    len: usize,
}

/// An entry and its place in the order of recording.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Recorded {
    sequence: u64,
    entry: HistoryEntry,
}

/// The stored form of a [`History`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredHistory {
    retain_per_group: usize,
    entries: Vec<HistoryEntry>,
}

impl From<History> for StoredHistory {
    fn from(history: History) -> Self {
        let retain_per_group = history.retain_per_group;
        let mut recorded: Vec<Recorded> = history.groups.into_values().flatten().collect();
        recorded.sort_by_key(|recorded| recorded.sequence);
        StoredHistory {
            retain_per_group,
            entries: recorded
                .into_iter()
                .map(|recorded| recorded.entry)
                .collect(),
        }
    }
}

/// The stored form as it is read: entries go straight into a [`History`] as they are
/// parsed, with no list of them all in between (a large state holds hundreds of thousands).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadHistory {
    retain_per_group: usize,
    #[serde(deserialize_with = "read_entries")]
    entries: History,
}

impl From<ReadHistory> for History {
    fn from(read: ReadHistory) -> Self {
        History {
            retain_per_group: read.retain_per_group,
            ..read.entries
        }
    }
}

/// Reads a JSON list of entries, oldest first, into a history without a retention.
struct EntriesVisitor;

impl<'de> serde::de::Visitor<'de> for EntriesVisitor {
    type Value = History;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a list of history entries")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut entries: A) -> Result<History, A::Error> {
        let mut history = History::new(usize::MAX);
        while let Some(entry) = entries.next_element::<HistoryEntry>()? {
            history.insert(entry);
        }
        Ok(history)
    }
}

fn read_entries<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<History, D::Error> {
    deserializer.deserialize_seq(EntriesVisitor)
}

/// Two histories are equal when they keep the same entries in the same order, with the same
/// retention.
impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.retain_per_group == other.retain_per_group
            && self.len == other.len
            && self.newest_first().eq(other.newest_first())
    }
}

impl Eq for History {}

impl Default for History {
    fn default() -> Self {
        Self::new(DEFAULT_RETAIN_PER_GROUP)
    }
}

impl History {
    /// An empty history that keeps the last `retain_per_group` actions of each group (`0`
    /// keeps none).
    pub fn new(retain_per_group: usize) -> Self {
        Self {
            retain_per_group,
            groups: BTreeMap::new(),
            next_sequence: 0,
            len: 0,
        }
    }

    /// How many actions per group are kept.
    pub fn retain_per_group(&self) -> usize {
        self.retain_per_group
    }

    /// How many actions are recorded, over all groups.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no action is recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records `entry` as the newest action, then drops the group's oldest actions beyond
    /// the retention. Returns how many were dropped.
    pub fn push(&mut self, entry: HistoryEntry) -> usize {
        let address = entry.address.clone();
        self.insert(entry);
        self.trim(&address)
    }

    /// Appends `entry` without trimming.
    fn insert(&mut self, entry: HistoryEntry) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.len += 1;
        // Most groups have one or a few actions: room for one to start with, not the
        // four a new `VecDeque` takes at its first push.
        self.groups
            .entry(entry.address.clone())
            .or_insert_with(|| VecDeque::with_capacity(1))
            .push_back(Recorded { sequence, entry });
    }

    /// Drops the oldest actions of `address` beyond the retention.
    fn trim(&mut self, address: &Address) -> usize {
        let Some(group) = self.groups.get_mut(address) else {
            return 0;
        };
        let excess = group.len().saturating_sub(self.retain_per_group);
        group.drain(..excess);
        if group.is_empty() {
            self.groups.remove(address);
        }
        self.len -= excess;
        excess
    }

    /// Keeps the last `retain_per_group` actions of each group from now on, dropping older
    /// ones. Returns how many were dropped.
    pub fn compact(&mut self, retain_per_group: usize) -> usize {
        self.retain_per_group = retain_per_group;
        let addresses: Vec<Address> = self.groups.keys().cloned().collect();
        addresses.iter().map(|address| self.trim(address)).sum()
    }

    /// Every recorded action, newest first.
    pub fn newest_first(&self) -> NewestFirst<'_> {
        let mut groups: Vec<_> = self
            .groups
            .values()
            .map(|group| group.iter().rev().peekable())
            .collect();
        let mut heads = BinaryHeap::with_capacity(groups.len());
        for (index, group) in groups.iter_mut().enumerate() {
            if let Some(recorded) = group.peek() {
                heads.push((recorded.sequence, index));
            }
        }
        NewestFirst { groups, heads }
    }

    /// Whether `entry` is among the actions kept for its group.
    pub fn contains(&self, entry: &HistoryEntry) -> bool {
        self.for_address(&entry.address)
            .any(|recorded| recorded == entry)
    }

    /// The actions on `address`, newest first.
    pub fn for_address<'h>(
        &'h self,
        address: &Address,
    ) -> impl DoubleEndedIterator<Item = &'h HistoryEntry> + 'h {
        self.groups
            .get(address)
            .into_iter()
            .flat_map(|group| group.iter().rev().map(|recorded| &recorded.entry))
    }

    /// The actions recorded at or after `at`, newest first.
    pub fn since(&self, at: OffsetDateTime) -> impl Iterator<Item = &HistoryEntry> + '_ {
        self.newest_first()
            .filter(move |entry| entry.provenance.at >= at)
    }

    /// What `cityform history [ADDRESS] [--since TIME]` lists: the actions on `address` (all
    /// groups when `None`) recorded at or after `since` (all when `None`), newest first.
    pub fn select(
        &self,
        address: Option<&Address>,
        since: Option<OffsetDateTime>,
    ) -> Vec<&HistoryEntry> {
        let recent = |entry: &&HistoryEntry| since.is_none_or(|since| entry.provenance.at >= since);
        match address {
            Some(address) => self.for_address(address).filter(recent).collect(),
            None => self.newest_first().filter(recent).collect(),
        }
    }

    /// The newest action on `address`.
    pub fn latest(&self, address: &Address) -> Option<&HistoryEntry> {
        self.for_address(address).next()
    }

    /// The newest action that made `address`'s spec what a manifest declared
    /// ([`HistoryAction::applies_spec`]): what a plan quotes as "last applied from".
    pub fn last_applied(&self, address: &Address) -> Option<&HistoryEntry> {
        self.for_address(address)
            .find(|entry| entry.action.applies_spec())
    }
}

/// The iterator of [`History::newest_first`]: merges the groups by order of recording.
pub struct NewestFirst<'h> {
    groups:
        Vec<std::iter::Peekable<std::iter::Rev<std::collections::vec_deque::Iter<'h, Recorded>>>>,
    /// The sequence number of each group's next entry, and the group's index.
    heads: BinaryHeap<(u64, usize)>,
}

impl<'h> Iterator for NewestFirst<'h> {
    type Item = &'h HistoryEntry;

    fn next(&mut self) -> Option<Self::Item> {
        let (_, index) = self.heads.pop()?;
        let group = &mut self.groups[index];
        let recorded = group.next()?;
        if let Some(following) = group.peek() {
            self.heads.push((following.sequence, index));
        }
        Some(&recorded.entry)
    }
}

impl std::fmt::Debug for NewestFirst<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewestFirst")
            .field("remaining_groups", &self.heads.len())
            .finish()
    }
}

/// A `--since` value that is neither a time, a date nor a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a time: expected an RFC 3339 time (`2026-11-27T08:00:00Z`), a date (`2026-11-27`, midnight UTC) or a duration ago (`90m`, `24h`, `7d`, `2w`)"
)]
pub struct InvalidSince(pub String);

/// Reads a `--since` value: an RFC 3339 time, a date (midnight UTC), or a duration
/// (`30s`, `90m`, `24h`, `7d`, `2w`, as [`crate::duration`] reads it) before `now`.
pub fn parse_since(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, InvalidSince> {
    let trimmed = text.trim();
    let invalid = || InvalidSince(text.to_owned());
    if let Ok(at) = OffsetDateTime::parse(trimmed, &Rfc3339) {
        return Ok(at.to_offset(UtcOffset::UTC));
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(trimmed, &date_format) {
        return Ok(date.midnight().assume_utc());
    }
    let ago = crate::duration::parse_duration(trimmed).map_err(|_| invalid())?;
    let ago = Duration::try_from(ago).map_err(|_| invalid())?;
    now.to_offset(UtcOffset::UTC)
        .checked_sub(ago)
        .ok_or_else(invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::provenance::Actor;

    fn address(name: &str) -> Address {
        Address::new("cn-shanghai", "cityvisual-Instance", name)
    }

    fn entry(name: &str, action: HistoryAction, id: usize, minute: u8) -> HistoryEntry {
        HistoryEntry {
            address: address(name),
            action,
            job_group_id: format!("jg-{id}"),
            provenance: Provenance {
                commit: None,
                dirty: None,
                source: None,
                actor: Actor::User {
                    user: "alice".to_owned(),
                    host: "laptop".to_owned(),
                },
                at: datetime!(2026-11-27 08:00 UTC) + Duration::minutes(minute.into()),
                request_id: None,
                repository_url: None,
                forge: None,
            },
            moved: None,
        }
    }

    fn ids<'h>(entries: impl IntoIterator<Item = &'h HistoryEntry>) -> Vec<&'h str> {
        entries
            .into_iter()
            .map(|entry| entry.job_group_id.as_str())
            .collect()
    }

    fn sample() -> History {
        let mut history = History::default();
        history.push(entry("east", HistoryAction::Create, 1, 0));
        history.push(entry("west", HistoryAction::Create, 2, 1));
        history.push(entry("east", HistoryAction::Update, 3, 2));
        history.push(entry("east", HistoryAction::Stop, 4, 3));
        history.push(entry("west", HistoryAction::Delete, 5, 4));
        history
    }

    #[test]
    fn newest_first_across_and_within_groups() {
        let history = sample();
        assert_eq!(history.len(), 5);
        assert_eq!(
            ids(history.newest_first()),
            ["jg-5", "jg-4", "jg-3", "jg-2", "jg-1"]
        );
        assert_eq!(
            ids(history.for_address(&address("east"))),
            ["jg-4", "jg-3", "jg-1"]
        );
        assert_eq!(
            ids(history.for_address(&address("north"))),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn since_filters_by_time() {
        let history = sample();
        assert_eq!(
            ids(history.since(datetime!(2026-11-27 08:02 UTC))),
            ["jg-5", "jg-4", "jg-3"]
        );
        assert_eq!(
            ids(history.select(
                Some(&address("east")),
                Some(datetime!(2026-11-27 08:02 UTC))
            )),
            ["jg-4", "jg-3"]
        );
        assert_eq!(
            ids(history.select(None, None)),
            ["jg-5", "jg-4", "jg-3", "jg-2", "jg-1"]
        );
    }

    #[test]
    fn last_applied_skips_actions_that_apply_no_spec() {
        let history = sample();
        assert_eq!(
            history.latest(&address("east")).unwrap().job_group_id,
            "jg-4"
        );
        assert_eq!(
            history.last_applied(&address("east")).unwrap().job_group_id,
            "jg-3"
        );
        assert_eq!(
            history.last_applied(&address("west")).unwrap().job_group_id,
            "jg-2"
        );
        assert_eq!(history.last_applied(&address("north")), None);
    }

    #[test]
    fn retention_keeps_the_newest_of_each_group() {
        let mut history = History::new(2);
        assert_eq!(history.push(entry("east", HistoryAction::Create, 1, 0)), 0);
        assert_eq!(history.push(entry("west", HistoryAction::Create, 2, 1)), 0);
        assert_eq!(history.push(entry("east", HistoryAction::Update, 3, 2)), 0);
        assert_eq!(history.push(entry("east", HistoryAction::Update, 4, 3)), 1);
        assert_eq!(ids(history.newest_first()), ["jg-4", "jg-3", "jg-2"]);
        assert_eq!(history.compact(1), 1);
        assert_eq!(ids(history.newest_first()), ["jg-4", "jg-2"]);
        assert_eq!(history.len(), 2);
        assert_eq!(history.compact(0), 2);
        assert!(history.is_empty());
        assert_eq!(history.retain_per_group(), 0);
    }

    #[test]
    fn stored_oldest_first_and_read_back_whole() {
        let history = sample();
        let json = serde_json::to_value(&history).unwrap();
        assert_eq!(json["retain_per_group"], 1000);
        let stored: Vec<&str> = json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["job_group_id"].as_str().unwrap())
            .collect();
        assert_eq!(stored, ["jg-1", "jg-2", "jg-3", "jg-4", "jg-5"]);
        assert_eq!(json["entries"][0]["action"], "create");
        let read: History = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(read, history);

        let mut over = json;
        over["retain_per_group"] = 1.into();
        let mut read: History = serde_json::from_value(over).unwrap();
        assert_eq!(read.len(), 5, "reading drops nothing");
        assert_eq!(read.compact(1), 3);
    }

    #[test]
    fn stored_history_refuses_unknown_fields_and_actions() {
        let mut json = serde_json::to_value(sample()).unwrap();
        json["entries"][0]["action"] = "rename".into();
        assert!(serde_json::from_value::<History>(json).is_err());
        let json = serde_json::json!({"retain_per_group": 1, "entries": [], "extra": 1});
        assert!(serde_json::from_value::<History>(json).is_err());
    }

    #[test]
    fn only_a_move_carries_its_addresses() {
        let plain = serde_json::to_value(entry("east", HistoryAction::Forget, 1, 0)).unwrap();
        assert!(plain.get("moved").is_none(), "{plain}");
        assert!(!HistoryAction::Forget.applies_spec());
        assert!(!HistoryAction::Move.applies_spec());

        let moved = HistoryEntry {
            moved: Some(Moved {
                from: address("east"),
                to: address("north"),
            }),
            ..entry("north", HistoryAction::Move, 1, 0)
        };
        let json = serde_json::to_value(&moved).unwrap();
        assert_eq!(
            json["moved"],
            serde_json::json!({
                "from": "cn-shanghai/cityvisual-Instance/east",
                "to": "cn-shanghai/cityvisual-Instance/north",
            })
        );
        assert_eq!(
            serde_json::from_value::<HistoryEntry>(json.clone()).unwrap(),
            moved
        );
        let mut extra = json;
        extra["moved"]["by"] = "x".into();
        assert!(serde_json::from_value::<HistoryEntry>(extra).is_err());
    }

    #[test]
    fn action_names_round_trip() {
        for action in HistoryAction::ALL {
            assert_eq!(action.as_str().parse::<HistoryAction>(), Ok(action));
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::Value::from(action.as_str())
            );
        }
        let error = "rename".parse::<HistoryAction>().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`rename` is not a recorded action")
        );
    }

    #[test]
    fn since_accepts_times_dates_and_durations() {
        let now = datetime!(2026-11-27 08:00 UTC);
        assert_eq!(
            parse_since("2026-11-26T10:00:00+02:00", now),
            Ok(datetime!(2026-11-26 08:00 UTC))
        );
        assert_eq!(
            parse_since("2026-11-20", now),
            Ok(datetime!(2026-11-20 00:00 UTC))
        );
        assert_eq!(parse_since("90m", now), Ok(datetime!(2026-11-27 06:30 UTC)));
        assert_eq!(parse_since("24h", now), Ok(datetime!(2026-11-26 08:00 UTC)));
        assert_eq!(
            parse_since(" 7d ", now),
            Ok(datetime!(2026-11-20 08:00 UTC))
        );
        assert_eq!(parse_since("2w", now), Ok(datetime!(2026-11-13 08:00 UTC)));
        assert_eq!(
            parse_since("30s", now),
            Ok(datetime!(2026-11-27 07:59:30 UTC))
        );
        // The grammar of every duration flag: combinations, long names, bare seconds.
        assert_eq!(
            parse_since("1h30m", now),
            Ok(datetime!(2026-11-27 06:30 UTC))
        );
        assert_eq!(
            parse_since("7 days", now),
            Ok(datetime!(2026-11-20 08:00 UTC))
        );
        assert_eq!(
            parse_since("7", now),
            Ok(datetime!(2026-11-27 07:59:53 UTC))
        );
        for bad in [
            "",
            "yesterday",
            "d",
            "-7d",
            "99999999999999999999d",
            "9999999999999999d",
            "2026-13-01",
        ] {
            let error = parse_since(bad, now).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("`{bad}` is not a time")),
                "{error}"
            );
        }
    }

    /// A push: which of three groups, and which action.
    fn pushes() -> impl Strategy<Value = Vec<(u8, usize)>> {
        prop::collection::vec((0u8..3, 0usize..HistoryAction::ALL.len()), 0..60)
    }

    fn fill(retain: usize, pushes: &[(u8, usize)]) -> History {
        let mut history = History::new(retain);
        for (index, (group, action)) in pushes.iter().enumerate() {
            history.push(entry(
                &format!("group-{group}"),
                HistoryAction::ALL[*action],
                index,
                0,
            ));
        }
        history
    }

    proptest! {
        #[test]
        fn retention_drops_nothing_within_the_limit_and_keeps_order(
            retain in 0usize..6,
            pushes in pushes(),
        ) {
            let history = fill(retain, &pushes);
            let mut expected_newest_first = Vec::new();
            for group in 0u8..3 {
                let pushed: Vec<String> = pushes
                    .iter()
                    .enumerate()
                    .filter(|(_, (pushed_group, _))| *pushed_group == group)
                    .map(|(index, _)| format!("jg-{index}"))
                    .collect();
                let kept: Vec<String> = pushed.iter().rev().take(retain).cloned().collect();
                let address = address(&format!("group-{group}"));
                let actual: Vec<String> = history
                    .for_address(&address)
                    .map(|entry| entry.job_group_id.clone())
                    .collect();
                prop_assert_eq!(&actual, &kept);
                expected_newest_first.extend(kept);
            }
            // Across groups: every kept entry, in reverse order of recording.
            expected_newest_first.sort_by_key(|id| std::cmp::Reverse(id[3..].parse::<usize>().unwrap()));
            let actual: Vec<String> = history
                .newest_first()
                .map(|entry| entry.job_group_id.clone())
                .collect();
            prop_assert_eq!(&actual, &expected_newest_first);
            prop_assert_eq!(history.len(), actual.len());
        }

        #[test]
        fn compaction_is_idempotent_and_a_larger_limit_drops_nothing(
            retain in 0usize..6,
            larger in 0usize..4,
            pushes in pushes(),
        ) {
            let mut history = fill(retain, &pushes);
            let before = history.clone();
            prop_assert_eq!(history.compact(retain + larger), 0);
            prop_assert_eq!(
                history.newest_first().collect::<Vec<_>>(),
                before.newest_first().collect::<Vec<_>>()
            );
            let mut smaller = history.clone();
            let dropped = smaller.compact(retain / 2);
            prop_assert_eq!(smaller.len() + dropped, history.len());
            prop_assert_eq!(smaller.compact(retain / 2), 0);
        }

        #[test]
        fn storage_round_trips(retain in 0usize..6, pushes in pushes()) {
            let history = fill(retain, &pushes);
            let text = serde_json::to_string(&history).unwrap();
            let read: History = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(
                read.newest_first().collect::<Vec<_>>(),
                history.newest_first().collect::<Vec<_>>()
            );
            prop_assert_eq!(read.retain_per_group(), history.retain_per_group());
        }
    }
}
