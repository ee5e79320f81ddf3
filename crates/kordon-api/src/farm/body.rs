//! Request bodies read the lenient way the farm clients need: JSON with or without a
//! `Content-Type`, form-encoded bodies, or no body at all (an empty object).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde_json::{Map, Value};

use super::reply::ApiError;

/// The largest body the farm API reads (a proxy list edit with many ids fits easily).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// A request body as a JSON value (an object for forms and empty bodies).
#[derive(Debug, Clone)]
pub struct Body(pub Value);

impl Body {
    /// The body as a field reader.
    pub fn input(self) -> kordon_model::coerce::Input {
        kordon_model::coerce::Input::from_value(self.0)
    }

    /// One member of the body object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

/// Form fields as a JSON object: a repeated key (or `key[]`) becomes an array.
fn form_to_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| ApiError::Malformed(format!("Form parse error - {e}")))?;
    let mut map = Map::new();
    for (key, value) in pairs {
        let (key, forced_array) = match key.strip_suffix("[]") {
            Some(bare) => (bare.to_string(), true),
            None => (key, false),
        };
        match map.get_mut(&key) {
            Some(Value::Array(items)) => items.push(Value::String(value)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(value)]);
            }
            None if forced_array => {
                map.insert(key, Value::Array(vec![Value::String(value)]));
            }
            None => {
                map.insert(key, Value::String(value));
            }
        }
    }
    Ok(Value::Object(map))
}

/// Parses raw body bytes by content type, falling back to sniffing when none is given.
pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Map::new()));
    }
    let content_type = content_type.unwrap_or("").to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        // `curl -d '{"a":1}'` labels a JSON body as a form: a body that parses as a JSON
        // object or array is taken as JSON whatever the label says.
        if let Ok(value @ (Value::Object(_) | Value::Array(_))) = serde_json::from_slice(bytes) {
            return Ok(value);
        }
        return form_to_json(bytes);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => Ok(value),
        Err(e) if content_type.contains("json") => {
            Err(ApiError::Malformed(format!("JSON parse error - {e}")))
        }
        Err(e) => {
            let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
            if matches!(first, Some(b'{') | Some(b'[')) {
                Err(ApiError::Malformed(format!("JSON parse error - {e}")))
            } else {
                form_to_json(bytes)
            }
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes: Bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
            .await
            .map_err(|e| ApiError::Malformed(format!("Cannot read body - {e}")))?;
        Ok(Body(parse(content_type.as_deref(), &bytes)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_body_shape() {
        assert_eq!(parse(None, b"").unwrap(), json!({}));
        assert_eq!(parse(None, b"{\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(
            parse(
                Some("application/x-www-form-urlencoded"),
                b"id=1&id=2&name=x"
            )
            .unwrap(),
            json!({"id": ["1", "2"], "name": "x"})
        );
        assert_eq!(parse(None, b"id[]=3").unwrap(), json!({"id": ["3"]}));
        assert_eq!(
            parse(Some("application/x-www-form-urlencoded"), b"{\"a\": 1}").unwrap(),
            json!({"a": 1})
        );
        assert!(parse(Some("application/json"), b"{bad").is_err());
        assert!(parse(None, b"{bad").is_err());
    }
}
