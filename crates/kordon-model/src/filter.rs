//! List filters and pagination of the farm dialect.
//!
//! A list endpoint declares its filter keys as Django lookups (`name__icontains`,
//! `operator__id`, `date_create__range`, …) with the kind of value each takes. A request's
//! `filter` object is checked against that declaration: unknown keys and badly typed values are
//! errors naming the key, never silently ignored.

use chrono_tz::Tz;
use serde_json::Value;

use crate::{coerce, rutime, FieldErrors};

/// What a filter key compares and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    /// Exact boolean.
    Bool,
    /// Exact integer (ids).
    Int,
    /// Exact string.
    Text,
    /// Case-insensitive substring (`__icontains`).
    TextIContains,
    /// Case-sensitive substring (`__contains`).
    TextContains,
    /// Any of a list of integers (`__in`).
    IntIn,
    /// Any of a list of strings (`__in`).
    TextIn,
    /// Exact date-time (to the second).
    Time,
    /// Inclusive `[from, to]` date-time range (`__range`).
    TimeRange,
}

/// A checked filter value.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Bool(bool),
    Int(i64),
    Text(String),
    IntList(Vec<i64>),
    TextList(Vec<String>),
    /// Unix seconds.
    Time(i64),
    /// Unix seconds, inclusive.
    TimeRange(i64, i64),
}

/// One declared filter key of a list endpoint.
#[derive(Debug, Clone, Copy)]
pub struct FilterKey {
    pub key: &'static str,
    pub kind: FilterKind,
}

impl FilterKey {
    pub const fn new(key: &'static str, kind: FilterKind) -> Self {
        Self { key, kind }
    }
}

/// A checked condition: the declared key and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub key: &'static str,
    pub value: FilterValue,
}

fn is_empty_container(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Array(items)) => items.is_empty(),
        Some(Value::Object(map)) => map.is_empty(),
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Checks a request's `filter` against the declared keys. Absent, `null`, `{}` and `[]` mean
/// no filter. Date-times are read in `tz`, the requesting user's zone.
pub fn parse_filter(
    filter: Option<&Value>,
    declared: &[FilterKey],
    tz: Tz,
) -> Result<Vec<Condition>, FieldErrors> {
    if is_empty_container(filter) {
        return Ok(Vec::new());
    }
    let Some(Value::Object(map)) = filter else {
        return Err(FieldErrors::single(
            "filter",
            "Expected an object of lookups, e.g. {\"active\": true}.",
        ));
    };
    let mut errors = FieldErrors::new();
    let mut conditions = Vec::new();
    for (key, raw) in map {
        let Some(declared_key) = declared.iter().find(|d| d.key == key) else {
            let known: Vec<&str> = declared.iter().map(|d| d.key).collect();
            errors.add(
                "filter",
                format!(
                    "Unknown filter key \"{key}\"; known keys: {}.",
                    known.join(", ")
                ),
            );
            continue;
        };
        match parse_value(raw, declared_key.kind, tz) {
            Ok(value) => conditions.push(Condition {
                key: declared_key.key,
                value,
            }),
            Err(message) => errors.add(&format!("filter.{key}"), message),
        }
    }
    errors.into_result(conditions)
}

fn parse_value(raw: &Value, kind: FilterKind, tz: Tz) -> Result<FilterValue, String> {
    match kind {
        FilterKind::Bool => coerce::boolean(raw)
            .map(FilterValue::Bool)
            .ok_or_else(|| coerce::MSG_BOOL.to_string()),
        FilterKind::Int => coerce::int(raw)
            .map(FilterValue::Int)
            .ok_or_else(|| coerce::MSG_INT.to_string()),
        FilterKind::Text | FilterKind::TextIContains | FilterKind::TextContains => {
            coerce::string(raw)
                .map(FilterValue::Text)
                .ok_or_else(|| coerce::MSG_STR.to_string())
        }
        FilterKind::IntIn => coerce::int_list(raw)
            .map(FilterValue::IntList)
            .ok_or_else(|| coerce::MSG_LIST.to_string()),
        FilterKind::TextIn => coerce::string_list(raw)
            .map(FilterValue::TextList)
            .ok_or_else(|| "Expected a list of strings.".to_string()),
        FilterKind::Time => {
            let text = coerce::string(raw).ok_or_else(|| coerce::MSG_STR.to_string())?;
            rutime::parse(&text, tz).map(FilterValue::Time)
        }
        FilterKind::TimeRange => {
            let items = match raw {
                Value::Array(items) if items.len() == 2 => items,
                _ => return Err("Expected a list of two date-times [from, to].".to_string()),
            };
            let mut bounds = [0i64; 2];
            for (slot, item) in bounds.iter_mut().zip(items) {
                let text = coerce::string(item).ok_or_else(|| coerce::MSG_STR.to_string())?;
                *slot = rutime::parse(&text, tz)?;
            }
            if bounds[0] > bounds[1] {
                return Err("The range's start is after its end.".to_string());
            }
            Ok(FilterValue::TimeRange(bounds[0], bounds[1]))
        }
    }
}

/// Sort direction; the seed spells descending `desk`, and `desc` is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDir {
    Asc,
    Desc,
}

impl SortDir {
    pub fn as_str(self) -> &'static str {
        match self {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        }
    }
}

pub const PERPAGE_DEFAULT: i64 = 10;
pub const PERPAGE_MAX: i64 = 1000;

/// A checked `pagination` object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub perpage: i64,
    pub page: i64,
    pub field: &'static str,
    pub sort: SortDir,
}

impl Page {
    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.perpage
    }

    /// The reply's `meta` object for a result of `total` rows.
    pub fn meta(&self, total: i64) -> serde_json::Value {
        let pages = if total == 0 {
            0
        } else {
            (total + self.perpage - 1) / self.perpage
        };
        serde_json::json!({
            "total": total,
            "perpage": self.perpage,
            "pages": pages,
            "page": self.page,
            "sort": self.sort.as_str(),
            "field": self.field,
        })
    }
}

/// Checks a request's `pagination` (`perpage`, `page`, `field`, `sort`) against the sortable
/// fields of the endpoint; the first sortable field and `default_sort` are the defaults.
pub fn parse_page(
    pagination: Option<&Value>,
    sortable: &[&'static str],
    default_sort: SortDir,
) -> Result<Page, FieldErrors> {
    let mut page = Page {
        perpage: PERPAGE_DEFAULT,
        page: 1,
        field: sortable.first().copied().unwrap_or("id"),
        sort: default_sort,
    };
    if is_empty_container(pagination) {
        return Ok(page);
    }
    let Some(Value::Object(map)) = pagination else {
        return Err(FieldErrors::single(
            "pagination",
            "Expected an object {\"perpage\", \"page\", \"field\", \"sort\"}.",
        ));
    };
    let mut errors = FieldErrors::new();
    if let Some(raw) = present(map.get("perpage")) {
        match coerce::int(raw) {
            Some(n) if (1..=PERPAGE_MAX).contains(&n) => page.perpage = n,
            _ => errors.add(
                "pagination.perpage",
                format!("Must be an integer between 1 and {PERPAGE_MAX}."),
            ),
        }
    }
    if let Some(raw) = present(map.get("page")) {
        match coerce::int(raw) {
            Some(n) if (1..=1_000_000_000).contains(&n) => page.page = n,
            _ => errors.add("pagination.page", "Must be an integer of at least 1."),
        }
    }
    if let Some(raw) = present(map.get("field")) {
        let name = coerce::string(raw).unwrap_or_default();
        match sortable.iter().find(|f| **f == name) {
            Some(field) => page.field = field,
            None => errors.add(
                "pagination.field",
                format!(
                    "Cannot sort by \"{name}\"; sortable fields: {}.",
                    sortable.join(", ")
                ),
            ),
        }
    }
    if let Some(raw) = present(map.get("sort")) {
        match coerce::string(raw)
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "asc" => page.sort = SortDir::Asc,
            "desc" | "desk" => page.sort = SortDir::Desc,
            other => errors.add(
                "pagination.sort",
                format!("\"{other}\" is not a direction; use \"asc\" or \"desc\"."),
            ),
        }
    }
    errors.into_result(page)
}

fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEYS: &[FilterKey] = &[
        FilterKey::new("active", FilterKind::Bool),
        FilterKey::new("operator__id", FilterKind::Int),
        FilterKey::new("date_create__range", FilterKind::TimeRange),
    ];

    #[test]
    fn empty_filters() {
        for raw in [json!(null), json!({}), json!([])] {
            assert_eq!(parse_filter(Some(&raw), KEYS, chrono_tz::UTC), Ok(vec![]));
        }
        assert_eq!(parse_filter(None, KEYS, chrono_tz::UTC), Ok(vec![]));
    }

    #[test]
    fn typed_and_unknown_keys() {
        let raw = json!({"active": "1", "operator__id": "3"});
        let conditions = parse_filter(Some(&raw), KEYS, chrono_tz::UTC).unwrap();
        assert_eq!(conditions.len(), 2);
        let bad = json!({"nope": 1, "operator__id": "x"});
        let errors = parse_filter(Some(&bad), KEYS, chrono_tz::UTC).unwrap_err();
        assert!(errors.has("filter") && errors.has("filter.operator__id"));
        let range = json!({"date_create__range": ["2020-10-27", "2020-10-26"]});
        assert!(parse_filter(Some(&range), KEYS, chrono_tz::UTC).is_err());
    }

    #[test]
    fn pages() {
        let page = parse_page(
            Some(&json!({"perpage": "100", "page": 3, "sort": "desk"})),
            &["id", "ip"],
            SortDir::Asc,
        )
        .unwrap();
        assert_eq!(
            (page.perpage, page.page, page.sort, page.offset()),
            (100, 3, SortDir::Desc, 200)
        );
        assert_eq!(page.meta(201)["pages"], 3);
        assert!(parse_page(Some(&json!({"field": "password"})), &["id"], SortDir::Asc).is_err());
        assert!(parse_page(Some(&json!({"perpage": 0})), &["id"], SortDir::Asc).is_err());
    }
}
