//! What gongzhi hands to spreadsheets. A CSV text cell that starts like a formula is run as one
//! by Excel and LibreOffice (`=HYPERLINK(…)`, `@SUM(…)`, DDE), so a name an attacker chose could
//! act on whoever opens the export: such cells get a leading `'` (OWASP's CSV injection rule).
//! XLSX cells are written as strings and need nothing.

use std::borrow::Cow;

/// A text cell for CSV: prefixed with `'` when it starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return. Only text cells: numbers such as `-3` are written as they are.
pub fn csv_text(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_defused_and_plain_text_is_kept() {
        for bad in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x"] {
            assert_eq!(csv_text(bad), format!("'{bad}"), "{bad:?}");
        }
        for good in ["东城区", "G1 网格", "a=b", "", "'already"] {
            assert_eq!(csv_text(good), good);
        }
    }
}
