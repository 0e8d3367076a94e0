//! Every alert pictured in the README and in docs/ is what the renderer produces today.

use crate::support;
use std::path::Path;

use chrono::Utc;
use ecs_notifier::cli::{load_enrichment, render_value, Format, Ledger};
use ecs_notifier::judge::jobs::missed_run;
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options};
use ecs_notifier::sinks::slack::preview::preview;
use ecs_notifier::source::{events, Event};

#[test]
fn readme_alerts_match_the_renderer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md")];
    let mut more: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    let mut pictured = 0;
    for doc in &docs {
        pictured += check_pictures(root, &std::fs::read_to_string(doc).unwrap());
    }
    assert!(pictured >= 6, "{pictured} alerts pictured");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("<!-- alert:"), "the README shows an alert");
}

/// Checks every picture in `text`; how many there were.
fn check_pictures(root: &Path, readme: &str) -> usize {
    let open = "<!-- alert:";
    let mut pictured = 0;
    for (at, _) in readme.match_indices(open) {
        let rest = &readme[at + open.len()..];
        let name = &rest[..rest.find(" -->").unwrap()];
        let body_start = rest.find("````text\n").unwrap() + "````text\n".len();
        let body_end = rest.find("\n````\n<!-- /alert -->").unwrap();
        let shown = &rest[body_start..body_end];

        let folder = root.join("events").join(name);
        if folder.is_dir() {
            // An incident: its files through one ledger, as `render` runs them; the grouped
            // message as it stands after the last.
            let rendered = incident(&folder);
            assert_eq!(
                shown, rendered,
                "{name}: run scripts/doc-alerts to refresh the pictures"
            );
            pictured += 1;
            continue;
        }
        let text = std::fs::read_to_string(root.join("events").join(name)).unwrap();
        let (_, event) = events(&serde_json::from_str(&text).unwrap()).remove(0);
        let event = event.unwrap();
        let dir = root.join("events/enrichment");
        let enrichment = load_enrichment(dir.to_str(), name).unwrap();
        let planned = match &event {
            // A check pictures its first missed-run alert, from the recorded jobs.
            Event::Check(envelope) => {
                missed_run::plan(enrichment.jobs.clone(), envelope.time.unwrap())
                    .0
                    .remove(0)
            }
            _ => judge(&event, &enrichment, &Options::default(), Utc::now()),
        };
        let rendered = preview(&support::slack(&planned).unwrap());
        assert_eq!(
            shown, rendered,
            "{name}: run scripts/doc-alerts to refresh the pictures"
        );
        pictured += 1;
    }
    pictured
}

/// The grouped message of the incident whose events are the files of `folder`, in order.
fn incident(folder: &Path) -> String {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let grouping = ecs_notifier::cli::grouping_from_env().unwrap();
    assert!(grouping.is_some(), "grouping on by default");
    let mut ledger = Ledger::new(grouping);
    for file in &files {
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        render_value(
            "incident",
            &value,
            &Enrichment::default(),
            &Options::default(),
            Format::Text,
            &mut ledger,
        );
    }
    let grouped = ledger.grouped();
    assert_eq!(grouped.len(), 1, "one incident");
    preview(&grouped[0].1)
}
