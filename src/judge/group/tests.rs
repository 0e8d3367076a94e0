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

/// The clocks at `now`, as an invocation bringing events of that time reads them.
fn clock(now: i64) -> Clock {
    Clock {
        reached: Some(t(now)),
        now: t(now),
        wall: t(now),
        settle: Duration::minutes(5),
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
    // Repeats delivered again do what they did, and are not counted again.
    assert_eq!(step(&mut state, "a", "e3", 7), Admission::Alone);
    assert!(matches!(
        step(&mut state, "a", "e5", 8),
        Admission::Join { reply: false, .. }
    ));
    let s = state.unwrap();
    assert_eq!((s.services(), s.failures), (3, 5));
}

/// Admits `subject`'s failure `event` that happened at `at` and arrives four days later.
fn step_late(state: &mut Option<GroupState>, subject: &str, event: &str, at: i64) -> Admission {
    let timing = Timing {
        happened: t(at),
        arrived: t(at + 4 * 86_400),
        late_after: Some(Duration::minutes(5)),
    };
    let (a, next) = admit_arrived(
        state.as_ref(),
        &about(subject),
        (None, None),
        event,
        timing,
        SETTINGS,
    );
    if let Some(next) = next {
        *state = Some(next);
    }
    a
}

#[test]
fn a_backlog_is_one_window_told_once_it_has_stopped_arriving() {
    let mut state = None;
    // Out of order, as a redriven queue delivers: the earlier ones join the window too.
    let order = [10, 12, 14, 2, 16, 4, 18];
    let got: Vec<Admission> = order
        .iter()
        .map(|&i| step_late(&mut state, &format!("svc-{i:02}"), &format!("e{i}"), i))
        .collect();
    assert_eq!(
        &got[..3],
        [Admission::Alone, Admission::Alone, Admission::Open]
    );
    assert!(got[3..].iter().all(|a| matches!(a, Admission::Join { .. })));
    let s = state.clone().unwrap();
    assert_eq!((s.services(), s.first_at()), (7, t(2)));
    assert_eq!(s.late.map(|l| l.least / 86_400), Some(4));
    // The wall clock passed its end days ago, but it is still arriving: not yet.
    let arrived = t(18 + 4 * 86_400);
    let mut wall = Clock {
        reached: Some(t(18)),
        now: arrived,
        wall: arrived,
        settle: Duration::minutes(5),
    };
    assert!(!s.summary_due(&wall, SETTINGS.window));
    // Once it has stopped arriving, or when the backlog reaches the window's end, it is.
    wall.wall = arrived + Duration::minutes(5);
    wall.now = wall.wall;
    assert!(s.summary_due(&wall, SETTINGS.window));
    assert!(s.summary_due(
        &Clock {
            reached: Some(t(310)),
            ..clock(300)
        },
        SETTINGS.window
    ));
    // Told, then more of it arrives: a new service joins and it owes its summary again; a
    // redelivery does not.
    state.as_mut().unwrap().close(t(10));
    assert!(matches!(
        step_late(&mut state, "svc-02", "e2", 2),
        Admission::Join { .. }
    ));
    assert!(!state.as_ref().unwrap().summary_due(&wall, SETTINGS.window));
    assert!(matches!(
        step_late(&mut state, "svc-20", "e20", 20),
        Admission::Join { .. }
    ));
    let s = state.unwrap();
    assert!(!s.closed);
    let text = notice(&s, SETTINGS.window, true);
    assert!(
        text.title
            .ends_with("services in prod at 2027-01-15 08:00 UTC, arriving 4d late"),
        "{}",
        text.title
    );
    assert!(
        text.summary.starts_with("These failures arrive late"),
        "{}",
        text.summary
    );
}

#[test]
fn a_window_ends_and_owes_its_summary_once_grouped() {
    let mut state = None;
    for (i, svc) in ["a", "b", "c", "d"].iter().enumerate() {
        step(&mut state, svc, &format!("e{i}"), i as i64);
    }
    let s = state.clone().unwrap();
    assert!(!s.summary_due(&clock(299), SETTINGS.window));
    assert!(s.summary_due(&clock(300), SETTINGS.window));
    // The next failure after the window opens a new one, alone, which keeps the ended
    // window until its summary is told.
    assert_eq!(step(&mut state, "e", "e9", 301), Admission::Alone);
    let next = state.clone().unwrap();
    assert_eq!(next.window_start, t(301));
    let owed = next.owed(&clock(301), SETTINGS.window);
    assert_eq!(owed.len(), 1);
    assert_eq!((owed[0].services(), owed[0].window_start), (4, t(0)));
    // A redelivery of a failure of the ended window does what it did then.
    assert!(matches!(
        step(&mut state, "d", "e3", 302),
        Admission::Join { reply: false, .. }
    ));
    let mut told = state.clone().unwrap();
    told.close(t(0));
    assert!(told.owed(&clock(302), SETTINGS.window).is_empty());
    // A window that never grouped owes nothing.
    let mut quiet = None;
    step(&mut quiet, "a", "q1", 0);
    assert!(!quiet.unwrap().summary_due(&clock(400), SETTINGS.window));
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
