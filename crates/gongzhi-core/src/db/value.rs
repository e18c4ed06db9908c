//! What crosses the storage boundary: parameters going in (typed even when NULL, so PostgreSQL
//! knows a missing number from a missing text) and rows coming out, the same on both engines.

use std::sync::Arc;

use crate::{Error, Result};

/// A bound parameter. The four kinds are the portable column types (BIGINT, DOUBLE PRECISION,
/// TEXT, BYTEA); a NULL keeps its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

/// A value read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a float",
            Value::Text(_) => "text",
            Value::Blob(_) => "bytes",
        }
    }
}

/// A Rust value that can be bound to a statement.
pub trait Encode {
    fn param(self) -> Param;
}

macro_rules! encode_int {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn param(self) -> Param {
                Param::Int(Some(self as i64))
            }
        }
        impl Encode for Option<$t> {
            fn param(self) -> Param {
                Param::Int(self.map(|v| v as i64))
            }
        }
    )*};
}
encode_int!(i64, i32, u32, u16, u8);

impl Encode for usize {
    fn param(self) -> Param {
        Param::Int(Some(i64::try_from(self).unwrap_or(i64::MAX)))
    }
}

/// Flags are stored as 0/1 (portable SQL has no boolean column).
impl Encode for bool {
    fn param(self) -> Param {
        Param::Int(Some(self as i64))
    }
}

impl Encode for f64 {
    fn param(self) -> Param {
        Param::Real(Some(self))
    }
}
impl Encode for Option<f64> {
    fn param(self) -> Param {
        Param::Real(self)
    }
}

impl Encode for String {
    fn param(self) -> Param {
        Param::Text(Some(self))
    }
}
impl Encode for &String {
    fn param(self) -> Param {
        Param::Text(Some(self.clone()))
    }
}
impl Encode for &str {
    fn param(self) -> Param {
        Param::Text(Some(self.to_string()))
    }
}
impl Encode for &&str {
    fn param(self) -> Param {
        Param::Text(Some(self.to_string()))
    }
}
impl Encode for Option<String> {
    fn param(self) -> Param {
        Param::Text(self)
    }
}
impl Encode for Option<&str> {
    fn param(self) -> Param {
        Param::Text(self.map(str::to_string))
    }
}
impl Encode for &Option<String> {
    fn param(self) -> Param {
        Param::Text(self.clone())
    }
}
impl Encode for Option<&String> {
    fn param(self) -> Param {
        Param::Text(self.cloned())
    }
}

impl Encode for Vec<u8> {
    fn param(self) -> Param {
        Param::Blob(Some(self))
    }
}
impl Encode for &[u8] {
    fn param(self) -> Param {
        Param::Blob(Some(self.to_vec()))
    }
}
impl Encode for &Vec<u8> {
    fn param(self) -> Param {
        Param::Blob(Some(self.clone()))
    }
}
impl Encode for Option<Vec<u8>> {
    fn param(self) -> Param {
        Param::Blob(self)
    }
}

/// A Rust value a column can be read as.
pub trait Decode: Sized {
    fn decode(v: &Value) -> std::result::Result<Self, String>;
}

fn mismatch<T>(want: &str, v: &Value) -> std::result::Result<T, String> {
    Err(format!("expected {want}, found {}", v.kind()))
}

impl Decode for i64 {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => mismatch("an integer", v),
        }
    }
}
impl Decode for i32 {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        let i = i64::decode(v)?;
        i32::try_from(i).map_err(|_| format!("{i} does not fit in 32 bits"))
    }
}
impl Decode for bool {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        Ok(i64::decode(v)? != 0)
    }
}
/// A float column may come back as an integer (SQLite keeps integral values compactly).
impl Decode for f64 {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            _ => mismatch("a float", v),
        }
    }
}
impl Decode for String {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => mismatch("text", v),
        }
    }
}
impl Decode for Vec<u8> {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            _ => mismatch("bytes", v),
        }
    }
}
impl<T: Decode> Decode for Option<T> {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::decode(v).map(Some),
        }
    }
}
impl Decode for Value {
    fn decode(v: &Value) -> std::result::Result<Self, String> {
        Ok(v.clone())
    }
}

/// A column named or numbered.
pub trait RowIndex {
    fn position(&self, row: &Row) -> Option<usize>;
    fn describe(&self) -> String;
}
impl RowIndex for usize {
    fn position(&self, row: &Row) -> Option<usize> {
        (*self < row.values.len()).then_some(*self)
    }
    fn describe(&self) -> String {
        format!("column {self}")
    }
}
impl RowIndex for &str {
    fn position(&self, row: &Row) -> Option<usize> {
        row.columns.iter().position(|c| &**c == *self)
    }
    fn describe(&self) -> String {
        format!("column {self:?}")
    }
}

/// One row of a result: its column names (shared by every row of the result) and values.
#[derive(Debug, Clone)]
pub struct Row {
    pub(crate) columns: Arc<[Box<str>]>,
    pub(crate) values: Vec<Value>,
}

impl Row {
    /// The column `i` (a name or a position) as a `T`; a missing column, or a value of another
    /// kind, is an error naming the column.
    pub fn try_get<T: Decode, I: RowIndex>(&self, i: I) -> Result<T> {
        let at = i
            .position(self)
            .ok_or_else(|| Error::internal(format!("no {} in the row", i.describe())))?;
        T::decode(&self.values[at]).map_err(|e| Error::internal(format!("{}: {e}", i.describe())))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| &**c)
    }
}

/// What a statement that returns no rows did.
#[derive(Debug, Clone, Copy)]
pub struct Done {
    pub(crate) rows_affected: u64,
}

impl Done {
    pub fn rows_affected(&self) -> u64 {
        self.rows_affected
    }
}
