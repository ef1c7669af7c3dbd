//! Connection streams: the model of a TCP connection carrying HTTP requests or a watch.
//!
//! [`crate::Ctx::open_stream`] connects the caller to another actor at once (no handshake); the
//! peer learns of the stream when its first message arrives. Messages are delivered in order
//! and exactly once while the ends are connected. A partition between the two hosts (either
//! direction, since TCP needs both) holds delivery; when it heals, held messages flow again in
//! order. If the cut lasts longer than the break timeout, the stream breaks and each live end
//! gets `on_stream_closed(Broken)`. A crash of either host breaks the stream as well: the live
//! end is told after the timeout, or as soon as the crashed host restarts (its kernel answers
//! with a reset), whichever is first; the restarted host has no streams. A graceful close
//! reaches the peer after the data sent before it.
//!
//! The default timeout, 45 s, is client-go's dead-connection detection: HTTP/2 health checks
//! ping after 30 s without a frame and give up 15 s later (`readIdleTimeout` and `pingTimeout`
//! in k8s.io/apimachinery/pkg/util/net/http.go).
//!
//! Simplifications: a pause of one end does not break a stream (its peer's pings would time
//! out in reality); messages in flight when an end crashes are dropped.

use crate::ids::{ActorId, HostId};
use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Why a stream ended, as told to a live end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamClose {
    /// The peer closed it after sending everything it wanted to.
    ClosedByPeer,
    /// The connection broke: a partition outlasted the timeout, or the peer's host crashed.
    Broken,
}

/// Why a stream operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The stream does not exist any more (closed, broken, or never opened).
    #[error("stream is closed or unknown")]
    Closed,
    /// The caller is not one of the stream's two ends.
    #[error("the calling actor is not an end of this stream")]
    NotAnEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    /// Both hosts up; `cut_since` tells whether a partition stalls it.
    Connected,
    /// The host of `ends[dead]` crashed; the other end has not been told yet.
    PeerDown { dead: usize },
}

pub(crate) struct Stream<M> {
    pub(crate) ends: [ActorId; 2],
    pub(crate) hosts: [HostId; 2],
    pub(crate) incarnations: [u32; 2],
    /// Whether each end still holds the stream (not closed by it, not told of the close).
    pub(crate) open: [bool; 2],
    pub(crate) health: Health,
    pub(crate) cut_since: Option<Time>,
    /// Bumped whenever a pending break check becomes stale.
    pub(crate) epoch: u32,
    /// Per direction (`d`: from `ends[d]` to `ends[1 - d]`): next sequence number, arrival time
    /// of the last message sent (to keep FIFO), and messages held by a partition (`None` = FIN).
    pub(crate) next_seq: [u64; 2],
    pub(crate) last_arrival: [Time; 2],
    pub(crate) held: [VecDeque<(u64, Option<M>)>; 2],
}

impl<M> Stream<M> {
    pub(crate) fn new(ends: [ActorId; 2], hosts: [HostId; 2], incarnations: [u32; 2]) -> Stream<M> {
        Stream {
            ends,
            hosts,
            incarnations,
            open: [true, true],
            health: Health::Connected,
            cut_since: None,
            epoch: 0,
            next_seq: [0, 0],
            last_arrival: [Time::ZERO, Time::ZERO],
            held: [VecDeque::new(), VecDeque::new()],
        }
    }

    /// Which end `actor` is.
    pub(crate) fn end_of(&self, actor: ActorId) -> Option<usize> {
        self.ends.iter().position(|e| *e == actor)
    }

    /// Keeps held messages in sequence order: one that was in flight when the cut began arrives
    /// after later ones were already held at send time.
    pub(crate) fn hold(&mut self, dir: usize, seq: u64, msg: Option<M>) {
        let q = &mut self.held[dir];
        let at = q.partition_point(|(s, _)| *s < seq);
        q.insert(at, (seq, msg));
    }
}
