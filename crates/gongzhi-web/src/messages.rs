//! The fixed texts a page shows after a redirect (`?done=`): looked up by key in this list (or
//! in a module's administration section), never taken from the address, so a link cannot make
//! a page say what its sender wants.

use crate::i18n::Lang;

/// What `/admin` says after a change to the platform, by the form that made it.
const ADMIN_DONE: &[(&str, &str, &str)] = &[
    ("divisions", "区划已导入", "Divisions imported"),
    ("geojson", "网格边界已导入", "Grid boundaries imported"),
    ("units", "单位已添加", "Unit added"),
    ("users", "用户已添加", "User added"),
];

/// The message for an administration form's key; unknown keys have none.
pub fn admin_done(lang: Lang, key: &str) -> Option<&'static str> {
    ADMIN_DONE
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| lang.t(zh, en))
}
