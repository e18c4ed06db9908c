//! The catalog: categories (大类/小类) with their filing and closing conditions, time limits to
//! respond, handle and close, urgency, default unit and whether the public may pick them.
//! Seeded with the GB/T 30428 component (部件, C…) and event (事件, E…) classes and common
//! 12345 request subjects (R…); administrators edit it through the API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use gongzhi_core::calendar::{LimitUnit, TimeLimit};
use gongzhi_core::{Error, Result};

const SEED: &str = include_str!("../../data/catalog.csv");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Category {
    /// e.g. `C0101` (上水井盖), `E0503` (机动车乱停放), `R0101` (供暖不热).
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
    /// component (部件), event (事件) or request (12345 诉求).
    pub class: String,
    #[serde(default)]
    pub filing_condition: String,
    #[serde(default)]
    pub closing_condition: String,
    pub respond_limit: TimeLimit,
    pub handle_limit: TimeLimit,
    pub close_limit: TimeLimit,
    /// normal, urgent or emergency.
    pub urgency: String,
    pub default_unit: Option<String>,
    /// Offered to residents and Open311 clients.
    pub public: bool,
}

/// A category with its sub-categories, as `GET /api/v1/categories` lists them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryNode {
    #[serde(flatten)]
    pub category: Category,
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

fn parse_limit(s: &str) -> Option<TimeLimit> {
    let (n, unit) = s.trim().split_once(' ')?;
    Some(TimeLimit {
        amount: n.parse().ok()?,
        unit: LimitUnit::parse(unit)?,
    })
}

/// The seed catalog, parsed from the CSV compiled into the binary.
pub fn seed_categories() -> Vec<Category> {
    SEED.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let limit =
                |s: &str| parse_limit(s).unwrap_or_else(|| panic!("seed catalog: bad limit {s:?}"));
            let class = f[3];
            Category {
                code: f[0].into(),
                parent_code: (!f[1].is_empty()).then(|| f[1].to_string()),
                name: f[2].into(),
                class: class.into(),
                filing_condition: match class {
                    "component" => "部件缺失、损坏或被占用，位置在本辖区公共区域".into(),
                    "event" => "事件正在发生或状态持续，位置在本辖区公共区域".into(),
                    _ => "诉求人身份、诉求内容和联系方式清楚".into(),
                },
                closing_condition: match class {
                    "component" => "部件已修复或更换，核查照片与上报位置一致".into(),
                    "event" => "事件已处置，现场恢复正常并经核查".into(),
                    _ => "已答复诉求人并说明办理结果".into(),
                },
                respond_limit: limit(f[4]),
                handle_limit: limit(f[5]),
                close_limit: limit(f[6]),
                urgency: f[7].into(),
                default_unit: None,
                public: f[8] == "true",
            }
        })
        .collect()
}

const URGENCIES: [&str; 3] = ["normal", "urgent", "emergency"];
const CLASSES: [&str; 3] = ["component", "event", "request"];

pub fn validate(c: &Category) -> Result<()> {
    let ok_code =
        (2..=12).contains(&c.code.len()) && c.code.chars().all(|ch| ch.is_ascii_alphanumeric());
    if !ok_code {
        return Err(Error::invalid(
            "invalid_category_code",
            "a category code is 2–12 letters or digits",
        ));
    }
    if let Some(p) = &c.parent_code {
        if !c.code.starts_with(p.as_str()) || p == &c.code {
            return Err(Error::invalid(
                "invalid_category_code",
                format!("{} must start with its parent's code {p}", c.code),
            ));
        }
    }
    if c.name.trim().is_empty() {
        return Err(Error::invalid(
            "invalid_category_name",
            "a category needs a name",
        ));
    }
    gongzhi_core::names::check("category", &c.name)?;
    if !URGENCIES.contains(&c.urgency.as_str()) {
        return Err(Error::invalid(
            "invalid_urgency",
            "urgency is normal, urgent or emergency",
        ));
    }
    if !CLASSES.contains(&c.class.as_str()) {
        return Err(Error::invalid(
            "invalid_class",
            "class is component, event or request",
        ));
    }
    if c.respond_limit.amount == 0 || c.handle_limit.amount == 0 || c.close_limit.amount == 0 {
        return Err(Error::invalid(
            "invalid_time_limit",
            "time limits are at least 1",
        ));
    }
    // At most ten years: a deadline millennia away overflows the clock and fails every intake
    // in the category.
    for l in [c.respond_limit, c.handle_limit, c.close_limit] {
        let most = match l.unit {
            LimitUnit::Hours | LimitUnit::WorkHours => 87_840,
            LimitUnit::Days | LimitUnit::WorkDays => 3_660,
        };
        if l.amount > most {
            return Err(Error::invalid(
                "invalid_time_limit",
                format!("a time limit is at most {most} {}", l.unit.as_str()),
            ));
        }
    }
    Ok(())
}

/// The catalog as a tree, optionally only what the public may pick.
pub fn tree(all: Vec<Category>, public_only: bool) -> Vec<CategoryNode> {
    let keep: Vec<Category> = all
        .into_iter()
        .filter(|c| !public_only || c.public)
        .collect();
    fn build(parent: Option<&str>, all: &[Category]) -> Vec<CategoryNode> {
        all.iter()
            .filter(|c| c.parent_code.as_deref() == parent)
            .map(|c| CategoryNode {
                category: c.clone(),
                children: build(Some(&c.code), all),
            })
            .collect()
    }
    build(None, &keep)
}

/// A routing rule: cases of a category (and its sub-categories) in an area's subtree go to a
/// unit; the most specific rule wins, `None` matches everything.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoutingRule {
    #[serde(default)]
    pub id: Option<String>,
    /// A category code (its sub-categories too); none for every category.
    pub category: Option<String>,
    /// An area code (its subtree); none for everywhere.
    pub area: Option<String>,
    pub unit: String,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_valid_and_shaped_like_the_standard() {
        let cats = seed_categories();
        for c in &cats {
            validate(c).unwrap_or_else(|e| panic!("{}: {e}", c.code));
            if let Some(p) = &c.parent_code {
                assert!(
                    cats.iter().any(|x| &x.code == p),
                    "{} has no parent {p}",
                    c.code
                );
            }
        }
        let majors = |prefix: char| {
            cats.iter()
                .filter(|c| c.parent_code.is_none() && c.code.starts_with(prefix))
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            majors('C'),
            [
                "公用设施",
                "道路交通",
                "市容环境",
                "园林绿化",
                "房屋土地",
                "其他设施"
            ]
        );
        assert_eq!(
            majors('E'),
            [
                "市容环境",
                "宣传广告",
                "施工管理",
                "突发事件",
                "街面秩序",
                "其他"
            ]
        );
        assert!(majors('R').len() >= 5);
        let t = tree(cats.clone(), false);
        assert_eq!(
            t.len(),
            cats.iter().filter(|c| c.parent_code.is_none()).count()
        );
        assert!(tree(cats, true)
            .iter()
            .flat_map(|n| &n.children)
            .all(|c| c.category.public));
    }
}
