//! Division CSV (`gongzhi import divisions`, `POST /api/v1/areas/import/divisions`, the admin
//! page): parsed and checked against itself as if nothing were stored. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = gongzhi_core::areas::parse_divisions(text);
    let areas = parsed.len();
    let problems = parsed.problems_alone();
    // A file is accepted only with at least one area in it.
    assert!(areas > 0 || !problems.is_empty());
});
