//! Serde helpers that turn a field of the wrong shape into "absent" instead of an error.
//!
//! ECS adds, omits and occasionally reshapes fields; one odd field must not cost the whole event.
//! The visitors read each value once, as it comes, with no intermediate `serde_json::Value`.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A JSON scalar a lenient field can hold: built from a string or a number, or not at all.
pub trait Scalar: Sized {
    /// From a JSON string.
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    /// From a JSON integer.
    fn from_i64(_: i64) -> Option<Self> {
        None
    }
    /// From a JSON boolean.
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
}

impl Scalar for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

impl Scalar for String {
    fn from_str(s: &str) -> Option<Self> {
        Some(s.to_string())
    }
}

impl Scalar for i64 {
    fn from_i64(n: i64) -> Option<Self> {
        Some(n)
    }
}

impl Scalar for DateTime<Utc> {
    fn from_str(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// Reads one value as `Some(T)` when it has `T`'s shape, and as `None` (consumed) otherwise.
struct ScalarVisitor<T>(PhantomData<T>);

impl<'de, T: Scalar> Visitor<'de> for ScalarVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_str(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(T::from_i64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).ok().and_then(T::from_i64))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(T::from_bool(v))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// Deserializes `T`, or `None` when the value is null or of another shape.
pub fn opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar,
{
    deserializer.deserialize_any(ScalarVisitor(PhantomData))
}

/// One element of a lenient list: a scalar of `T`'s shape, or nothing.
struct Item<T>(Option<T>);

impl<'de, T: Scalar> Deserialize<'de> for Item<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(PhantomData)).map(Item)
    }
}

/// One element of a lenient list of records: an object read as `T`, or nothing.
struct Record<T>(Option<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Record<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RecordVisitor<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for RecordVisitor<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                // A record's own fields are lenient, so only malformed JSON fails here.
                T::deserialize(MapAccessDeserializer::new(map)).map(Some)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                ScalarVisitor::<String>(PhantomData).visit_seq(seq)?;
                Ok(None)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        d.deserialize_any(RecordVisitor(PhantomData)).map(Record)
    }
}

/// Collects the elements a list visitor kept; anything but an array is an empty list.
struct ListVisitor<E, T>(PhantomData<(E, T)>);

impl<'de, E, T> Visitor<'de> for ListVisitor<E, T>
where
    E: Deserialize<'de> + Into<Option<T>>,
{
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<E>()? {
            out.extend(item.into());
        }
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Vec::new())
    }
    fn visit_str<Er>(self, _: &str) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
    fn visit_i64<Er>(self, _: i64) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
    fn visit_u64<Er>(self, _: u64) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
    fn visit_f64<Er>(self, _: f64) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
    fn visit_bool<Er>(self, _: bool) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
    fn visit_unit<Er>(self) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
}

impl<T> From<Item<T>> for Option<T> {
    fn from(item: Item<T>) -> Self {
        item.0
    }
}

impl<T> From<Record<T>> for Option<T> {
    fn from(record: Record<T>) -> Self {
        record.0
    }
}

/// Deserializes a list of scalars, keeping the elements of `T`'s shape and dropping the rest.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Scalar,
{
    deserializer.deserialize_any(ListVisitor::<Item<T>, T>(PhantomData))
}

/// Deserializes a list of objects as `T`, dropping the elements that are not objects.
pub fn records<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    deserializer.deserialize_any(ListVisitor::<Record<T>, T>(PhantomData))
}

/// Deserializes an object as `T`; `null` or another shape is `T::default()`.
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned + Default,
{
    Record::<T>::deserialize(deserializer).map(|r| r.0.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[serde(default, deserialize_with = "super::opt")]
        name: Option<String>,
    }

    #[derive(Deserialize)]
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
        for p in both(
            r#"{"code":7,"at":"2026-01-02T03:04:05.678Z","names":{"a":1},"inner":"x","last":{}}"#,
        ) {
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
}
