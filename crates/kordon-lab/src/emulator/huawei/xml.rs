//! HiLink's XML: `<?xml …?><response>…</response>` replies, `<error>` replies, and the
//! `<request>` bodies clients post.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde::de::DeserializeOwned;

/// A reply element whose children are flat text elements, in order.
pub fn document(root: &str, fields: &[(&str, String)]) -> String {
    let mut writer = Writer::new(Vec::new());
    // Writing into a Vec cannot fail; errors are only possible from the underlying writer.
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = writer.write_event(Event::Text(BytesText::from_escaped("\n")));
    let _ = writer.write_event(Event::Start(BytesStart::new(root)));
    for (name, value) in fields {
        let _ = writer.write_event(Event::Text(BytesText::from_escaped("\n")));
        let _ = writer.write_event(Event::Start(BytesStart::new(*name)));
        let _ = writer.write_event(Event::Text(BytesText::new(value)));
        let _ = writer.write_event(Event::End(BytesEnd::new(*name)));
    }
    let _ = writer.write_event(Event::Text(BytesText::from_escaped("\n")));
    let _ = writer.write_event(Event::End(BytesEnd::new(root)));
    let _ = writer.write_event(Event::Text(BytesText::from_escaped("\n")));
    String::from_utf8_lossy(&writer.into_inner()).into_owned()
}

pub fn response(fields: &[(&str, String)]) -> String {
    document("response", fields)
}

/// The reply of a successful set: `<response>OK</response>`.
pub fn ok() -> String {
    let mut writer = Writer::new(Vec::new());
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let _ = writer.write_event(Event::Text(BytesText::from_escaped("\n")));
    let _ = writer.write_event(Event::Start(BytesStart::new("response")));
    let _ = writer.write_event(Event::Text(BytesText::new("OK")));
    let _ = writer.write_event(Event::End(BytesEnd::new("response")));
    let _ = writer.write_event(Event::Text(BytesText::from_escaped("\n")));
    String::from_utf8_lossy(&writer.into_inner()).into_owned()
}

/// `<error><code>…</code><message></message></error>`, the firmware's failure reply.
pub fn error(code: u32) -> String {
    document(
        "error",
        &[("code", code.to_string()), ("message", String::new())],
    )
}

/// Reads a `<request>` body.
pub fn request<T: DeserializeOwned>(body: &str) -> Result<T, quick_xml::DeError> {
    quick_xml::de::from_str(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_flat_xml_with_declaration() {
        let text = response(&[("a", "1".into()), ("b", String::new()), ("c", "x<y".into())]);
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n<a>1</a>\n<b></b>\n<c>x&lt;y</c>\n</response>\n"
        );
        assert!(error(125002).contains("<code>125002</code>"));
        assert!(ok().contains("<response>OK</response>"));
    }

    #[test]
    fn request_bodies_parse() {
        #[derive(serde::Deserialize)]
        struct DataSwitch {
            dataswitch: u8,
        }
        let body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<request><dataswitch>1</dataswitch></request>";
        let parsed: DataSwitch = request(body).unwrap();
        assert_eq!(parsed.dataswitch, 1);
    }
}
