//! Every sample's Teams card against Adaptive Cards 1.5 as Microsoft's own library reads it
//! (`scripts/check-cards`, Node.js with the npm package adaptivecards from `make cards`), and
//! drawn by that library's renderer in headless Chromium (`scripts/preview-teams --check`): no
//! renderer or console error, every title shown, nothing cut or overflowing. Each check is shown
//! to catch what it is for. And the committed pictures are of today's cards.
//!
//! Without Node.js and the packages (`make cards`), or without chromium, these checks pass
//! without running and say so in one line; with `REQUIRE_BROWSER=1` (as `.ci/run` sets) they
//! fail instead.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Once;

use serde_json::{json, Value};

use crate::preview::browser;
use crate::support::{root, sample_paths};

/// `render --teams` of `files` (with the recorded enrichment), one JSON document per line.
fn render(files: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-notifier"))
        .current_dir(root())
        .args(["render", "--teams", "--enrichment", "events/enrichment"])
        .args(files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every sample, and the incident's files (its grouped card), relative to the root.
fn samples() -> Vec<String> {
    let prefix = format!("{}/", root().display());
    let mut files: Vec<String> = sample_paths()
        .iter()
        .map(|p| p.strip_prefix(&prefix).unwrap_or(p).to_string())
        .collect();
    let mut incident: Vec<String> = std::fs::read_dir(root().join("events/incident"))
        .unwrap()
        .map(|e| {
            format!(
                "events/incident/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    incident.sort();
    files.extend(incident);
    files
}

fn required() -> bool {
    std::env::var("REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Node.js with the packages of `make cards`, or `None` (said once) when they are missing and
/// not required.
fn cards_tools() -> Option<PathBuf> {
    let dir = root().join(".tools");
    let node = Command::new("node").arg("--version").output();
    let ok = node.is_ok_and(|o| o.status.success())
        && dir
            .join("node_modules/adaptivecards/dist/adaptivecards.js")
            .is_file()
        && dir
            .join("node_modules/markdown-it/dist/markdown-it.min.js")
            .is_file();
    if ok {
        return Some(dir);
    }
    assert!(
        !required(),
        "REQUIRE_BROWSER is set and Node.js or the npm packages adaptivecards and markdown-it \
         are missing in {}: make cards",
        dir.display()
    );
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        let line = "Teams card checks skipped: no Node.js or no .tools/node_modules (make cards)\n";
        let _ = std::io::stderr().write_all(line.as_bytes());
    });
    None
}

/// `scripts/check-cards` on `lines`: whether every card passed, and what it said.
fn check_cards(lines: &str) -> (bool, String) {
    let mut child = Command::new("node")
        .arg(root().join("scripts/check-cards"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A broken card: its name, the edit that breaks it, what the check says of it.
type Case = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);

/// `lines` with `edit` applied to the card of `file`.
fn edited(lines: &str, file: &str, edit: impl Fn(&mut Value)) -> String {
    lines
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["file"] == file {
                edit(&mut v["teams"]["attachments"][0]["content"]);
            }
            v.to_string() + "\n"
        })
        .collect()
}

#[test]
fn every_sample_card_is_an_adaptive_card_1_5() {
    if cards_tools().is_none() {
        return;
    }
    let lines = render(&samples());
    let (ok, said) = check_cards(&lines);
    assert!(ok, "{said}");
    let cards = lines.lines().filter(|l| l.contains("\"teams\":{")).count();
    assert!(cards >= 40, "{cards} cards");
    assert!(
        said.contains(&format!("{cards} card(s) read as Adaptive Card 1.5")),
        "{said}"
    );
    assert!(said.contains(": 0 invalid"), "{said}");
}

#[test]
fn the_card_check_catches_what_1_5_does_not_have() {
    if cards_tools().is_none() {
        return;
    }
    let lines = render(&["events/task-oom.json".to_string()]);
    assert!(check_cards(&lines).0, "the sample passes");
    let cases: Vec<Case> = vec![
        (
            "version",
            Box::new(|c| c["version"] = json!("1.6")),
            "not an Adaptive Card 1.5",
        ),
        (
            "unknown element",
            Box::new(|c| {
                c["body"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "Carousel"}))
            }),
            "Unknown element type \"Carousel\"",
        ),
        (
            "a value a property does not take",
            Box::new(|c| c["body"][0]["style"] = json!("danger")),
            "Invalid value \"danger\"",
        ),
        (
            "a property 1.5 does not have",
            Box::new(|c| c["body"][1]["colour"] = json!("red")),
            "body[1].colour",
        ),
        (
            "a mention the text does not hold",
            Box::new(|c| {
                c["msteams"]["entities"] = json!([{"type": "mention", "text": "<at>x@y.com</at>",
                    "mentioned": {"id": "x@y.com", "name": "x@y.com"}}])
            }),
            "is no mention the card's text holds",
        ),
    ];
    for (case, edit, says) in cases {
        let (ok, said) = check_cards(&edited(&lines, "task-oom.json", edit));
        assert!(!ok && said.contains(says), "{case}: {said}");
    }
}

/// `scripts/preview-teams --check` on `lines`: whether the page passed, and what it said.
fn check_page(chromium: &std::path::Path, case: &str, lines: &str) -> (bool, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("teams-cards-{case}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cards.jsonl");
    std::fs::write(&file, lines).unwrap();
    let out = Command::new(root().join(".venv/bin/python"))
        .env("CHROMIUM", chromium)
        .env("TMPDIR", &dir)
        .arg(root().join("scripts/preview-teams"))
        .arg("--check")
        .arg(&file)
        .output()
        .expect("python runs (make tools installs playwright)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_card_renders_in_a_browser() {
    let Some(chromium) = browser() else { return };
    if cards_tools().is_none() {
        return;
    }
    let lines = render(&samples());
    let cards = lines.lines().filter(|l| l.contains("\"teams\":{")).count();
    let (ok, said) = check_page(&chromium, "samples", &lines);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("rendered: {cards} card(s)")),
        "{said}"
    );
}

#[test]
fn the_browser_check_catches_an_error_a_hidden_title_and_overflow() {
    let Some(chromium) = browser() else { return };
    if cards_tools().is_none() {
        return;
    }
    let lines = render(&["events/task-oom.json".to_string()]);
    assert!(check_page(&chromium, "oom", &lines).0);
    let cases: Vec<Case> = vec![
        (
            "renderer error",
            Box::new(|c| {
                c["body"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "Bogus"}))
            }),
            "Unknown element type",
        ),
        (
            "hidden title",
            Box::new(|c| c["body"][0]["isVisible"] = json!(false)),
            "does not show its title",
        ),
        (
            "overflow",
            Box::new(|c| {
                let wide = json!({"type": "Action.OpenUrl", "title": "x".repeat(200), "url": "https://docs.aws.amazon.com/"});
                c["actions"].as_array_mut().unwrap().push(wide)
            }),
            "reaches outside its card",
        ),
    ];
    for (case, edit, says) in cases {
        let (ok, said) = check_page(
            &chromium,
            case.replace(' ', "-").as_str(),
            &edited(&lines, "task-oom.json", edit),
        );
        assert!(!ok && said.contains(says), "{case}: {said}");
    }
}

#[test]
fn the_committed_cards_are_what_render_gives_today() {
    let files: Vec<String> = samples()
        .into_iter()
        .filter(|f| !f.starts_with("events/incident/"))
        .collect();
    let lines = render(&files);
    let committed =
        std::fs::read_to_string(root().join("docs/alerts/teams/cards.jsonl")).unwrap_or_default();
    assert!(
        lines == committed,
        "docs/alerts/teams/ is out of date: run make preview"
    );
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["teams"].is_object() {
            // As scripts/preview-teams names them.
            let file = v["file"].as_str().unwrap();
            let stem = file.strip_suffix(".json").unwrap_or(file);
            let stem = stem.replace(' ', "-").replace(['[', ']'], "");
            let png = root().join("docs/alerts/teams").join(format!("{stem}.png"));
            assert!(png.is_file(), "{}: run make preview", png.display());
        }
    }
}

#[test]
fn render_teams_prints_each_events_message_and_refuses_other_formats() {
    let lines = render(&[
        "events/task-oom.json".to_string(),
        "events/task-deployment-replaced.json".to_string(),
    ]);
    let docs: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{lines}");
    assert_eq!(docs[0]["file"], "task-oom.json");
    assert_eq!(docs[0]["teams"]["type"], "message");
    let card = &docs[0]["teams"]["attachments"][0]["content"];
    assert_eq!(card["version"], "1.5");
    assert!(docs[1]["teams"].is_null(), "deploy churn posts nothing");
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-notifier"))
        .args(["render", "--teams", "--json", "events/task-oom.json"])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'--teams' cannot be used with '--json'"));
}
