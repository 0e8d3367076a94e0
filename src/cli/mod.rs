//! The command line: `ecs-notifier render FILE…` shows what the function would post for event
//! files, offline; `--help` and `--version`; with no command, in AWS Lambda, the function.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use thiserror::Error;

use crate::config::ConfigError;
use crate::judge::group::Grouping;
use crate::judge::{Enrichment, Options};
use crate::sinks::slack::preview::preview;
use crate::sinks::slack::Message;

mod ledger;
mod output;

pub use ledger::Ledger;
pub use output::render_value;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "ecs-notifier",
    bin_name = "ecs-notifier",
    version,
    disable_help_subcommand = true,
    about = "An AWS Lambda function that turns Amazon ECS events into Slack alerts and Datadog metrics.",
    after_help = "With no command, in AWS Lambda (AWS_LAMBDA_RUNTIME_API set), it serves events as the function.\n\
                  To see what it would post for an event of your own, offline:\n  \
                  ecs-notifier render [--json | --html | --teams] [--enrichment DIR] FILE...\n\
                  (`ecs-notifier render --help` says more)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A command to run locally.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the function would post for EventBridge event files, offline
    Render(RenderArgs),
}

/// The arguments of `render`.
#[derive(Debug, Args)]
#[command(
    after_help = "For each event: the verdict, a `warning:` line per field read \
leniently (coerced or dropped), the Slack message as read in Slack and the Datadog payloads. \
Several files are read as one warm function reads them: a later update of a stopped task is \
superseded, failures past the threshold are grouped.\n\
Settings, read as the function reads them: NOTIFY_ON_SUCCESS, NOTIFY_ON_STOP_TIMEOUT, \
GROUP_WINDOW_SECONDS, GROUP_THRESHOLD. No AWS call, no network.\n\
Exit status: 0; 1 when a file could not be read or held no event the function reads (not JSON, not an EventBridge event, an envelope field of the wrong shape); 2 for a usage error or a bad setting."
)]
pub struct RenderArgs {
    /// Print the exact request bodies, one JSON document per line
    #[arg(long)]
    pub json: bool,
    /// Print one web page showing each Slack message as Slack lays it out (wins over --json)
    #[arg(long)]
    pub html: bool,
    /// Print the Teams message of each event instead: the Adaptive Card in the envelope a
    /// Workflow's webhook trigger takes, one JSON document per line
    #[arg(long, conflicts_with_all = ["json", "html"])]
    pub teams: bool,
    /// Apply recorded enrichment: DIR/<event file name>, where there is one
    #[arg(long, value_name = "DIR", value_parser = existing_dir)]
    pub enrichment: Option<PathBuf>,
    /// EventBridge event files (an SQS batch of events too)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// Why `render` could not use a file or a folder it was given.
#[derive(Debug, Error)]
pub enum CliError {
    #[error("no such directory")]
    NoDirectory,
    #[error("not a directory")]
    NotADirectory,
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not JSON of the expected shape: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// `--enrichment DIR`: a folder that exists.
fn existing_dir(dir: &str) -> Result<PathBuf, CliError> {
    let path = PathBuf::from(dir);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(CliError::NotADirectory),
        Err(_) => Err(CliError::NoDirectory),
    }
}

/// What the process does with its command line `args` (the program's name first): `Some(exit
/// status)` once a command ran or was refused; `None` when there is no command and the process
/// runs in AWS Lambda (`in_lambda`), to serve events as the function.
pub fn command_line(args: impl IntoIterator<Item = OsString>, in_lambda: bool) -> Option<i32> {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) => {
            // The command the error is about, for its hint: the first word that is no option.
            let first = args
                .iter()
                .skip(1)
                .find(|a| !a.to_string_lossy().starts_with('-'));
            let command = match first {
                Some(word) if word == "render" => "ecs-notifier render",
                _ => "ecs-notifier",
            };
            return Some(refuse(&err, command));
        }
    };
    match cli.command {
        Some(Command::Render(args)) => Some(run(&args)),
        None if in_lambda => None,
        None => {
            eprintln!(
                "ecs-notifier: no command, and not in AWS Lambda (AWS_LAMBDA_RUNTIME_API is not \
                 set); usage: ecs-notifier render [--json | --html | --teams] [--enrichment DIR] FILE..., \
                 or see 'ecs-notifier --help'"
            );
            Some(2)
        }
    }
}

/// Prints help or the version (status 0), or a usage error of `command` as one line with its
/// hint.
fn refuse(err: &clap::Error, command: &str) -> i32 {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed pipe (`--help | head`) is no failure.
            let _ = err.print();
            0
        }
        _ => {
            eprintln!("{}", one_line(&err.render().to_string(), command));
            err.exit_code()
        }
    }
}

/// A clap error of `command` as one line: its message, its tips, and where to read more.
fn one_line(rendered: &str, command: &str) -> String {
    let mut message = String::new();
    let mut tips = String::new();
    for line in rendered.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("For more information") || line.starts_with("Usage:")
        {
            continue;
        }
        if let Some(tip) = line.strip_prefix("tip: ") {
            let _ = write!(tips, " ({tip})");
        } else {
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    format!("{command}: {message}{tips}; see '{command} --help'")
}

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: verdict, the Slack message as read in Slack, Datadog points and events.
    Text,
    /// The exact request bodies, one JSON document per file.
    Json,
    /// The Teams message of each event, one JSON document per file.
    Teams,
}

/// The incident grouping `render` applies: `GROUP_WINDOW_SECONDS` and `GROUP_THRESHOLD` as the
/// function reads them.
pub fn grouping_from_env() -> Result<Option<Grouping>, ConfigError> {
    let vars: Vec<(String, String)> = ["GROUP_WINDOW_SECONDS", "GROUP_THRESHOLD"]
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    let (window, threshold) = crate::config::grouping(|name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })?;
    Ok((!window.is_zero()).then(|| Grouping {
        window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::minutes(5)),
        threshold,
    }))
}

/// The options `render` judges with: `NOTIFY_ON_SUCCESS` and `NOTIFY_ON_STOP_TIMEOUT`, read by
/// the function's own parser.
pub fn options_from_env() -> Result<Options, ConfigError> {
    let flag = |name: &str| match std::env::var(name) {
        Ok(value) => crate::config::parse_bool(name, &value),
        Err(_) => Ok(false),
    };
    Ok(Options {
        notify_on_success: flag("NOTIFY_ON_SUCCESS")?,
        notify_on_stop_timeout: flag("NOTIFY_ON_STOP_TIMEOUT")?,
        ..Options::default()
    })
}

/// Recorded enrichment for the event file `name`: `DIR/name` when it exists.
pub fn load_enrichment(dir: Option<&str>, name: &str) -> Result<Enrichment, CliError> {
    match dir {
        Some(dir) => read_enrichment(&Path::new(dir).join(name)),
        None => Ok(Enrichment::default()),
    }
}

/// The JSON document in the file at `path`, as `T`.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CliError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Runs the `render` command; returns the process exit code.
pub fn run(args: &RenderArgs) -> i32 {
    // The same settings, read by the same parser, as the function reads them.
    let settings = options_from_env().and_then(|o| Ok((o, grouping_from_env()?)));
    let (options, grouping) = match settings {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("ecs-notifier render: {err}");
            return 2;
        }
    };
    let format = if args.teams {
        Format::Teams
    } else if args.json || args.html {
        Format::Json
    } else {
        Format::Text
    };
    let files: Vec<&Path> = args.files.iter().map(PathBuf::as_path).collect();
    let dir = args.enrichment.as_deref();
    let mut out = std::io::stdout().lock();
    let written = if args.html {
        // The Slack messages as a web page: the request bodies, laid out as Slack shows them.
        let mut json = Vec::new();
        render_files(&files, dir, &options, format, grouping, &mut json).and_then(|status| {
            out.write_all(html_page(&json).as_bytes())?;
            out.flush()?;
            Ok(status)
        })
    } else {
        render_files(&files, dir, &options, format, grouping, &mut out)
    };
    match written {
        Ok(status) => status,
        // The reader went away (`render … | head`): stop quietly, as other Unix tools do.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(err) => {
            eprintln!("ecs-notifier render: cannot write: {err}");
            1
        }
    }
}

/// The page of every Slack message in `json` (the lines of `render --json`), in order.
fn html_page(json: &[u8]) -> String {
    let messages: Vec<(String, Message)> = String::from_utf8_lossy(json)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|v| {
            let name = v.get("file")?.as_str()?.to_string();
            let message = serde_json::from_value(v.get("slack")?.clone()).ok()?;
            Some((name, message))
        })
        .collect();
    crate::sinks::slack::html::page(&messages)
}

/// Renders each file to `out`; the exit status (1 when a file could not be read, or held no
/// event the function reads), or the error
/// of a write to `out`.
fn render_files(
    files: &[&Path],
    enrichment_dir: Option<&Path>,
    options: &Options,
    format: Format,
    grouping: Option<Grouping>,
    out: &mut impl std::io::Write,
) -> std::io::Result<i32> {
    let mut status = 0;
    let mut ledger = Ledger::new(grouping);
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.display().to_string());
        let read = read_json::<Value>(file).and_then(|value| {
            let enrichment = match enrichment_dir {
                Some(dir) => read_enrichment(&dir.join(&name))?,
                None => Enrichment::default(),
            };
            Ok((value, enrichment))
        });
        match read {
            Ok((value, enrichment)) => {
                let text = render_value(&name, &value, &enrichment, options, format, &mut ledger);
                write!(out, "{text}")?;
                if format == Format::Text {
                    writeln!(out)?;
                }
            }
            Err(err) => {
                eprintln!("ecs-notifier render: {err}");
                status = 1;
            }
        }
    }
    if ledger.unreadable > 0 {
        status = 1;
    }
    // Each incident's grouped message as it stands after the last file.
    if format == Format::Text {
        for (key, message) in ledger.grouped() {
            writeln!(out, "━━ incident {key}\nslack:\n{}\n", preview(&message))?;
        }
    }
    out.flush()?;
    Ok(status)
}

/// Recorded enrichment at `path`, when there is a file there.
fn read_enrichment(path: &Path) -> Result<Enrichment, CliError> {
    if path.exists() {
        read_json(path)
    } else {
        Ok(Enrichment::default())
    }
}
