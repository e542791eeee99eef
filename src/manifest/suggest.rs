//! "Did you mean ...?": the closest known name to a misspelt one.

/// The candidate closest to `given`, when one is close enough to be worth suggesting.
///
/// A candidate that differs only in case always wins; otherwise the best Jaro–Winkler
/// similarity of at least 0.8 (the threshold that catches one or two wrong, missing or
/// swapped letters without suggesting unrelated words).
pub(crate) fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if let Some(same) = candidates
        .iter()
        .find(|candidate| candidate.eq_ignore_ascii_case(given))
    {
        return Some(same);
    }
    let given = given.to_ascii_lowercase();
    candidates
        .iter()
        .map(|candidate| {
            let score = strsim::jaro_winkler(&given, &candidate.to_ascii_lowercase());
            (score, *candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|left, right| left.0.total_cmp(&right.0))
        .map(|(_, candidate)| candidate)
}

/// `` `a`, `b` and `c` ``: names for a hint.
pub(crate) fn list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => format!("`{only}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|name| format!("`{name}`")).collect();
            format!("{} and `{last}`", init.join(", "))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::format::{Kind, Part};
    use super::*;

    #[test]
    fn suggests_the_field_a_typo_came_from() {
        let spec = Part::Spec.names(Kind::JobGroup);
        assert_eq!(closest("planedJobCont", &spec), Some("planedJobCount"));
        assert_eq!(closest("plannedJobCount", &spec), Some("planedJobCount"));
        assert_eq!(closest("streamsPerJob", &spec), Some("streamPerJob"));
        assert_eq!(closest("regionID", &spec), Some("regionId"));
        assert_eq!(closest("param", &spec), Some("params"));
        assert_eq!(closest("jobcount", &spec), Some("jobCount"));
    }

    #[test]
    fn suggests_nothing_for_unrelated_words() {
        let spec = Part::Spec.names(Kind::JobGroup);
        assert_eq!(closest("colour", &spec), None);
        assert_eq!(closest("x", &spec), None);
        assert_eq!(closest("lifecycle", &spec), None);
    }

    #[test]
    fn lists_names_for_hints() {
        assert_eq!(list(&[]), "");
        assert_eq!(list(&["a"]), "`a`");
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
