//! A scripted network for native tests: servers that follow a script
//! (send, drip, fall silent, close, expect a command, answer commands,
//! accept or refuse TLS) on a fake clock that only moves when a read or a
//! connect waits.

use crate::net::{Clock, Net, Transport};
use plumbline_plugin_sdk::tcp::{TcpError, TlsInfo};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// The fake clock's start: 2027-01-15T08:00:00Z.
pub const T0: u64 = 1_800_000_000_000;

/// A clock that moves only when told.
#[derive(Clone)]
pub struct TestClock(Rc<Cell<u64>>);

impl TestClock {
    pub fn new() -> Self {
        TestClock(Rc::new(Cell::new(T0)))
    }
    pub fn advance(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.0.get()
    }
}

/// Everything a client wrote to one connection.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<u8>>>);

impl Log {
    pub fn sent(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
    /// The command lines sent, without CRLF.
    pub fn lines(&self) -> Vec<String> {
        self.sent().lines().map(str::to_string).collect()
    }
}

/// Answers one command line: the reply bytes, and whether this step is
/// done after it (e.g. after `220` to STARTTLS, so that the TLS step comes next).
type Responder = Box<dyn FnMut(&str) -> (Vec<u8>, bool)>;

enum Step {
    Send(Vec<u8>),
    Drip(Vec<u8>, u64),
    Silent,
    Close,
    Expect(Vec<u8>),
    Respond(Responder),
    Tls(Result<TlsInfo, TcpError>),
}

/// What one server does on one connection.
pub struct Script {
    steps: VecDeque<Step>,
    log: Log,
}

/// A certificate's facts as the host reports them.
pub fn tls_info(self_signed: bool, trusted: bool, not_after: i64) -> TlsInfo {
    TlsInfo {
        protocol: "TLSv1.3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        subject: "CN=relay.example".into(),
        issuer: if self_signed { "CN=relay.example".into() } else { "CN=Some CA".into() },
        not_before: 1_700_000_000,
        not_after,
        self_signed,
        trusted,
    }
}

impl Script {
    pub fn new() -> Self {
        Script { steps: VecDeque::new(), log: Log::default() }
    }
    fn step(mut self, s: Step) -> Self {
        self.steps.push_back(s);
        self
    }
    pub fn send(self, b: &[u8]) -> Self {
        self.step(Step::Send(b.to_vec()))
    }
    /// One byte every `every_ms`.
    pub fn drip(self, b: &[u8], every_ms: u64) -> Self {
        self.step(Step::Drip(b.to_vec(), every_ms))
    }
    pub fn silent(self) -> Self {
        self.step(Step::Silent)
    }
    pub fn close(self) -> Self {
        self.step(Step::Close)
    }
    /// Wait for exactly this command line from the client.
    pub fn expect(self, line: &[u8]) -> Self {
        self.step(Step::Expect(line.to_vec()))
    }
    /// Answer each command line (without CRLF) with `f(line)` until it says
    /// it is done.
    pub fn respond(self, f: impl FnMut(&str) -> (Vec<u8>, bool) + 'static) -> Self {
        self.step(Step::Respond(Box::new(f)))
    }
    pub fn tls_ok(self) -> Self {
        self.tls(Ok(tls_info(false, true, 1_900_000_000)))
    }
    pub fn tls(self, r: Result<TlsInfo, TcpError>) -> Self {
        self.step(Step::Tls(r))
    }
    pub fn log(&self) -> Log {
        self.log.clone()
    }
    pub fn conn(self, clock: &TestClock) -> ScriptedConn {
        ScriptedConn {
            steps: self.steps,
            out: VecDeque::new(),
            line: Vec::new(),
            log: self.log,
            clock: clock.clone(),
            peer: None,
        }
    }
}

/// A connection following a [`Script`].
pub struct ScriptedConn {
    steps: VecDeque<Step>,
    out: VecDeque<u8>,
    line: Vec<u8>,
    log: Log,
    clock: TestClock,
    peer: Option<std::net::IpAddr>,
}

impl ScriptedConn {
    fn flush_sends(&mut self) {
        while let Some(Step::Send(_)) = self.steps.front() {
            if let Some(Step::Send(b)) = self.steps.pop_front() {
                self.out.extend(b);
            }
        }
    }
}

impl Transport for ScriptedConn {
    fn read(&mut self, max_bytes: u32, timeout_ms: u32) -> Result<Vec<u8>, TcpError> {
        self.flush_sends();
        if !self.out.is_empty() {
            let n = self.out.len().min(max_bytes.max(1) as usize);
            return Ok(self.out.drain(..n).collect());
        }
        let timeout = || TcpError::Timeout(format!("no data within {timeout_ms} ms"));
        match self.steps.front_mut() {
            None | Some(Step::Close) => Ok(Vec::new()),
            Some(Step::Drip(bytes, every)) => {
                if *every > u64::from(timeout_ms) {
                    self.clock.advance(u64::from(timeout_ms));
                    return Err(timeout());
                }
                self.clock.advance(*every);
                let b = bytes.remove(0);
                if bytes.is_empty() {
                    self.steps.pop_front();
                }
                Ok(vec![b])
            }
            Some(_) => {
                self.clock.advance(u64::from(timeout_ms));
                Err(timeout())
            }
        }
    }

    fn write(&mut self, data: &[u8], _timeout_ms: u32) -> Result<(), TcpError> {
        if matches!(self.steps.front(), Some(Step::Close)) && self.out.is_empty() {
            return Err(TcpError::Io("Broken pipe (os error 32)".into()));
        }
        self.log.0.borrow_mut().extend_from_slice(data);
        self.flush_sends();
        for &b in data {
            self.line.push(b);
            if b != b'\n' {
                continue;
            }
            let line = std::mem::take(&mut self.line);
            match self.steps.front_mut() {
                Some(Step::Expect(want)) => {
                    assert_eq!(String::from_utf8_lossy(&line), String::from_utf8_lossy(want), "the client sent an unexpected command");
                    self.steps.pop_front();
                }
                Some(Step::Respond(f)) => {
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    let (reply, done) = f(&text);
                    self.out.extend(reply);
                    if done {
                        self.steps.pop_front();
                    }
                }
                _ => {}
            }
            self.flush_sends();
        }
        Ok(())
    }

    fn start_tls(&mut self, _server_name: &str, _timeout_ms: u32) -> Result<TlsInfo, TcpError> {
        self.out.clear();
        match self.steps.pop_front() {
            Some(Step::Tls(r)) => r,
            _ => Err(TcpError::Tls("received corrupt message of type InvalidContentType".into())),
        }
    }

    fn peer_ip(&self) -> Option<std::net::IpAddr> {
        self.peer
    }
}

/// What a connect to one endpoint gives.
pub enum Answer {
    Script(Script),
    Refused,
    Timeout,
    Denied,
}

/// A network of scripted endpoints: each connect to `host:port` takes the
/// next answer queued for it; with none left, the connection is refused.
pub struct TestNet {
    pub clock: TestClock,
    answers: HashMap<(String, u16), VecDeque<Answer>>,
    pub connects: Vec<(String, u16)>,
    /// What a host name's connections report as their peer address.
    peers: HashMap<String, std::net::IpAddr>,
    /// The length of each `connect_all` list.
    pub dial_lists: Vec<usize>,
    /// What `dial_batch` answers, as the host's list length would.
    pub batch: usize,
    /// Connections one `connect_all` keeps open; those past it fail as
    /// `limit`, as the host's do.
    pub open_limit: usize,
}

impl TestNet {
    pub fn new() -> Self {
        TestNet {
            clock: TestClock::new(),
            answers: HashMap::new(),
            connects: Vec::new(),
            peers: HashMap::new(),
            dial_lists: Vec::new(),
            batch: 1000,
            open_limit: 64,
        }
    }
    /// Connections to `host` report `ip` as their peer, as the host's
    /// `peer-address` does for a granted name.
    pub fn resolving(mut self, host: &str, ip: &str) -> Self {
        self.peers.insert(host.to_string(), ip.parse().unwrap());
        self
    }
    pub fn on(mut self, host: &str, port: u16, answer: Answer) -> Self {
        self.answers.entry((host.to_string(), port)).or_default().push_back(answer);
        self
    }
}

impl Clock for TestNet {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}

impl Net for TestNet {
    type Conn = ScriptedConn;

    fn connect(&mut self, host: &str, port: u16, timeout_ms: u32) -> Result<ScriptedConn, TcpError> {
        self.connects.push((host.to_string(), port));
        self.clock.advance(1);
        match self.answers.get_mut(&(host.to_string(), port)).and_then(VecDeque::pop_front) {
            Some(Answer::Script(s)) => {
                let mut conn = s.conn(&self.clock);
                conn.peer = self.peers.get(host).copied().or_else(|| host.trim_matches(['[', ']']).parse().ok());
                Ok(conn)
            }
            Some(Answer::Timeout) => {
                self.clock.advance(u64::from(timeout_ms));
                Err(TcpError::Timeout(format!("connecting to {host}:{port}")))
            }
            Some(Answer::Denied) => Err(TcpError::Denied(format!(
                "TCP to {host} ({host}) port {port} denied: not granted; to allow it add \"{host}:{port}\" to [plugins.smtp-relay.grants] tcp"
            ))),
            Some(Answer::Refused) | None => Err(TcpError::Io(format!(
                "connecting to {host}:{port}: Connection refused (os error 111)"
            ))),
        }
    }

    /// As the host does it: all at once, so the clock moves by the longest
    /// connect, not by their sum.
    fn connect_all(&mut self, targets: &[(String, u16)], timeout_ms: u32) -> Vec<Result<ScriptedConn, TcpError>> {
        self.dial_lists.push(targets.len());
        let start = self.clock.now_ms();
        let mut longest = 0;
        let mut out = Vec::with_capacity(targets.len());
        let mut open = 0;
        for (host, port) in targets {
            let mut result = self.connect(host, *port, timeout_ms);
            if result.is_ok() {
                open += 1;
                if open > self.open_limit {
                    result = Err(TcpError::Limit(format!("more than {} open connections", self.open_limit)));
                }
            }
            out.push(result);
            longest = longest.max(self.clock.now_ms() - start);
            self.clock.0.set(start);
        }
        self.clock.0.set(start + longest);
        out
    }

    fn dial_batch(&self) -> usize {
        self.batch
    }
}
