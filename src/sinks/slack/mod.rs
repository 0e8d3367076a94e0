//! The Slack sink: a notice rendered as Block Kit, escaped for mrkdwn and cut to Slack's limits
//! (pure: [`render`], [`blocks`], [`mrkdwn`], and [`preview`] for terminals, [`html`] for
//! browsers), posted by the webhook or Web API [`client`] where the [`sink`]'s delivery policy
//! places it.

pub mod blocks;
pub mod buttons;
pub mod client;
pub mod html;
pub mod mrkdwn;
pub mod preview;
pub mod render;
pub mod sink;

pub use blocks::{Block, Button, Message, Posted, Text};
pub use client::{SlackApi, SlackWebhook};
pub use render::render;
