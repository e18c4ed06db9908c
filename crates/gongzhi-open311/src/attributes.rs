//! A category's custom attributes (what a client must or may say beyond the description: the
//! kind of lamp, whether someone is hurt, …) become its Open311 service definition; values sent
//! as `attribute[CODE]` or `attribute[CODE][]` are checked against it, all before anything is
//! stored. Administrators set them with `PUT /api/v1/open311/services/{code}/attributes`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use gongzhi_core::db::Db;
use gongzhi_core::identity::{authorize, Actor, Target};
use gongzhi_core::{audit, Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attribute {
    pub code: String,
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    pub description: String,
    #[serde(default)]
    pub datatype_description: String,
    pub order: i64,
    /// For the list types: (key, name) pairs.
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AttributeValue {
    pub key: String,
    pub name: String,
}

const DATATYPES: [&str; 6] = [
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
];

/// Checks a definition: known types, unique codes, list types with values, others without.
pub fn check_definition(attrs: &[Attribute]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for a in attrs {
        let bad = |m: String| Error::invalid("invalid_attribute", format!("{}: {m}", a.code));
        if a.code.is_empty()
            || a.code.len() > 64
            || !a
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("a code is 1–64 letters, digits, _ or -".into()));
        }
        if !seen.insert(&a.code) {
            return Err(bad("listed twice".into()));
        }
        if !DATATYPES.contains(&a.datatype.as_str()) {
            return Err(bad(format!("datatype is one of {}", DATATYPES.join(", "))));
        }
        let list = a.datatype.ends_with("valuelist");
        if list == a.values.is_empty() {
            return Err(bad(if list {
                "a list needs values".into()
            } else {
                "only lists have values".into()
            }));
        }
    }
    Ok(())
}

pub async fn of(db: &Db, service: &str) -> Result<Vec<Attribute>> {
    let row = sqlx::query("SELECT definition FROM open311_attributes WHERE service_code = $1")
        .bind(service)
        .fetch_optional(db.pool())
        .await?;
    match row {
        None => Ok(vec![]),
        Some(r) => {
            let mut v: Vec<Attribute> = serde_json::from_str(&r.try_get::<String, _>(0)?)
                .map_err(|e| Error::internal(format!("stored attributes: {e}")))?;
            v.sort_by_key(|a| a.order);
            Ok(v)
        }
    }
}

/// Services that have a definition (their `metadata` is true).
pub async fn defined(db: &Db) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT service_code FROM open311_attributes")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

pub async fn save(db: &Db, actor: &Actor, service: &str, attrs: &[Attribute]) -> Result<()> {
    authorize(
        actor,
        gongzhi_cases::permissions::CATALOG_MANAGE,
        &Target::global(),
    )?;
    gongzhi_cases::store::catalog::get(db, service).await?;
    check_definition(attrs)?;
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM open311_attributes WHERE service_code = $1")
        .bind(service)
        .execute(tx.conn())
        .await?;
    if !attrs.is_empty() {
        sqlx::query("INSERT INTO open311_attributes (service_code, definition) VALUES ($1, $2)")
            .bind(service)
            .bind(serde_json::to_string(attrs).map_err(Error::internal)?)
            .execute(tx.conn())
            .await?;
    }
    audit::append(
        &mut tx,
        actor,
        "open311.attributes",
        &format!("category:{service}"),
        &json!(attrs),
        None,
    )
    .await?;
    tx.commit().await
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

/// The values a request gives, checked against the definition: (code, values) for each given.
pub fn check_values(
    attrs: &[Attribute],
    params: &[(String, String)],
) -> Result<Vec<(String, Vec<String>)>> {
    let mut given: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in params {
        let Some(rest) = k.strip_prefix("attribute[") else {
            continue;
        };
        let (code, multi) = match rest.strip_suffix("][]") {
            Some(c) => (c, true),
            None => (
                rest.strip_suffix(']').ok_or_else(|| {
                    Error::invalid("invalid_attribute", format!("{k} is not attribute[CODE]"))
                })?,
                false,
            ),
        };
        let a = attrs.iter().find(|a| a.code == code).ok_or_else(|| {
            Error::invalid(
                "unknown_attribute",
                format!("the service has no attribute {code}"),
            )
        })?;
        if multi != (a.datatype == "multivaluelist") {
            return Err(Error::invalid(
                "invalid_attribute",
                format!(
                    "{code}: use attribute[{code}]{}",
                    if multi { "" } else { "[]" }
                ),
            ));
        }
        match given.iter_mut().find(|(c, _)| c == code) {
            Some((_, vs)) if multi => vs.push(v.clone()),
            Some(_) => {
                return Err(Error::invalid(
                    "invalid_attribute",
                    format!("{code} is given twice"),
                ))
            }
            None => given.push((code.to_string(), vec![v.clone()])),
        }
    }
    for a in attrs {
        let values = given
            .iter()
            .find(|(c, _)| *c == a.code)
            .map(|(_, v)| v.as_slice());
        let Some(values) = values else {
            if a.required {
                return Err(Error::invalid(
                    "missing_attribute",
                    format!("attribute {} is required", a.code),
                ));
            }
            continue;
        };
        let bad = |m: &str| Error::invalid("invalid_attribute", format!("{}: {m}", a.code));
        for v in values {
            match a.datatype.as_str() {
                "number"
                    if v.trim()
                        .parse::<f64>()
                        .map(|n| !n.is_finite())
                        .unwrap_or(true) =>
                {
                    return Err(bad("not a number"))
                }
                "datetime" if gongzhi_core::time::parse_rfc3339(v.trim()).is_none() => {
                    return Err(bad("not a W3C datetime"))
                }
                "string" if v.chars().count() > 1000 => return Err(bad("at most 1000 characters")),
                "text" if v.chars().count() > 4000 => return Err(bad("at most 4000 characters")),
                "singlevaluelist" | "multivaluelist" if !a.values.iter().any(|x| x.key == *v) => {
                    return Err(bad(&format!("{v:?} is not one of its values")))
                }
                _ => {}
            }
        }
    }
    Ok(given)
}

/// A request's attribute values as stored with it: `{"code": ["value", …]}`.
pub fn values_json(values: &[(String, Vec<String>)]) -> String {
    json!(values
        .iter()
        .cloned()
        .collect::<std::collections::BTreeMap<_, _>>())
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> Vec<Attribute> {
        vec![
            Attribute {
                code: "hurt".into(),
                datatype: "singlevaluelist".into(),
                required: true,
                description: "有人受伤吗".into(),
                datatype_description: String::new(),
                order: 1,
                values: vec![
                    AttributeValue {
                        key: "yes".into(),
                        name: "是".into(),
                    },
                    AttributeValue {
                        key: "no".into(),
                        name: "否".into(),
                    },
                ],
            },
            Attribute {
                code: "depth".into(),
                datatype: "number".into(),
                required: false,
                description: "深度（厘米）".into(),
                datatype_description: String::new(),
                order: 2,
                values: vec![],
            },
            Attribute {
                code: "kinds".into(),
                datatype: "multivaluelist".into(),
                required: false,
                description: "".into(),
                datatype_description: String::new(),
                order: 3,
                values: vec![
                    AttributeValue {
                        key: "a".into(),
                        name: "A".into(),
                    },
                    AttributeValue {
                        key: "b".into(),
                        name: "B".into(),
                    },
                ],
            },
        ]
    }
    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_are_checked_against_the_definition() {
        let a = attrs();
        assert!(check_definition(&a).is_ok());
        assert!(check_values(
            &a,
            &p(&[
                ("attribute[hurt]", "no"),
                ("attribute[kinds][]", "a"),
                ("attribute[kinds][]", "b")
            ])
        )
        .is_ok());
        for bad in [
            p(&[]),                                                        // required missing
            p(&[("attribute[hurt]", "maybe")]),                            // not a value
            p(&[("attribute[hurt]", "no"), ("attribute[depth]", "deep")]), // not a number
            p(&[("attribute[hurt]", "no"), ("attribute[colour]", "red")]), // unknown
            p(&[("attribute[hurt]", "no"), ("attribute[kinds]", "a")]), // a multi list without []
            p(&[("attribute[hurt]", "no"), ("attribute[kinds][]", "z")]), // not a value
            p(&[("attribute[hurt]", "no"), ("attribute[hurt]", "yes")]), // twice
        ] {
            assert!(check_values(&a, &bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn definitions_are_checked() {
        let mut a = attrs();
        a[1].values = a[0].values.clone();
        assert!(check_definition(&a).is_err(), "a number with values");
        let mut a = attrs();
        a[2].code = "hurt".into();
        assert!(check_definition(&a).is_err(), "a code twice");
    }
}
