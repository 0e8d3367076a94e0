//! Block Kit types for the messages this function posts, with Slack's size limits, and where a
//! posted message is.

use serde::{Deserialize, Serialize};

/// Header text limit (plain_text).
pub const HEADER_MAX: usize = 150;
/// Section text limit.
pub const SECTION_MAX: usize = 3000;
/// Section field text limit.
pub const FIELD_MAX: usize = 2000;
/// Fields per section.
pub const FIELDS_MAX: usize = 10;
/// Elements per context block.
pub const CONTEXT_MAX: usize = 10;
/// Blocks per message.
pub const BLOCKS_MAX: usize = 50;
/// Length kept for the top-level `text` fallback (notifications, screen readers).
pub const FALLBACK_MAX: usize = 3000;

/// A text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Text {
    #[serde(rename = "plain_text")]
    Plain { text: String, emoji: bool },
    #[serde(rename = "mrkdwn")]
    Mrkdwn { text: String },
}

impl Text {
    /// The string inside, whichever kind.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Plain { text, .. } | Text::Mrkdwn { text } => text,
        }
    }
}

/// A layout block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    Context {
        elements: Vec<Text>,
    },
    Divider {},
    /// Buttons (`actions`): interactive ones in app mode, links (`url`) anywhere.
    Actions {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        block_id: Option<String>,
        elements: Vec<Button>,
    },
}

/// Elements per actions block.
pub const ACTIONS_MAX: usize = 25;
/// Button text limit (plain_text).
pub const BUTTON_TEXT_MAX: usize = 75;
/// Button `value` and `action_id` limit.
pub const BUTTON_VALUE_MAX: usize = 255;
/// Button `url` limit.
pub const BUTTON_URL_MAX: usize = 3000;

/// A button element: it sends `action_id` and `value` to the interactivity URL, or opens `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "button")]
pub struct Button {
    pub text: Text,
    pub action_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `primary` or `danger`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
}

/// A message: Block Kit blocks and the `text` fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    pub blocks: Vec<Block>,
}

impl Message {
    /// Every text of the message (fallback first), for checks of escaping and limits.
    pub fn texts(&self) -> Vec<&str> {
        let mut out = vec![self.text.as_str()];
        for block in &self.blocks {
            match block {
                Block::Header { text } => out.push(text.as_str()),
                Block::Section { text, fields } => {
                    out.extend(text.iter().map(Text::as_str));
                    out.extend(fields.iter().map(Text::as_str));
                }
                Block::Context { elements } => out.extend(elements.iter().map(Text::as_str)),
                Block::Actions { elements, .. } => {
                    out.extend(elements.iter().map(|b| b.text.as_str()))
                }
                Block::Divider {} => {}
            }
        }
        out
    }

    /// The first limit this message breaks, if any.
    pub fn limit_violation(&self) -> Option<String> {
        use super::mrkdwn::slack_len;
        if self.blocks.len() > BLOCKS_MAX {
            return Some(format!("{} blocks", self.blocks.len()));
        }
        if slack_len(&self.text) > FALLBACK_MAX {
            return Some("fallback text too long".into());
        }
        for block in &self.blocks {
            let broken = match block {
                Block::Header { text } => slack_len(text.as_str()) > HEADER_MAX,
                Block::Section { text, fields } => {
                    text.as_ref()
                        .is_some_and(|t| slack_len(t.as_str()) > SECTION_MAX)
                        || fields.len() > FIELDS_MAX
                        || fields.iter().any(|f| slack_len(f.as_str()) > FIELD_MAX)
                }
                Block::Context { elements } => {
                    elements.len() > CONTEXT_MAX
                        || elements.iter().any(|e| slack_len(e.as_str()) > SECTION_MAX)
                }
                Block::Actions { elements, .. } => {
                    elements.len() > ACTIONS_MAX
                        || elements.iter().any(|b| {
                            slack_len(b.text.as_str()) > BUTTON_TEXT_MAX
                                || b.value.as_ref().is_some_and(|v| v.len() > BUTTON_VALUE_MAX)
                                || b.action_id.len() > BUTTON_VALUE_MAX
                                || b.url.as_ref().is_some_and(|u| u.len() > BUTTON_URL_MAX)
                        })
                }
                Block::Divider {} => false,
            };
            if broken {
                return Some(format!("{block:?}"));
            }
        }
        None
    }
}

/// Where a message landed: what `chat.update` needs to edit it (the judge's placement names it).
pub use crate::judge::post::Posted;
