//! Serde helpers that turn a field of the wrong shape into "absent" instead of an error.
//!
//! ECS adds, omits and occasionally reshapes fields; one odd field must not cost the whole event.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserializes `T`, or `None` when the value is null or of another shape.
pub fn opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Deserializes a list of `T`, keeping the elements that decode and dropping the rest.
pub fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::opt")]
        code: Option<i64>,
        #[serde(default, deserialize_with = "super::list")]
        names: Vec<String>,
    }

    #[test]
    fn wrong_shapes_become_absent() {
        let p: Probe = serde_json::from_str(r#"{"code":"x","names":["a",1,"b"]}"#).unwrap();
        assert_eq!(p.code, None);
        assert_eq!(p.names, vec!["a", "b"]);
        let p: Probe = serde_json::from_str(r#"{"code":7,"names":{}}"#).unwrap();
        assert_eq!(p.code, Some(7));
        assert!(p.names.is_empty());
        let p: Probe = serde_json::from_str("{}").unwrap();
        assert_eq!(p.code, None);
    }
}
