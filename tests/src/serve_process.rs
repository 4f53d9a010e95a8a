//! A real `plumbline-collector serve` process for tests and benches: started
//! from a prepared command, its stderr read line by line until it says where
//! it listens, and killed on drop, whatever the test does.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a `serve` may take to say "listening on": it migrates first,
/// and a debug build under a loaded CI machine is slow.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `serve`.
pub struct ServeProcess {
    pub child: Child,
    /// `http(s)://127.0.0.1:PORT`, as it printed it.
    pub base: String,
    /// stderr up to the "listening on" line.
    pub startup: Vec<String>,
    /// stderr after it, as it comes.
    pub stderr: mpsc::Receiver<String>,
}

impl ServeProcess {
    /// Spawns `command` (the binary, `serve` and its arguments and
    /// environment already set) and waits for its "listening on" line.
    pub fn start(mut command: Command) -> ServeProcess {
        let mut child =
            command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn serve");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("stderr is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // From here on the guard kills the process, whatever happens.
        let mut s = ServeProcess { child, base: String::new(), startup: Vec::new(), stderr: rx };
        loop {
            let line =
                s.stderr.recv_timeout(START_TIMEOUT).unwrap_or_else(|_| panic!("serve did not start: {:#?}", s.startup));
            let base = line.split("listening on ").nth(1).map(|rest| rest.split_whitespace().next().unwrap().to_string());
            s.startup.push(line);
            if let Some(base) = base {
                s.base = base;
                return s;
            }
        }
    }

    /// The certificate fingerprint it printed at start, if it did.
    pub fn fingerprint(&self) -> Option<String> {
        self.startup
            .iter()
            .find_map(|l| l.split("fingerprint: ").nth(1))
            .map(|f| f.split_whitespace().next().unwrap().to_string())
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
