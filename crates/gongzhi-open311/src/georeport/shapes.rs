//! The GeoReport v2 documents, built from our records: discovery, a service and its
//! definition, a request as publicity lets it be seen, its public notes, an update.

use serde_json::{json, Map, Value};

use gongzhi_cases::model::catalog::Category;
use gongzhi_cases::model::publicity::Shown;
use gongzhi_cases::model::published::{PublishedCase, PublishedStep, PublishedStepOf};
use gongzhi_core::time::format_ms;

use crate::model::attributes::Attribute;
use crate::rules::requests::{status_of, step_closes};

/// An outside system's update is a step of this name on the case's timeline.
pub const UPDATE_STEP: &str = "open311_update";

pub fn discovery() -> Value {
    json!({
        "changeset": "2026-11-23T00:00:00+08:00", "contact": "gongzhi", "key_service": "gongzhi open311 key add --name NAME",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": "/open311/v2",
            "changeset": "2026-11-23T00:00:00+08:00", "type": "production", "formats": ["application/json", "text/xml"]}]
    })
}

/// A service; `group` is its top category's name, `metadata` whether it has attributes.
pub fn service(c: &Category, group: &str, metadata: bool) -> Value {
    json!({
        "service_code": c.code, "service_name": c.name,
        "description": if c.filing_condition.is_empty() { c.name.clone() } else { c.filing_condition.clone() },
        "metadata": metadata, "type": "realtime",
        "keywords": format!("{},{}", group, c.name), "group": group,
    })
}

/// The service definition document.
pub fn definition(service: &str, attrs: &[Attribute]) -> Value {
    json!({
        "service_code": service,
        "attributes": attrs.iter().map(|a| json!({
            "variable": true, "code": a.code, "datatype": a.datatype, "required": a.required,
            "datatype_description": a.datatype_description, "order": a.order, "description": a.description,
            "values": a.values.iter().map(|v| json!({"key": v.key, "name": v.name})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A public request: `shown` is what publicity lets the public see of the case.
pub fn request(r: &PublishedCase, names: &Map<String, Value>, shown: &Shown) -> Value {
    // The client's own media URL, else our first approved photo.
    let media_url = r.media_url.clone().or_else(|| {
        shown
            .photos
            .first()
            .map(|id| format!("/open311/v2/media/{id}"))
    });
    json!({
        "service_request_id": r.number,
        "status": status_of(&r.status),
        "status_notes": r.status,
        "service_name": names.get(&r.category_code).cloned().unwrap_or(Value::Null),
        "service_code": r.category_code,
        "description": shown.description,
        "agency_responsible": r.unit_code,
        "service_notice": Value::Null,
        "requested_datetime": format_ms(r.created_at),
        "updated_datetime": format_ms(r.updated_at),
        "expected_datetime": r.handle_deadline.map(format_ms),
        "address": shown.address,
        "address_id": Value::Null,
        "zipcode": Value::Null,
        "lat": shown.lat,
        "long": shown.lng,
        "media_url": media_url,
    })
}

/// A step of the public timeline: staff's and reporters' notes are not public, outside
/// systems' updates are.
pub fn note(s: &PublishedStep) -> Value {
    let note = if s.step == UPDATE_STEP {
        s.note.clone()
    } else {
        None
    };
    json!({"step": s.step, "at": format_ms(s.at), "note": note})
}

/// A step as a request update: an outside system's says what it said, ours name the step.
pub fn update(u: &PublishedStepOf) -> Value {
    let description = if u.step.step == UPDATE_STEP {
        u.step.note.clone().unwrap_or_default()
    } else {
        u.step.step.clone()
    };
    json!({
        "update_id": u.step.id,
        "service_request_id": u.number,
        "status": if step_closes(&u.step.step) { "closed" } else { "open" },
        "updated_datetime": format_ms(u.step.at),
        "description": description,
        "media_url": Value::Null,
    })
}

/// The answer to a new request.
pub fn created(number: &str, token: &str) -> Value {
    json!({"service_request_id": number, "token": token, "service_notice": Value::Null, "account_id": Value::Null})
}

/// The answer to an update received.
pub fn received(
    update_id: &str,
    number: &str,
    status: &str,
    at: i64,
    description: &str,
    media_url: Option<&str>,
) -> Value {
    json!({"update_id": update_id, "service_request_id": number, "status": status,
          "updated_datetime": format_ms(at), "description": description, "media_url": media_url})
}
