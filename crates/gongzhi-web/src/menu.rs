//! The main menu, built from every module's entries ([`MenuEntry`]) for the signed-in user: an
//! entry shows when one of their roles is granted its action somewhere, one entry per page.

use gongzhi_core::identity::{may_somewhere, Actor};
use gongzhi_core::state::MenuEntry;

/// The entries `actor` may use, in menu order (`entries` come sorted from the app); of several
/// entries for one page the first shown stands.
pub fn shown(entries: &[MenuEntry], actor: &Actor) -> Vec<MenuEntry> {
    let mut out: Vec<MenuEntry> = Vec::new();
    for e in entries {
        if may_somewhere(actor, e.action) && !out.iter().any(|o| o.href == e.href) {
            out.push(*e);
        }
    }
    out
}

/// Where a user lands after signing in: the shown entry with the best start rank.
pub fn start_page(shown: &[MenuEntry]) -> Option<&'static str> {
    shown
        .iter()
        .filter_map(|e| e.start.map(|rank| (rank, e.href)))
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, href)| href)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gongzhi_core::identity::{Action, ActorKind, Assignment, Role};

    const FOR_LEADERS: Action = Action::new("t_lead", &[Role::LEADER, Role::ADMIN]);
    const FOR_ADMINS: Action = Action::new("t_admin", &[Role::ADMIN]);
    const FOR_ALL: Action = Action::new("t_all", &[Role::RESIDENT, Role::LEADER, Role::ADMIN]);

    fn entry(href: &'static str, zh: &'static str, action: Action, order: u16) -> MenuEntry {
        MenuEntry {
            href,
            zh,
            en: zh,
            action,
            order,
            start: None,
        }
    }

    fn actor(roles: &[Role]) -> Actor {
        Actor {
            kind: ActorKind::User,
            user_id: Some("u".into()),
            username: "u".into(),
            assignments: roles
                .iter()
                .map(|r| Assignment {
                    role: *r,
                    area: Some("110101".into()),
                    unit: None,
                })
                .collect(),
        }
    }

    #[test]
    fn entries_show_by_permission_once_per_page() {
        let entries = [
            MenuEntry {
                start: Some(2),
                ..entry("/report", "热线受理", FOR_LEADERS, 10)
            },
            entry("/report", "我要反映", FOR_ALL, 10),
            entry("/admin", "管理", FOR_ADMINS, 100),
            MenuEntry {
                start: Some(1),
                ..entry("/admin", "管理", FOR_ADMINS, 100)
            },
        ];
        let resident = shown(&entries, &actor(&[Role::RESIDENT]));
        assert_eq!(
            resident.iter().map(|e| e.zh).collect::<Vec<_>>(),
            ["我要反映"]
        );
        assert_eq!(start_page(&resident), None);
        let leader = shown(&entries, &actor(&[Role::RESIDENT, Role::LEADER]));
        assert_eq!(
            leader.iter().map(|e| e.zh).collect::<Vec<_>>(),
            ["热线受理"]
        );
        assert_eq!(start_page(&leader), Some("/report"));
        // A scoped assignment shows the entry too: the page checks the scope.
        let admin = shown(&entries, &actor(&[Role::ADMIN]));
        assert_eq!(admin.len(), 2);
        // The first of the same page stands, with its start rank (none here).
        assert_eq!(start_page(&admin), Some("/report"));
        assert!(shown(&entries, &Actor::anonymous()).is_empty());
    }
}
