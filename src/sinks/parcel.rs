//! What one event gives the sinks, as plain data: the fan-out's input, which the judge fills in.

use super::datadog::Submission;
use super::slack::{Message, Posted};

/// What one event gives the sinks: its Slack message and where it goes, its Datadog payloads.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    /// The event's own Slack message.
    pub slack: Option<&'a Message>,
    /// A deployment's id, so its state changes share one Slack message (app mode).
    pub thread: Option<&'a str>,
    /// The message for that shared message, also for states that post nothing on their own.
    pub thread_message: Option<&'a Message>,
    /// The named webhook route (webhook mode), else the default.
    pub slack_route: Option<&'a str>,
    /// The channel (app mode), else the default.
    pub slack_channel: Option<&'a str>,
    /// A failure or warning: an edit of a shared message is followed by a reply that notifies.
    pub loud: bool,
    /// App mode: the posted message this one replaces in place, instead of a new post.
    pub edit: Option<&'a Posted>,
    /// App mode: a reply in the thread of the known message (handed to the fan-out with it),
    /// else a post of its own.
    pub reply: bool,
    pub datadog: &'a Submission,
}
