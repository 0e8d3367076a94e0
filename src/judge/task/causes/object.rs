//! The object an explanation names (the log group, the file system, the secret, the registry,
//! the command…), read from the message that matched or from the task and its enrichment.

use super::facts::Facts;
use super::read::{capture, compiled, executable};

/// What an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// The registry host of the image (`registry-1.docker.io`, `…dkr.ecr…amazonaws.com`).
    Registry,
    /// The image reference.
    Image,
    /// The account of an ECR image that is not the task's.
    ImageAccount,
    /// The OS and CPU architecture the image lacks.
    Platform,
    /// The command ECS tried to run.
    Command,
    /// A path in the container.
    Path,
    /// The CloudWatch log group.
    LogGroup,
    /// The EFS file system.
    FileSystem,
    /// The Secrets Manager secret.
    Secret,
    /// The SSM parameter(s).
    Parameter,
    /// The environment file in S3.
    EnvFile,
    /// The AWS endpoint the task could not reach.
    Endpoint,
    /// The IAM role that was refused.
    Role,
    /// The JSON key missing from a secret.
    JsonKey,
    /// The load balancer's target group.
    TargetGroup,
    /// The containers whose health check failed.
    Unhealthy,
    /// The memory limit the container ran into.
    MemoryLimit,
    /// The container's stop timeout, and how long ECS waited.
    StopTimeout,
    /// The line in the log that says what failed.
    LogLine,
    /// The EC2 instance.
    Instance,
    /// The subnet.
    Subnet,
}

/// The registry host of an image reference: Docker Hub when the first part is not a host.
fn registry_of(image: &str) -> String {
    let image = image
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    match image.split_once('/') {
        Some((host, _)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            host.to_string()
        }
        _ => "registry-1.docker.io".to_string(),
    }
}

/// The image of the container an entry matched, else the one the message names, else the
/// task's first.
fn image<'a>(facts: &'a Facts, container: Option<&str>, message: Option<&str>) -> Option<&'a str> {
    let images = || {
        facts
            .task
            .containers
            .iter()
            .filter_map(|c| Some((c.display_name(), c.image.as_deref()?)))
    };
    let named = |name: &str| {
        images()
            .find(|(n, _)| *n == name)
            .map(|(_, i)| i)
            .or_else(|| {
                facts
                    .definition
                    .and_then(|d| d.container(name))
                    .and_then(|c| c.image.as_deref())
            })
    };
    container
        .and_then(named)
        .or_else(|| {
            let message = message?;
            images()
                .map(|(_, i)| i)
                .find(|i| message.contains(i.split(['@', ':']).next().unwrap_or(i)))
        })
        .or_else(|| images().map(|(_, i)| i).next())
}

/// What the task definition names, joined; `None` when it names nothing.
fn defined<'a>(names: impl Iterator<Item = &'a String>) -> Option<String> {
    let names: Vec<&str> = names.map(String::as_str).collect();
    (!names.is_empty()).then(|| names.join(", "))
}

fn is_secret_arn(value_from: &str) -> bool {
    value_from.contains(":secretsmanager:")
}

/// The log group of the container (or of the task's first container with one).
fn log_group(facts: &Facts, container: Option<&str>) -> Option<String> {
    let def = facts.definition?;
    container
        .and_then(|name| def.container(name))
        .and_then(|c| c.awslogs.as_ref())
        .or_else(|| def.containers.iter().find_map(|c| c.awslogs.as_ref()))
        .map(|l| l.group.clone())
}

impl Object {
    /// The label of its field in the alert.
    pub fn label(self) -> &'static str {
        match self {
            Object::Registry => "Registry",
            Object::Image => "Image",
            Object::ImageAccount => "Image account",
            Object::Platform => "Platform",
            Object::Command => "Command",
            Object::Path => "Path",
            Object::LogGroup => "Log group",
            Object::FileSystem => "File system",
            Object::Secret => "Secret",
            Object::Parameter => "Parameter",
            Object::EnvFile => "Environment file",
            Object::Endpoint => "Endpoint",
            Object::Role => "Role",
            Object::JsonKey => "JSON key",
            Object::TargetGroup => "Target group",
            Object::Unhealthy => "Unhealthy",
            Object::MemoryLimit => "Memory limit",
            Object::StopTimeout => "Stop timeout",
            Object::LogLine => "Error",
            Object::Instance => "Instance",
            Object::Subnet => "Subnet",
        }
    }

    /// What the fix says when the object is unknown.
    pub fn noun(self) -> &'static str {
        match self {
            Object::Registry => "the registry",
            Object::Image => "the image",
            Object::ImageAccount => "the image's account",
            Object::Platform => "the task's platform",
            Object::Command => "the command",
            Object::Path => "the path",
            Object::LogGroup => "the log group",
            Object::FileSystem => "the file system",
            Object::Secret => "the secret",
            Object::Parameter => "the parameter",
            Object::EnvFile => "the environment file",
            Object::Endpoint => "the endpoint",
            Object::Role => "the role",
            Object::JsonKey => "the key",
            Object::TargetGroup => "the target group",
            Object::Unhealthy => "the unhealthy container",
            Object::MemoryLimit => "the memory limit",
            Object::StopTimeout => "the stop timeout",
            Object::LogLine => "the error",
            Object::Instance => "the instance",
            Object::Subnet => "the subnet",
        }
    }

    /// Reads the object from the matched message, the task and its enrichment.
    pub fn find(
        self,
        facts: &Facts,
        container: Option<&str>,
        message: Option<&str>,
    ) -> Option<String> {
        let text = message.unwrap_or("");
        match self {
            Object::Registry | Object::Image | Object::ImageAccount | Object::Platform => {
                self.of_image(facts, container, message)
            }
            Object::LogGroup
            | Object::FileSystem
            | Object::Secret
            | Object::Parameter
            | Object::EnvFile => self.defined(facts, container, text),
            Object::Unhealthy | Object::MemoryLimit | Object::StopTimeout | Object::LogLine => {
                self.of_task(facts, container, text)
            }
            _ => self.named(text),
        }
    }

    /// What the image is, where it comes from, what it lacks.
    fn of_image(
        self,
        facts: &Facts,
        container: Option<&str>,
        message: Option<&str>,
    ) -> Option<String> {
        let text = message.unwrap_or("");
        match self {
            Object::Registry => capture(r"https://([a-z0-9.-]+\.[a-z]{2,})(?::\d+)?/", text)
                .filter(|h| !h.contains("amazonaws.com") || h.contains(".dkr.ecr."))
                .or_else(|| {
                    capture(r#"failed to resolve ref "?([^\s"]+?)"?:? "#, text)
                        .map(|r| registry_of(&r))
                })
                .or_else(|| image(facts, container, message).map(registry_of)),
            Object::Image => capture(r"failed to resolve ref (\S+?):? ", text)
                .or_else(|| capture(r"manifest for (\S+) not found", text))
                .or_else(|| capture(r"pull access denied for ([^,\s]+)", text))
                .or_else(|| capture(r"repository (\S+) not found", text))
                .or_else(|| image(facts, container, message).map(String::from)),
            Object::ImageAccount => facts.foreign_image().map(|(a, _)| a.to_string()),
            _ => capture(r"platform '?([a-z0-9]+/[a-z0-9_]+(?:/v\d)?)'?", text)
                .or_else(|| {
                    capture(
                        r"no matching manifest for ([a-z0-9]+/[a-z0-9_]+(?:/v\d)?)",
                        text,
                    )
                })
                .or_else(|| {
                    let arch = facts.task.cpu_architecture()?;
                    Some(format!("linux/{arch}"))
                }),
        }
    }

    /// What the task definition sets up, as the message names it or else as the task
    /// definition does.
    fn defined(self, facts: &Facts, container: Option<&str>, text: &str) -> Option<String> {
        let def = facts.definition;
        match self {
            Object::LogGroup => {
                capture(r"log-group:([^:\s]+)", text).or_else(|| log_group(facts, container))
            }
            Object::FileSystem => capture(r"\b(fs-[0-9a-f]{8,17})\b", text).or_else(|| {
                let ids = def?.file_systems.join(", ");
                (!ids.is_empty()).then_some(ids)
            }),
            Object::Secret => capture(
                r"(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@!-]+)",
                text,
            )
            .or_else(|| defined(def?.secrets.iter().filter(|s| is_secret_arn(s)))),
            Object::Parameter => capture(
                r"(arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter/[^\s,]+)",
                text,
            )
            .or_else(|| capture(r"invalid (?:ssm )?parameters: ([^\s]+(?:, ?[^\s]+)*)", text))
            .or_else(|| defined(def?.secrets.iter().filter(|s| !is_secret_arn(s)))),
            _ => capture(r"(arn:aws[a-z-]*:s3:::[^\s,]+)", text)
                .or_else(|| capture(r"failed to download file (\S+?):? ", text))
                .or_else(|| defined(def?.environment_files.iter())),
        }
    }

    /// What the task's containers and enrichment tell: who was unhealthy, the memory limit,
    /// the stop timeout, the failing log line.
    fn of_task(self, facts: &Facts, container: Option<&str>, text: &str) -> Option<String> {
        match self {
            Object::Unhealthy => {
                let names: Vec<&str> = facts
                    .enrichment
                    .health
                    .iter()
                    .flatten()
                    .filter(|h| h.status == "UNHEALTHY")
                    .map(|h| h.name.as_str())
                    .collect();
                (!names.is_empty()).then(|| names.join(", "))
            }
            Object::MemoryLimit => facts.definition?.memory_limit(container?),
            Object::StopTimeout => {
                let timeout = facts.stop_timeout(container?);
                let mut out = format!("{timeout:.0} s");
                if let Some(wait) = facts.stop_wait() {
                    out.push_str(&format!(" (ECS waited {wait:.1} s)"));
                }
                Some(out)
            }
            _ => last_error_line(facts, container, text),
        }
    }

    /// What the message alone names.
    fn named(self, text: &str) -> Option<String> {
        match self {
            Object::Command => executable(text),
            Object::Path => capture(r#"to rootfs at \\?"([^"\\]+)"#, text)
                .or_else(|| capture(r"stat ([^\s:]+): no such file", text))
                .or_else(|| executable(text)),
            Object::Endpoint => capture(r#"https://([a-z0-9.-]+\.amazonaws\.com)"#, text),
            Object::Role => capture(r"assumed-role/([^/\s]+)/", text)
                .or_else(|| capture(r"role/([A-Za-z0-9+=,.@_-]+)", text)),
            Object::JsonKey => capture(r"did not contain json key (\S+)", text),
            Object::TargetGroup => capture(r"targetgroup/([^/\s)]+)", text),
            Object::Instance => capture(r"\b(i-[0-9a-f]{8,17})\b", text),
            Object::Subnet => capture(r"\b(subnet-[0-9a-f]{8,17})\b", text),
            _ => None,
        }
    }
}

/// The line that names a runtime failure: for a Python traceback its last line (the
/// exception), else the line that matched; cut to 300 characters.
fn last_error_line(facts: &Facts, container: Option<&str>, matched: &str) -> Option<String> {
    let line = if matched.starts_with("Traceback") {
        let tail = facts
            .enrichment
            .logs
            .iter()
            .find(|t| Some(t.container.as_str()) == container)?;
        let start = tail
            .lines
            .iter()
            .rposition(|l| l.starts_with("Traceback"))?;
        let exception = compiled(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b")?;
        tail.lines[start..]
            .iter()
            .rev()
            .find(|l| exception.is_match(l.trim_start()))?
            .trim()
            .to_string()
    } else {
        matched.trim().to_string()
    };
    Some(line.chars().take(300).collect())
}
