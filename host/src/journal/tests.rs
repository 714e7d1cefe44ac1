use bytes::Bytes;

use super::*;
use crate::otlp::{PayloadSummary, Signal};
use crate::session::{CaptureReceipt, SessionConfig, SessionCounts, SessionState, SessionStatus};

fn state(id: &str, status: SessionStatus) -> SessionState {
    let config = SessionConfig {
        session_id: id.into(),
        diagnostic_session_id: None,
        description: None,
        enabled_flags: vec!["f".into()],
        capture_traces: true,
        capture_metrics: true,
        capture_logs: true,
        sample_ratio: 1.0,
        created_by: "test".into(),
        max_size_bytes: None,
        max_duration_millis: None,
        gzip_level: None,
        redaction: None,
    };
    SessionState {
        config,
        status,
        start_unix_nanos: 1,
        end_unix_nanos: None,
        updated_unix_nanos: 1,
        end_reason: None,
        counts: SessionCounts::default(),
        phases: Vec::new(),
    }
}

fn summary(items: u64) -> PayloadSummary {
    PayloadSummary { signal: Signal::Traces, items, resources: 1, min_unix_nanos: 10, max_unix_nanos: 20 }
}

fn settings(dir: &Path, segment_bytes: u64) -> JournalSettings {
    JournalSettings { dir: dir.to_owned(), segment_bytes }
}

fn start(id: u64, session: &str) -> Record {
    Record::bare(Header::Commit {
        id,
        session: session.into(),
        covers: vec![],
        receipt: None,
        state: Some(Box::new(state(session, SessionStatus::Active))),
        puts: vec![],
        dropped: None,
    })
}

fn part(seq: u64, session: &str, body: &'static [u8]) -> Record {
    let meta = PartMeta {
        seq,
        session: session.into(),
        summary: summary(2),
        bytes_in: 5,
        len: body.len() as u64,
        redaction: Default::default(),
    };
    Record { header: Header::Prepared { parts: vec![meta], raw: None }, blobs: vec![Bytes::from_static(body)] }
}

fn object(id: u64, session: &str, covers: Vec<u64>, items: u64) -> Record {
    let key = format!("sessions/{session}/raw/2026-01-01/00/traces-1-{id}.otlp.gz");
    let receipt = CaptureReceipt {
        key: key.clone(),
        capture_unix_nanos: 1,
        bytes_in: 10,
        uncompressed_bytes: 10,
        compressed_bytes: 4,
        summary: summary(items),
        redaction: Default::default(),
    };
    let put = PutMeta { key, content_type: "application/gzip".into(), len: 4 };
    Record {
        header: Header::Commit {
            id,
            session: session.into(),
            covers,
            receipt: Some(Box::new(receipt)),
            state: None,
            puts: vec![put],
            dropped: None,
        },
        blobs: vec![Bytes::from_static(b"gzip")],
    }
}

/// Waits for the writer to take the records noted so far (a `Done` is not awaited).
async fn settle(journal: &Journal) {
    journal.append(Record::bare(Header::Done { id: u64::MAX })).await.unwrap();
}

#[tokio::test]
async fn a_reopened_journal_holds_what_no_object_covers_and_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, recovered) = Journal::open(&settings(dir.path(), 1 << 20)).unwrap();
    assert!(recovered.is_empty());
    journal.append(start(journal.next_number(), "s1")).await.unwrap();
    let (a, b, c) = (journal.next_number(), journal.next_number(), journal.next_number());
    for (seq, body) in [(a, &b"aaa"[..]), (b, b"bbb"), (c, b"ccc")] {
        journal.append(part(seq, "s1", body)).await.unwrap();
    }
    let stored = journal.next_number();
    journal.append(object(stored, "s1", vec![a, b], 4)).await.unwrap();
    journal.note(Record::bare(Header::Done { id: stored }));
    let pending = journal.next_number();
    journal.append(object(pending, "s1", vec![], 7)).await.unwrap();
    settle(&journal).await;
    assert_eq!(journal.backlog_bytes(), 3 + 4, "part c and the pending object");
    drop(journal);

    let (journal, recovered) = Journal::open(&settings(dir.path(), 1 << 20)).unwrap();
    let counts = recovered.sessions["s1"].counts;
    assert_eq!((counts.spans, counts.trace_batches, counts.compressed_bytes), (11, 2, 8));
    let parts: Vec<u64> = recovered.parts.iter().map(|p| p.meta.seq).collect();
    assert_eq!(parts, [c]);
    assert_eq!(recovered.parts[0].body, Bytes::from_static(b"ccc"));
    assert_eq!(recovered.commits.len(), 1);
    assert_eq!(recovered.commits[0].id, pending);
    assert!(journal.next_number() > pending);
    assert_eq!(journal.backlog_bytes(), 3 + 4, "carried forward");
    drop(journal);

    // Carried forward once: reading again gives the same, not twice the counts.
    let (_journal, again) = Journal::open(&settings(dir.path(), 1 << 20)).unwrap();
    assert_eq!(again.sessions["s1"].counts, counts);
    assert_eq!((again.parts.len(), again.commits.len()), (1, 1));
    assert_eq!(segments::list_segments(dir.path()).unwrap().len(), 1);
}

#[tokio::test]
async fn a_stopped_session_is_not_recovered_and_full_segments_go_away() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&settings(dir.path(), 4096)).unwrap();
    journal.append(start(journal.next_number(), "s2")).await.unwrap();
    for _ in 0..200 {
        let seq = journal.next_number();
        journal.append(part(seq, "s2", &[7u8; 100])).await.unwrap();
        let id = journal.next_number();
        journal.append(object(id, "s2", vec![seq], 1)).await.unwrap();
        journal.note(Record::bare(Header::Done { id }));
    }
    settle(&journal).await;
    let files = segments::list_segments(dir.path()).unwrap().len();
    assert!(files <= 2, "{files} segments kept though nothing in them is needed");
    let mut stopped = state("s2", SessionStatus::Completed);
    stopped.end_unix_nanos = Some(2);
    let stop = Header::Commit {
        id: journal.next_number(),
        session: "s2".into(),
        covers: vec![],
        receipt: None,
        state: Some(Box::new(stopped)),
        puts: vec![],
        dropped: None,
    };
    journal.append(Record::bare(stop)).await.unwrap();
    assert_eq!(journal.backlog_bytes(), 0);
    drop(journal);
    let (_journal, recovered) = Journal::open(&settings(dir.path(), 4096)).unwrap();
    assert!(recovered.is_empty(), "{recovered:?}");
}

#[tokio::test]
async fn a_cut_last_write_is_skipped_and_a_second_tap_is_kept_out() {
    let dir = tempfile::tempdir().unwrap();
    let (journal, _) = Journal::open(&settings(dir.path(), 1 << 20)).unwrap();
    assert!(matches!(Journal::open(&settings(dir.path(), 1 << 20)), Err(JournalError::Open { .. })));
    journal.append(start(journal.next_number(), "s3")).await.unwrap();
    let seq = journal.next_number();
    journal.append(part(seq, "s3", b"kept")).await.unwrap();
    journal.close();
    assert!(matches!(journal.append(part(seq + 2, "s3", b"late")).await, Err(JournalError::Closed)));
    let last = *segments::list_segments(dir.path()).unwrap().last().unwrap();
    let mut cut = Vec::new();
    part(seq + 1, "s3", b"cut by the crash").encode(&mut cut).unwrap();
    cut.truncate(cut.len() - 5);
    let path = segment_path(dir.path(), last);
    let mut data = std::fs::read(&path).unwrap();
    data.extend_from_slice(&cut);
    std::fs::write(&path, data).unwrap();
    let (_journal, recovered) = Journal::open(&settings(dir.path(), 1 << 20)).unwrap();
    assert_eq!(recovered.parts.len(), 1);
    assert_eq!(recovered.damage.len(), 1, "{:?}", recovered.damage);
}
