//! The catalogue of stop causes: each message ECS, its agent or Fargate prints, what it means,
//! the fix AWS gives for it and the page to read, matched in order, most specific first.

mod catalogue;
mod facts;
mod object;
mod read;

pub use facts::{Exit, Facts};
pub use object::Object;

use super::cause::Cause;

/// Where an entry's text fragments are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The task's `stoppedReason` and every container's `reason`.
    Reason,
    /// The last log lines of the container that broke (enrichment).
    Log,
}

/// A fact of the task, beyond its messages, that an entry may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    /// The message names a command of more than one word as the executable
    /// (`exec: "node index.js"`): the command was written as one string.
    CommandOfWords,
    /// The image lives in an ECR registry of another account than the task's.
    ImageOfOtherAccount,
    /// Runs on Fargate.
    Fargate,
    /// Runs on EC2 or external instances (the agent's and Docker's wording).
    NotFargate,
    /// A container exited with an error of its own (not ECS's SIGTERM or SIGKILL).
    Culprit,
    /// Every essential container ended well, at least one by exiting 0: the job's work is done,
    /// whatever its sidecars did at shutdown.
    Succeeded,
    /// As `Succeeded`, and a sidecar had to be killed (SIGKILL) at shutdown.
    SucceededSidecarKilled,
    /// A container was killed (137) when it did not stop within its stop timeout.
    KilledAfterStopTimeout,
    /// A container was killed (137) soon after a stop request, before its stop timeout ran out.
    KilledBeforeStopTimeout,
    /// A container was killed (137) with no stop requested and no out-of-memory reason.
    KilledUnrequested,
    /// A container was terminated (143) with no stop requested.
    TerminatedUnrequested,
    /// The task ran (it has a start time) before it stopped.
    Ran,
}

impl Fact {
    /// The fact in words, for the catalogue's documentation.
    pub fn describe(self) -> &'static str {
        match self {
            Fact::CommandOfWords => "the executable named is several words",
            Fact::ImageOfOtherAccount => "the image is in another account's ECR registry",
            Fact::Fargate => "the task runs on Fargate",
            Fact::NotFargate => "the task runs on EC2 or external instances",
            Fact::Culprit => "a container exited with an error of its own",
            Fact::Succeeded => "the job's containers ended well, one with 0",
            Fact::SucceededSidecarKilled => {
                "the job's containers ended well, one with 0, and a sidecar was killed (137) at shutdown"
            }
            Fact::KilledAfterStopTimeout => {
                "a container was killed (137) after ECS waited out its stop timeout"
            }
            Fact::KilledBeforeStopTimeout => {
                "a container was killed (137) after a stop request, before its stop timeout"
            }
            Fact::KilledUnrequested => {
                "a container was killed (137) with no stop requested and no out-of-memory reason"
            }
            Fact::TerminatedUnrequested => "a container ended on SIGTERM (143) with no stop requested",
            Fact::Ran => "the task ran",
        }
    }
}

/// What makes an entry match: every condition given must hold.
#[derive(Debug, Clone, Copy)]
pub struct Match {
    /// Lower-case fragments that must all appear in one message.
    pub all: &'static [&'static str],
    /// At least one of these must appear in that message too (when any are given).
    pub any: &'static [&'static str],
    /// None of these may appear in it.
    pub none: &'static [&'static str],
    pub field: Field,
    pub stop_code: Option<&'static str>,
    /// The exit code of the container that broke (for 137 and 143: of any container).
    pub exit_code: Option<i64>,
    pub fact: Option<Fact>,
}

impl Match {
    const EMPTY: Match = Match {
        all: &[],
        any: &[],
        none: &[],
        field: Field::Reason,
        stop_code: None,
        exit_code: None,
        fact: None,
    };

    /// A message holding every fragment.
    pub const fn text(all: &'static [&'static str]) -> Match {
        Match {
            all,
            ..Match::EMPTY
        }
    }

    /// A log line holding every fragment.
    pub const fn log(all: &'static [&'static str]) -> Match {
        Match {
            all,
            field: Field::Log,
            ..Match::EMPTY
        }
    }

    /// A container that exited with `code`.
    pub const fn exit(code: i64) -> Match {
        Match {
            exit_code: Some(code),
            ..Match::EMPTY
        }
    }

    /// A fact of the task alone.
    pub const fn when(fact: Fact) -> Match {
        Match {
            fact: Some(fact),
            ..Match::EMPTY
        }
    }

    /// A stop code alone.
    pub const fn code(stop_code: &'static str) -> Match {
        Match {
            stop_code: Some(stop_code),
            ..Match::EMPTY
        }
    }

    pub const fn any(self, any: &'static [&'static str]) -> Match {
        Match { any, ..self }
    }

    pub const fn none(self, none: &'static [&'static str]) -> Match {
        Match { none, ..self }
    }

    pub const fn fact(self, fact: Fact) -> Match {
        Match {
            fact: Some(fact),
            ..self
        }
    }

    pub const fn stop_code(self, stop_code: &'static str) -> Match {
        Match {
            stop_code: Some(stop_code),
            ..self
        }
    }

    pub const fn exit_code(self, code: i64) -> Match {
        Match {
            exit_code: Some(code),
            ..self
        }
    }

    fn has_text(&self) -> bool {
        !self.all.is_empty() || !self.any.is_empty()
    }

    /// Whether a lower-cased message holds the fragments.
    fn reads(&self, lower: &str) -> bool {
        self.all.iter().all(|f| lower.contains(f))
            && (self.any.is_empty() || self.any.iter().any(|f| lower.contains(f)))
            && !self.none.iter().any(|f| lower.contains(f))
    }
}

/// One cause in the catalogue.
#[derive(Debug)]
pub struct Entry {
    /// Stable id: the Datadog `reason` tag.
    pub id: &'static str,
    /// The family (the `cause` tag), which decides failure or expected stop.
    pub family: Cause,
    pub on: Match,
    /// A few words after the family's title (`Image pull failed (Docker Hub rate limit)`);
    /// empty when the family's title says it.
    pub label: &'static str,
    /// What happened, completing "… <family>: ".
    pub meaning: &'static str,
    /// What to do; `{}` stands for the object when it is known.
    pub fix: &'static str,
    /// The AWS page to read.
    pub page: &'static str,
    /// What the alert names: the log group, the file system, the registry…
    pub object: Option<Object>,
    /// A retry usually succeeds.
    pub transient: bool,
    /// The message as AWS, the agent or a public report prints it.
    pub example: &'static str,
    /// Where that message is printed (a page, a report, the agent's source), or
    /// `assumed: …` when it was composed from a template.
    pub source: &'static str,
}

/// The cause a stopped task is explained by.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub entry: &'static Entry,
    /// The container whose reason, exit code or log matched.
    pub container: Option<String>,
    /// The message or log line that matched, as printed.
    pub message: Option<String>,
    /// The object the entry names, when the event or the enrichment gives it.
    pub object: Option<String>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Explanation {
    /// The fix, with the object where the text has a place for it: "the log group /ecs/api",
    /// or "the log group" when it is unknown.
    pub fn fix(&self) -> String {
        let object = match (self.entry.object, &self.object) {
            (Some(kind), Some(value)) => format!("{} {value}", kind.noun()),
            (Some(kind), None) => kind.noun().to_string(),
            (None, _) => String::new(),
        };
        self.entry.fix.replace("{}", &object)
    }
}

/// Every entry, in the order they are tried.
pub fn catalogue() -> impl Iterator<Item = &'static Entry> {
    catalogue::ORDER.iter().flat_map(|part| part.iter())
}

/// The entry with this id.
pub fn entry(id: &str) -> Option<&'static Entry> {
    catalogue().find(|e| e.id == id)
}

/// The first entry, in catalogue order, that the task's facts match. The catalogue ends with
/// an entry that matches anything, so there always is one.
pub fn explain(facts: &Facts) -> Explanation {
    for entry in catalogue() {
        if let Some((container, message)) = matches(entry, facts) {
            let object = entry
                .object
                .and_then(|o| o.find(facts, container.as_deref(), message.as_deref()));
            return Explanation {
                entry,
                container,
                message,
                object,
            };
        }
    }
    // Unreachable while the catalogue ends with its catch-all; kept total all the same.
    Explanation {
        entry: catalogue::LAST,
        container: None,
        message: None,
        object: None,
    }
}

type Found = (Option<String>, Option<String>);

/// Whether an entry matches, and if so which container and message it matched.
fn matches(entry: &Entry, facts: &Facts) -> Option<Found> {
    let on = &entry.on;
    if on.stop_code.is_some() && on.stop_code != facts.stop_code() {
        return None;
    }
    let mut found: Found = (None, None);
    if let Some(code) = on.exit_code {
        found.0 = Some(facts.exited(code)?.name.clone());
    }
    if on.has_text() {
        let (container, message) = match on.field {
            Field::Reason => facts.reasons().find(|(_, _, lower)| on.reads(lower)),
            Field::Log => facts.log_lines().find(|(_, _, lower)| on.reads(lower)),
        }
        .map(|(c, text, _)| (c.map(String::from), text.to_string()))?;
        if found.0.is_none() {
            found.0 = container;
        }
        found.1 = Some(message);
    }
    if let Some(fact) = on.fact {
        if !facts.holds(fact, found.1.as_deref()) {
            return None;
        }
        if found.0.is_none() {
            found.0 = facts.container_of(fact).map(String::from);
        }
    }
    Some(found)
}

#[cfg(test)]
mod tests;
