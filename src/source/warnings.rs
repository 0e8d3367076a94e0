//! What decoding had to drop or coerce, each with the path of its field: a collector per thread
//! that the lenient readers write to while the maps they read (`Keyed`) and lists track the path.
//!
//! Serde hands a field's reader its value, not its name; so each object of a detail is read
//! through `Keyed`, which sets the path to the key it hands on, and each list element's index
//! is set by the list's reader. Keeping the path costs a few nanoseconds a field, so a reading
//! first only counts what it would note ([`noted`]) and reads again, keeping paths, when there
//! is something to say; a strict reading is read again to say where it failed. Outside a
//! collection nothing is kept.

use std::cell::RefCell;
use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use thiserror::Error;

/// A field decoding had to drop or coerce: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `detail.containers[0].exitCode`.
    pub path: String,
    /// `"1" read as 1`, `not an object (42), dropped`.
    pub why: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.why)
    }
}

/// What the reading under way on this thread keeps.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nothing: no reading is collecting.
    #[default]
    Off,
    /// Whether anything was noted; not what, nor where.
    Counting,
    /// Each note with its path, and where a strict reading failed.
    Tracking,
}

/// The collector of the reading under way on this thread.
#[derive(Default)]
struct Collector {
    mode: Mode,
    /// Whether anything was noted.
    noted: bool,
    /// The path of the value being read (when tracking).
    path: String,
    warnings: Vec<Warning>,
    /// Where the first error arose (a strict reading's failing field).
    failed_at: Option<String>,
}

thread_local! {
    static COLLECTOR: RefCell<Collector> = const {
        RefCell::new(Collector {
            mode: Mode::Off,
            noted: false,
            path: String::new(),
            warnings: Vec::new(),
            failed_at: None,
        })
    };
}

/// What a reading gave, with what it noted and where it failed.
pub(crate) struct Collected<R> {
    pub value: R,
    /// Whether anything was noted, in any mode.
    pub noted: bool,
    pub warnings: Vec<Warning>,
    pub failed_at: Option<String>,
}

/// Puts back the collector of an enclosing reading, even when the reading unwinds.
struct Restore(Option<Collector>);

impl Restore {
    fn finish(mut self) -> Collector {
        let outer = self.0.take().unwrap_or_default();
        COLLECTOR.with_borrow_mut(|c| std::mem::replace(c, outer))
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(outer) = self.0.take() {
            COLLECTOR.with_borrow_mut(|c| *c = outer);
        }
    }
}

/// Runs `read` with a collector in `mode`, whose paths start at `root` (`detail`; empty for the
/// top).
pub(crate) fn collect<R>(root: &str, mode: Mode, read: impl FnOnce() -> R) -> Collected<R> {
    let mut path = String::new();
    if mode == Mode::Tracking {
        path.reserve(64);
        path.push_str(root);
    }
    let mine = Collector {
        mode,
        path,
        ..Collector::default()
    };
    let restore = Restore(Some(
        COLLECTOR.with_borrow_mut(|c| std::mem::replace(c, mine)),
    ));
    let value = read();
    let mine = restore.finish();
    Collected {
        value,
        noted: mine.noted,
        warnings: mine.warnings,
        failed_at: mine.failed_at,
    }
}

/// What `read` gives, with what it noted, under paths starting at `root`: read once counting
/// (the usual case, nothing to say, costs no path), and again keeping paths when there was
/// something to note.
pub(crate) fn noted<R>(root: &str, read: impl Fn() -> R) -> (R, Vec<Warning>) {
    let first = collect(root, Mode::Counting, &read);
    if !first.noted {
        return (first.value, Vec::new());
    }
    let second = collect(root, Mode::Tracking, &read);
    (second.value, second.warnings)
}

/// The length of the path now, to come back to once a container is read; `None` when no path
/// is kept.
pub(crate) fn position() -> Option<usize> {
    COLLECTOR.with_borrow(|c| (c.mode == Mode::Tracking).then_some(c.path.len()))
}

/// The path of the field `key` of the object at `base`.
pub(crate) fn enter_key(base: usize, key: &str) {
    COLLECTOR.with_borrow_mut(|c| {
        c.path.truncate(base);
        if base > 0 {
            c.path.push('.');
        }
        c.path.push_str(key);
    });
}

/// The path of element `index` of the list at `base`.
pub(crate) fn enter_index(base: usize, index: usize) {
    COLLECTOR.with_borrow_mut(|c| {
        c.path.truncate(base);
        c.path.push('[');
        push_number(&mut c.path, index);
        c.path.push(']');
    });
}

/// Appends `n` in decimal (without the formatting machinery: it runs per list element).
fn push_number(path: &mut String, n: usize) {
    if n >= 10 {
        push_number(path, n / 10);
    }
    path.push(char::from(b'0' + (n % 10) as u8));
}

/// Back to the container at `base`, once it is read.
pub(crate) fn leave(base: usize) {
    COLLECTOR.with_borrow_mut(|c| c.path.truncate(base));
}

/// Notes that the value at the current path was dropped or coerced (`why` is only built when
/// paths are kept).
pub(crate) fn note(why: impl FnOnce() -> String) {
    COLLECTOR.with_borrow_mut(|c| match c.mode {
        Mode::Off => {}
        Mode::Counting => c.noted = true,
        Mode::Tracking => {
            c.noted = true;
            let path = c.path.clone();
            c.warnings.push(Warning { path, why: why() });
        }
    });
}

/// Notes that reading the value at the current path failed (the first failure is kept).
fn failed() {
    COLLECTOR.with_borrow_mut(|c| {
        if c.failed_at.is_none() {
            c.failed_at = Some(c.path.clone());
        }
    });
}

/// A JSON value as a warning shows it: a scalar as written (a long string cut), a container by
/// its kind.
pub fn shown(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quoted(s),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A string as a warning shows it: quoted, cut after 40 characters.
pub fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if i == 40 {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

/// A map key, borrowed from the input when it can be.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key::Owned(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key::Owned(v))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// An object's entries, handed on with the path set to each one's key when paths are kept.
pub(crate) struct Keyed<A> {
    inner: A,
    /// The object's path length, when paths are kept.
    base: Option<usize>,
}

impl<A> Keyed<A> {
    /// The entries of the object at the current path.
    pub(crate) fn new(inner: A) -> Self {
        Keyed {
            inner,
            base: position(),
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Keyed<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(base) = self.base else {
            return self.inner.next_key_seed(seed);
        };
        match self.inner.next_key::<Key<'de>>()? {
            None => {
                leave(base);
                Ok(None)
            }
            Some(Key::Borrowed(key)) => {
                enter_key(base, key);
                seed.deserialize(BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            Some(Key::Owned(key)) => {
                enter_key(base, &key);
                seed.deserialize(StringDeserializer::new(key)).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let read = self.inner.next_value_seed(seed);
        if read.is_err() && self.base.is_some() {
            failed();
        }
        read
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A strict reading that failed, naming the field it failed at.
#[derive(Debug, Error)]
#[error("{}{source}", at.as_ref().map(|(field, value)| format!("`{field}` is {value}: ")).unwrap_or_default())]
pub struct Located {
    /// The field and its value as shown (`time`, `"yesterday"`), when the failure was in one.
    pub at: Option<(String, String)>,
    pub source: serde_json::Error,
}

/// Reads `value` as `T` strictly (a field of the wrong shape fails it), and says which field
/// failed (reading it again, keeping paths).
pub fn strict<T: DeserializeOwned>(value: &Value) -> Result<T, Located> {
    match T::deserialize(value) {
        Ok(read) => Ok(read),
        Err(_) => located(value),
    }
}

/// Reads `value` as `T` keeping paths, to say where it fails.
fn located<T: DeserializeOwned>(value: &Value) -> Result<T, Located> {
    struct Entries<T>(std::marker::PhantomData<T>);
    impl<'de, T: DeserializeOwned> Visitor<'de> for Entries<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<T, M::Error> {
            T::deserialize(MapAccessDeserializer::new(Keyed::new(map)))
        }
    }
    let read = collect("", Mode::Tracking, || match value {
        Value::Object(_) => value.deserialize_map(Entries(std::marker::PhantomData)),
        _ => T::deserialize(value),
    });
    read.value.map_err(|source| Located {
        at: read.failed_at.map(|field| {
            let value = value.get(&field).map(shown).unwrap_or_default();
            (field, value)
        }),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        time: Option<chrono::DateTime<chrono::Utc>>,
        count: Option<u32>,
    }

    #[test]
    fn a_strict_reading_names_the_field_that_failed() {
        let ok: Strict = strict(&json!({"time": "2026-01-02T03:04:05Z", "other": [1]})).unwrap();
        assert!(ok.time.is_some());
        let err = strict::<Strict>(&json!({"count": 1, "time": "yesterday"})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`time` is \"yesterday\": input contains invalid characters"
        );
        let err = strict::<Strict>(&json!({"count": "x"})).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("`count` is \"x\": invalid type"));
        assert!(strict::<Strict>(&json!([1])).unwrap_err().at.is_none());
    }

    #[test]
    fn paths_follow_keys_and_indexes_and_readings_nest() {
        let outer = collect("detail", Mode::Tracking, || {
            let base = position().unwrap();
            enter_key(base, "containers");
            let list = position().unwrap();
            enter_index(list, 1);
            note(|| "dropped".into());
            let inner = collect("", Mode::Tracking, || note(|| "inner".into()));
            assert_eq!(inner.warnings[0].path, "");
            leave(base);
            note(|| "top".into());
        });
        let shown: Vec<String> = outer.warnings.iter().map(Warning::to_string).collect();
        assert_eq!(shown, ["detail.containers[1]: dropped", "detail: top"]);
        let mut digits = String::new();
        for n in [0, 7, 10, 1234] {
            push_number(&mut digits, n);
            digits.push(' ');
        }
        assert_eq!(digits, "0 7 10 1234 ");
        // Outside a reading, nothing is kept; counting keeps no path, and builds no note.
        note(|| unreachable!());
        assert_eq!(position(), None);
        let counted = collect("detail", Mode::Counting, || {
            assert_eq!(position(), None);
            note(|| unreachable!());
        });
        assert!(counted.noted && counted.warnings.is_empty());
        let (value, warnings) = noted("detail", || {
            note(|| "once".into());
            7
        });
        assert_eq!((value, warnings.len()), (7, 1));
        assert_eq!(noted("detail", || 8), (8, Vec::new()));
    }

    #[test]
    fn values_are_shown_short() {
        assert_eq!(shown(&json!("a\"b")), "\"a\\\"b\"");
        assert_eq!(shown(&json!({"a": 1})), "an object");
        assert_eq!(shown(&json!([1])), "a list");
        assert_eq!(shown(&json!(1.5)), "1.5");
        let long = "x".repeat(50);
        assert_eq!(quoted(&long), format!("\"{}…\"", "x".repeat(40)));
    }
}
