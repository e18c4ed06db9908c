//! The GeoReport v2 shapes: JSON as bare arrays, XML with the specification's element names,
//! errors as `errors/error{code,description}` (`format`); the documents built from our records
//! (`shapes`), and their XML (`xml`).

pub mod format;
pub mod shapes;
pub mod xml;
