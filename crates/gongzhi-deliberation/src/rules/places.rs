//! Who belongs where: places nest inside areas, and a topic's level names how deep its place is.

use crate::model::topics::TopicLevel;

/// Is someone verified for (`v_area`, `v_place`) eligible where a topic, vote or consultation is
/// held for (`area`, `place`)? Area codes are hierarchical (a grid's code starts with its
/// community's); places are paths inside the area, `小区/楼栋`: a resident of building 3 of a
/// compound is eligible for the compound's and the building's matters, not another building's.
pub fn eligible(v_area: &str, v_place: &str, area: &str, place: &str) -> bool {
    let area_ok = v_area.starts_with(area);
    let place_ok = place.is_empty()
        || v_place == place
        || (v_place.starts_with(place) && v_place[place.len()..].starts_with('/'));
    area_ok && place_ok
}

/// Whether a (normalised) place fits a topic's level: none for the community, the compound for
/// a compound, `小区/楼栋` (or deeper) for a building.
pub fn level_fits(level: TopicLevel, place: &str) -> bool {
    let depth = if place.is_empty() {
        0
    } else {
        place.split('/').count()
    };
    match level {
        TopicLevel::Community => depth == 0,
        TopicLevel::Compound => depth == 1,
        TopicLevel::Building => depth >= 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn places_nest_by_whole_names() {
        assert!(eligible(
            "110101001001",
            "和平小区/3号楼",
            "110101001001",
            "和平小区"
        ));
        assert!(eligible("110101001001", "和平小区/3号楼", "110101001", ""));
        assert!(!eligible(
            "110101001001",
            "和平小区/3号楼",
            "110101001001",
            "和平小区/3"
        ));
        assert!(!eligible(
            "110101001001",
            "和平小区",
            "110101001001",
            "和平小区/3号楼"
        ));
        assert!(!eligible("110101001002", "和平小区", "110101001001", ""));
    }

    #[test]
    fn levels_name_the_depth_of_their_place() {
        assert!(level_fits(TopicLevel::Community, ""));
        assert!(!level_fits(TopicLevel::Community, "和平小区"));
        assert!(level_fits(TopicLevel::Compound, "和平小区"));
        assert!(!level_fits(TopicLevel::Compound, "和平小区/3号楼"));
        assert!(level_fits(TopicLevel::Building, "和平小区/3号楼"));
        assert!(!level_fits(TopicLevel::Building, ""));
    }

    proptest! {
        /// A resident of a place takes part in the matters of every place that contains it,
        /// and of no sibling.
        #[test]
        fn a_place_is_eligible_for_every_enclosing_place(parts in proptest::collection::vec("[a-c]{1,2}", 1..4), other in "[d-f]{1,2}") {
            let place = parts.join("/");
            for k in 0..=parts.len() {
                let outer = parts[..k].join("/");
                prop_assert!(eligible("110101001001", &place, "110101001001", &outer));
            }
            let sibling = format!("{}/{other}", parts[..parts.len() - 1].join("/"));
            let sibling = sibling.trim_start_matches('/');
            prop_assert!(!eligible("110101001001", &place, "110101001001", sibling));
        }
    }
}
