//! What one event gives the sinks, as plain data: the fan-out's input, read off the judge's
//! outgoing by the handler.

use crate::judge::measure::Submission;
use crate::judge::notice::Notice;
use crate::judge::post::Placement;

/// What one event gives the sinks: its message and where it goes, its measurements.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    /// The event's own message; none when it posts nothing of its own.
    pub notice: Option<&'a Notice>,
    /// Where the message goes, and the shared message it belongs to.
    pub placement: &'a Placement,
    /// A failure or warning: an edit of a shared message is followed by a reply that notifies.
    pub loud: bool,
    pub datadog: &'a Submission,
}
