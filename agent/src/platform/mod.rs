//! What the agent needs from the machine and the outside world that is not
//! part of the sandbox: private files, the clock and TLS trust. Delivery and
//! the sandbox both build on these; neither borrows from the other.

pub mod clock;
pub mod handle;
pub mod private;
pub mod tls;
