//! Table-driven tests per operation, against etcd's documented behaviour.

use std::sync::Arc;

use super::*;

type Store = MvccStore<Bytes>;
type Events = Vec<Arc<Event<Bytes>>>;

fn b(s: &str) -> Bytes {
    bytes(s)
}

fn put(s: &mut Store, k: &str, v: &str) -> i64 {
    match s.apply(&WriteRequest::Put(PutRequest {
        key: b(k),
        value: b(v),
        lease: 0,
        prev_kv: false,
    })) {
        Ok(WriteResponse::Put(r)) => r.revision,
        other => panic!("put failed: {other:?}"),
    }
}

fn del(s: &mut Store, k: &str, end: Option<&str>) -> i64 {
    match s.apply(&WriteRequest::DeleteRange(DeleteRangeRequest {
        key: b(k),
        range_end: end.map(b),
        prev_kv: false,
    })) {
        Ok(WriteResponse::DeleteRange(r)) => r.deleted,
        other => panic!("delete failed: {other:?}"),
    }
}

fn get(key: &str, end: Option<&str>) -> RangeRequest {
    RangeRequest {
        key: b(key),
        range_end: end.map(b),
        ..RangeRequest::default()
    }
}

fn keys(r: &RangeResponse<Bytes>) -> Vec<String> {
    r.kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect()
}

/// a=1@2, b=1@3, a=2@4, c=1@5, delete b@6, ba=1@7
fn sample() -> Store {
    let mut s = Store::new();
    put(&mut s, "a", "1");
    put(&mut s, "b", "1");
    put(&mut s, "a", "2");
    put(&mut s, "c", "1");
    del(&mut s, "b", None);
    put(&mut s, "ba", "1");
    s
}

#[test]
fn put_tracks_revisions_and_versions() {
    let mut s = Store::new();
    assert_eq!(
        s.current_revision(),
        1,
        "etcd's empty store is at revision 1"
    );
    let cases = [
        // (key, value, revision, create_revision, version)
        ("k", "v1", 2, 2, 1),
        ("k", "v2", 3, 2, 2),
        ("other", "x", 4, 4, 1),
        ("k", "v3", 5, 2, 3),
    ];
    for (k, v, rev, create, version) in cases {
        assert_eq!(put(&mut s, k, v), rev);
        let r = s.range(&get(k, None)).expect("range");
        let kv = &r.kvs[0];
        assert_eq!(
            (kv.mod_revision, kv.create_revision, kv.version),
            (rev, create, version),
            "{k}={v}"
        );
        assert_eq!(kv.value.as_ref(), v.as_bytes());
        assert_eq!(r.revision, rev, "header revision");
    }
    // Deleting and re-creating starts a new generation.
    del(&mut s, "k", None);
    put(&mut s, "k", "again");
    let kv = &s.range(&get("k", None)).expect("range").kvs[0];
    assert_eq!((kv.create_revision, kv.version), (7, 1));
}

#[test]
fn put_returns_prev_kv_when_asked() {
    let mut s = Store::new();
    put(&mut s, "k", "v1");
    let r = s.apply(&WriteRequest::Put(PutRequest {
        key: b("k"),
        value: b("v2"),
        lease: 0,
        prev_kv: true,
    }));
    let Ok(WriteResponse::Put(r)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(r.prev_kv.map(|kv| kv.value), Some(b("v1")));
}

#[test]
fn range_table() {
    let s = sample();
    assert_eq!(s.current_revision(), 7);
    struct Case {
        req: RangeRequest,
        keys: &'static [&'static str],
        count: i64,
        more: bool,
    }
    let cases = [
        Case {
            req: get("a", None),
            keys: &["a"],
            count: 1,
            more: false,
        },
        Case {
            req: get("b", None),
            keys: &[],
            count: 0,
            more: false,
        },
        Case {
            req: get("a", Some("c")),
            keys: &["a", "ba"],
            count: 2,
            more: false,
        },
        Case {
            req: get("b", Some(&String::from_utf8_lossy(&prefix_end(b"b")))),
            keys: &["ba"],
            count: 1,
            more: false,
        },
        Case {
            req: get("a", Some("\0")),
            keys: &["a", "ba", "c"],
            count: 3,
            more: false,
        },
        Case {
            req: RangeRequest {
                limit: 2,
                ..get("a", Some("\0"))
            },
            keys: &["a", "ba"],
            count: 3,
            more: true,
        },
        Case {
            req: RangeRequest {
                revision: 3,
                ..get("a", Some("\0"))
            },
            keys: &["a", "b"],
            count: 2,
            more: false,
        },
        Case {
            req: RangeRequest {
                revision: 5,
                ..get("a", Some("\0"))
            },
            keys: &["a", "b", "c"],
            count: 3,
            more: false,
        },
        Case {
            req: RangeRequest {
                count_only: true,
                ..get("a", Some("\0"))
            },
            keys: &[],
            count: 3,
            more: false,
        },
        Case {
            req: get("c", Some("a")),
            keys: &[],
            count: 0,
            more: false,
        },
    ];
    for (i, c) in cases.iter().enumerate() {
        let r = s.range(&c.req).expect("range");
        assert_eq!(keys(&r), c.keys, "case {i}");
        assert_eq!((r.count, r.more), (c.count, c.more), "case {i}");
        assert_eq!(r.revision, 7, "case {i}: header is the current revision");
    }
    let old = s
        .range(&RangeRequest {
            revision: 2,
            ..get("a", None)
        })
        .expect("range");
    assert_eq!(old.kvs[0].value, b("1"));
    let ko = s
        .range(&RangeRequest {
            keys_only: true,
            ..get("a", None)
        })
        .expect("range");
    assert!(ko.kvs[0].value.is_empty());
}

#[test]
fn range_errors() {
    let mut s = sample();
    let future = s.range(&RangeRequest {
        revision: 8,
        ..get("a", None)
    });
    assert_eq!(
        future.unwrap_err().to_string(),
        "mvcc: required revision is a future revision"
    );
    s.apply(&WriteRequest::Compact { revision: 5 })
        .expect("compact");
    let old = s.range(&RangeRequest {
        revision: 4,
        ..get("a", None)
    });
    assert_eq!(
        old.unwrap_err().to_string(),
        "mvcc: required revision has been compacted"
    );
    assert_eq!(s.range(&get("", None)).unwrap_err(), MvccError::EmptyKey);
}

#[test]
fn delete_range_table() {
    // (key, end, deleted, remaining keys)
    let cases: [(&str, Option<&str>, i64, &[&str]); 4] = [
        ("a", None, 1, &["ba", "c"]),
        ("b", None, 0, &["a", "ba", "c"]),
        ("b", Some("c"), 1, &["a", "c"]),
        ("a", Some("\0"), 3, &[]),
    ];
    for (key, end, deleted, remaining) in cases {
        let mut s = sample();
        let before = s.current_revision();
        assert_eq!(del(&mut s, key, end), deleted, "{key}..{end:?}");
        let want_rev = if deleted > 0 { before + 1 } else { before };
        assert_eq!(
            s.current_revision(),
            want_rev,
            "a delete of nothing creates no revision"
        );
        assert_eq!(
            keys(&s.range(&get("a", Some("\0"))).expect("range")),
            remaining
        );
    }
}

#[test]
fn txn_compare_table() {
    let s = sample(); // a: create 2, mod 4, version 2, value "2"
    let cmp = |key: &str, op, target| Compare {
        key: b(key),
        range_end: None,
        op,
        target,
    };
    use CompareOp::*;
    let cases = [
        (cmp("a", Equal, CompareTarget::Value(b("2"))), true),
        (cmp("a", NotEqual, CompareTarget::Value(b("2"))), false),
        (cmp("a", Greater, CompareTarget::Value(b("1"))), true),
        (cmp("a", Less, CompareTarget::Value(b("1"))), false),
        (cmp("a", Equal, CompareTarget::Version(2)), true),
        (cmp("a", Equal, CompareTarget::CreateRevision(2)), true),
        (cmp("a", Equal, CompareTarget::ModRevision(4)), true),
        (cmp("a", Less, CompareTarget::ModRevision(4)), false),
        (cmp("a", Greater, CompareTarget::ModRevision(3)), true),
        (cmp("b", Equal, CompareTarget::Version(0)), true),
        (cmp("b", Equal, CompareTarget::CreateRevision(0)), true),
        (cmp("b", Equal, CompareTarget::Value(b(""))), false),
        (cmp("zz", Equal, CompareTarget::ModRevision(0)), true),
        (cmp("a", Equal, CompareTarget::Lease(0)), true),
        (
            Compare {
                key: b("a"),
                range_end: Some(b("z")),
                op: Greater,
                target: CompareTarget::Version(0),
            },
            true,
        ),
        (
            Compare {
                key: b("a"),
                range_end: Some(b("z")),
                op: Equal,
                target: CompareTarget::Version(1),
            },
            false,
        ),
    ];
    for (i, (c, want)) in cases.into_iter().enumerate() {
        let mut s = s.clone();
        let t = TxnRequest {
            compare: vec![c],
            success: vec![RequestOp::Put(PutRequest {
                key: b("then"),
                value: b("1"),
                lease: 0,
                prev_kv: false,
            })],
            failure: vec![RequestOp::Range(get("a", None))],
        };
        let Ok(WriteResponse::Txn(r)) = s.apply(&WriteRequest::Txn(t)) else {
            panic!("case {i}")
        };
        assert_eq!(r.succeeded, want, "case {i}");
        assert_eq!(r.revision, if want { 8 } else { 7 }, "case {i}");
    }
}

#[test]
fn txn_is_one_revision_and_reads_its_own_writes() {
    let mut s = sample();
    let t = TxnRequest {
        compare: vec![],
        success: vec![
            RequestOp::Put(PutRequest {
                key: b("x"),
                value: b("1"),
                lease: 0,
                prev_kv: false,
            }),
            RequestOp::DeleteRange(DeleteRangeRequest {
                key: b("a"),
                range_end: None,
                prev_kv: true,
            }),
            RequestOp::Range(get("x", None)),
        ],
        failure: vec![],
    };
    let Ok(WriteResponse::Txn(r)) = s.apply(&WriteRequest::Txn(t)) else {
        panic!()
    };
    assert_eq!(r.revision, 8);
    let ResponseOp::Range(rr) = &r.responses[2] else {
        panic!()
    };
    assert_eq!(keys(rr), ["x"]);
    assert_eq!(rr.kvs[0].mod_revision, 8);
    let ResponseOp::DeleteRange(d) = &r.responses[1] else {
        panic!()
    };
    assert_eq!(d.prev_kvs[0].value, b("2"));
}

#[test]
fn txn_rejects_bad_requests_without_changing_anything() {
    let cases: Vec<(Vec<RequestOp<Bytes>>, MvccError)> = vec![
        (
            vec![
                RequestOp::Put(PutRequest {
                    key: b("k"),
                    value: b("1"),
                    lease: 0,
                    prev_kv: false,
                }),
                RequestOp::Put(PutRequest {
                    key: b("k"),
                    value: b("2"),
                    lease: 0,
                    prev_kv: false,
                }),
            ],
            MvccError::DuplicateKey,
        ),
        (
            vec![
                RequestOp::Put(PutRequest {
                    key: b("k"),
                    value: b("1"),
                    lease: 0,
                    prev_kv: false,
                }),
                RequestOp::DeleteRange(DeleteRangeRequest {
                    key: b("a"),
                    range_end: Some(b("z")),
                    prev_kv: false,
                }),
            ],
            MvccError::DuplicateKey,
        ),
        (
            vec![RequestOp::Put(PutRequest {
                key: b("k"),
                value: b("1"),
                lease: 42,
                prev_kv: false,
            })],
            MvccError::LeaseNotFound,
        ),
        (
            vec![RequestOp::Range(RangeRequest {
                revision: 99,
                ..get("a", None)
            })],
            MvccError::FutureRevision {
                current_revision: 7,
            },
        ),
    ];
    for (ops, err) in cases {
        let mut s = sample();
        let t = TxnRequest {
            compare: vec![],
            success: ops,
            failure: vec![],
        };
        assert_eq!(s.apply(&WriteRequest::Txn(t)), Err(err));
        assert_eq!(s.current_revision(), 7);
    }
}

#[test]
fn compaction_keeps_the_latest_version_at_or_before_it() {
    let mut s = sample();
    s.apply(&WriteRequest::Compact { revision: 5 })
        .expect("compact");
    // At revision 5 (the compaction point): a=2, b=1, c=1 are still readable.
    let r = s
        .range(&RangeRequest {
            revision: 5,
            ..get("a", Some("\0"))
        })
        .expect("range");
    assert_eq!(keys(&r), ["a", "b", "c"]);
    assert_eq!(r.kvs[0].version, 2);
    assert_eq!(
        s.range(&RangeRequest {
            revision: 7,
            ..get("a", Some("\0"))
        })
        .map(|r| keys(&r)),
        Ok(vec!["a".into(), "ba".into(), "c".into()])
    );
    assert_eq!(
        s.apply(&WriteRequest::Compact { revision: 5 }),
        Err(MvccError::Compacted {
            compact_revision: 5
        })
    );
    assert_eq!(
        s.apply(&WriteRequest::Compact { revision: 9 }),
        Err(MvccError::FutureRevision {
            current_revision: 7
        })
    );
    // Compacting past the deletion of b forgets it entirely.
    let before = s.size_bytes();
    s.apply(&WriteRequest::Compact { revision: 7 })
        .expect("compact");
    assert!(s.size_bytes() < before);
    assert_eq!(
        keys(
            &s.range(&RangeRequest {
                revision: 7,
                ..get("a", Some("\0"))
            })
            .expect("range")
        ),
        ["a", "ba", "c"]
    );
}

fn watch(
    s: &mut Store,
    key: &str,
    end: Option<&str>,
    start: i64,
    prev: bool,
) -> Result<(i64, Events), MvccError> {
    s.watch(&WatchRequest {
        key: b(key),
        range_end: end.map(b),
        start_revision: start,
        prev_kv: prev,
    })
    .map(|w| (w.id, w.catch_up))
}

fn describe(events: &[Arc<Event<Bytes>>]) -> Vec<(EventType, String, i64)> {
    events
        .iter()
        .map(|e| {
            (
                e.kind,
                String::from_utf8_lossy(&e.kv.key).into_owned(),
                e.kv.mod_revision,
            )
        })
        .collect()
}

#[test]
fn watch_from_a_revision_catches_up_then_follows() {
    use EventType::*;
    let mut s = sample();
    let (id, catch_up) = watch(&mut s, "a", Some("\0"), 3, true).expect("watch");
    assert_eq!(
        describe(&catch_up),
        vec![
            (Put, "b".into(), 3),
            (Put, "a".into(), 4),
            (Put, "c".into(), 5),
            (Delete, "b".into(), 6),
            (Put, "ba".into(), 7)
        ]
    );
    assert_eq!(
        catch_up[1].prev_kv.as_ref().map(|kv| kv.value.clone()),
        Some(b("1"))
    );
    assert_eq!(
        catch_up[3].prev_kv.as_ref().map(|kv| kv.mod_revision),
        Some(3)
    );
    let (only_c, _) = watch(&mut s, "c", None, 0, false).expect("watch");
    put(&mut s, "c", "2");
    put(&mut s, "a", "3");
    let batch = s.watchers().drain();
    let mine: Vec<_> = batch
        .iter()
        .filter(|(w, _)| *w == id)
        .flat_map(|(_, e)| describe(e))
        .collect();
    assert_eq!(mine, vec![(Put, "c".into(), 8), (Put, "a".into(), 9)]);
    let cs: Vec<_> = batch
        .iter()
        .filter(|(w, _)| *w == only_c)
        .flat_map(|(_, e)| e.clone())
        .collect();
    assert_eq!(describe(&cs), vec![(Put, "c".into(), 8)]);
    assert!(cs[0].prev_kv.is_none(), "prev_kv only when asked");
    assert!(s.watchers().cancel(only_c));
}

/// A client resuming its watch on a member that is behind asks for a revision the member has
/// not reached: the writes the member applies while it catches up are older than that and
/// must not reach the watcher (etcd's `minRev`), or its stream goes back in revision.
#[test]
fn a_watch_from_a_future_revision_sees_nothing_older() {
    use EventType::*;
    let mut s = sample();
    let now = s.current_revision();
    let (id, catch_up) = watch(&mut s, "a", Some("\0"), now + 3, false).expect("watch");
    assert!(catch_up.is_empty());
    put(&mut s, "a", "x");
    put(&mut s, "c", "y");
    put(&mut s, "ba", "z");
    put(&mut s, "a", "w");
    let seen: Vec<_> = s
        .watchers()
        .drain()
        .into_iter()
        .filter(|(w, _)| *w == id)
        .flat_map(|(_, e)| describe(&e))
        .collect();
    assert_eq!(
        seen,
        vec![(Put, "ba".into(), now + 3), (Put, "a".into(), now + 4)]
    );
}

#[test]
fn watch_events_are_shared_not_copied() {
    let mut s = sample();
    let (w1, _) = watch(&mut s, "a", Some("\0"), 0, true).expect("watch");
    let (w2, _) = watch(&mut s, "a", None, 0, true).expect("watch");
    put(&mut s, "a", "9");
    let batch = s.watchers().drain();
    let e1 = &batch.iter().find(|(w, _)| *w == w1).expect("w1").1[0];
    let e2 = &batch.iter().find(|(w, _)| *w == w2).expect("w2").1[0];
    assert!(Arc::ptr_eq(e1, e2));
}

#[test]
fn watch_from_a_compacted_revision_fails() {
    let mut s = sample();
    s.apply(&WriteRequest::Compact { revision: 5 })
        .expect("compact");
    let err = watch(&mut s, "a", None, 4, false).unwrap_err();
    assert_eq!(
        err,
        MvccError::Compacted {
            compact_revision: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "mvcc: required revision has been compacted"
    );
    assert!(watch(&mut s, "a", None, 6, false).is_ok());
}

#[test]
fn leases_attach_keys_and_revoke_deletes_them() {
    let mut s = Store::new();
    let Ok(WriteResponse::LeaseGrant {
        id, ttl_seconds, ..
    }) = s.apply(&WriteRequest::LeaseGrant {
        id: 0,
        ttl_seconds: 1,
    })
    else {
        panic!()
    };
    assert_eq!(
        ttl_seconds, MIN_LEASE_TTL_SECONDS,
        "TTL is raised to etcd's minimum"
    );
    assert_eq!(
        s.apply(&WriteRequest::LeaseGrant {
            id,
            ttl_seconds: 10
        }),
        Err(MvccError::LeaseExists)
    );
    for k in ["l1", "l2"] {
        s.apply(&WriteRequest::Put(PutRequest {
            key: b(k),
            value: b("v"),
            lease: id,
            prev_kv: false,
        }))
        .expect("put");
    }
    put(&mut s, "plain", "v");
    // Re-putting l2 without the lease detaches it.
    put(&mut s, "l2", "w");
    assert_eq!(s.leases().get(id).map(|l| l.keys.len()), Some(1));
    let rev = s.current_revision();
    s.apply(&WriteRequest::LeaseRevoke { id }).expect("revoke");
    assert_eq!(s.current_revision(), rev + 1);
    assert_eq!(
        keys(&s.range(&get("a", Some("\0"))).expect("range")),
        ["l2", "plain"]
    );
    assert_eq!(
        s.apply(&WriteRequest::LeaseRevoke { id }),
        Err(MvccError::LeaseNotFound)
    );
    let bad = s.apply(&WriteRequest::Put(PutRequest {
        key: b("k"),
        value: b("v"),
        lease: id,
        prev_kv: false,
    }));
    assert_eq!(
        bad.unwrap_err().to_string(),
        "etcdserver: requested lease not found"
    );
}

#[test]
fn lease_clock_expires_in_deadline_order() {
    let mut c = LeaseClock::default();
    c.promote(0, [(1, 5), (2, 3)].into_iter());
    assert!(c.expired(2_999_999_999).is_empty());
    assert_eq!(c.expired(5_000_000_000), vec![2, 1]);
    c.renew(2, 3, 4_000_000_000);
    assert_eq!(c.expired(5_000_000_000), vec![1]);
    assert_eq!(c.remaining_seconds(2, 4_500_000_000), Some(3));
}
