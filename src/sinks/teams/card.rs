//! Adaptive Card 1.5 types for the cards this function posts to Teams, the envelope a Workflow's
//! webhook trigger takes, and Teams' size limit.

use serde::{Deserialize, Serialize};

/// The Adaptive Card schema version Teams renders in a chat or channel ("Post card in a chat or
/// channel" of a Workflow): 1.5.
pub const VERSION: &str = "1.5";
/// The schema a card names.
pub const SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";
/// The attachment content type of an Adaptive Card.
pub const CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The largest request body posted: a Teams message holds about 28 KB; kept under it with room.
pub const PAYLOAD_MAX: usize = 27 * 1024;
/// Buttons per card (`Action.OpenUrl`): Teams shows six; kept to five.
pub const ACTIONS_MAX: usize = 5;

/// A run of text in a `RichTextBlock`: never read as markdown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextRun {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub font_type: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_subtle: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub italic: bool,
}

impl TextRun {
    /// Plain text.
    pub fn plain(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Text in a monospace font (container names, log lines, AWS's own words).
    pub fn mono(text: impl Into<String>) -> Self {
        Self {
            font_type: Some("Monospace".into()),
            ..Self::plain(text)
        }
    }

    /// Bold text.
    pub fn bold(text: impl Into<String>) -> Self {
        Self {
            weight: Some("Bolder".into()),
            ..Self::plain(text)
        }
    }

    /// Small, subtle text (the small print).
    pub fn small(text: impl Into<String>) -> Self {
        Self {
            size: Some("Small".into()),
            is_subtle: true,
            ..Self::plain(text)
        }
    }
}

/// An inline of a `RichTextBlock`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Inline {
    TextRun(TextRun),
}

/// One fact of a `FactSet` (both strings are read as markdown by Teams: escaped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub title: String,
    pub value: String,
}

/// An element of a card's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Element {
    /// Markdown text: only the mentions (`<at>…</at>`, built from validated tags) use it.
    TextBlock {
        text: String,
        wrap: bool,
    },
    /// Text runs, never read as markdown: all the event's text.
    RichTextBlock {
        inlines: Vec<Inline>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spacing: Option<String>,
    },
    FactSet {
        facts: Vec<Fact>,
    },
    Container {
        items: Vec<Element>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        style: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        bleed: bool,
    },
}

impl Element {
    /// A paragraph of text runs.
    pub fn runs(inlines: Vec<TextRun>) -> Self {
        Element::RichTextBlock {
            inlines: inlines.into_iter().map(Inline::TextRun).collect(),
            spacing: None,
        }
    }

    /// A line of text runs right under the one before (lists, log lines).
    pub fn line(inlines: Vec<TextRun>) -> Self {
        Element::RichTextBlock {
            inlines: inlines.into_iter().map(Inline::TextRun).collect(),
            spacing: Some("None".into()),
        }
    }
}

/// A button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Action {
    #[serde(rename = "Action.OpenUrl")]
    OpenUrl { title: String, url: String },
}

/// Who a mention pings: a UPN or a Microsoft Entra object id, and the name shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mentioned {
    pub id: String,
    pub name: String,
}

/// A mention entity: `text` (`<at>name</at>`) stands in a `TextBlock` of the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    pub mentioned: Mentioned,
}

/// Teams' own part of a card: full width, and the mentions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MsTeams {
    pub width: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
}

/// An Adaptive Card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "$schema")]
    pub schema: String,
    pub version: String,
    /// What Teams shows where it cannot show the card (notifications, the activity feed).
    #[serde(rename = "fallbackText")]
    pub fallback_text: String,
    pub body: Vec<Element>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    pub msteams: MsTeams,
}

/// An attachment of a message: the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub content_type: String,
    pub content_url: Option<String>,
    pub content: Card,
}

/// What a Workflow's "When a Teams webhook request is received" trigger takes: a message with
/// the card as its one attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(rename = "type")]
    pub kind: String,
    pub attachments: Vec<Attachment>,
}

impl Envelope {
    /// The message carrying `card`.
    pub fn of(card: Card) -> Self {
        Self {
            kind: "message".into(),
            attachments: vec![Attachment {
                content_type: CONTENT_TYPE.into(),
                content_url: None,
                content: card,
            }],
        }
    }

    /// The card it carries.
    pub fn card(&self) -> Option<&Card> {
        self.attachments.first().map(|a| &a.content)
    }

    /// The request body, as sent.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Card {
    /// Every string of the card that Teams reads as markdown (mention blocks, facts), for
    /// checks of escaping.
    pub fn markdown_texts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        fn walk<'a>(elements: &'a [Element], out: &mut Vec<&'a str>) {
            for element in elements {
                match element {
                    Element::TextBlock { text, .. } => out.push(text),
                    Element::FactSet { facts } => {
                        for fact in facts {
                            out.push(&fact.title);
                            out.push(&fact.value);
                        }
                    }
                    Element::Container { items, .. } => walk(items, out),
                    Element::RichTextBlock { .. } => {}
                }
            }
        }
        walk(&self.body, &mut out);
        out
    }

    /// Every text run of the card (never markdown).
    pub fn runs(&self) -> Vec<&TextRun> {
        let mut out = Vec::new();
        fn walk<'a>(elements: &'a [Element], out: &mut Vec<&'a TextRun>) {
            for element in elements {
                match element {
                    Element::RichTextBlock { inlines, .. } => {
                        out.extend(inlines.iter().map(|Inline::TextRun(run)| run));
                    }
                    Element::Container { items, .. } => walk(items, out),
                    Element::TextBlock { .. } | Element::FactSet { .. } => {}
                }
            }
        }
        walk(&self.body, &mut out);
        out
    }
}
