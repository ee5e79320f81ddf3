//! goform's JSON: `goform_get_cmd_process` answers a flat object of strings (an unknown
//! command comes back as ""), `goform_set_cmd_process` answers `{"result":"success"}` or
//! `{"result":"failure"}`. Parsing only, no IO.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// The firmware refused the command; `result` is what it said.
    Refused { result: String },
    /// Not the JSON goform sends.
    Malformed(String),
}

/// The field values of a `multi_data` read, numbers and booleans turned to their text (a few
/// firmwares send those unquoted).
pub fn parse_fields(body: &str) -> Result<HashMap<String, String>, ReplyError> {
    let value: Value =
        serde_json::from_str(body.trim()).map_err(|err| ReplyError::Malformed(err.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ReplyError::Malformed("expected a JSON object".to_owned()));
    };
    Ok(object
        .into_iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(text) => text,
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                _ => return None,
            };
            Some((name, text))
        })
        .collect())
}

/// Checks a command's `{"result":"success"}`.
pub fn parse_set_result(body: &str) -> Result<(), ReplyError> {
    let fields = parse_fields(body)?;
    match fields.get("result").map(|text| text.trim()) {
        Some("success") => Ok(()),
        Some(other) => Err(ReplyError::Refused {
            result: other.to_owned(),
        }),
        None => Err(ReplyError::Malformed("no \"result\" field".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // An MF833R (BD_MF833RV1.0.0B06) answering the web UI's status poll.
    const MULTI_DATA_LTE: &str = r#"{"modem_main_state":"modem_init_complete","pin_status":"0","signalbar":"4","network_type":"LTE","network_provider":"MTS RUS","ppp_status":"ppp_connected","simcard_roam":"Home","lan_ipaddr":"192.168.0.1","dial_mode":"auto_dial","ppp_dial_conn_fail_counter":"0","wan_lte_ca":"","rmcc":"250","rmnc":"01","lte_rsrp":"-95","lte_rssi":"-67","lte_rsrq":"-9","lte_snr":"10.4","rssi":"","rscp":"","ecio":"","wan_ipaddr":"10.176.4.21"}"#;

    #[test]
    fn reads_every_field_as_text() {
        let fields = parse_fields(MULTI_DATA_LTE).unwrap();
        assert_eq!(fields["network_provider"], "MTS RUS");
        assert_eq!(fields["lte_snr"], "10.4");
        assert_eq!(fields["rscp"], "");
        let numeric = parse_fields(r#"{"signalbar":3,"flag":true,"x":null}"#).unwrap();
        assert_eq!(numeric["signalbar"], "3");
        assert_eq!(numeric["flag"], "true");
        assert!(!numeric.contains_key("x"));
    }

    #[test]
    fn command_results() {
        assert_eq!(parse_set_result(r#"{"result":"success"}"#), Ok(()));
        assert_eq!(
            parse_set_result(r#"{"result":"failure"}"#),
            Err(ReplyError::Refused {
                result: "failure".to_owned()
            })
        );
        assert!(matches!(
            parse_set_result("{}"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_set_result("<html></html>"),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(parse_fields("[1]"), Err(ReplyError::Malformed(_))));
    }
}
