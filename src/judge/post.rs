//! Where an event's message goes in a chat and how it relates to messages already posted: its
//! route or channel, the shared message (thread) it belongs to, an edit or a reply.

use super::notice::Notice;

/// A message a chat already shows: what an edit or a reply needs to find it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// Where an outgoing's message is placed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    /// The named webhook route the tags ask for (`ecs-notifier:slack`); `None`: the default.
    pub route: Option<String>,
    /// The named Teams Workflow the tags ask for (`ecs-notifier:teams`); `None`: the one named
    /// like `route`, else the default.
    pub teams: Option<String>,
    /// The channel the tags ask for (`ecs-notifier:slack-channel`), in app mode.
    pub channel: Option<String>,
    /// Deployments: the deployment id, so its state changes can share one message.
    pub thread: Option<String>,
    /// Deployments: the notice for that shared message, even for states that post nothing on
    /// their own (a deployment that started).
    pub thread_notice: Option<Notice>,
    /// App mode: the posted message this one replaces in place (a fuller STOPPED update
    /// completing the alert of its task's stop), instead of a new post.
    pub edit: Option<Posted>,
    /// App mode: the key of a remembered message to reply in (a service's latest deployment
    /// message, an instance's impairment alert), instead of a message of its own.
    pub reply_to: Option<String>,
    /// With `reply_to`: post nothing when there is no such message (or no app mode).
    pub reply_only: bool,
    /// App mode: remember where this message lands under these keys, for later replies and
    /// shared messages.
    pub remember_as: Vec<String>,
    /// Whether an edit of a shared message also replies in its thread; `None`: for failures
    /// and warnings.
    pub loud: Option<bool>,
    /// The buttons under the message.
    pub buttons: Buttons,
}

/// The buttons under an alert: in app mode the ones people act with (they name the alert, as
/// stored when it was posted), and anywhere the runbook's link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buttons {
    /// App mode: the id the alert is stored under; none: no interactive buttons.
    pub alert: Option<String>,
    /// The Silence choices, in seconds.
    pub silences: Vec<u64>,
    /// A Re-run button: a job whose settings are stored, and someone allowed to press it.
    pub rerun: bool,
    /// `ecs-notifier:runbook`: an https link.
    pub runbook: Option<String>,
    /// Who acknowledged the alert (a Slack user id): said under its title, and no Acknowledge
    /// button, when a fuller update of the stop completes the alert in place.
    pub acknowledged_by: Option<String>,
}
