//! GeoJSON areas (`gongzhi import geojson`, `POST /api/v1/areas/import/geojson`, the admin
//! page): parsed (polygon validation) and checked against itself as if nothing were stored, which
//! runs the containment and grid-overlap checks on the file's own polygons. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = gongzhi_core::areas::parse_geojson(text);
    let areas = parsed.len();
    let problems = parsed.problems_alone();
    assert!(areas > 0 || !problems.is_empty());
});
