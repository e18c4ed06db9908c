//! Open311 GeoReport v2 (driven by a real client from PyPI) and the attack suite's holes.

mod georeport;
mod security;
