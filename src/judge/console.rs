//! Links to the ECS console for a task or a service, in the partition of its region.

use crate::judge::notice::Link;
use crate::source::{arn, Envelope};

/// Percent-encodes one URL path segment or query value.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether `region` looks like an AWS region (`eu-west-1`, `us-gov-west-1`, `cn-north-1`): the
/// console host is built from it, so anything else gets no link.
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 25
        && parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The event's region (else the ARN's), when it is a well-formed region name; empty otherwise,
/// so no console link is built from it.
pub fn region_of<'a>(envelope: &'a Envelope, arn_hint: Option<&'a str>) -> &'a str {
    let region = if envelope.region.is_empty() {
        arn_hint.and_then(arn::region).unwrap_or("")
    } else {
        &envelope.region
    };
    if is_region(region) {
        region
    } else {
        ""
    }
}

fn host(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("https://{}.console.amazonaws.cn", encode(region))
    } else if region.starts_with("us-gov-") {
        "https://console.amazonaws-us-gov.com".to_string()
    } else {
        format!("https://{}.console.aws.amazon.com", encode(region))
    }
}

/// An EC2 instance's page in the EC2 console.
pub fn ec2_instance_url(region: &str, instance_id: &str) -> String {
    format!(
        "{}/ec2/home?region={}#InstanceDetails:instanceId={}",
        host(region),
        encode(region),
        encode(instance_id)
    )
}

/// The task's page in the ECS console.
pub fn task_url(region: &str, cluster: &str, task_id: &str) -> String {
    format!(
        "{}/ecs/v2/clusters/{}/tasks/{}/configuration?region={}",
        host(region),
        encode(cluster),
        encode(task_id),
        encode(region)
    )
}

/// A tab (`deployments`, `events`) of the service's page in the ECS console.
pub fn service_url(region: &str, cluster: &str, service: &str, tab: &str) -> String {
    format!(
        "{}/ecs/v2/clusters/{}/services/{}/{}?region={}",
        host(region),
        encode(cluster),
        encode(service),
        encode(tab),
        encode(region)
    )
}

/// The link to a tab of the service's page, labelled `label`; none without a service or a
/// region.
pub fn service_links(
    region: &str,
    cluster: &str,
    service: &str,
    tab: &str,
    label: &str,
) -> Vec<Link> {
    (!service.is_empty() && !region.is_empty())
        .then(|| Link {
            label: label.into(),
            url: service_url(region, cluster, service, tab),
        })
        .into_iter()
        .collect()
}

/// A CloudWatch Logs stream in the console. The console's fragment encodes names twice over:
/// percent-encoding, with `%` itself written `$25`.
pub fn log_stream_url(region: &str, group: &str, stream: &str) -> String {
    let fragment = |s: &str| encode(s).replace('%', "$25");
    format!(
        "{}/cloudwatch/home?region={}#logsV2:log-groups/log-group/{}/log-events/{}",
        host(region),
        encode(region),
        fragment(group),
        fragment(stream)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "eu-west-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-4",
            "il-central-1",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "",
            "eu",
            "eu-west",
            "EU-WEST-1",
            "evil.example",
            "eu-west-1/x",
            &"x".repeat(30),
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn log_stream_links() {
        assert_eq!(
            log_stream_url("eu-west-1", "/ecs/checkout-api", "ecs/app/0f1e"),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fcheckout-api/log-events/ecs$252Fapp$252F0f1e"
        );
    }

    #[test]
    fn links_per_partition() {
        assert_eq!(
            task_url("eu-west-1", "prod", "0f1e"),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/0f1e/configuration?region=eu-west-1"
        );
        assert!(task_url("cn-north-1", "c", "t")
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert!(
            service_url("us-gov-west-1", "c", "s", "events").starts_with(
                "https://console.amazonaws-us-gov.com/ecs/v2/clusters/c/services/s/events"
            )
        );
        assert_eq!(
            service_url("eu-west-1", "a b", "x|y>", "deployments"),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/a%20b/services/x%7Cy%3E/deployments?region=eu-west-1"
        );
    }
}
