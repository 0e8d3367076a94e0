//! One structured log line per event: what it was, what was concluded, what was delivered.

use super::{describe, Report};
use crate::judge::Outgoing;
use crate::sinks::retry::SendError;

/// One structured log line per event.
pub(super) fn log_event(
    event_id: &str,
    report: &Report,
    plan: Option<&Outgoing>,
    enrich_ms: u64,
    not_enriched: &[String],
    failures: &[(&'static str, SendError)],
) {
    let subject = plan.map(|p| p.summary.subject.as_str()).unwrap_or("");
    let route_problems = plan.map(|p| p.route_problems.as_slice()).unwrap_or(&[]);
    let flood = report.flood.unwrap_or("");
    let reason = report.reason.unwrap_or("");
    let note = plan
        .and_then(|p| p.summary.reason.as_ref())
        .and_then(|r| r.note.as_deref())
        .unwrap_or("");
    if report.verdict == "skipped" {
        tracing::warn!(event_id = %event_id, kind = %report.kind, cause = %report.cause, "event skipped: not an ECS event this function handles, or filtered out");
    } else if report.verdict == "superseded" && failures.is_empty() {
        tracing::info!(
            event_id = %event_id, kind = %report.kind, verdict = %report.verdict, cause = %report.cause,
            delivered = ?report.delivered, "event dropped: {}", report.cause
        );
    } else if failures.is_empty() {
        tracing::info!(
            event_id = %event_id, kind = %report.kind, verdict = %report.verdict, cause = %report.cause,
            reason = %reason, note = %note,
            subject = %subject, delivered = ?report.delivered, duplicate = ?report.duplicate, flood = %flood,
            enrich_ms, not_enriched = ?not_enriched, route_problems = ?route_problems,
            decode_warnings = ?report.decode_warnings,
            "event handled"
        );
    } else {
        tracing::error!(
            event_id = %event_id, kind = %report.kind, verdict = %report.verdict, cause = %report.cause,
            reason = %reason, note = %note,
            subject = %subject, delivered = ?report.delivered, duplicate = ?report.duplicate, flood = %flood,
            failed = %describe(failures), enrich_ms, not_enriched = ?not_enriched, route_problems = ?route_problems,
            decode_warnings = ?report.decode_warnings,
            "event not fully delivered; it will be retried"
        );
    }
}
