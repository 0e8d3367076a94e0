//! What decoding had to drop or coerce, each with the path of its field: a collector per thread
//! that the lenient readers write to while the maps they read (`Keyed`) and lists track the path.
//!
//! Serde hands a field's reader its value, not its name; so each object of a detail is read
//! through `Keyed`, which sets the path to the key it hands on, and each list element's index
//! is set by the list's reader. Outside a collection (`collect`) nothing is tracked or kept.

use std::cell::RefCell;
use std::fmt;
use std::fmt::Write as _;

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

/// The collector of the reading under way on this thread.
#[derive(Default)]
struct Collector {
    /// Whether a reading is collecting: outside one, nothing is tracked.
    on: bool,
    /// The path of the value being read.
    path: String,
    warnings: Vec<Warning>,
    /// Where the first error arose (a strict reading's failing field).
    failed_at: Option<String>,
}

thread_local! {
    static COLLECTOR: RefCell<Collector> = const {
        RefCell::new(Collector { on: false, path: String::new(), warnings: Vec::new(), failed_at: None })
    };
}

/// What a reading gave, with the warnings it gathered and where it failed.
pub(crate) struct Collected<R> {
    pub value: R,
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

/// Runs `read` with a collector whose paths start at `root` (`detail`; empty for the top).
pub(crate) fn collect<R>(root: &str, read: impl FnOnce() -> R) -> Collected<R> {
    let mine = Collector {
        on: true,
        path: root.to_string(),
        ..Collector::default()
    };
    let restore = Restore(Some(
        COLLECTOR.with_borrow_mut(|c| std::mem::replace(c, mine)),
    ));
    let value = read();
    let mine = restore.finish();
    Collected {
        value,
        warnings: mine.warnings,
        failed_at: mine.failed_at,
    }
}

/// The length of the path now, to come back to once a container is read.
pub(crate) fn mark() -> usize {
    COLLECTOR.with_borrow(|c| c.path.len())
}

/// The path of the field `key` of the object at `base`.
pub(crate) fn enter_key(base: usize, key: &str) {
    COLLECTOR.with_borrow_mut(|c| {
        if c.on {
            c.path.truncate(base);
            if base > 0 {
                c.path.push('.');
            }
            c.path.push_str(key);
        }
    });
}

/// The path of element `index` of the list at `base`.
pub(crate) fn enter_index(base: usize, index: usize) {
    COLLECTOR.with_borrow_mut(|c| {
        if c.on {
            c.path.truncate(base);
            let _ = write!(c.path, "[{index}]");
        }
    });
}

/// Back to the container at `base`, once it is read.
pub(crate) fn leave(base: usize) {
    COLLECTOR.with_borrow_mut(|c| c.path.truncate(base));
}

/// Notes that the value at the current path was dropped or coerced (`why` is only built when
/// a reading collects).
pub(crate) fn note(why: impl FnOnce() -> String) {
    COLLECTOR.with_borrow_mut(|c| {
        if c.on {
            let path = c.path.clone();
            c.warnings.push(Warning { path, why: why() });
        }
    });
}

/// Notes that reading the value at the current path failed (the first failure is kept).
fn failed() {
    COLLECTOR.with_borrow_mut(|c| {
        if c.on && c.failed_at.is_none() {
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

/// An object's entries, handed on with the path set to each one's key.
pub(crate) struct Keyed<A> {
    inner: A,
    base: usize,
}

impl<A> Keyed<A> {
    /// The entries of the object at the current path.
    pub(crate) fn new(inner: A) -> Self {
        Keyed {
            inner,
            base: mark(),
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Keyed<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.inner.next_key::<Key<'de>>()? {
            None => {
                leave(self.base);
                Ok(None)
            }
            Some(Key::Borrowed(key)) => {
                enter_key(self.base, key);
                seed.deserialize(BorrowedStrDeserializer::new(key))
                    .map(Some)
            }
            Some(Key::Owned(key)) => {
                enter_key(self.base, &key);
                seed.deserialize(StringDeserializer::new(key)).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed).inspect_err(|_| failed())
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
/// failed.
pub fn strict<T: DeserializeOwned>(value: &Value) -> Result<T, Located> {
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
    let read = collect("", || match value {
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
        let outer = collect("detail", || {
            let base = mark();
            enter_key(base, "containers");
            let list = mark();
            enter_index(list, 1);
            note(|| "dropped".into());
            let inner = collect("", || note(|| "inner".into()));
            assert_eq!(inner.warnings[0].path, "");
            leave(base);
            note(|| "top".into());
        });
        let shown: Vec<String> = outer.warnings.iter().map(Warning::to_string).collect();
        assert_eq!(shown, ["detail.containers[1]: dropped", "detail: top"]);
        // Outside a reading, nothing is kept.
        note(|| unreachable!());
        assert_eq!(mark(), 0);
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
