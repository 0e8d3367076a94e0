//! Renders a notice as an Adaptive Card for Teams: the event's text in text runs (never read as
//! markdown), the facts as a FactSet (escaped), buttons to the AWS pages, mentions of Teams users
//! only, and every text cut until the message fits Teams' size limit.

use super::card::Envelope;
use super::card::{
    Action, Card, Element, Entity, Fact, MsTeams, TextRun, ACTIONS_MAX, PAYLOAD_MAX, SCHEMA,
    VERSION,
};
use super::text::{escape, fit};
use crate::judge::notice::{Body, Mention, Notice, Severity};

/// The longest text kept, then shorter ones until the message fits.
const TEXT_LIMITS: [usize; 7] = [3000, 1500, 700, 300, 150, 80, 40];
/// Lines of verbatim text (log lines, AWS's messages) shown per section.
const LINES_MAX: usize = 40;
/// Facts, sections and small-print lines shown.
const FACTS_MAX: usize = 20;
const SECTIONS_MAX: usize = 16;
const ITEMS_MAX: usize = 100;
/// The longest URL a button keeps (a longer one is left out rather than cut).
const URL_MAX: usize = 2048;

/// The emoji shown before a notice's title.
pub fn emoji(severity: Severity) -> &'static str {
    match severity {
        Severity::Failure => "🔴",
        Severity::Warning => "⚠️",
        Severity::Success => "✅",
        Severity::Info => "ℹ️",
    }
}

/// The container style of the title: red, amber, green or blue.
fn style(severity: Severity) -> &'static str {
    match severity {
        Severity::Failure => "attention",
        Severity::Warning => "warning",
        Severity::Success => "good",
        Severity::Info => "accent",
    }
}

/// Renders a notice as the message a Teams Workflow posts: the card, cut to fit Teams' size
/// limit (never refused for its size).
pub fn render(notice: &Notice) -> Envelope {
    let mut last = None;
    for limit in TEXT_LIMITS {
        let envelope = Envelope::of(card(notice, limit, true));
        if envelope.body().len() <= PAYLOAD_MAX {
            return envelope;
        }
        last = Some(envelope);
    }
    // Still too large at the shortest texts: the sections go, the rest stays.
    let envelope = Envelope::of(card(notice, TEXT_LIMITS[TEXT_LIMITS.len() - 1], false));
    if envelope.body().len() <= PAYLOAD_MAX {
        return envelope;
    }
    last.unwrap_or(envelope)
}

/// The card of a notice with every text cut to `limit` characters; `sections`: with them.
pub fn card(notice: &Notice, limit: usize, sections: bool) -> Card {
    let title = format!("{} {}", emoji(notice.severity), notice.title);
    let mut body = vec![Element::Container {
        items: vec![Element::runs(vec![TextRun {
            size: Some("Large".into()),
            ..TextRun::bold(fit(&title, limit.min(200)))
        }])],
        style: Some(style(notice.severity).into()),
        bleed: true,
    }];
    let (entities, mention_line, not_mentioned) = mentions(&notice.mentions);
    if let Some(line) = mention_line {
        body.push(Element::TextBlock {
            text: line,
            wrap: true,
        });
    }
    body.push(Element::runs(vec![TextRun::plain(fit(
        &notice.summary,
        limit,
    ))]));
    if !notice.fields.is_empty() {
        let facts = notice
            .fields
            .iter()
            .take(FACTS_MAX)
            .map(|(label, value)| Fact {
                title: escape(&fit(label, 100)),
                value: escape(&fit(value, limit.min(1000))),
            })
            .collect();
        body.push(Element::FactSet { facts });
    }
    if sections {
        for part in notice.sections.iter().take(SECTIONS_MAX) {
            body.push(Element::runs(vec![TextRun::bold(fit(&part.label, 200))]));
            body.extend(section_body(&part.body, limit));
        }
    }
    if let Some(note) = not_mentioned {
        body.push(Element::runs(vec![TextRun {
            italic: true,
            ..TextRun::small(note)
        }]));
    }
    for line in notice.context.iter().take(FACTS_MAX) {
        body.push(Element::line(vec![TextRun::small(fit(line, limit))]));
    }
    Card {
        kind: "AdaptiveCard".into(),
        schema: SCHEMA.into(),
        version: VERSION.into(),
        fallback_text: fit(&format!("{}: {}", notice.title, notice.summary), 300),
        body,
        actions: actions(notice),
        msteams: MsTeams {
            width: "Full".into(),
            entities,
        },
    }
}

/// A section's body: prose, verbatim lines in monospace, or a list.
fn section_body(body: &Body, limit: usize) -> Vec<Element> {
    match body {
        Body::Text(text) => vec![Element::line(vec![TextRun::plain(fit(text, limit))])],
        Body::Code(text) => {
            let text = fit(text, limit);
            let lines: Vec<&str> = text.lines().collect();
            let mut out: Vec<Element> = lines
                .iter()
                .take(LINES_MAX)
                .map(|line| Element::line(vec![TextRun::mono(fit(line, limit))]))
                .collect();
            if lines.len() > LINES_MAX {
                let more = format!("… {} more line(s)", lines.len() - LINES_MAX);
                out.push(Element::line(vec![TextRun::small(more)]));
            }
            out
        }
        Body::Items(items) => {
            let mut out: Vec<Element> = items
                .iter()
                .take(ITEMS_MAX)
                .map(|item| {
                    Element::line(vec![
                        TextRun::plain("• "),
                        TextRun::mono(fit(&item.lead, 200)),
                        TextRun::plain(format!(" {}", fit(&item.text, limit))),
                    ])
                })
                .collect();
            if items.len() > ITEMS_MAX {
                let more = format!("… {} more", items.len() - ITEMS_MAX);
                out.push(Element::line(vec![TextRun::small(more)]));
            }
            out
        }
    }
}

/// The buttons: one per link, in order, those with a usable URL.
fn actions(notice: &Notice) -> Vec<Action> {
    notice
        .links
        .iter()
        .filter(|l| {
            (l.url.starts_with("https://") || l.url.starts_with("http://"))
                && l.url.len() <= URL_MAX
                && !l.url.contains(char::is_whitespace)
        })
        .take(ACTIONS_MAX)
        .map(|l| Action::OpenUrl {
            title: fit(&l.label, 60),
            url: l.url.clone(),
        })
        .collect()
}

/// The mention entities of the Teams users among `mentions`, the line that names them, and a
/// note on those Teams cannot ping (Slack's).
fn mentions(mentions: &[Mention]) -> (Vec<Entity>, Option<String>, Option<String>) {
    let mut entities = Vec::new();
    let mut skipped = Vec::new();
    for mention in mentions {
        match mention.teams_user() {
            // Validated: a UPN or a GUID, with no character markdown or `<at>` reads.
            Some(id) => entities.push(Entity {
                kind: "mention".into(),
                text: format!("<at>{id}</at>"),
                mentioned: super::card::Mentioned {
                    id: id.to_string(),
                    name: id.to_string(),
                },
            }),
            None => skipped.push(mention.label()),
        }
    }
    let line = (!entities.is_empty()).then(|| {
        let names: Vec<&str> = entities.iter().map(|e| e.text.as_str()).collect();
        names.join(" ")
    });
    let note = (!skipped.is_empty()).then(|| {
        format!(
            "Not mentioned here: {} (Slack mentions; a Teams card mentions Teams users only, \
             named by UPN or Microsoft Entra object id in the tag ecs-notifier:mention)",
            skipped.join(", ")
        )
    });
    (entities, line, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::notice::{Item, Link, Section};

    fn notice(text: &str) -> Notice {
        Notice {
            severity: Severity::Failure,
            title: text.to_string(),
            summary: text.to_string(),
            fields: vec![("Cluster".into(), text.to_string())],
            sections: vec![
                Section::code("Stop reason", text),
                Section::items(
                    "Containers",
                    vec![Item {
                        lead: text.to_string(),
                        text: text.to_string(),
                    }],
                ),
                Section::text("What it means", text),
            ],
            links: vec![Link {
                label: "Task".into(),
                url: "https://eu-west-1.console.aws.amazon.com/ecs/v2/x".into(),
            }],
            context: vec![text.to_string()],
            mentions: Vec::new(),
        }
    }

    #[test]
    fn card_shape() {
        let json = serde_json::to_value(render(&notice("x"))).unwrap();
        assert_eq!(json["type"], "message");
        let a = &json["attachments"][0];
        assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
        assert!(a["contentUrl"].is_null());
        let card = &a["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.5");
        assert_eq!(card["body"][0]["style"], "attention");
        assert_eq!(card["body"][0]["items"][0]["inlines"][0]["text"], "🔴 x");
        assert_eq!(card["body"][2]["type"], "FactSet");
        assert_eq!(card["body"][2]["facts"][0]["title"], "Cluster");
        assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
        assert_eq!(card["msteams"]["width"], "Full");
    }

    #[test]
    fn event_text_cannot_link_or_mention() {
        let evil = "[click](https://evil.example) <at>jane@contoso.com</at> **x**";
        let envelope = render(&notice(evil));
        let card = envelope.card().unwrap();
        assert!(card.msteams.entities.is_empty());
        for text in card.markdown_texts() {
            assert!(!text.contains("[click]"), "{text}");
            assert!(!text.contains("<at>"), "{text}");
        }
        // Text runs are not markdown: shown as written.
        assert!(card.runs().iter().any(|r| r.text == evil));
    }

    #[test]
    fn teams_users_are_mentioned_and_slack_mentions_noted() {
        let mut n = notice("x");
        n.mentions = vec![
            Mention::TeamsUser("jane@contoso.com".into()),
            Mention::Here,
            Mention::SlackGroup("S0123ABC".into()),
        ];
        let json = serde_json::to_value(render(&n)).unwrap();
        let card = &json["attachments"][0]["content"];
        assert_eq!(card["body"][1]["text"], "<at>jane@contoso.com</at>");
        let entity = &card["msteams"]["entities"][0];
        assert_eq!(entity["type"], "mention");
        assert_eq!(entity["text"], "<at>jane@contoso.com</at>");
        assert_eq!(entity["mentioned"]["id"], "jane@contoso.com");
        let text = json.to_string();
        assert!(
            text.contains("Not mentioned here: @here, S0123ABC"),
            "{text}"
        );
    }

    #[test]
    fn a_huge_notice_is_cut_to_fit() {
        let mut n = notice(&"error <detail> ".repeat(3000));
        n.fields = (0..40)
            .map(|i| (format!("F{i}"), "v".repeat(5000)))
            .collect();
        n.sections = (0..30)
            .map(|i| Section::code(format!("S{i}"), "line\n".repeat(2000)))
            .collect();
        let envelope = render(&n);
        let size = envelope.body().len();
        assert!(size <= PAYLOAD_MAX, "{size}");
        let text = String::from_utf8(envelope.body()).unwrap();
        assert!(text.contains(super::super::text::CUT_MARKER));
    }
}
