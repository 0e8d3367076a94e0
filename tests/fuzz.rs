//! Property tests of decoding and rendering: arbitrary JSON and mutated sample events never
//! panic, never produce a Slack message over Slack's limits or a Teams message over Teams',
//! and never let event text ping or link in mrkdwn, or link or mention in a Teams card.

mod support;

use chrono::Utc;
use ecs_notifier::judge::Enrichment;
use ecs_notifier::judge::{judge, Options};
use ecs_notifier::source::events;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Cases per property: `FUZZ_CASES`, default 2000 (`make fuzz` runs many more).
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn samples() -> Vec<Value> {
    support::samples()
        .into_iter()
        .map(|(_, event)| event)
        .collect()
}

/// Any JSON value, a few levels deep, with strings full of mrkdwn control characters.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        nasty_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((field_name(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Strings mixing Slack's control characters, mentions, links, long runs and multi-byte text.
fn nasty_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<!channel>".to_string()),
        Just("<!here>".to_string()),
        Just("<@U024BE7LH>".to_string()),
        Just("<https://evil.example|click>".to_string()),
        Just("&amp;".to_string()),
        Just("```".to_string()),
        Just("*bold* _it_ ~s~".to_string()),
        Just("[click](https://evil.example)".to_string()),
        Just("<at>jane@contoso.com</at>".to_string()),
        Just("![x](https://evil.example/i.png) <https://evil.example>".to_string()),
        Just("\\[a](b) \\\\[c](d)".to_string()),
        Just("- 1. # ".to_string()),
        Just("🙂é漢".to_string()),
        "[<>&|@!`*_~\\[\\]()# a-z0-9\\\\-]{0,40}",
        "x{0,5000}",
        Just("OutOfMemoryError: Container killed".to_string()),
        Just("CannotPullContainerError".to_string()),
        Just("Scaling activity initiated by (deployment ecs-svc/1)".to_string()),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

/// Field names ECS uses, so random objects reach the decoders' interesting paths.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("source".to_string()),
        Just("detail-type".to_string()),
        Just("detail".to_string()),
        Just("lastStatus".to_string()),
        Just("containers".to_string()),
        Just("exitCode".to_string()),
        Just("reason".to_string()),
        Just("stoppedReason".to_string()),
        Just("stopCode".to_string()),
        Just("group".to_string()),
        Just("startedBy".to_string()),
        Just("eventName".to_string()),
        Just("eventType".to_string()),
        Just("errorCode".to_string()),
        Just("failures".to_string()),
        Just("userIdentity".to_string()),
        Just("requestParameters".to_string()),
        Just("responseElements".to_string()),
        Just("eventTypeCode".to_string()),
        Just("affectedEntities".to_string()),
        Just("messageAttributes".to_string()),
        Just("stringValue".to_string()),
        Just("Records".to_string()),
        // Hooks, container instances, daemons.
        Just("hookId".to_string()),
        Just("hookType".to_string()),
        Just("lifecycleStage".to_string()),
        Just("expiresAt".to_string()),
        Just("serviceDeploymentArn".to_string()),
        Just("overallStatus".to_string()),
        Just("healthChecks".to_string()),
        Just("type".to_string()),
        Just("status".to_string()),
        Just("statusReason".to_string()),
        Just("agentConnected".to_string()),
        Just("containerInstanceArn".to_string()),
        Just("ec2InstanceId".to_string()),
        Just("daemonArn".to_string()),
        Just("daemonDeploymentArn".to_string()),
        Just("failureType".to_string()),
        Just("capacityProviderName".to_string()),
        Just("version".to_string()),
        "[a-zA-Z]{1,12}",
    ]
}

/// Replaces, deletes or adds fields anywhere in `value`, driven by `choices`.
fn mutate(value: &mut Value, choices: &[(u8, Value)], depth: usize) {
    let Some((choice, replacement)) = choices.get(depth % choices.len().max(1)) else {
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys[*choice as usize % keys.len()].clone();
            match choice % 4 {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, replacement.clone());
                }
                _ => {
                    if let Some(child) = map.get_mut(&key) {
                        if depth < 12 {
                            mutate(child, choices, depth + 1);
                        }
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let idx = *choice as usize % items.len();
            if depth < 12 {
                mutate(&mut items[idx], choices, depth + 1);
            }
        }
        other => *other = replacement.clone(),
    }
}

/// What must hold for any input; returns how many events were judged (each twice, with the
/// notify options off and on).
fn check(input: &Value) -> Result<usize, TestCaseError> {
    let mut judged = 0;
    for (_, event) in events(input) {
        let Ok(event) = event else {
            continue;
        };
        judged += 1;
        // Whatever was dropped or coerced is said, at a path into the detail.
        for warning in event.warnings() {
            prop_assert!(
                warning.path.starts_with("detail") && !warning.why.is_empty(),
                "{}",
                warning
            );
        }
        for notify in [false, true] {
            let planned = judge(
                &event,
                &Enrichment::default(),
                &Options {
                    notify_on_success: notify,
                    notify_on_stop_timeout: notify,
                    ..Options::default()
                },
                Utc::now(),
            );
            if let Some(message) = &support::slack(&planned) {
                // No enrichment, so no routing tags: no mention may appear at all.
                check_message(message, &[])?;
            }
            if let Some(card) = &support::teams(&planned) {
                check_card(card, &[])?;
            }
        }
    }
    Ok(judged)
}

/// A Slack message within Slack's limits, whose only links are the console's and whose only
/// mentions are `mentions` (those the test configured): by the renderer's own check, and by
/// an independent reading of the JSON body as Slack reads it (`support::block_kit`).
fn check_message(
    message: &ecs_notifier::sinks::slack::Message,
    mentions: &[&str],
) -> Result<(), TestCaseError> {
    prop_assert_eq!(message.limit_violation(), None);
    let body = serde_json::to_value(message).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let problems = support::block_kit::problems(&body, mentions);
    prop_assert!(problems.is_empty(), "{:?} in {}", problems, body);
    Ok(())
}

/// A Teams message within Teams' size limit, whose markdown cannot link or mention, whose only
/// mentions are `mentions` and whose only buttons go to AWS (`support::teams_card`).
fn check_card(card: &Value, mentions: &[&str]) -> Result<(), TestCaseError> {
    let problems = support::teams_card::problems(card, mentions);
    prop_assert!(problems.is_empty(), "{:?} in {}", problems, card);
    Ok(())
}

/// The kinds of envelope the samples hold: (source, detail-type, the detail's kind-choosing
/// fields), one per distinct kind.
fn envelope_kinds() -> Vec<(String, String, Map<String, Value>)> {
    let mut kinds: Vec<(String, String, Map<String, Value>)> = samples()
        .iter()
        .filter_map(|e| {
            let kind_fields: Map<String, Value> = e
                .get("detail")?
                .as_object()?
                .iter()
                .filter(|(k, _)| KIND_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Some((
                e.get("source")?.as_str()?.to_string(),
                e.get("detail-type")?.as_str()?.to_string(),
                kind_fields,
            ))
        })
        .collect();
    kinds.sort_by_key(|(s, d, f)| format!("{s} {d} {}", Value::Object(f.clone())));
    kinds.dedup();
    kinds
}

/// A valid EventBridge envelope of a kind the function handles (the fields that choose the
/// kind taken from a sample), the rest of its detail arbitrary, so that decoding succeeds and
/// planning and rendering run on whatever the detail holds.
fn envelope() -> impl Strategy<Value = Value> {
    let kinds = envelope_kinds();
    assert!(
        kinds.len() >= 15,
        "the samples hold the kinds: {}",
        kinds.len()
    );
    (
        0..kinds.len(),
        prop::collection::vec((field_name(), json_value()), 0..12),
        nasty_string(),
        any::<bool>(),
    )
        .prop_map(move |(k, fields, text, in_queue)| {
            let (source, detail_type, kind_fields) = &kinds[k];
            let mut detail: Map<String, Value> = fields
                .into_iter()
                .filter(|(name, _)| !KIND_KEYS.contains(&name.as_str()))
                .collect();
            detail.extend(kind_fields.clone());
            let envelope = serde_json::json!({
                "version": "0",
                "id": format!("fuzz-{k}"),
                "source": source,
                "detail-type": detail_type,
                "account": "123456789012",
                "time": "2026-11-22T10:00:00Z",
                "region": "eu-west-1",
                "resources": [format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{text}")],
                "detail": Value::Object(detail),
            });
            if in_queue {
                // As EventBridge puts it on an SQS queue.
                serde_json::json!({"Records": [{
                    "messageId": "m-1", "eventSource": "aws:sqs",
                    "body": envelope.to_string(),
                }]})
            } else {
                envelope
            }
        })
}

/// Keys whose values choose what an event is; text is injected everywhere else.
const KIND_KEYS: [&str; 8] = [
    "source",
    "detail-type",
    "eventName",
    "eventSource", // also an SQS record's `aws:sqs`
    "eventTypeCode",
    "service",
    "lastStatus",
    "dataType",
];

/// Appends `text` to every string in `value` but the kind-choosing ones (appending keeps ARNs
/// readable, so names taken from them carry the text too).
fn inject(value: &mut Value, text: &str, key: &str) {
    match value {
        Value::String(s) if !KIND_KEYS.contains(&key) => s.push_str(text),
        Value::Array(items) => items.iter_mut().for_each(|v| inject(v, text, key)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                inject(v, text, k);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_breaks_decoding(input in json_value()) {
        check(&input)?;
    }

    #[test]
    fn valid_envelopes_with_arbitrary_details_are_judged_and_render_safely(input in envelope()) {
        let judged = check(&input)?;
        prop_assert!(judged >= 1, "the envelope was not judged: {}", input);
    }

    #[test]
    fn mutated_samples_render_safely(
        index in 0usize..1024,
        choices in prop::collection::vec((any::<u8>(), json_value()), 1..6),
        rounds in 1usize..4,
    ) {
        let all = samples();
        let mut event = all[index % all.len()].clone();
        for round in 0..rounds {
            mutate(&mut event, &choices, round);
        }
        check(&event)?;
    }

    #[test]
    fn event_text_in_every_field_is_escaped(index in 0usize..1024, text in nasty_string()) {
        let all = samples();
        let mut event = all[index % all.len()].clone();
        if let Some(detail) = event.get_mut("detail").and_then(Value::as_object_mut) {
            for key in ["stoppedReason", "group", "startedBy", "stopCode", "reason", "eventName", "availabilityZone", "launchType",
                        "statusReason", "lifecycleStage", "hookType", "failureType", "capacityProviderName", "ec2InstanceId", "status"] {
                detail.insert(key.to_string(), Value::from(text.clone()));
            }
            if let Some(checks) = detail.get_mut("healthChecks").and_then(Value::as_array_mut) {
                for c in checks {
                    c["type"] = Value::from(text.clone());
                    c["statusReason"] = Value::from(text.clone());
                }
            }
            if let Some(containers) = detail.get_mut("containers").and_then(Value::as_array_mut) {
                for c in containers {
                    c["reason"] = Value::from(text.clone());
                    c["name"] = Value::from(text.clone());
                    c["exitCode"] = Value::from(1);
                }
            }
        }
        check(&event)?;
    }

    #[test]
    fn event_text_in_any_string_is_escaped(index in 0usize..1024, text in nasty_string()) {
        let all = samples();
        let mut event = all[index % all.len()].clone();
        inject(&mut event, &text, "");
        // SQS records carry their event as a JSON string: inject into it as well.
        if let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) {
            for record in records {
                let body = record["body"].as_str().unwrap_or("");
                let original = body.strip_suffix(text.as_str()).unwrap_or(body).to_string();
                if let Ok(mut inner) = serde_json::from_str::<Value>(&original) {
                    inject(&mut inner, &text, "");
                    record["body"] = Value::from(inner.to_string());
                }
            }
        }
        check(&event)?;
    }

    #[test]
    fn missed_run_alerts_escape_job_text(text in nasty_string(), mention in any::<bool>()) {
        use chrono::TimeZone;
        let mut tags = std::collections::BTreeMap::new();
        tags.insert("ecs-notifier:expect-every".to_string(), text.clone());
        if mention {
            tags.insert("ecs-notifier:mention".to_string(), "subteam:S0FUZZ jane.o'neil@contoso.com".to_string());
        }
        let job = ecs_notifier::judge::jobs::Job {
            account: text.clone(),
            region: text.clone(),
            cluster: text.clone(),
            family: text.clone(),
            expect: "1h".into(),
            timezone: Some(text.clone()),
            schedule: Some(text.clone()),
            grace: chrono::Duration::minutes(15),
            first_seen: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            last_success: Some(Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap()),
            last_success_ran: chrono::Duration::minutes(3),
            last_run: Some(Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap()),
            last_result: Some(text.clone()),
            tags,
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
        let (missed, _, ages) = ecs_notifier::judge::jobs::missed_run::plan(vec![job], now);
        prop_assert_eq!(missed.len(), 1);
        prop_assert_eq!(ages.series.len(), 2);
        let mentions: &[&str] = if mention { &["<!subteam^S0FUZZ>"] } else { &[] };
        check_message(support::slack(&missed[0]).as_ref().unwrap(), mentions)?;
        let teams: &[&str] = if mention { &["jane.o'neil@contoso.com"] } else { &[] };
        check_card(support::teams(&missed[0]).as_ref().unwrap(), teams)?;
    }

    #[test]
    fn no_text_in_a_notice_links_or_mentions_in_teams(
        texts in prop::collection::vec(nasty_string(), 8),
        teams_user in any::<bool>(),
    ) {
        use ecs_notifier::judge::notice::{Body, Item, Link, Mention, Notice, Section, Severity};
        let t = |i: usize| texts[i % texts.len()].clone();
        let notice = Notice {
            severity: Severity::Failure,
            title: t(0),
            summary: t(1),
            fields: vec![(t(2), t(3)), ("Cluster".into(), t(4))],
            sections: vec![
                Section { label: t(5), body: Body::Code(t(6)) },
                Section { label: "Containers".into(), body: Body::Items(vec![Item { lead: t(7), text: t(0) }]) },
                Section { label: "Hint".into(), body: Body::Text(t(1)) },
            ],
            links: vec![
                Link { label: t(2), url: "https://eu-west-1.console.aws.amazon.com/ecs/v2/x".into() },
                Link { label: t(3), url: format!("https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/{}", t(4)) },
            ],
            context: vec![t(5), t(6)],
            mentions: if teams_user { vec![Mention::TeamsUser("jane@contoso.com".into()), Mention::Here] } else { Vec::new() },
        };
        let envelope = ecs_notifier::sinks::teams::render(&notice);
        let card: Value = serde_json::from_slice(&envelope.body()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let allowed: &[&str] = if teams_user { &["jane@contoso.com"] } else { &[] };
        let problems = support::teams_card::problems(&card, allowed);
        prop_assert!(problems.is_empty(), "{:?} in {}", problems, card);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// A button press is read from what anyone can send to the function URL: any JSON, any body,
    /// any headers are refused or read, never a panic; only a body signed with the secret at a
    /// timestamp within 5 minutes verifies.
    #[test]
    fn any_interactivity_request_is_read_or_refused(
        input in json_value(),
        body in prop::collection::vec(any::<u8>(), 0..512),
        timestamp in any::<i64>(),
        signature in ".{0,80}",
        encoded in any::<bool>(),
    ) {
        use ecs_notifier::config::Secret;
        use ecs_notifier::interact::{press, request, verify};
        let _ = request::read(&input);
        let _ = request::is_http(&input);
        let text = String::from_utf8_lossy(&body).to_string();
        let payload = serde_json::json!({
            "rawPath": "/", "requestContext": {"http": {"method": "POST"}, "timeEpoch": 0},
            "headers": {"x-slack-request-timestamp": timestamp.to_string(), "x-slack-signature": signature},
            "body": text, "isBase64Encoded": encoded,
        });
        let secret = Secret::new("s3cret");
        if let Ok(signed) = request::read(&payload) {
            let now = chrono::Utc::now().timestamp();
            prop_assert!(verify::verify(&secret, &signed, now).is_err(), "an unsigned body verified");
            let _ = press::read(&signed.body);
        }
        let _ = press::read(&body);
    }
}

/// The oracle itself: it catches what the properties rely on it to catch.
#[test]
fn the_oracle_rejects_unescaped_mentions_links_and_overlong_blocks() {
    use serde_json::json;
    let problems = |body: Value, mentions: &[&str]| support::block_kit::problems(&body, mentions);
    let section = |text: &str| json!({"text": "fallback", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]});
    let console = "<https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod|prod>";
    assert_eq!(problems(section(console), &[]), Vec::<String>::new());
    assert_eq!(
        problems(section("&lt;!here&gt; a &amp; b"), &[]),
        Vec::<String>::new()
    );
    for bad in [
        "<!here>",
        "x <!channel>",
        "<@U024BE7LH>",
        "<https://evil.example|click>",
        "<https://evil.example/x.console.aws.amazon.com|x>",
    ] {
        assert_eq!(problems(section(bad), &[]).len(), 1, "{bad}");
    }
    // A mention the test configured passes; the same one from nowhere does not.
    assert!(problems(section("<!subteam^S0FUZZ> look"), &["<!subteam^S0FUZZ>"]).is_empty());
    assert_eq!(problems(section("<!subteam^S0FUZZ> look"), &[]).len(), 1);
    // Limits, whatever the renderer thinks of them.
    let header = json!({"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h".repeat(151)}}]});
    assert_eq!(problems(header, &[]).len(), 1);
    let fields: Vec<Value> = (0..11)
        .map(|i| json!({"type": "mrkdwn", "text": format!("f{i}")}))
        .collect();
    let many = json!({"text": "t", "blocks": [{"type": "section", "fields": fields}]});
    assert_eq!(problems(many, &[]).len(), 1);
    let unknown = json!({"text": "t", "blocks": [{"type": "rich_text", "elements": []}]});
    assert_eq!(
        problems(unknown, &[]).len(),
        1,
        "a block type the check does not know"
    );
}

/// The Teams oracle catches what the properties rely on it to catch.
#[test]
fn the_teams_oracle_rejects_links_mentions_and_oversize() {
    use serde_json::json;
    let card = |body: Value, entities: Value| {
        json!({"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
        "content": {"type": "AdaptiveCard", "version": "1.5", "body": body,
                    "msteams": {"width": "Full", "entities": entities}}}]})
    };
    let facts = |v: &str| json!([{"type": "FactSet", "facts": [{"title": "x", "value": v}]}]);
    let problems = |c: Value, m: &[&str]| support::teams_card::problems(&c, m);
    assert!(problems(card(facts(r"\[a\](b) \<at\>x\</at\>"), json!([])), &[]).is_empty());
    for bad in ["[a](b)", "<at>x</at>", r"\\[a](b)", "<https://e>"] {
        assert!(
            !problems(card(facts(bad), json!([])), &[]).is_empty(),
            "{bad}"
        );
    }
    let mention = json!([{"type": "mention", "text": "<at>j@c.com</at>", "mentioned": {"id": "j@c.com", "name": "j@c.com"}}]);
    let block = json!([{"type": "TextBlock", "text": "<at>j@c.com</at>", "wrap": true}]);
    assert!(problems(card(block.clone(), mention.clone()), &["j@c.com"]).is_empty());
    assert!(!problems(card(block, mention), &[]).is_empty());
    let runs = json!([{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "x".repeat(30_000)}]}]);
    assert!(!problems(card(runs, json!([])), &[]).is_empty());
}
