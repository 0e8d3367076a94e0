//! The catalogue's entries, in the order they are tried: messages that name their cause first
//! (memory, pulls, initialization, starts, ECS's own stops), then each family's catch-all,
//! then what the exit codes and the logs tell, then requested stops, and last a catch-all.

mod exits;
mod fallbacks;
mod init;
mod memory;
mod pull;
mod requested;
mod start;
mod stops;

use super::{Entry, Fact, Match, Object};
use crate::judge::task::cause::Cause;

/// Every part of the catalogue, in matching order.
pub static ORDER: &[&[Entry]] = &[
    memory::ENTRIES,
    pull::ENTRIES,
    init::ENTRIES,
    start::ENTRIES,
    stops::ENTRIES,
    fallbacks::ENTRIES,
    exits::ENTRIES,
    requested::ENTRIES,
];

/// The entry that matches anything: the catalogue's last.
pub static LAST: &Entry = &requested::UNRECOGNISED;
