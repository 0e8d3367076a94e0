//! The Teams sink: a notice rendered as an Adaptive Card 1.5 (pure: [`render`], [`card`],
//! [`text`]), posted to a Workflow's webhook trigger by the [`client`] where the [`sink`]'s
//! delivery policy sends it.

pub mod card;
pub mod client;
pub mod render;
pub mod sink;
pub mod text;

pub use card::{Card, Envelope};
pub use client::TeamsWorkflow;
pub use render::render;
