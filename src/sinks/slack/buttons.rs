//! The buttons under an alert as a Block Kit `actions` block: in app mode Acknowledge, Silence
//! (one per configured duration), Re-run for a job, each naming the alert in its value; in
//! both modes the runbook's link.

use super::blocks::{Block, Button, Message, Text, BLOCKS_MAX};
use crate::judge::post::Buttons;

/// The `action_id`s of the buttons this function posts.
pub const ACK: &str = "ack";
pub const SILENCE: &str = "silence";
pub const UNSILENCE: &str = "unsilence";
pub const RERUN: &str = "rerun";
pub const RUNBOOK: &str = "runbook";

/// A button's value: the alert id, and for Silence `:seconds`.
pub fn value(alert: &str, seconds: Option<u64>) -> String {
    match seconds {
        Some(s) => format!("{alert}:{s}"),
        None => alert.to_string(),
    }
}

/// The `block_id` of the alert's buttons.
pub const ALERT_ACTIONS: &str = "ecs-notifier-alert";

fn button(text: &str, action_id: &str, value: Option<String>) -> Button {
    Button {
        text: Text::Plain {
            text: text.to_string(),
            emoji: true,
        },
        action_id: action_id.to_string(),
        value,
        url: None,
        style: None,
    }
}

/// `1h`, `30m`, `1d`, `90s`: a silence's length as a button says it.
pub fn span(seconds: u64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The actions block of an alert; none when it has no button.
pub fn actions(buttons: &Buttons, app: bool) -> Option<Block> {
    let mut elements = Vec::new();
    if let (true, Some(alert)) = (app, &buttons.alert) {
        if buttons.acknowledged_by.is_none() {
            let mut ack = button("👀 Acknowledge", ACK, Some(alert.clone()));
            ack.style = Some("primary".into());
            elements.push(ack);
        }
        for &seconds in &buttons.silences {
            let value = value(alert, Some(seconds));
            let text = format!("🔕 Silence {}", span(seconds));
            elements.push(button(&text, SILENCE, Some(value)));
        }
        if buttons.rerun {
            elements.push(button("🔁 Re-run", RERUN, Some(alert.clone())));
        }
    }
    if let Some(url) = &buttons.runbook {
        let mut link = button("📖 Runbook", RUNBOOK, None);
        link.url = Some(url.clone());
        elements.push(link);
    }
    (!elements.is_empty()).then(|| Block::Actions {
        block_id: Some(ALERT_ACTIONS.into()),
        elements,
    })
}

/// The line under an acknowledged alert's title.
pub fn on_it(user: &str) -> Block {
    Block::Section {
        text: Some(Text::Mrkdwn {
            text: format!("👀 <@{user}> is on it"),
        }),
        fields: Vec::new(),
    }
}

/// Adds the alert's buttons to its message (when the message has room for one more block), and
/// in app mode who acknowledged it under its title.
pub fn with_actions(mut message: Message, buttons: &Buttons, app: bool) -> Message {
    if let (true, Some(user), false) = (app, &buttons.acknowledged_by, message.blocks.is_empty()) {
        if message.blocks.len() < BLOCKS_MAX {
            message.blocks.insert(1, on_it(user));
        }
    }
    if let Some(block) = actions(buttons, app) {
        if message.blocks.len() < BLOCKS_MAX {
            message.blocks.push(block);
        }
    }
    message
}

/// A thread reply: one mrkdwn section, and the Unsilence button when it tells of a silence.
pub fn reply(text: &str, unsilence: Option<&str>) -> Message {
    let mut blocks = vec![Block::Section {
        text: Some(Text::Mrkdwn {
            text: text.to_string(),
        }),
        fields: Vec::new(),
    }];
    if let Some(alert) = unsilence {
        blocks.push(Block::Actions {
            block_id: None,
            elements: vec![button("🔔 Unsilence", UNSILENCE, Some(alert.to_string()))],
        });
    }
    Message {
        text: text.to_string(),
        blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Buttons {
        Buttons {
            alert: Some("a1".into()),
            silences: vec![3600, 4 * 3600, 86_400],
            rerun: true,
            runbook: Some("https://wiki.example/run".into()),
            acknowledged_by: None,
        }
    }

    #[test]
    fn app_mode_has_every_button_webhooks_the_link_only() {
        let json = serde_json::to_value(actions(&all(), true).unwrap()).unwrap();
        let ids: Vec<&str> = json["elements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["ack", "silence", "silence", "silence", "rerun", "runbook"]
        );
        assert_eq!(json["elements"][3]["value"], "a1:86400");
        assert_eq!(json["elements"][3]["text"]["text"], "🔕 Silence 1d");
        assert_eq!(json["elements"][5]["url"], "https://wiki.example/run");
        assert_eq!(json["type"], "actions");
        let webhook = serde_json::to_value(actions(&all(), false).unwrap()).unwrap();
        assert_eq!(webhook["elements"].as_array().unwrap().len(), 1);
        assert_eq!(actions(&Buttons::default(), true), None);
        let message = with_actions(reply("x", None), &all(), true);
        assert_eq!(message.limit_violation(), None);
        let mut taken = all();
        taken.acknowledged_by = Some("U7".into());
        let header = Block::Header {
            text: Text::Plain {
                text: "x".into(),
                emoji: true,
            },
        };
        let message = Message {
            text: "x".into(),
            blocks: vec![header],
        };
        let json = serde_json::to_value(with_actions(message, &taken, true)).unwrap();
        assert_eq!(json["blocks"][1]["text"]["text"], "👀 <@U7> is on it");
        assert_eq!(json["blocks"][2]["elements"][0]["action_id"], "silence");
        assert_eq!(span(1800), "30m");
        assert_eq!(span(90), "90s");
    }
}
