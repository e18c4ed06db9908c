//! Open311 form bodies: the input's first line is the query string, the rest the urlencoded
//! body, read as the GeoReport handlers read them; then parsed as a new request, an update, a
//! list's filters and attribute values against a fixed service definition. Must never panic.
#![no_main]

use gongzhi_open311::model::attributes::{Attribute, AttributeValue};
use gongzhi_open311::model::form::{updates_window, Params, RequestForm, RequestQuery, UpdateForm};
use gongzhi_open311::rules::attributes::check_values;
use libfuzzer_sys::fuzz_target;

fn definition() -> Vec<Attribute> {
    let value = |k: &str| AttributeValue {
        key: k.into(),
        name: k.to_uppercase(),
    };
    let attr =
        |code: &str, datatype: &str, required: bool, values: Vec<AttributeValue>| Attribute {
            code: code.into(),
            datatype: datatype.into(),
            required,
            description: code.into(),
            datatype_description: String::new(),
            order: 0,
            values,
        };
    vec![
        attr(
            "hurt",
            "singlevaluelist",
            true,
            vec![value("yes"), value("no")],
        ),
        attr("depth", "number", false, vec![]),
        attr("seen", "datetime", false, vec![]),
        attr("note", "string", false, vec![]),
        attr(
            "kinds",
            "multivaluelist",
            false,
            vec![value("a"), value("b")],
        ),
    ]
}

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let p = Params::read(Some(query), body, Some("application/x-www-form-urlencoded"));
    let now = 1_790_000_000_000; // 2026-09-21
    if let Ok(form) = RequestForm::parse(&p) {
        assert!(form.location.is_some() || form.address.is_some());
    }
    if let Ok(update) = UpdateForm::parse(&p) {
        assert!(update.status == "open" || update.status == "closed");
    }
    if let Ok(q) = RequestQuery::parse(&p, now) {
        assert!((1..=1000).contains(&q.limit));
        assert!(q.offset >= 0, "a negative offset");
    }
    let _ = updates_window(&p, now);
    if let Ok(given) = check_values(&definition(), &p.0) {
        assert!(given.iter().any(|(code, _)| code == "hurt"));
    }
});
