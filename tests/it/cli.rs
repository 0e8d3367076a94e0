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

/// The binary with `args`, outside Lambda whatever the host's environment holds.
fn binary(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecs-notifier"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .output()
        .unwrap()
}

#[test]
fn help_and_version_name_every_option_and_exit_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["render", "--help"],
        &["render", "-h"],
    ] {
        let out = binary(args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        for option in ["render", "--json", "--html", "--enrichment", "FILE"] {
            assert!(text.contains(option), "{args:?} names {option}:\n{text}");
        }
        assert!(out.stderr.is_empty(), "{args:?}");
    }
    let out = binary(&["render", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for setting in [
        "NOTIFY_ON_SUCCESS",
        "NOTIFY_ON_STOP_TIMEOUT",
        "GROUP_WINDOW_SECONDS",
    ] {
        assert!(
            text.contains(setting),
            "render --help names {setting}:\n{text}"
        );
    }
    for args in [&["--version"][..], &["-V"]] {
        let out = binary(args);
        assert!(out.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("ecs-notifier {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// Each mistake is refused by one clear line on stderr, naming what was wrong, with a hint;
/// the status is non-zero, nothing is rendered and nothing panics.
#[test]
fn mistakes_are_refused_in_one_clear_line() {
    let oom = "events/task-oom.json";
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["render", "--jsn", oom],
            &["'--jsn'", "'--json'", "render --help"],
        ),
        (&["render", oom, "--htm"], &["'--htm'", "'--html'"]),
        (
            &["render", "no-such-event.json"],
            &["no-such-event.json", "No such file"],
        ),
        (
            &["render", "--enrichment", "no-such-dir", oom],
            &["'no-such-dir'", "--enrichment", "no such directory"],
        ),
        (
            &["render", "--enrichment", "README.md", oom],
            &["'README.md'", "not a directory"],
        ),
        (&["render"], &["<FILE>", "render --help"]),
        (
            &[],
            &["no command", "AWS_LAMBDA_RUNTIME_API", "render", "--help"],
        ),
    ];
    for (args, named) in cases {
        let out = binary(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} is refused");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.starts_with("ecs-notifier"), "{args:?}: {stderr}");
        for word in named {
            assert!(stderr.contains(word), "{args:?} says {word}: {stderr}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: nothing rendered");
    }
    // A usage error is status 2; a file that cannot be read, 1, as before.
    assert_eq!(binary(&["render", "--jsn", oom]).status.code(), Some(2));
    assert_eq!(binary(&[]).status.code(), Some(2));
    assert_eq!(
        binary(&["render", "no-such-event.json"]).status.code(),
        Some(1)
    );
}

/// A file that holds no event the function reads is said so, naming the field where there is
/// one, and the status is 1; an ECS event of a kind it does not know is not a mistake (it is
/// rendered as ignored, status 0).
#[test]
fn files_that_hold_no_event_exit_1_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("ecs-notifier-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, body).expect("write");
        path.display().to_string()
    };
    let list = write("list.json", "[1, 2]");
    let time = write(
        "time.json",
        r#"{"source":"aws.ecs","detail-type":"ECS Task State Change","time":"soon","detail":{}}"#,
    );
    let other = write(
        "other.json",
        r#"{"source":"aws.ecs","detail-type":"ECS Something New","detail":{}}"#,
    );
    for (file, says) in [(&list, "a list"), (&time, "`time`")] {
        let out = binary(&["render", file]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{file}: {stdout}");
        assert!(
            stdout.contains("skipped:") && stdout.contains(says),
            "{stdout}"
        );
    }
    let out = binary(&["render", &other]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ignored"));
    // One unreadable file among good ones: every file rendered, and the status says it.
    let out = binary(&["render", "events/task-oom.json", &list]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Out of memory"));
    std::fs::remove_dir_all(&dir).ok();
}

/// An event as ECS might send it one day: an exit code written as a string, a stop time in
/// epoch seconds, a pull time in epoch milliseconds, an element of the wrong shape and fields
/// nobody knows. It is judged for what it means; each coercion and drop is a warning, and the
/// unknown fields are ignored silently.
#[test]
fn render_reads_odd_fields_and_warns_of_each() {
    let file = "tests/input/task-exit-lenient.json";
    let out = render(&[file], &[]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(
        warned,
        [
            "warning: detail.containers[0].exitCode: \"1\" read as 1",
            "warning: detail.containers[2]: not an object (\"log_router_v2\"), dropped",
            "warning: detail.pullStoppedAt: epoch milliseconds 1795140033592 read as 2026-11-20T02:00:33.592Z",
            "warning: detail.stoppedAt: epoch seconds 1795140470 read as 2026-11-20T02:07:50Z",
        ]
    );
    assert!(
        text.contains("verdict: task · failure · exit_nonzero (exit_1) · nightly-report"),
        "{text}"
    );
    assert!(text.contains("• `app` exited 1\n"), "{text}");
    assert!(text.contains("stopped 2026-11-20 02:07:50 UTC"), "{text}");
    assert!(text.contains("pulled 9.0s"), "{text}");

    let out = render(&["--json", file], &[]).output().unwrap();
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["warnings"].as_array().map(Vec::len), Some(4), "{line}");
    assert_eq!(
        line["warnings"][0],
        "detail.containers[0].exitCode: \"1\" read as 1"
    );
    assert_eq!(line["cause"], "exit_nonzero");
}

/// The verdict line leaves empty fields out, and names the catalogue entry of a stopped task.
#[test]
fn the_verdict_line_has_no_empty_fields() {
    let out = render(
        &[
            "events/cloudtrail-runtask-launched.json",
            "events/task-image-pull.json",
        ],
        &[],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let verdicts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("verdict: "))
        .collect();
    assert_eq!(
        verdicts,
        [
            "verdict: run_task · launched · monthly-report",
            "verdict: task · failure · image_pull (pull_tag_not_found) · report-generator",
        ]
    );
    let all = samples();
    let args: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = render(&args, &[]).output().unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if line.starts_with("verdict: ") {
            assert!(!line.contains("·  ·") && !line.ends_with(' '), "{line}");
        }
        // The samples are read without a warning.
        assert!(!line.starts_with("warning: "), "{line}");
    }
}

/// docs/command-line.md names every option `render --help` lists, and every exit status the
/// help gives.
#[test]
fn the_command_line_doc_names_every_option() {
    let help = String::from_utf8(binary(&["render", "--help"]).stdout).expect("utf-8");
    let doc = std::fs::read_to_string("docs/command-line.md").expect("docs/command-line.md");
    let options: Vec<&str> = help
        .split_whitespace()
        .filter(|word| word.starts_with("--"))
        .map(|word| word.trim_end_matches([',', '.', ')']))
        .collect();
    assert!(options.len() >= 4, "{options:?}");
    for option in options {
        assert!(
            doc.contains(&format!("`{option}")),
            "docs/command-line.md: {option}"
        );
    }
    for status in ["| 0 |", "| 1 |", "| 2 |"] {
        assert!(
            doc.contains(status),
            "docs/command-line.md: exit status {status}"
        );
    }
}
