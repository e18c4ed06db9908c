//! The rules of a service's attributes, pure: a definition is checked before it is stored, and
//! the values a request sends as `attribute[CODE]` or `attribute[CODE][]` are checked against
//! it, all before anything is stored.

use serde_json::json;

use gongzhi_core::{Error, Result};

use crate::model::attributes::{Attribute, GivenValues, DATATYPES};

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

/// The values a request gives, checked against the definition: (code, values) for each given.
pub fn check_values(attrs: &[Attribute], params: &[(String, String)]) -> Result<GivenValues> {
    let mut given: GivenValues = Vec::new();
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
    use crate::model::attributes::AttributeValue;
    use proptest::prelude::*;

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

    /// A definition of up to five attributes of any datatype, with codes that are valid and
    /// distinct (lists with values, the others without).
    fn definition() -> impl Strategy<Value = Vec<Attribute>> {
        proptest::collection::vec((0..DATATYPES.len(), any::<bool>(), 1..4usize), 0..5).prop_map(
            |specs| {
                specs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (t, required, n))| {
                        let datatype = DATATYPES[t].to_string();
                        let values = if datatype.ends_with("valuelist") {
                            (0..n)
                                .map(|k| AttributeValue {
                                    key: format!("k{k}"),
                                    name: format!("v{k}"),
                                })
                                .collect()
                        } else {
                            vec![]
                        };
                        Attribute {
                            code: format!("a{i}"),
                            datatype,
                            required,
                            description: String::new(),
                            datatype_description: String::new(),
                            order: i as i64,
                            values,
                        }
                    })
                    .collect()
            },
        )
    }

    /// A value each attribute accepts.
    fn valid_value(a: &Attribute) -> String {
        match a.datatype.as_str() {
            "number" => "12.5".into(),
            "datetime" => "2026-09-21T10:00:00Z".into(),
            "singlevaluelist" | "multivaluelist" => a.values[0].key.clone(),
            _ => "text".into(),
        }
    }

    fn key_of(a: &Attribute) -> String {
        if a.datatype == "multivaluelist" {
            format!("attribute[{}][]", a.code)
        } else {
            format!("attribute[{}]", a.code)
        }
    }

    proptest! {
        #[test]
        fn every_generated_definition_is_accepted(attrs in definition()) {
            prop_assert!(check_definition(&attrs).is_ok());
        }

        /// Giving a valid value for every attribute is accepted, and answers each given once.
        #[test]
        fn valid_values_are_accepted(attrs in definition()) {
            let params: Vec<(String, String)> =
                attrs.iter().map(|a| (key_of(a), valid_value(a))).collect();
            let given = check_values(&attrs, &params).unwrap();
            prop_assert_eq!(given.len(), attrs.len());
            for (a, (code, values)) in attrs.iter().zip(&given) {
                prop_assert_eq!(&a.code, code);
                prop_assert_eq!(values, &vec![valid_value(a)]);
            }
        }

        /// Leaving out a required attribute is refused; leaving out an optional one is not.
        #[test]
        fn a_missing_attribute_is_refused_only_when_required(attrs in definition(), skip in 0..5usize) {
            prop_assume!(skip < attrs.len());
            let params: Vec<(String, String)> = attrs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, a)| (key_of(a), valid_value(a)))
                .collect();
            prop_assert_eq!(check_values(&attrs, &params).is_ok(), !attrs[skip].required);
        }

        /// Whatever a client sends, an accepted answer names only defined attributes, each once,
        /// and every required one.
        #[test]
        fn accepted_values_belong_to_the_definition(
            attrs in definition(),
            params in proptest::collection::vec(("attribute\\[a[0-5]\\](\\[\\])?", "[a-z0-9.:-]{0,12}"), 0..8),
        ) {
            if let Ok(given) = check_values(&attrs, &params) {
                let codes: Vec<&String> = given.iter().map(|(c, _)| c).collect();
                let distinct: std::collections::BTreeSet<&String> = codes.iter().copied().collect();
                prop_assert_eq!(codes.len(), distinct.len());
                for c in &codes {
                    prop_assert!(attrs.iter().any(|a| &&a.code == c));
                }
                for a in attrs.iter().filter(|a| a.required) {
                    prop_assert!(codes.contains(&&a.code));
                }
            }
        }

        /// The stored values read back as the map of what was given.
        #[test]
        fn stored_values_read_back(values in proptest::collection::btree_map("[a-z]{1,6}", proptest::collection::vec("[a-z]{0,4}", 1..3), 0..4)) {
            let given: GivenValues = values.clone().into_iter().collect();
            let read: std::collections::BTreeMap<String, Vec<String>> =
                serde_json::from_str(&values_json(&given)).unwrap();
            prop_assert_eq!(read, values);
        }
    }
}
