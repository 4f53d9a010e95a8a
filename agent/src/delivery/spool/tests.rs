use super::*;

fn open(dir: &Path) -> Spool {
    Spool::open_waiting(dir, SpoolLimits::default(), Duration::ZERO).unwrap()
}

fn body(sequence: u64) -> Vec<u8> {
    format!("{{\"batch\":{sequence}}}").into_bytes()
}

fn sequences(batches: &[SpooledBatch]) -> Vec<u64> {
    batches.iter().map(|b| b.sequence).collect()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn batches_come_back_in_sequence_order_with_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for _ in 0..12 {
        spool.append(body).unwrap();
    }
    let queued = spool.queued().unwrap();
    assert_eq!(sequences(&queued), (1..=12).collect::<Vec<_>>(), "9 < 10 < 11: padded names sort numerically");
    assert_eq!(spool.read(&queued[9]).unwrap(), body(10));
    assert!(queued[0].path.ends_with("batch-00000000000000000001.json"));
    // Anything that is not a batch file is not a batch.
    std::fs::write(dir.path().join("batch-1.json"), b"x").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
    assert_eq!(spool.queued().unwrap().len(), 12);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&queued[0].path), 0o600);
    }
}

#[test]
fn a_sequence_number_is_never_reused_across_reopen_ack_or_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut spool = open(dir.path());
        assert_eq!(spool.append(body).unwrap(), 1);
        assert_eq!(spool.append(body).unwrap(), 2);
        for b in spool.queued().unwrap() {
            spool.acknowledge(&b).unwrap();
        }
        assert!(spool.queued().unwrap().is_empty());
    }
    {
        // Reopened with an empty queue: the counter, not the files, decides.
        let mut spool = open(dir.path());
        assert_eq!(spool.append(body).unwrap(), 3);
        // A crash after the counter moved but before the batch was written
        // skips a number; it never hands one out twice.
        assert_eq!(spool.reserve_sequence().unwrap(), 4);
    }
    let mut spool = open(dir.path());
    assert_eq!(spool.append(body).unwrap(), 5);
    assert_eq!(sequences(&spool.queued().unwrap()), vec![3, 5]);
    assert_eq!(status(dir.path()).unwrap().last_sequence, 5);

    // Should the counter file vanish, numbering still continues above every
    // batch still in the spool (or in rejected/).
    std::fs::remove_file(dir.path().join(SEQUENCE_FILE)).unwrap();
    assert_eq!(spool.append(body).unwrap(), 6);
    // A damaged counter stops the spool rather than guess.
    std::fs::write(dir.path().join(SEQUENCE_FILE), b"garbage").unwrap();
    let e = spool.append(body).unwrap_err();
    assert!(matches!(e, DeliveryError::SpoolDamaged { .. }), "{e}");
}

#[test]
fn the_counter_is_durable_before_the_batch_that_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    let seq = spool
        .append(|seq| {
            // Inside `make`: the batch is not written yet, the counter is.
            assert_eq!(read_sequence(dir.path()).unwrap(), seq);
            assert!(spool_files(dir.path()).is_empty());
            body(seq)
        })
        .unwrap();
    assert_eq!(seq, 1);
}

fn spool_files(dir: &Path) -> Vec<String> {
    names(dir).into_iter().filter(|n| n.starts_with("batch-")).collect()
}

#[test]
fn writes_are_atomic_and_crash_leftovers_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut spool = open(dir.path());
        spool.append(body).unwrap();
    }
    // What a crash in the middle of writing batch 2 leaves behind.
    let partial = dir.path().join(format!("{}.tmp", batch_file_name(2)));
    std::fs::write(&partial, b"{\"payloadType\":\"appl").unwrap();
    std::fs::write(dir.path().join("sequence.tmp"), b"9").unwrap();
    // Not visible as a batch, even before cleanup...
    assert_eq!(sequences(&status_batches(dir.path())), vec![1]);
    // ... and gone once the spool is opened.
    let mut spool = open(dir.path());
    assert!(!partial.exists());
    assert_eq!(names(dir.path()), vec!["batch-00000000000000000001.json", "sequence", "spool.lock"]);
    assert_eq!(spool.append(body).unwrap(), 2);
    assert!(!names(dir.path()).iter().any(|n| n.ends_with(".tmp")));
}

fn status_batches(dir: &Path) -> Vec<SpooledBatch> {
    list_batches(dir).unwrap()
}

#[test]
fn a_full_spool_drops_the_oldest_batch_first() {
    let dir = tempfile::tempdir().unwrap();
    let limits = SpoolLimits { max_batches: 3, max_bytes: u64::MAX };
    let mut spool = Spool::open_waiting(dir.path(), limits, Duration::ZERO).unwrap();
    for _ in 0..5 {
        spool.append(body).unwrap();
    }
    assert_eq!(sequences(&spool.queued().unwrap()), vec![3, 4, 5]);

    // By bytes: each body is 11 bytes; room for two.
    let dir = tempfile::tempdir().unwrap();
    let limits = SpoolLimits { max_batches: 100, max_bytes: 25 };
    let mut spool = Spool::open_waiting(dir.path(), limits, Duration::ZERO).unwrap();
    for _ in 0..4 {
        spool.append(body).unwrap();
    }
    assert_eq!(sequences(&spool.queued().unwrap()), vec![3, 4]);
    // The batch just written is kept even when it alone is over the bound.
    spool.append(|_| vec![b'x'; 100]).unwrap();
    assert_eq!(sequences(&spool.queued().unwrap()), vec![5]);
}

#[test]
fn refused_batches_move_to_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    for _ in 0..3 {
        spool.append(body).unwrap();
    }
    let queued = spool.queued().unwrap();
    let reason = Rejection {
        sequence: 2,
        rejected_at: "2026-11-25T09:00:00Z".into(),
        status: 403,
        error: "wrong_tenant".into(),
        message: "agent is enrolled for another tenant".into(),
    };
    spool.reject(&queued[1], &reason).unwrap();
    assert_eq!(sequences(&spool.queued().unwrap()), vec![1, 3], "later batches are not held up");
    let rejected = spool.rejected().unwrap();
    assert_eq!(sequences(&rejected), vec![2]);
    assert_eq!(spool.read(&rejected[0]).unwrap(), body(2), "kept byte for byte");
    let why = dir.path().join("rejected/batch-00000000000000000002.reason.json");
    let back: Rejection = serde_json::from_slice(&std::fs::read(why).unwrap()).unwrap();
    assert_eq!(back, reason);

    let s = status(dir.path()).unwrap();
    assert_eq!((s.queued, s.rejected, s.oldest, s.newest, s.last_sequence), (2, 1, Some(1), Some(3), 3));
    assert_eq!(s.bytes, 2 * body(1).len() as u64);
    // The next number is above the rejected one too.
    assert_eq!(spool.append(body).unwrap(), 4);
}

#[test]
fn the_last_error_is_kept_until_a_clean_flush() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    assert_eq!(status(dir.path()).unwrap().last_error, None);
    spool.record_error("collector unreachable").unwrap();
    assert_eq!(status(dir.path()).unwrap().last_error.unwrap().message, "collector unreachable");
    spool.clear_error().unwrap();
    assert_eq!(status(dir.path()).unwrap().last_error, None);
}

#[test]
fn one_process_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let e = Spool::open_waiting(dir.path(), SpoolLimits::default(), Duration::from_millis(150)).unwrap_err();
    assert!(matches!(e, DeliveryError::SpoolBusy { .. }), "{e}");
    assert!(e.to_string().contains(&format!("pid {}", std::process::id())), "{e}");
    drop(first);
    open(dir.path());
}

#[test]
fn a_spool_that_does_not_exist_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let s = status(&dir.path().join("never-created")).unwrap();
    assert_eq!((s.queued, s.rejected, s.last_sequence, s.oldest), (0, 0, 0, None));
}

#[test]
fn renumbering_goes_above_the_collector_and_keeps_the_counter_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    spool.append(body).unwrap();
    spool.append(body).unwrap();
    let first = spool.queued().unwrap().remove(0);
    // The collector already accepted 41 from this agent.
    let moved = spool.renumber(&first, 41, body).unwrap();
    assert_eq!(moved.sequence, 42);
    assert_eq!(sequences(&spool.queued().unwrap()), vec![2, 42]);
    assert_eq!(
        spool.read(&moved).unwrap(),
        body(42),
        "re-signed under its new number"
    );
    assert_eq!(
        status(dir.path()).unwrap().last_sequence,
        42,
        "the counter moved with it"
    );
    assert_eq!(spool.append(body).unwrap(), 43);
    // A floor below the counter changes nothing about uniqueness.
    let second = spool.queued().unwrap().remove(0);
    assert_eq!(spool.renumber(&second, 1, body).unwrap().sequence, 44);
}

#[test]
fn requeueing_a_rejected_batch_removes_it_and_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = open(dir.path());
    spool.append(body).unwrap();
    let queued = spool.queued().unwrap();
    let reason = Rejection {
        sequence: 1,
        rejected_at: "2026-11-25T09:00:00Z".into(),
        status: 403,
        error: "revoked_agent".into(),
        message: "revoked".into(),
    };
    spool.reject(&queued[0], &reason).unwrap();
    let rejected = spool.rejected().unwrap().remove(0);
    let back = spool.renumber(&rejected, 0, body).unwrap();
    assert_eq!(back.sequence, 2);
    assert!(spool.rejected().unwrap().is_empty());
    assert!(
        names(&dir.path().join("rejected")).is_empty(),
        "no reason left behind"
    );
    assert_eq!(sequences(&spool.queued().unwrap()), vec![2]);
}
