//! What each button does to the alert and its thread, as messages: the acknowledged alert
//! (edited in place), and the thread's replies saying who did what, until when.

use chrono::{DateTime, Utc};

use super::alert::AlertRecord;
use super::press::ACK;
use crate::sinks::slack::buttons::{on_it, reply, span};
use crate::sinks::slack::mrkdwn::escape;
use crate::sinks::slack::{Block, Message};

/// The alert with who took it under its title, and without the Acknowledge button.
pub fn acknowledged(record: &AlertRecord, user: &str) -> Message {
    let mut message = record.message.clone();
    let line = on_it(user);
    for block in &mut message.blocks {
        if let Block::Actions { elements, .. } = block {
            elements.retain(|b| b.action_id != ACK);
        }
    }
    message
        .blocks
        .retain(|b| !matches!(b, Block::Actions { elements, .. } if elements.is_empty()));
    // Replaces an earlier acknowledgement's line: the header is first, the line second.
    let earlier = record.acknowledged_by.is_some() && message.blocks.len() > 1;
    if earlier {
        message.blocks[1] = line;
    } else {
        let at = usize::from(!message.blocks.is_empty());
        message.blocks.insert(at, line);
    }
    message
}

/// The thread reply of an acknowledgement.
pub fn acknowledge(user: &str) -> Message {
    reply(&format!("👀 <@{user}> is on it."), None)
}

/// The thread reply of a silence, with the button that lifts it.
pub fn silence(record: &AlertRecord, user: &str, seconds: u64, until: DateTime<Utc>) -> Message {
    let text = format!(
        "🔕 <@{user}> silenced alerts of {} for this cause for {}, until {} UTC. Datadog still counts every stop.",
        escape(&record.subject),
        span(seconds),
        until.format("%Y-%m-%d %H:%M"),
    );
    reply(&text, Some(&record.id))
}

/// The thread reply of a lifted silence.
pub fn unsilence(record: &AlertRecord, user: &str) -> Message {
    reply(
        &format!(
            "🔔 <@{user}> lifted the silence of {}: its alerts post again.",
            escape(&record.subject)
        ),
        None,
    )
}

/// The thread reply of a re-run: the new task, or why there is none.
pub fn rerun(user: &str, started: Result<&str, &str>) -> Message {
    let text = match started {
        Ok(task_arn) => format!(
            "🔁 <@{user}> re-ran the job: task `{}`. Its outcome will be told here.",
            escape(task_arn)
        ),
        Err(why) => format!(
            "⚠️ <@{user}> pressed Re-run, but the task could not start: {}",
            escape(why)
        ),
    };
    reply(&text, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::post::Buttons;
    use crate::sinks::slack::buttons::with_actions;
    use crate::sinks::slack::Text;

    fn record() -> AlertRecord {
        let message = Message {
            text: "Out of memory".into(),
            blocks: vec![Block::Header {
                text: Text::Plain {
                    text: "🔴 Out of memory".into(),
                    emoji: true,
                },
            }],
        };
        let buttons = Buttons {
            alert: Some("a1".into()),
            silences: vec![3600],
            ..Buttons::default()
        };
        AlertRecord {
            id: "a1".into(),
            channel: "C1".into(),
            ts: "1.2".into(),
            message: with_actions(message, &buttons, true),
            silence_key: "prod/nightly/oom".into(),
            subject: "nightly".into(),
            task_arn: "arn:t".into(),
            rerun: None,
            acknowledged_by: None,
        }
    }

    #[test]
    fn an_acknowledged_alert_says_who_and_loses_its_button() {
        let mut r = record();
        let edited = acknowledged(&r, "U1");
        let json = serde_json::to_value(&edited).unwrap();
        assert_eq!(json["blocks"][1]["text"]["text"], "👀 <@U1> is on it");
        assert_eq!(json["blocks"][2]["elements"][0]["action_id"], "silence");
        assert_eq!(json["blocks"].as_array().unwrap().len(), 3);
        r.message = edited;
        r.acknowledged_by = Some("U1".into());
        let again = serde_json::to_value(acknowledged(&r, "U2")).unwrap();
        assert_eq!(again["blocks"][1]["text"]["text"], "👀 <@U2> is on it");
        assert_eq!(again["blocks"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn thread_replies_say_who_and_until_when() {
        let until = DateTime::parse_from_rfc3339("2026-12-05T03:00:00Z")
            .unwrap()
            .to_utc();
        let s = serde_json::to_value(silence(&record(), "U1", 3600, until)).unwrap();
        assert!(s["text"]
            .as_str()
            .unwrap()
            .contains("<@U1> silenced alerts of nightly"));
        assert!(s["text"]
            .as_str()
            .unwrap()
            .contains("until 2026-12-05 03:00 UTC"));
        assert_eq!(s["blocks"][1]["elements"][0]["value"], "a1");
        assert!(rerun("U1", Ok("arn:x")).text.contains("`arn:x`"));
        assert!(rerun("U1", Err("denied")).text.contains("denied"));
        assert!(rerun("U1", Err("<!channel>"))
            .text
            .contains("&lt;!channel&gt;"));
        assert!(unsilence(&record(), "U1").text.contains("lifted"));
        assert!(acknowledge("U1").text.contains("on it"));
    }
}
