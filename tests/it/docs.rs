//! The reference tables of the docs against what they describe (`scripts/check-docs`): the
//! parameters table against template.yaml, the configuration table against the settings the
//! code reads and the template sets, the permissions table against the IAM the template grants,
//! every relative link against the files and headings it points to; and the spoke template's
//! parameters and permissions against docs/organization.md's tables.
//! And the check shown to catch each kind of drift, on a copy of the tree.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check(tree: &Path) -> (bool, String) {
    let python = root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "`make tools` installs cfn-lint into .venv"
    );
    let out = Command::new(python)
        .arg(root().join("scripts/check-docs"))
        .args(["--root", &tree.display().to_string()])
        .output()
        .expect("python runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A copy of what the check reads, with `edit` applied to one file.
fn tree_with(case: &str, file: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let tree = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("docs-{case}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tree);
    for dir in ["src", "docs"] {
        copy_dir(&root().join(dir), &tree.join(dir));
    }
    for f in ["README.md", "template.yaml", "spoke.yaml"] {
        std::fs::copy(root().join(f), tree.join(f)).unwrap();
    }
    let path = tree.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert!(edited != text, "{case}: the edit changed nothing in {file}");
    std::fs::write(&path, edited).unwrap();
    tree
}

#[test]
fn the_docs_tables_agree_with_the_template_and_the_code() {
    let (ok, said) = check(root());
    assert!(ok, "{said}");
}

/// An edit of one file's text.
type Edit = Box<dyn Fn(String) -> String>;
/// A drift: its name, the file edited, the edit, and what the check says of it.
type Case = (&'static str, &'static str, Edit, &'static str);

/// Drifts of the spoke template from docs/organization.md's tables.
fn spoke_drift() -> Vec<Case> {
    vec![
        (
            "spoke-permission-undocumented",
            "docs/organization.md",
            Box::new(|t| {
                t.lines()
                    .filter(|l| !l.starts_with("| `logs:GetLogEvents` |"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            }),
            "spoke permission logs:GetLogEvents: granted by spoke.yaml, not in the spoke permissions table",
        ),
        (
            "spoke-permission-not-granted",
            "spoke.yaml",
            Box::new(|t| t.replace("                  - ecs:DescribeTasks\n", "")),
            "spoke permission ecs:DescribeTasks: in the spoke permissions table, not granted",
        ),
        (
            "spoke-default-differs",
            "spoke.yaml",
            Box::new(|t| t.replacen("    Default: ecs-notifier-spoke\n", "    Default: notifier-read\n", 1)),
            "spoke parameter SpokeRoleName: the table says default `ecs-notifier-spoke`, the template 'notifier-read'",
        ),
    ]
}

#[test]
fn the_check_catches_each_kind_of_drift() {
    let mut cases: Vec<Case> = vec![
        (
            "permission-not-granted",
            "docs/security.md",
            Box::new(|t| {
                t.replace(
                    "| `dynamodb:GetItem`, `PutItem`, `UpdateItem` |",
                    "| `dynamodb:GetItem`, `PutItem`, `UpdateItem`, `DeleteItem` |",
                )
            }),
            "permission dynamodb:DeleteItem: in the permissions table, not granted",
        ),
        (
            "permission-undocumented",
            "docs/security.md",
            Box::new(|t| {
                t.replace("| `dynamodb:Query` | the state table's `by-kind` index only | `StateTable=true` |\n", "")
            }),
            "permission dynamodb:Query: granted by template.yaml, not in the permissions table",
        ),
        (
            "setting-undocumented",
            "docs/configuration.md",
            Box::new(|t| {
                t.lines()
                    .filter(|l| !l.starts_with("| `FLOOD_WINDOW_SECONDS` |"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            }),
            "setting FLOOD_WINDOW_SECONDS",
        ),
        (
            "default-differs",
            "template.yaml",
            Box::new(|t| t.replacen("    Default: 600\n", "    Default: 900\n", 1)),
            "parameter FloodWindowSeconds: the table says default `600`, the template '900'",
        ),
        (
            "parameter-undocumented",
            "docs/deploying.md",
            Box::new(|t| {
                t.lines()
                    .filter(|l| !l.starts_with("| `SlackRouteNames` |"))
                    .map(|l| format!("{l}\n"))
                    .collect()
            }),
            "parameter SlackRouteNames: no row",
        ),
        (
            "link-broken",
            "docs/deploying.md",
            Box::new(|t| t.replacen("(#state-table)", "(#state-tables)", 1)),
            "docs/deploying.md: link to #state-tables: no such heading",
        ),
    ];
    cases.extend(spoke_drift());
    for (case, file, edit, says) in cases {
        let tree = tree_with(case, file, edit);
        let (ok, said) = check(&tree);
        assert!(!ok, "{case}: passed");
        assert!(said.contains(says), "{case}: {said}");
        let _ = std::fs::remove_dir_all(&tree);
    }
}

/// Every field of the function's log line (src/handler/log.rs) is in docs/logs.md's table, and
/// the table names no field the line lacks.
#[test]
fn the_log_fields_table_agrees_with_the_log_line() {
    let code = std::fs::read_to_string(root().join("src/handler/log.rs")).unwrap();
    // Inside the tracing macros, each argument: `name = %value`, `name = ?value`, or `name`.
    let field = regex_lite::Regex::new(r"^\s*([a-z_]+)\s*(?:=\s*[%?].*)?$").unwrap();
    let fields: std::collections::BTreeSet<String> = code
        .split("tracing::")
        .skip(1)
        .flat_map(|call| {
            let args = call.split(");").next().unwrap_or("");
            args.split([',', '('])
                .filter_map(|arg| field.captures(arg).map(|c| c[1].to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(fields.len() >= 14, "the log line's fields read: {fields:?}");
    let doc = std::fs::read_to_string(root().join("docs/logs.md")).unwrap();
    let table: std::collections::BTreeSet<String> = doc
        .split("## Fields")
        .nth(1)
        .expect("docs/logs.md has a Fields section")
        .lines()
        .filter_map(|line| {
            line.strip_prefix("| `")?
                .split('`')
                .next()
                .map(String::from)
        })
        .collect();
    assert_eq!(fields, table, "src/handler/log.rs fields vs docs/logs.md");
}
