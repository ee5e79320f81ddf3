//! Lenient reading of request values, as Django REST Framework reads them: numbers may come
//! as strings (`"4"`), booleans as `1`/`"true"`/`"on"`, unknown fields are ignored, and a
//! missing value and `null` are both "absent" for optional fields.
//!
//! [`Input`] wraps one request object and collects every problem into [`FieldErrors`], so a
//! handler reads all its fields first and then reports them together.

use serde_json::{Map, Value};

use crate::FieldErrors;

pub const MSG_REQUIRED: &str = "This field is required.";
pub const MSG_INT: &str = "A valid integer is required.";
pub const MSG_BOOL: &str = "Must be a valid boolean (true, false, 1, 0).";
pub const MSG_STR: &str = "Not a valid string.";
pub const MSG_LIST: &str = "Expected a list of integers.";
pub const MSG_NULL: &str = "This field may not be null.";

/// An integer from a JSON number or a numeric string.
pub fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

/// A boolean from `true`/`false`, `1`/`0` or their string spellings.
pub fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "on" | "yes" | "y" | "t" => Some(true),
            "false" | "0" | "off" | "no" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A string; numbers and booleans are taken in their JSON spelling as DRF's CharField does.
pub fn string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of integers; a single integer is taken as a list of one.
pub fn int_list(value: &Value) -> Option<Vec<i64>> {
    match value {
        Value::Array(items) => items.iter().map(int).collect(),
        Value::Null => None,
        other => int(other).map(|n| vec![n]),
    }
}

/// A list of strings; a single string is taken as a list of one.
pub fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => items.iter().map(string).collect(),
        Value::Null => None,
        other => string(other).map(|s| vec![s]),
    }
}

/// One request object being read field by field. Every failed read is recorded in
/// [`Input::errors`] under the field's name.
#[derive(Debug)]
pub struct Input {
    fields: Map<String, Value>,
    errors: FieldErrors,
}

impl Input {
    pub fn new(fields: Map<String, Value>) -> Self {
        Self {
            fields,
            errors: FieldErrors::new(),
        }
    }

    /// Wraps any JSON value; a non-object body yields an error on `non_field_errors`.
    pub fn from_value(value: Value) -> Self {
        match value {
            Value::Object(map) => Self::new(map),
            Value::Null => Self::new(Map::new()),
            _ => {
                let mut input = Self::new(Map::new());
                input.errors.add(
                    "non_field_errors",
                    "Invalid data. Expected a dictionary (JSON object).",
                );
                input
            }
        }
    }

    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// Whether the field is present with a non-null value.
    pub fn has(&self, field: &str) -> bool {
        !matches!(self.fields.get(field), None | Some(Value::Null))
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    pub fn errors(&self) -> &FieldErrors {
        &self.errors
    }

    pub fn into_errors(self) -> FieldErrors {
        self.errors
    }

    /// `Err` with everything collected so far, if anything was.
    pub fn check(&mut self) -> Result<(), FieldErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(std::mem::take(&mut self.errors))
        }
    }

    fn read<T>(
        &mut self,
        field: &str,
        required: bool,
        convert: fn(&Value) -> Option<T>,
        message: &str,
    ) -> Option<T> {
        match self.fields.get(field) {
            None => {
                if required {
                    self.errors.add(field, MSG_REQUIRED);
                }
                None
            }
            Some(Value::Null) => {
                if required {
                    self.errors.add(field, MSG_NULL);
                }
                None
            }
            Some(value) => {
                let converted = convert(value);
                if converted.is_none() {
                    self.errors.add(field, message);
                }
                converted
            }
        }
    }

    pub fn req_int(&mut self, field: &str) -> Option<i64> {
        self.read(field, true, int, MSG_INT)
    }

    pub fn opt_int(&mut self, field: &str) -> Option<i64> {
        self.read(field, false, int, MSG_INT)
    }

    pub fn req_bool(&mut self, field: &str) -> Option<bool> {
        self.read(field, true, boolean, MSG_BOOL)
    }

    pub fn opt_bool(&mut self, field: &str) -> Option<bool> {
        self.read(field, false, boolean, MSG_BOOL)
    }

    pub fn req_str(&mut self, field: &str) -> Option<String> {
        self.read(field, true, string, MSG_STR)
    }

    pub fn opt_str(&mut self, field: &str) -> Option<String> {
        self.read(field, false, string, MSG_STR)
    }

    pub fn req_int_list(&mut self, field: &str) -> Option<Vec<i64>> {
        self.read(field, true, int_list, MSG_LIST)
    }

    pub fn opt_int_list(&mut self, field: &str) -> Option<Vec<i64>> {
        self.read(field, false, int_list, MSG_LIST)
    }

    pub fn opt_str_list(&mut self, field: &str) -> Option<Vec<String>> {
        self.read(field, false, string_list, "Expected a list of strings.")
    }

    /// A nested object (e.g. `userprofile`), as its own [`Input`] whose errors the caller
    /// merges under a prefix.
    pub fn object(&mut self, field: &str, required: bool) -> Option<Input> {
        match self.fields.get(field) {
            Some(Value::Object(map)) => Some(Input::new(map.clone())),
            None | Some(Value::Null) => {
                if required {
                    self.errors.add(field, MSG_REQUIRED);
                }
                None
            }
            Some(_) => {
                self.errors
                    .add(field, "Invalid data. Expected a dictionary (JSON object).");
                None
            }
        }
    }

    /// Folds a nested input's errors into this one as `parent.child`.
    pub fn absorb(&mut self, parent: &str, nested: Input) {
        for (field, messages) in nested.errors.fields() {
            for message in messages {
                self.errors
                    .add(&format!("{parent}.{field}"), message.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_leniently() {
        assert_eq!(int(&json!("4")), Some(4));
        assert_eq!(int(&json!(4.0)), Some(4));
        assert_eq!(int(&json!(4.5)), None);
        assert_eq!(int(&json!("x")), None);
        assert_eq!(boolean(&json!(1)), Some(true));
        assert_eq!(boolean(&json!("False")), Some(false));
        assert_eq!(boolean(&json!(2)), None);
        assert_eq!(int_list(&json!(["1", 2])), Some(vec![1, 2]));
        assert_eq!(int_list(&json!(7)), Some(vec![7]));
        assert_eq!(int_list(&json!([1, "a"])), None);
    }

    #[test]
    fn collects_every_error() {
        let mut input = Input::from_value(json!({"a": "x", "c": null}));
        assert_eq!(input.req_int("a"), None);
        assert_eq!(input.req_bool("b"), None);
        assert_eq!(input.opt_int("c"), None);
        let errors = input.check().unwrap_err();
        assert!(errors.has("a") && errors.has("b") && !errors.has("c"));
    }
}
