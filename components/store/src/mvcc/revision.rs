//! A revision: the main revision of a write transaction and the sub revision of one change in
//! it. Follows etcd `server/storage/mvcc/revision.go`. Revisions are `i64` as in etcd's API,
//! where `0` in a request means "the current revision".

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

impl Revision {
    pub fn new(main: i64, sub: i64) -> Self {
        Revision { main, sub }
    }
}
