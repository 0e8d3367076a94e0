//! Tests of incident grouping: admission, the threshold, windows, redeliveries and the message.

use super::*;
use crate::judge::notice::Body;

const SETTINGS: Grouping = Grouping {
    window: Duration::minutes(5),
    threshold: 2,
};

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
}

fn about(subject: &str) -> Groupable {
    Groupable {
        account: "123456789012".into(),
        cluster: "prod".into(),
        cause: "image_pull".into(),
        headline: "Image pull failed".into(),
        hint: Some("Check the registry.".into()),
        reason: None,
        subject: subject.into(),
    }
}

/// Admits `subject`'s failure `event` at `at`, storing the next state.
fn step(state: &mut Option<GroupState>, subject: &str, event: &str, at: i64) -> Admission {
    let (a, next) = admit(
        state.as_ref(),
        &about(subject),
        (None, None),
        event,
        t(at),
        SETTINGS,
    );
    if let Some(next) = next {
        *state = Some(next);
    }
    a
}

#[test]
fn forty_services_give_two_alerts_and_one_group() {
    let mut state = None;
    let mut got = Vec::new();
    for i in 0..40 {
        got.push(step(
            &mut state,
            &format!("svc-{i:02}"),
            &format!("e{i}"),
            i * 2,
        ));
    }
    assert_eq!(
        &got[..3],
        [Admission::Alone, Admission::Alone, Admission::Open]
    );
    let replies = got
        .iter()
        .filter(|a| matches!(a, Admission::Join { reply: true, .. }))
        .count();
    assert_eq!(replies, 1, "one reply when it grows much");
    assert_eq!(
        got[9],
        Admission::Join {
            edit: true,
            reply: true
        },
        "at the 10th service"
    );
    // Failures 2 s apart: the grouped message is edited every 10 s (5 failures), or with
    // the reply.
    let edits = got
        .iter()
        .filter(|a| matches!(a, Admission::Join { edit: true, .. }))
        .count();
    assert_eq!(edits, 8, "{got:?}");
    let s = state.unwrap();
    assert_eq!((s.services(), s.failures, s.opened_with), (40, 40, 3));
    let text = format!("{:?}", notice(&s, SETTINGS.window, false));
    for i in 0..40 {
        assert!(text.contains(&format!("svc-{i:02}")), "{i}");
    }
    assert!(text.contains("Image pull failed: 40 services in prod since"));
}

#[test]
fn redeliveries_do_what_they_did_and_repeats_follow_the_group() {
    let mut state = None;
    step(&mut state, "a", "e1", 0);
    step(&mut state, "b", "e2", 1);
    // `a` fails again before the group is posted: its own alert (flood control decides).
    assert_eq!(step(&mut state, "a", "e3", 2), Admission::Alone);
    assert_eq!(step(&mut state, "c", "e4", 3), Admission::Open);
    // Once posted, the group holds repeats of its services.
    assert!(matches!(
        step(&mut state, "a", "e5", 4),
        Admission::Join { reply: false, .. }
    ));
    // A retried alert is never held back: the redelivery of `a`'s first alert alerts, the
    // opener's posts the grouped message again.
    assert_eq!(step(&mut state, "a", "e1", 5), Admission::Alone);
    assert_eq!(step(&mut state, "c", "e4", 6), Admission::Open);
    let s = state.unwrap();
    assert_eq!((s.services(), s.failures), (3, 5));
}

#[test]
fn a_window_ends_and_owes_its_summary_once_grouped() {
    let mut state = None;
    for (i, svc) in ["a", "b", "c", "d"].iter().enumerate() {
        step(&mut state, svc, &format!("e{i}"), i as i64);
    }
    let s = state.clone().unwrap();
    assert!(!s.summary_due(t(299), SETTINGS.window));
    assert!(s.summary_due(t(300), SETTINGS.window));
    // The next failure after the window opens a new one, alone, which keeps the ended
    // window until its summary is told.
    assert_eq!(step(&mut state, "e", "e9", 301), Admission::Alone);
    let next = state.clone().unwrap();
    assert_eq!(next.window_start, t(301));
    let owed = next.owed(t(301), SETTINGS.window);
    assert_eq!(owed.len(), 1);
    assert_eq!((owed[0].services(), owed[0].window_start), (4, t(0)));
    // A redelivery of a failure of the ended window does what it did then.
    assert!(matches!(
        step(&mut state, "d", "e3", 302),
        Admission::Join { reply: false, .. }
    ));
    let mut told = state.clone().unwrap();
    told.close(t(0));
    assert!(told.owed(t(302), SETTINGS.window).is_empty());
    // A window that never grouped owes nothing.
    let mut quiet = None;
    step(&mut quiet, "a", "q1", 0);
    assert!(!quiet.unwrap().summary_due(t(400), SETTINGS.window));
}

#[test]
fn late_and_told_failures_are_never_held() {
    let mut state = None;
    for (i, svc) in ["a", "b", "c"].iter().enumerate() {
        step(&mut state, svc, &format!("e{i}"), 10 + i as i64);
    }
    assert_eq!(step(&mut state, "z", "late", 5), Admission::Alone);
    state.as_mut().unwrap().closed = true;
    assert_eq!(step(&mut state, "y", "e8", 20), Admission::Alone);
}

#[test]
fn a_huge_group_stays_within_what_a_message_can_name() {
    let mut state = None;
    for i in 0..700 {
        step(&mut state, &format!("svc-{i}"), &format!("e{i}"), i / 10);
    }
    let s = state.unwrap();
    assert_eq!(
        (s.members.len(), s.more, s.services()),
        (REMEMBERED, 200, 700)
    );
    let n = notice(&s, SETTINGS.window, true);
    let Body::Items(items) = &n.sections[0].body else {
        panic!()
    };
    assert_eq!(items.len(), NAMED + 1);
    assert_eq!(items[NAMED].lead, format!("… and {} more", 700 - NAMED));
}
