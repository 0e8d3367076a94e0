//! Every alert pictured in the README is what the renderer produces today.

use std::path::Path;

use chrono::Utc;
use ecs_notifier::cli::load_enrichment;
use ecs_notifier::judge::jobs::missed_run;
use ecs_notifier::judge::{judge, Options};
use ecs_notifier::sinks::slack::preview::preview;
use ecs_notifier::source::{events, Event};

#[test]
fn readme_alerts_match_the_renderer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let open = "<!-- alert:";
    let mut pictured = 0;
    for (at, _) in readme.match_indices(open) {
        let rest = &readme[at + open.len()..];
        let name = &rest[..rest.find(" -->").unwrap()];
        let body_start = rest.find("````text\n").unwrap() + "````text\n".len();
        let body_end = rest.find("\n````\n<!-- /alert -->").unwrap();
        let shown = &rest[body_start..body_end];

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
        let rendered = preview(&planned.slack.unwrap());
        assert_eq!(
            shown, rendered,
            "{name}: run scripts/readme-alerts to refresh the README"
        );
        pictured += 1;
    }
    assert!(pictured >= 6, "{pictured} alerts pictured");
}
