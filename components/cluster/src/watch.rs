//! Watches opened from the terminal's kubectl: `kubectl get --watch` sends a `watch` request
//! through the same [`KubectlClient`] as its other requests and reads the events as they
//! arrive while the caller drives the simulation.
//!
//! The caller owns the clock: [`Cluster::open_watch`] only sends the request, and
//! [`Cluster::watch_step`] delivers one engine event and hands back what the watch received
//! with it, so each change is seen at the virtual time it arrived. The events are the
//! apiserver's own `Arc`s (no copy per watcher).

use std::sync::Arc;

use apiserver::{ApiRequest, UserInfo, Verb, WatchEvent};
use client::ClientError;
use sim::{ActorId, Time};

use crate::cluster::{Cluster, RequestError};
use crate::kubectl_client::KubectlClient;

/// One watch opened by [`Cluster::open_watch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchHandle {
    client: ActorId,
    id: u64,
}

/// What a watch received since it was last asked.
#[derive(Clone, Debug, Default)]
pub struct WatchProgress {
    /// Events in the order they arrived.
    pub events: Vec<Arc<WatchEvent>>,
    /// The server ended the watch, or its connection broke: no more events follow.
    pub ended: bool,
    /// The server refused the watch (403, 410, a bad selector): the watch never started.
    pub refused: Option<ClientError>,
}

impl Cluster {
    /// Sends `request` (whose verb must be [`Verb::Watch`]) as `user` from the terminal; the
    /// events arrive as the simulation runs (see [`Cluster::watch_step`]).
    pub fn open_watch(
        &mut self,
        user: &UserInfo,
        request: ApiRequest,
    ) -> Result<WatchHandle, RequestError> {
        debug_assert!(matches!(request.verb, Verb::Watch(_)));
        let client = self.kubectl_actor(user)?;
        let id = self
            .sim_mut()
            .invoke::<KubectlClient, _>(client, |c, ctx| c.send(ctx, request))?
            .ok_or(RequestError::TerminalDown)?
            .ok_or(RequestError::Busy)?;
        Ok(WatchHandle { client, id })
    }

    /// Runs the simulation by one event if one is due at or before `until` (else moves the
    /// clock to `until`), then returns what the watch received meanwhile.
    pub fn watch_step(
        &mut self,
        watch: WatchHandle,
        until: Time,
    ) -> Result<WatchProgress, RequestError> {
        match self.sim().next_event_time() {
            Some(t) if t <= until => {
                self.sim_mut().step()?;
            }
            _ => {
                self.sim_mut().run_until(until)?;
            }
        }
        Ok(self.watch_progress(watch))
    }

    /// What the watch received so far and has not handed out yet.
    pub fn watch_progress(&mut self, watch: WatchHandle) -> WatchProgress {
        let Some(client) = self.sim_mut().actor_mut::<KubectlClient>(watch.client) else {
            // The terminal's client is gone: nothing more will arrive.
            return WatchProgress {
                ended: true,
                ..WatchProgress::default()
            };
        };
        let refused = match client.take_answer(watch.id) {
            Some(Err(e)) => Some(e),
            // A watch is answered by events; any other answer means it did not start.
            Some(Ok(_)) => Some(ClientError::ConnectionLost),
            None => None,
        };
        let (events, ended) = client.take_watch_events(watch.id);
        WatchProgress {
            ended: ended || refused.is_some(),
            events,
            refused,
        }
    }

    /// Stops the watch (kubectl exits; the server is told to cancel it).
    pub fn close_watch(&mut self, watch: WatchHandle) -> Result<(), RequestError> {
        self.sim_mut()
            .invoke::<KubectlClient, _>(watch.client, |c, ctx| c.abandon(ctx, watch.id))?;
        Ok(())
    }
}
