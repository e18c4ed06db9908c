//! Routing as data (FixMyStreet's areas × categories → contact): which unit a new case goes to.

use std::collections::HashMap;

use crate::model::catalog::Category;

/// The routing rules and each area's first unit of a kind, as read from storage.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    /// (category prefix, area prefix, unit); `None` matches everything.
    pub rules: Vec<(Option<String>, Option<String>, String)>,
    /// (area code, kind) → first unit code.
    pub fallbacks: HashMap<(String, String), String>,
}

/// Routing: the most specific rule (area first, then category), then the category's default
/// unit (or its parent's), then the street office, then the district's command centre (兜底).
pub fn route(
    r: &Routing,
    categories: &HashMap<String, Category>,
    category: &Category,
    grid: Option<&str>,
) -> Option<String> {
    let best = r
        .rules
        .iter()
        .filter(|(c, a, _)| {
            c.as_deref().is_none_or(|c| category.code.starts_with(c))
                && a.as_deref()
                    .is_none_or(|a| grid.is_some_and(|g| g.starts_with(a)))
        })
        .max_by_key(|(c, a, _)| {
            (
                a.as_ref().map_or(0, |a| a.len()),
                c.as_ref().map_or(0, |c| c.len()),
            )
        });
    if let Some((_, _, unit)) = best {
        return Some(unit.clone());
    }
    if let Some(u) = &category.default_unit {
        return Some(u.clone());
    }
    if let Some(u) = category
        .parent_code
        .as_ref()
        .and_then(|p| categories.get(p))
        .and_then(|p| p.default_unit.clone())
    {
        return Some(u);
    }
    let g = grid?;
    [(&g[..9], "street_office"), (&g[..6], "command_center")]
        .into_iter()
        .find_map(|(area, kind)| {
            r.fallbacks
                .get(&(area.to_string(), kind.to_string()))
                .cloned()
        })
}
