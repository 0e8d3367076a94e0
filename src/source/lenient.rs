//! Serde helpers that read what ECS sends whatever its shape: a value of a plainly convertible
//! shape is coerced (`"exitCode": "1"`, a timestamp in epoch seconds), one of another shape is
//! dropped (absent); either is noted, with its path, as a warning ([`super::warnings`]).
//!
//! ECS adds, omits and occasionally reshapes fields; one odd field must not cost the whole event,
//! nor pass unnoticed. Unknown fields are ignored, silently. The visitors read each value once,
//! as it comes, with no intermediate `serde_json::Value`.

use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::value::MapAccessDeserializer;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::warnings::{self, enter_index, leave, note, position, quoted, Keyed};

/// How a JSON value was read into a field.
pub enum Read<T> {
    /// As it was.
    As(T),
    /// By a plain conversion, said as the warning's why (`"1" read as 1`).
    Coerced(T, String),
    /// Not at all: the value has another shape.
    No,
}

/// A JSON scalar a lenient field can hold: built from a string, a number or a boolean, as it is
/// or by a plain conversion, or not at all.
pub trait Scalar: Sized {
    /// What a field of this type holds, for a warning (`an integer`).
    const WHAT: &'static str;
    /// From a JSON string.
    fn from_str(_: &str) -> Read<Self> {
        Read::No
    }
    /// From a JSON integer.
    fn from_i64(_: i64) -> Read<Self> {
        Read::No
    }
    /// From a JSON integer beyond `i64`.
    fn from_u64(n: u64) -> Read<Self> {
        i64::try_from(n).map_or(Read::No, Self::from_i64)
    }
    /// From a JSON number with a fraction or an exponent.
    fn from_f64(_: f64) -> Read<Self> {
        Read::No
    }
    /// From a JSON boolean.
    fn from_bool(_: bool) -> Read<Self> {
        Read::No
    }
}

impl Scalar for bool {
    const WHAT: &'static str = "true or false";
    fn from_bool(b: bool) -> Read<Self> {
        Read::As(b)
    }
    fn from_str(s: &str) -> Read<Self> {
        match s {
            "true" => Read::Coerced(true, "\"true\" read as true".into()),
            "false" => Read::Coerced(false, "\"false\" read as false".into()),
            _ => Read::No,
        }
    }
}

impl Scalar for String {
    const WHAT: &'static str = "a string";
    // A number is not read as text: in a name or a status its meaning is not plain.
    fn from_str(s: &str) -> Read<Self> {
        Read::As(s.to_string())
    }
}

impl Scalar for i64 {
    const WHAT: &'static str = "an integer";
    fn from_i64(n: i64) -> Read<Self> {
        Read::As(n)
    }
    fn from_str(s: &str) -> Read<Self> {
        match s.parse::<i64>() {
            Ok(n) => Read::Coerced(n, format!("{} read as {n}", quoted(s))),
            Err(_) => Read::No,
        }
    }
    fn from_f64(f: f64) -> Read<Self> {
        // 2^63 as f64: integral values below it in magnitude fit.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if f.fract() == 0.0 && f.abs() < LIMIT {
            let n = f as i64;
            Read::Coerced(n, format!("{f:?} read as {n}"))
        } else {
            Read::No
        }
    }
}

/// A timestamp in epoch seconds or milliseconds, told apart by size: either from 2001-09-09
/// on (seconds up to the year 5138). Anything smaller, or in between, has no plain meaning.
fn epoch(n: i64) -> Option<(DateTime<Utc>, &'static str)> {
    match n {
        1_000_000_000..100_000_000_000 => DateTime::from_timestamp(n, 0).map(|t| (t, "seconds")),
        1_000_000_000_000..100_000_000_000_000 => {
            DateTime::from_timestamp_millis(n).map(|t| (t, "milliseconds"))
        }
        _ => None,
    }
}

/// The warning of a timestamp read from epoch time: `epoch seconds 1795000000 read as …`.
fn from_epoch(n: i64, written: String) -> Read<DateTime<Utc>> {
    match epoch(n) {
        Some((t, unit)) => {
            let iso = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            Read::Coerced(t, format!("epoch {unit} {written} read as {iso}"))
        }
        None => Read::No,
    }
}

impl Scalar for DateTime<Utc> {
    const WHAT: &'static str = "a timestamp";
    fn from_str(s: &str) -> Read<Self> {
        if let Ok(t) = s.parse() {
            return Read::As(t);
        }
        match s.parse::<i64>() {
            Ok(n) => from_epoch(n, quoted(s)),
            Err(_) => Read::No,
        }
    }
    fn from_i64(n: i64) -> Read<Self> {
        from_epoch(n, n.to_string())
    }
    fn from_f64(f: f64) -> Read<Self> {
        // Epoch seconds with a fraction (milliseconds are integers).
        if (1e9..1e11).contains(&f) {
            if let Some(t) = DateTime::from_timestamp_millis((f * 1000.0).round() as i64) {
                let iso = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
                return Read::Coerced(t, format!("epoch seconds {f} read as {iso}"));
            }
        }
        Read::No
    }
}

/// The value a reading kept, noting a coercion or a drop (`shown`: the value as written).
fn settle<T: Scalar>(read: Read<T>, shown: impl FnOnce() -> String) -> Option<T> {
    match read {
        Read::As(v) => Some(v),
        Read::Coerced(v, why) => {
            note(|| why);
            Some(v)
        }
        Read::No => {
            dropped(T::WHAT, shown);
            None
        }
    }
}

/// Notes that the value here, not `what` the field holds, was dropped.
fn dropped(what: &str, shown: impl FnOnce() -> String) {
    note(|| format!("not {what} ({}), dropped", shown()));
}

/// Consumes a list or an object that is dropped.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Reads one value as `Some(T)` when it has, or plainly converts to, `T`'s shape, and as `None`
/// (consumed) otherwise; `null` is absent, silently.
struct ScalarVisitor<T>(PhantomData<T>);

impl<'de, T: Scalar> Visitor<'de> for ScalarVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(settle(T::from_str(v), || quoted(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(settle(T::from_i64(v), || v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(settle(T::from_u64(v), || {
            if i64::try_from(v).is_ok() {
                v.to_string()
            } else {
                format!("{v}, out of range")
            }
        }))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(settle(T::from_f64(v), || v.to_string()))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(settle(T::from_bool(v), || v.to_string()))
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
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq)?;
        dropped(T::WHAT, || "a list".into());
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map)?;
        dropped(T::WHAT, || "an object".into());
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

/// Reads the object a record is (`T`, its entries tracked by path); anything else is `None`,
/// noted unless null.
struct RecordVisitor<T>(PhantomData<T>);

impl<'de, T: DeserializeOwned> Visitor<'de> for RecordVisitor<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        // A record's own fields are lenient, so only malformed JSON fails here.
        let base = position();
        let read = T::deserialize(MapAccessDeserializer::new(Keyed::new(map)));
        if let Some(base) = base {
            leave(base);
        }
        read.map(Some)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq)?;
        Ok(not_an_object("a list".into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(not_an_object(quoted(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(not_an_object(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(not_an_object(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(not_an_object(v.to_string()))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(not_an_object(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn not_an_object<T>(shown: String) -> Option<T> {
    dropped("an object", || shown);
    None
}

/// One element of a lenient list of records: an object read as `T`, or nothing.
struct Record<T>(Option<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Record<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RecordVisitor(PhantomData)).map(Record)
    }
}

/// Collects the elements a list visitor kept, each read with its index in the path; anything
/// but an array is an empty list, noted unless null.
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
        let base = position();
        let mut index = 0;
        let read = loop {
            if let Some(base) = base {
                enter_index(base, index);
            }
            match seq.next_element::<E>() {
                Ok(Some(item)) => out.extend(item.into()),
                Ok(None) => break Ok(out),
                Err(err) => break Err(err),
            }
            index += 1;
        };
        if let Some(base) = base {
            leave(base);
        }
        read
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_map(map)?;
        Ok(not_a_list("an object".into()))
    }
    fn visit_str<Er>(self, v: &str) -> Result<Self::Value, Er> {
        Ok(not_a_list(quoted(v)))
    }
    fn visit_i64<Er>(self, v: i64) -> Result<Self::Value, Er> {
        Ok(not_a_list(v.to_string()))
    }
    fn visit_u64<Er>(self, v: u64) -> Result<Self::Value, Er> {
        Ok(not_a_list(v.to_string()))
    }
    fn visit_f64<Er>(self, v: f64) -> Result<Self::Value, Er> {
        Ok(not_a_list(v.to_string()))
    }
    fn visit_bool<Er>(self, v: bool) -> Result<Self::Value, Er> {
        Ok(not_a_list(v.to_string()))
    }
    fn visit_unit<Er>(self) -> Result<Self::Value, Er> {
        Ok(Vec::new())
    }
}

fn not_a_list<T>(shown: String) -> Vec<T> {
    dropped("a list", || shown);
    Vec::new()
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

/// An event's detail (an object) read as `T`, with what had to be dropped or coerced, each
/// under a path starting at `detail`.
pub fn detail<T: DeserializeOwned + Default>(detail: &Value) -> (T, Vec<warnings::Warning>) {
    warnings::noted("detail", || {
        Record::<T>::deserialize(detail)
            .ok()
            .and_then(|r| r.0)
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests;
