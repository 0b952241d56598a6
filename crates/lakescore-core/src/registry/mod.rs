//! The registry's data and its fold, without storage.
//!
//! [`rows`] are the two registry tables' rows; [`events`] the kinds of event;
//! [`state`] folds both into each model's versions, stages, aliases, tags and
//! requests (the registry at any past time is the same fold over time-travelled
//! rows); [`diff`] compares two versions. Reading and writing the tables is the
//! engine's job.

pub mod diff;
pub mod events;
pub mod rows;
pub mod state;

pub use events::EventKind;
pub use rows::{EVENTS_TABLE, ModelEventRow, ModelVersionRow, VERSIONS_TABLE};
pub use state::{ModelState, RegistryState, ResolveError, VersionState};
