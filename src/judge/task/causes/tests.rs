//! The catalogue's own rules: ids a Datadog tag can carry, an AWS page for every entry, a fix
//! that names the object only where there is one, and an order in which nothing is shadowed by
//! a catch-all.

use std::collections::HashSet;

use super::*;

#[test]
fn ids_are_unique_short_snake_case() {
    let mut seen = HashSet::new();
    for entry in catalogue() {
        assert!(seen.insert(entry.id), "{} twice", entry.id);
        assert!(entry.id.len() <= 40, "{}", entry.id);
        assert!(
            entry
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{}",
            entry.id
        );
    }
    assert!(seen.len() >= 50, "{} entries", seen.len());
}

#[test]
fn every_entry_has_a_page_an_example_and_where_it_is_printed() {
    for entry in catalogue() {
        assert!(
            entry.page.starts_with("https://docs.aws.amazon.com/")
                || entry
                    .page
                    .starts_with("https://repost.aws/knowledge-center/"),
            "{}: {}",
            entry.id,
            entry.page
        );
        assert!(!entry.example.is_empty(), "{}", entry.id);
        assert!(
            entry.source.starts_with("https://") || entry.source.starts_with("assumed: "),
            "{}: {}",
            entry.id,
            entry.source
        );
        assert!(
            !entry.meaning.is_empty() && !entry.fix.is_empty(),
            "{}",
            entry.id
        );
        // Fragments are matched against lower-cased text.
        for fragment in entry.on.all.iter().chain(entry.on.any).chain(entry.on.none) {
            assert_eq!(*fragment, fragment.to_lowercase(), "{}", entry.id);
        }
    }
}

#[test]
fn a_fix_has_a_place_for_the_object_only_when_there_is_one() {
    for entry in catalogue() {
        if entry.fix.contains("{}") {
            assert!(entry.object.is_some(), "{}", entry.id);
        }
    }
}

#[test]
fn the_catalogue_ends_with_its_catch_all() {
    let last = catalogue().last().unwrap();
    assert_eq!(last.id, "unrecognised");
    assert!(!last.on.has_text() && last.on.fact.is_none() && last.on.stop_code.is_none());
    assert_eq!(catalogue::LAST.id, last.id);
}

#[test]
fn a_family_catch_all_comes_after_every_specific_entry_of_its_family() {
    let position = |id: &str| catalogue().position(|e| e.id == id).unwrap();
    for (catch_all, family) in [
        ("pull_other", Cause::ImagePull),
        ("init_other", Cause::ResourceInitialization),
        ("start_other", Cause::StartFailure),
    ] {
        let at = position(catch_all);
        for (i, entry) in catalogue().enumerate() {
            if entry.family == family && entry.on.field == Field::Reason && entry.on.has_text() {
                assert!(i <= at, "{} after {catch_all}", entry.id);
            }
        }
    }
}

#[test]
fn the_fix_names_the_object_or_its_noun() {
    let entry = entry("log_group_not_found").unwrap();
    let mut explanation = Explanation {
        entry,
        container: None,
        message: None,
        object: Some("/ecs/orders".into()),
    };
    assert!(
        explanation
            .fix()
            .starts_with("Create the log group /ecs/orders in the Region"),
        "{}",
        explanation.fix()
    );
    explanation.object = None;
    assert!(explanation
        .fix()
        .starts_with("Create the log group in the Region"));
}
