//! The `render` command as a shell user meets it: a closed pipe ends it quietly, and it reads
//! the NOTIFY_* settings with the function's own parser.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::sample_paths as samples;

fn render(args: &[&str], env: &[(&str, &str)]) -> Command {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-notifier"));
    command.current_dir(root).arg("render").args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

#[test]
fn a_closed_pipe_ends_render_quietly() {
    let files = samples();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let mut child = render(&args, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the first lines, as `head` does, then close the pipe; the rest (tens of KiB, more
    // than a pipe holds) can no longer be written.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 256];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&first).starts_with("━━ "));
}

#[test]
fn render_reads_settings_as_the_function_does() {
    let success = concat!(env!("CARGO_MANIFEST_DIR"), "/events/task-job-success.json");
    // `yes` and `on` are true for the function; so for render.
    for yes in ["true", "1", "yes", "on", "ON"] {
        let out = render(&[success], &[("NOTIFY_ON_SUCCESS", yes)])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{yes}");
        assert!(
            text.contains("✅ Completed: invoice-export"),
            "{yes}: {text}"
        );
    }
    let out = render(&[success], &[("NOTIFY_ON_SUCCESS", "off")])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("✅ Completed"));
    let out = render(&[success], &[("NOTIFY_ON_SUCCESS", "bogus")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NOTIFY_ON_SUCCESS must be true or false")
    );
}

/// `render --json` of every sample, without and with the recorded enrichment, is what
/// tests/expected/render/ holds: what the function posts and sends for each, to the byte, so a
/// change of the code's shape that changes a message or a payload is caught. With
/// `UPDATE_RENDER=1` the files are written anew (for a change of behaviour, reviewed in its diff).
#[test]
fn render_json_of_every_sample_is_the_recorded_output() {
    let files = samples();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expected/render");
    for (file, extra) in [
        ("plain.jsonl", vec![]),
        ("enriched.jsonl", vec!["--enrichment", "events/enrichment"]),
    ] {
        let mut all = vec!["--json"];
        all.extend(extra);
        all.extend(&args);
        let out = render(&all, &[]).output().unwrap();
        assert!(out.status.success(), "{file}");
        let path = dir.join(file);
        if std::env::var_os("UPDATE_RENDER").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
        }
        let recorded = std::fs::read(&path).unwrap_or_default();
        let lines = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let (got, want) = (lines(&out.stdout), lines(&recorded));
        assert!(got.len() >= 60, "{file}: {} lines", got.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g == w,
                "{file} line {}: render gives\n{g}\nrecorded\n{w}",
                i + 1
            );
        }
        assert_eq!(got.len(), want.len(), "{file}: as many lines as recorded");
    }
}
