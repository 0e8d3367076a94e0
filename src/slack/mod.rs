//! The Slack sink: Block Kit rendering, mrkdwn escaping, the incoming-webhook client.

pub mod api;
pub mod blocks;
pub mod mrkdwn;
pub mod preview;
pub mod render;
pub mod webhook;

pub use api::SlackApi;
pub use blocks::Message;
pub use render::render;
pub use webhook::SlackWebhook;
