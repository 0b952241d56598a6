//! Rows of the tables lakescore owns, as Rust types.
//!
//! Each table's Delta schema is derived from its row type (the lake crate
//! traces the type with serde), so the two cannot drift apart. What serde
//! cannot tell, the row type says here: which `i64` columns are timestamps and
//! which `i32` columns are dates.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A row of a lakescore table.
pub trait TableRow: Serialize + DeserializeOwned {
    /// `i64` columns stored as Delta `timestamp` (microseconds since the epoch, UTC).
    const TIMESTAMPS: &'static [&'static str] = &[];
    /// `i32` columns stored as Delta `date` (days since 1970-01-01).
    const DATES: &'static [&'static str] = &[];
}
