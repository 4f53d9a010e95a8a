//! Log lines, tagged with the plugin's name by the host.

use crate::bindings::plumbline::plugin::log::{write, Level};

/// Debug detail.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Normal progress.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Something the operator should look at.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// A failure.
pub fn error(message: &str) {
    write(Level::Error, message);
}
