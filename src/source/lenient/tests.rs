//! The lenient readers on odd shapes: what is coerced, what is dropped, what each notes.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
struct Inner {
    #[serde(default, deserialize_with = "super::opt")]
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Probe {
    #[serde(default, deserialize_with = "super::opt")]
    code: Option<i64>,
    #[serde(default, deserialize_with = "super::opt")]
    at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::list")]
    names: Vec<String>,
    #[serde(default, deserialize_with = "super::records")]
    inner: Vec<Inner>,
    #[serde(default, deserialize_with = "super::opt")]
    last: Option<String>,
    #[serde(default, deserialize_with = "super::opt")]
    flag: Option<bool>,
    #[serde(default, deserialize_with = "super::object")]
    one: Inner,
}

fn both(text: &str) -> Vec<Probe> {
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    vec![
        serde_json::from_str(text).unwrap(),
        Probe::deserialize(&value).unwrap(),
    ]
}

#[test]
fn wrong_shapes_become_absent() {
    for p in both(
        r#"{"code":"x","at":7,"names":["a",1,"b",{"c":[1]},null],
            "inner":[{"name":"x","more":[1,{"y":2}]},3,[4],{"name":5}],"last":"kept"}"#,
    ) {
        assert_eq!(p.code, None);
        assert_eq!(p.at, None);
        assert_eq!(p.names, vec!["a", "b"]);
        assert_eq!(p.inner.len(), 2);
        assert_eq!(p.inner[0].name.as_deref(), Some("x"));
        assert_eq!(p.inner[1].name, None);
        // Skipping odd values leaves the reader in place for the fields after them.
        assert_eq!(p.last.as_deref(), Some("kept"));
    }
    for p in
        both(r#"{"code":7,"at":"2026-01-02T03:04:05.678Z","names":{"a":1},"inner":"x","last":{}}"#)
    {
        assert_eq!(p.code, Some(7));
        assert_eq!(
            p.at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-02T03:04:05.678+00:00")
        );
        assert!(p.names.is_empty());
        assert!(p.inner.is_empty());
        assert_eq!(p.last, None);
    }
    for p in both(r#"{"code":18446744073709551615,"at":"yesterday"}"#) {
        assert_eq!(p.code, None);
        assert_eq!(p.at, None);
    }
    for p in both("{}") {
        assert_eq!(p.code, None);
        assert!(p.names.is_empty());
    }
}

/// What `detail` read from `text` noted, as `render` prints it.
fn noted(text: &str) -> (Probe, Vec<String>) {
    let value: serde_json::Value = serde_json::from_str(text).unwrap();
    let (probe, warnings) = super::detail::<Probe>(&value);
    (probe, warnings.iter().map(ToString::to_string).collect())
}

#[test]
fn every_drop_and_coercion_is_noted_with_its_path() {
    let (p, warned) = noted(
        r#"{"code":"12","at":"1795000000","names":["a",1,null,["x"]],"flag":"true",
            "inner":[{"name":"x","extra":{"deep":[1]}},3,{"name":{"n":1}},null],
            "one":{"name":true},"last":null,"unknown":[1,{"a":2}]}"#,
    );
    assert_eq!(p.code, Some(12));
    assert!(p.at.is_some());
    assert_eq!(p.names, ["a"]);
    assert_eq!(p.flag, Some(true));
    assert_eq!(p.inner.len(), 2);
    assert_eq!(p.one.name, None);
    assert_eq!(
        warned,
        [
            "detail.at: epoch seconds \"1795000000\" read as 2026-11-18T11:06:40Z",
            "detail.code: \"12\" read as 12",
            "detail.flag: \"true\" read as true",
            "detail.inner[1]: not an object (3), dropped",
            "detail.inner[2].name: not a string (an object), dropped",
            "detail.names[1]: not a string (1), dropped",
            "detail.names[3]: not a string (a list), dropped",
            "detail.one.name: not a string (true), dropped",
        ]
    );
    let (_, warned) = noted(
        r#"{"code":18446744073709551615,"at":12,"names":"a","inner":{"a":1},"one":[1],
            "flag":1.5}"#,
    );
    assert_eq!(
        warned,
        [
            "detail.at: not a timestamp (12), dropped",
            "detail.code: not an integer (18446744073709551615, out of range), dropped",
            "detail.flag: not true or false (1.5), dropped",
            "detail.inner: not a list (an object), dropped",
            "detail.names: not a list (\"a\"), dropped",
            "detail.one: not an object (a list), dropped",
        ]
    );
    // Read from a string too (keys owned after an escape), and outside a collection.
    let (_, warned) = noted(r#"{"c\u006fde":"x"}"#);
    assert_eq!(warned, ["detail.code: not an integer (\"x\"), dropped"]);
    let p: Probe = serde_json::from_str(r#"{"c\u006fde":"7"}"#).unwrap();
    assert_eq!(p.code, Some(7));
}

#[test]
fn epoch_times_are_read_when_their_meaning_is_plain() {
    use super::{Read, Scalar};
    let at = |n: i64| match <DateTime<Utc> as Scalar>::from_i64(n) {
        Read::Coerced(t, _) => Some(t.to_rfc3339()),
        _ => None,
    };
    assert_eq!(
        at(1_795_000_000).as_deref(),
        Some("2026-11-18T11:06:40+00:00")
    );
    assert_eq!(
        at(1_795_000_000_500).as_deref(),
        Some("2026-11-18T11:06:40.500+00:00")
    );
    // Zero, small numbers and the years-5000-or-1990 gap have no plain meaning.
    for n in [0, -5, 7, 999_999_999, 200_000_000_000, i64::MAX] {
        assert_eq!(at(n), None, "{n}");
    }
}
