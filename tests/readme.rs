//! The alert pictured in the README is what the renderer produces today.

use std::path::Path;

use chrono::Utc;
use ecs_notifier::enrichment::Enrichment;
use ecs_notifier::event::decode;
use ecs_notifier::plan::{plan, Options};
use ecs_notifier::slack::preview::preview;

#[test]
fn readme_alert_matches_the_renderer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = "<!-- alert:task-oom.json -->\n````text\n";
    let begin = readme.find(start).expect("README pictures the OOM alert") + start.len();
    let end = begin + readme[begin..].find("\n````\n<!-- /alert -->").unwrap();
    let pictured = &readme[begin..end];

    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("events/task-oom.json")).unwrap())
            .unwrap();
    let planned = plan(
        &decode(&event).unwrap(),
        &Enrichment::default(),
        &Options::default(),
        Utc::now(),
    );
    let rendered = preview(&planned.slack.unwrap());
    assert_eq!(
        pictured, rendered,
        "regenerate the README picture with `make demo`"
    );
}
