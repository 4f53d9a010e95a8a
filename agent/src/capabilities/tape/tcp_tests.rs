//! Unit tests of TCP dialogues in a recording: the AUTH scrub, and how a
//! replay matches connects and calls to what was recorded.

use super::*;
use crate::capabilities::tape::{Entry, MAX_ENTRIES};

fn ok() -> Result<(), TcpError> {
    Ok(())
}

fn tls() -> TlsInfo {
    TlsInfo {
        protocol: "TLSv1.3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        subject: "CN=relay.example".into(),
        issuer: "CN=relay.example".into(),
        not_before: 1,
        not_after: 2,
        self_signed: true,
        trusted: false,
    }
}

/// A recording of an SMTP session to `relay.example:25` and a refused
/// connect to `other.example:25`, as a replay reads it back from JSON.
fn recorded() -> Vec<Entry> {
    let tape = Tape::record();
    let mut r = tape.record_tcp_connect("relay.example:25", Ok("192.0.2.25:25")).unwrap();
    r.read(&tape, &Ok(b"220 relay.example ESMTP\r\n".to_vec()));
    r.write(&tape, b"EHLO probe\r\n", &ok());
    r.read(&tape, &Ok(b"250-relay.example\r\n250 STARTTLS\r\n".to_vec()));
    r.write(&tape, b"STARTTLS\r\n", &ok());
    r.read(&tape, &Ok(b"220 go ahead\r\n".to_vec()));
    r.start_tls(&tape, "relay.example", &Ok(tls()));
    r.write(&tape, b"QUIT\r\n", &ok());
    r.read(&tape, &Err(TcpError::Timeout("no data within 3000 ms".into())));
    r.close(&tape);
    assert!(tape.record_tcp_connect("other.example:25", Err(&TcpError::Io("connecting: refused".into()))).is_some());
    assert_eq!(tape.calls(), 11);
    let entries = tape.recorded();
    assert_eq!(entries.len(), 2, "one entry per connection");
    let json = serde_json::to_string(&entries).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn connect(tape: &Tape, target: &str) -> Result<(String, Cursor), TcpError> {
    tape.replay_tcp_connect(target).expect("a replay answers")
}

#[test]
fn a_replay_answers_each_call_as_recorded() {
    let tape = Tape::replay(recorded());
    let (peer, mut c) = connect(&tape, "relay.example:25").unwrap();
    assert_eq!(peer, "192.0.2.25:25");
    assert_eq!(c.read(4096).unwrap(), b"220 relay.example ESMTP\r\n");
    c.write(b"EHLO probe\r\n").unwrap();
    assert_eq!(c.read(4096).unwrap(), b"250-relay.example\r\n250 STARTTLS\r\n");
    c.write(b"STARTTLS\r\n").unwrap();
    assert_eq!(c.read(4096).unwrap(), b"220 go ahead\r\n");
    let info = c.start_tls("relay.example").unwrap();
    assert_eq!((info.subject.as_str(), info.self_signed, info.trusted), ("CN=relay.example", true, false));
    c.write(b"QUIT\r\n").unwrap();
    assert!(matches!(c.read(4096), Err(TcpError::Timeout(m)) if m == "no data within 3000 ms"));
    assert!(matches!(connect(&tape, "other.example:25"), Err(TcpError::Io(m)) if m == "connecting: refused"));
    assert!(tape.misses().is_empty(), "{:?}", tape.misses());
}

#[test]
fn a_read_shorter_than_the_recorded_one_gets_the_rest_next() {
    let tape = Tape::replay(recorded());
    let (_, mut c) = connect(&tape, "relay.example:25").unwrap();
    assert_eq!(c.read(4).unwrap(), b"220 ");
    assert_eq!(c.read(4096).unwrap(), b"relay.example ESMTP\r\n");
    c.write(b"EHLO probe\r\n").unwrap();
    assert!(tape.misses().is_empty(), "{:?}", tape.misses());
}

#[test]
fn connections_to_one_target_replay_in_recorded_order_whatever_the_interleaving() {
    let tape = Tape::record();
    for (target, banner) in [("a:25", "220 first"), ("b:25", "220 other"), ("a:25", "220 second")] {
        let mut r = tape.record_tcp_connect(target, Ok("192.0.2.1:25")).unwrap();
        r.read(&tape, &Ok(banner.as_bytes().to_vec()));
        r.write(&tape, format!("HELO {banner}\r\n").as_bytes(), &ok());
    }
    let tape = Tape::replay(tape.recorded());
    let (_, mut b) = connect(&tape, "b:25").unwrap();
    let (_, mut first) = connect(&tape, "a:25").unwrap();
    let (_, mut second) = connect(&tape, "a:25").unwrap();
    assert_eq!(second.read(100).unwrap(), b"220 second");
    assert_eq!(b.read(100).unwrap(), b"220 other");
    assert_eq!(first.read(100).unwrap(), b"220 first");
    second.write(b"HELO 220 second\r\n").unwrap();
    first.write(b"HELO 220 first\r\n").unwrap();
    b.write(b"HELO 220 other\r\n").unwrap();
    assert!(tape.misses().is_empty(), "{:?}", tape.misses());

    let err = connect(&tape, "a:25").err().unwrap();
    let holds_two = |m: &str| m.contains("connect to a:25") && m.contains("2 connection(s) to it");
    assert!(matches!(&err, TcpError::Io(m) if holds_two(m)), "{err:?}");
    assert_eq!(tape.misses().len(), 1);
}

#[test]
fn a_different_write_is_a_miss_naming_the_target_and_the_recorded_call() {
    let tape = Tape::replay(recorded());
    let (_, mut c) = connect(&tape, "relay.example:25").unwrap();
    c.read(4096).unwrap();
    let err = c.write(b"HELO changed\r\n").unwrap_err();
    let TcpError::Io(m) = err else { panic!("{err:?}") };
    let wanted = "no recorded answer for write \"HELO changed\\r\\n\" on connection 1 to relay.example:25";
    assert!(m.contains(wanted), "{m}");
    assert!(m.contains("the recorded call 2 on it is write \"EHLO probe\\r\\n\""), "{m}");
    assert_eq!(tape.misses(), [m]);
    // The rest of that dialogue no longer fits: errors, but one miss only.
    assert!(matches!(c.read(4096), Err(TcpError::Io(m)) if m.contains("stopped at an earlier call")));
    assert_eq!(tape.misses().len(), 1);
}

/// The recorded session of [`recorded`], played by the plugin again.
fn play(c: &mut Cursor) {
    c.read(4096).unwrap();
    c.write(b"EHLO probe\r\n").unwrap();
    c.read(4096).unwrap();
    c.write(b"STARTTLS\r\n").unwrap();
    c.read(4096).unwrap();
    c.start_tls("relay.example").unwrap();
    c.write(b"QUIT\r\n").unwrap();
    c.read(4096).unwrap_err();
}

#[test]
fn more_calls_than_recorded_and_unknown_targets_are_misses() {
    // A call of another kind than the recorded one.
    let tape = Tape::replay(recorded());
    let (_, mut c) = connect(&tape, "relay.example:25").unwrap();
    let err = c.write(b"QUIT\r\n").unwrap_err();
    assert!(matches!(&err, TcpError::Io(m) if m.contains("the recorded call 1 on it is read")), "{err:?}");

    // Past the end of the dialogue.
    let tape = Tape::replay(recorded());
    let (_, mut c) = connect(&tape, "relay.example:25").unwrap();
    play(&mut c);
    assert!(tape.misses().is_empty(), "{:?}", tape.misses());
    let err = c.read(4096).unwrap_err();
    assert!(matches!(&err, TcpError::Io(m) if m.contains("the recording has only 8 call(s) on it")), "{err:?}");
    assert_eq!(tape.misses().len(), 1);

    // A target never connected to, and STARTTLS as another name.
    let tape = Tape::replay(recorded());
    let err = connect(&tape, "relay.exampel:25").err().unwrap();
    let closest = |m: &str| m.contains("the closest recorded target is relay.example:25");
    assert!(matches!(&err, TcpError::Io(m) if closest(m)), "{err:?}");
    let (_, mut c) = connect(&tape, "relay.example:25").unwrap();
    c.read(4096).unwrap();
    c.write(b"EHLO probe\r\n").unwrap();
    c.read(4096).unwrap();
    c.write(b"STARTTLS\r\n").unwrap();
    c.read(4096).unwrap();
    let err = c.start_tls("other.example").unwrap_err();
    let names_both = |m: &str| m.contains("start-tls as other.example") && m.contains("start-tls as relay.example");
    assert!(matches!(&err, TcpError::Io(m) if names_both(m)), "{err:?}");
    assert_eq!(tape.misses().len(), 2);
    let empty = Tape::replay(Vec::new());
    assert!(matches!(connect(&empty, "a:1"), Err(TcpError::Io(m)) if m.contains("holds no TCP connection")));
}

#[test]
fn a_recording_keeps_nothing_past_its_bound_but_counts_it() {
    let tape = Tape::record();
    let mut r = tape.record_tcp_connect("a:25", Ok("192.0.2.1:25")).unwrap();
    for _ in 0..MAX_ENTRIES {
        r.write(&tape, b"x", &ok());
    }
    assert_eq!(tape.calls(), MAX_ENTRIES + 1);
    let Entry::Tcp(d) = &tape.recorded()[0] else { panic!() };
    assert_eq!(d.steps.len(), MAX_ENTRIES - 1);
    assert!(tape.record_tcp_connect("b:25", Ok("192.0.2.2:25")).is_none());
}

/// Every piece of `secret` kept out of `stored`.
fn assert_clear_of(stored: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!stored.contains(s), "{s} stored: {stored}");
    }
}

#[test]
fn smtp_auth_is_scrubbed_from_a_recorded_dialogue_and_a_replay_still_matches_it() {
    // PLAIN with an initial response, LOGIN with its 334 challenges, split oddly over calls.
    let plain = "AGFsaWNlAHMzY3JldC1wYXNzd29yZA=="; // \0alice\0s3cret-password
    let (user, pass) = ("YWxpY2U=", "czNjcmV0LXBhc3N3b3Jk");
    let tape = Tape::record();
    let mut r = tape.record_tcp_connect("relay.example:587", Ok("192.0.2.25:587")).unwrap();
    let script: [(bool, String); 11] = [
        (true, format!("AUTH PLAIN {plain}\r\n")),
        (false, "535 5.7.8 no\r\n".into()),
        (true, "AU".into()),
        (true, "TH LOGIN\r\n".into()),
        (false, "334 VXNlcm5hbWU6\r\n".into()),
        (true, format!("{user}\r\n")),
        (false, "334 UGFzc3".into()),
        (false, "dvcmQ6\r\n".into()),
        (true, pass[..6].to_string()),
        (true, format!("{}\r\n", &pass[6..])),
        (false, "235 2.7.0 ok\r\nMAIL FROM:<a@b> client_secret=abc\r\n".into()),
    ];
    for (written, text) in &script {
        if *written {
            r.write(&tape, text.as_bytes(), &ok());
        } else {
            r.read(&tape, &Ok(text.as_bytes().to_vec()));
        }
    }
    r.write(&tape, b"MAIL FROM:<alice@example.com>\r\n", &ok());
    let stored = serde_json::to_string_pretty(&tape.recorded()).unwrap();
    let challenges = ["VXNlcm5hbWU6", "UGFzc3", "dvcmQ6"];
    assert_clear_of(&stored, &[plain, user, pass, &pass[..6], &pass[6..], "client_secret=abc"]);
    assert_clear_of(&stored, &challenges);
    assert!(stored.contains("AUTH PLAIN REDACTED") && stored.contains("TH LOGIN"), "{stored}");
    assert!(stored.contains("MAIL FROM:<alice@example.com>"), "after the final reply nothing is secret: {stored}");

    // The plugin replays the same session (its own secrets): it matches.
    let tape = Tape::replay(tape.recorded());
    let (_, mut c) = connect(&tape, "relay.example:587").unwrap();
    for (written, text) in &script {
        if *written {
            c.write(text.as_bytes()).unwrap();
        } else {
            let got = c.read(4096).unwrap();
            assert!(!String::from_utf8_lossy(&got).contains("UGFzc3"));
        }
    }
    c.write(b"MAIL FROM:<alice@example.com>\r\n").unwrap();
    assert!(tape.misses().is_empty(), "{:?}", tape.misses());
}

#[test]
fn bytes_that_are_not_utf8_are_stored_as_base64_and_replayed_exactly() {
    let tape = Tape::record();
    let mut r = tape.record_tcp_connect("a:25", Ok("192.0.2.1:25")).unwrap();
    let bytes = b"\x00\xff\xfeGARBAGE\r\n".to_vec();
    r.read(&tape, &Ok(bytes.clone()));
    let Entry::Tcp(d) = &tape.recorded()[0] else { panic!() };
    assert!(matches!(&d.steps[0], Step::Read { answer: Answer::Ok(Data::Base64(_)) }), "{d:?}");
    let tape = Tape::replay(tape.recorded());
    let (_, mut c) = connect(&tape, "a:25").unwrap();
    assert_eq!(c.read(4096).unwrap(), bytes);
}
