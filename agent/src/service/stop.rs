//! A stop request (Ctrl-C, SIGTERM, the Windows service control) as a value
//! the scan and the delivery can look at. It never cancels a plugin call in
//! progress: the scan checks it between steps, so a plugin that is running
//! finishes and its results are kept; the ones not started yet are not run.

use std::sync::Arc;
use tokio::sync::watch;

/// The receiving side, cloned into everything that must notice a stop.
#[derive(Debug, Clone)]
pub struct Stop {
    rx: watch::Receiver<bool>,
}

/// The side that asks for the stop.
#[derive(Debug, Clone)]
pub struct StopHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl Stop {
    /// A new pair: requesting through the handle is seen by every clone.
    pub fn new() -> (StopHandle, Stop) {
        let (tx, rx) = watch::channel(false);
        (StopHandle { tx: Arc::new(tx) }, Stop { rx })
    }

    /// A stop that is never requested (`plumbline run`, `scan`).
    pub fn never() -> Stop {
        let (_, stop) = Stop::new();
        stop
    }

    /// Whether a stop has been asked for.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves once a stop is asked for; never, for [`Stop::never`].
    pub async fn requested(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            // The handle is gone without asking: nobody can ask any more.
            std::future::pending::<()>().await;
        }
    }
}

impl StopHandle {
    /// Ask everything holding the [`Stop`] to finish up.
    pub fn request(&self) {
        self.tx.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_is_seen_by_every_clone_and_wakes_waiters() {
        let (handle, stop) = Stop::new();
        let other = stop.clone();
        assert!(!stop.is_requested());
        let waiter = tokio::spawn(async move { other.requested().await });
        handle.request();
        waiter.await.unwrap();
        assert!(stop.is_requested());
        stop.requested().await;
    }

    #[test]
    fn never_is_never_requested() {
        use futures::FutureExt;
        let stop = Stop::never();
        assert!(!stop.is_requested());
        assert!(Box::pin(stop.requested()).now_or_never().is_none(), "never resolves");
    }
}
