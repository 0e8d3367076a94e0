//! `render --html` in a real browser: the page of every sample's Slack message, opened in
//! headless Chromium (Debian's, driven by Playwright through `scripts/preview --check`), logs no
//! console error, shows each message's title, and no text overflows its block. And the check
//! shown to catch an overflow and a missing title.
//!
//! The browser is `CHROMIUM`, else `/usr/bin/chromium` (what `make test` installs with apt when
//! it can). Where it is missing, the two browser checks pass without running and say so in one
//! line, once; with `REQUIRE_BROWSER=1` (as `.ci/run` sets) they fail instead.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use serde_json::Value;

use crate::support::{root, sample_paths as samples};

fn render(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ecs-notifier"))
        .current_dir(root())
        .arg("render")
        .args(["--enrichment", "events/enrichment"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Each message's title, as its header block says it (the emoji shortcode left out).
fn titles(files: &[&str]) -> serde_json::Map<String, Value> {
    render(&[&["--json"], files].concat())
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| {
            let header = v["slack"]["blocks"]
                .as_array()?
                .iter()
                .find(|b| b["type"] == "header")?["text"]["text"]
                .as_str()?
                .to_string();
            // `:red_circle: Out of memory: x` shows as `🔴 Out of memory: x`.
            let title = header
                .strip_prefix(':')
                .and_then(|rest| rest.split_once(": "))
                .filter(|(code, _)| !code.contains(' '))
                .map_or(header.as_str(), |(_, title)| title);
            Some((v["file"].as_str()?.to_string(), Value::from(title)))
        })
        .collect()
}

/// The browser to drive, or `None` (said once, in one line) when it is missing and not required.
pub(crate) fn browser() -> Option<PathBuf> {
    let chromium = std::env::var_os("CHROMIUM")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if runnable(&chromium) {
        return Some(chromium);
    }
    let required = std::env::var("REQUIRE_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "REQUIRE_BROWSER={} and no chromium at {}: install Debian's chromium and \
         fonts-noto-color-emoji (`make browser`), or set CHROMIUM to the browser",
        std::env::var("REQUIRE_BROWSER").unwrap_or_default(),
        chromium.display()
    );
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        // Straight to the terminal: the test harness keeps what a passing test prints.
        let line = format!(
            "browser checks skipped: no chromium at {} (install Debian's chromium and \
             fonts-noto-color-emoji, then make test)\n",
            chromium.display()
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    });
    None
}

/// A file that can be run (as `make browser`'s `[ -x ]` sees it).
fn runnable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn check(
    chromium: &Path,
    case: &str,
    page: &str,
    titles: &serde_json::Map<String, Value>,
) -> (bool, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("preview-{case}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("page.html"), page).unwrap();
    std::fs::write(
        dir.join("titles.json"),
        Value::Object(titles.clone()).to_string(),
    )
    .unwrap();
    let out = Command::new(root().join(".venv/bin/python"))
        .env("CHROMIUM", chromium)
        .arg(root().join("scripts/preview"))
        .arg("--check")
        .arg(dir.join("titles.json"))
        .arg(dir.join("page.html"))
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
fn every_message_renders_in_a_browser() {
    let Some(chromium) = browser() else { return };
    let files = samples();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    let titles = titles(&files);
    assert!(titles.len() >= 30, "{} messages", titles.len());
    let page = render(&[&["--html"], &files[..]].concat());
    let (ok, said) = check(&chromium, "samples", &page, &titles);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("rendered: {} message(s)", titles.len())),
        "{said}"
    );
}

#[test]
fn the_browser_check_catches_overflow_and_a_missing_title() {
    let Some(chromium) = browser() else { return };
    let oom = root().join("events/task-oom.json").display().to_string();
    let titles = titles(&[&oom]);
    let page = render(&["--html", &oom]);
    // A word too wide for its block, as a renderer without wrapping would leave it.
    let wide = page.replace(
        ".block { margin: 4px 0; overflow-wrap: anywhere; }",
        ".block { margin: 4px 0; white-space: nowrap; }",
    );
    assert_ne!(wide, page);
    let (ok, said) = check(&chromium, "overflow", &wide, &titles);
    assert!(!ok && said.contains("scrolls"), "{said}");
    let mut other = titles.clone();
    other.insert("task-oom.json".into(), Value::from("Something else"));
    let (ok, said) = check(&chromium, "title", &page, &other);
    assert!(!ok && said.contains("not 'Something else'"), "{said}");
    let broken = page.replace("</body>", "<script>undefinedFunction()</script></body>");
    let (ok, said) = check(&chromium, "console", &broken, &titles);
    assert!(!ok && said.contains("page error"), "{said}");
}

#[test]
fn the_committed_preview_is_what_render_gives_today() {
    let files = samples();
    let files: Vec<&str> = files
        .iter()
        .map(|f| {
            f.strip_prefix(&format!("{}/", root().display()))
                .unwrap_or(f)
        })
        .collect();
    let page = render(&[&["--html"], &files[..]].concat());
    let committed = std::fs::read_to_string(root().join("docs/alerts/alerts.html")).unwrap();
    assert!(
        page == committed,
        "docs/alerts/ is out of date: run make preview"
    );
    // Every message on the page has its picture.
    for name in titles(&files).keys() {
        let png = root()
            .join("docs/alerts")
            .join(name.replace(".json", ".png"));
        assert!(png.is_file(), "{}: run make preview", png.display());
    }
}
