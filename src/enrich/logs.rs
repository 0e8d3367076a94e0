//! The last lines a failed container logged (CloudWatch Logs `GetLogEvents`).

use tokio::time::Instant;

use super::budget::{within, LookupError};
use crate::aws::Clients;
use crate::judge::enrichment::LogTail;

/// GetLogEvents: the last `lines` lines of a container's stream.
#[allow(clippy::too_many_arguments)]
pub async fn tail(
    clients: &Clients,
    lines: u32,
    container: &str,
    group: String,
    stream: String,
    region: String,
    deadline: Instant,
) -> Result<LogTail, LookupError> {
    let op = "logs:GetLogEvents";
    let lines = lines.min(10_000) as i32;
    let out = within(deadline, op, async {
        clients
            .logs
            .get_log_events()
            .log_group_name(&group)
            .log_stream_name(&stream)
            .limit(lines)
            .start_from_head(false)
            .send()
            .await
            .map_err(|e| LookupError::failed(op, &e))
    })
    .await?;
    Ok(LogTail {
        container: container.to_string(),
        lines: out
            .events()
            .iter()
            .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
            .collect(),
        group,
        stream,
        region,
    })
}
