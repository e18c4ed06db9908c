//! GeoReport's XML: a JSON value written as elements, arrays as repeated children named by the
//! singular the specification uses.

use serde_json::Value;

/// A whole document: the declaration, then `root` holding each item as an `item` element.
pub fn list(root: &str, item: &str, items: &[Value]) -> String {
    let mut out = declaration();
    out.push_str(&format!("<{root}>"));
    for v in items {
        element(&mut out, item, v);
    }
    out.push_str(&format!("</{root}>"));
    out
}

/// A whole document of one element (discovery, a service definition).
pub fn document(name: &str, v: &Value) -> String {
    let mut out = declaration();
    element(&mut out, name, v);
    out
}

fn declaration() -> String {
    String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// One element; arrays become repeated children named by the singular the spec uses.
fn element(out: &mut String, name: &str, v: &Value) {
    match v {
        Value::Null => out.push_str(&format!("<{name}/>")),
        Value::Object(m) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in m {
                element(out, k, v);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => {
            let child = match name {
                "attributes" => "attribute",
                "values" => "value",
                "endpoints" => "endpoint",
                "formats" => "format",
                "keywords" => "keyword",
                _ => "item",
            };
            out.push_str(&format!("<{name}>"));
            for i in items {
                element(out, child, i);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}</{name}>", escape(s))),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn arrays_repeat_the_specs_singular() {
        let doc = document(
            "service_definition",
            &json!({"service_code": "C0101", "attributes": [{"code": "hurt", "values": [{"key": "y"}]}]}),
        );
        assert!(doc.ends_with("<service_definition><attributes><attribute><code>hurt</code><values><value><key>y</key></value></values></attribute></attributes><service_code>C0101</service_code></service_definition>"), "{doc}");
        assert_eq!(
            list("errors", "error", &[json!({"code": "404", "x": null})]),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>404</code><x/></error></errors>"
        );
    }

    proptest! {
        /// Text never opens or closes an element of its own.
        #[test]
        fn text_is_escaped(s in ".{0,40}") {
            let doc = document("description", &json!(s));
            let body = doc.strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?><description>").unwrap();
            let text = body.strip_suffix("</description>").unwrap();
            prop_assert!(!text.contains('<') && !text.contains('>'));
            let back = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&");
            prop_assert_eq!(back, s);
        }
    }
}
