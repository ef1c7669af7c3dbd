//! What a container of each image does once started: the scenario's `images:` map, as the
//! runtime acts it out. An image nobody described pulls in about a second and runs for ever,
//! serving every request at once.
//!
//! Kubernetes has no such table, of course: a real container runs a program. The fields are
//! the few behaviours a scenario needs to show the kubelet's reactions (a crash, a slow start,
//! a failing probe, a slow server, a process that ignores SIGTERM), and nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;

use sim::Duration;

use crate::images::ImageName;

/// How long an unlisted image takes to pull at the default bandwidth: about a second, as the
/// scenario language promises (35 MiB at 50 MiB/s plus the registry round trips).
pub const DEFAULT_IMAGE_SIZE_BYTES: u64 = 35 * 1024 * 1024;

/// The behaviour of every container of one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageBehaviour {
    /// Compressed size: the pull takes `size / bandwidth` plus the registry round trips.
    pub size_bytes: u64,
    /// Every pull fails with this registry message (ErrImagePull, then ImagePullBackOff).
    pub pull_error: Option<String>,
    /// The process exits this long after it starts; `None`: it runs until stopped.
    pub exits_after: Option<Duration>,
    /// The code it exits with when it exits on its own.
    pub exit_code: i32,
    /// It listens (serves requests, passes readiness and startup probes) this long after it
    /// starts.
    pub ready_after: Duration,
    /// Its readiness probe never succeeds (requests that reach it anyway get 503).
    pub fails_readiness: bool,
    /// Its liveness probe fails from this long after it starts.
    pub unhealthy_after: Option<Duration>,
    /// Time it takes to answer one request.
    pub serve_latency: Duration,
    /// Time it takes to shut down after SIGTERM, answering the requests that still reach it
    /// (a graceful drain); past the grace period it is SIGKILLed.
    pub shutdown_after: Duration,
    /// Lines it prints when it starts (what `kubectl logs` shows).
    pub logs: Vec<String>,
    /// Whether it logs each request it serves ([`crate::access_log`]); `None`: as its name
    /// says (nginx images do).
    pub access_log: Option<bool>,
}

impl Default for ImageBehaviour {
    fn default() -> Self {
        ImageBehaviour {
            size_bytes: DEFAULT_IMAGE_SIZE_BYTES,
            pull_error: None,
            exits_after: None,
            exit_code: 0,
            ready_after: Duration::ZERO,
            fails_readiness: false,
            unhealthy_after: None,
            serve_latency: Duration::from_millis(1),
            shutdown_after: Duration::ZERO,
            logs: Vec::new(),
            access_log: None,
        }
    }
}

impl ImageBehaviour {
    /// Does the process listen (and pass readiness) `running_for` after its start?
    pub fn listening(&self, running_for: Duration) -> bool {
        running_for >= self.ready_after
    }

    /// Does its readiness probe pass `running_for` after its start?
    pub fn ready(&self, running_for: Duration) -> bool {
        !self.fails_readiness && self.listening(running_for)
    }

    /// Does its liveness probe pass `running_for` after its start?
    pub fn live(&self, running_for: Duration) -> bool {
        self.unhealthy_after.is_none_or(|t| running_for < t)
    }
}

/// Behaviours by image reference. Lookups normalise the reference as containerd does
/// (`nginx` is `docker.io/library/nginx:latest`), so a scenario may write either form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageCatalog {
    by_name: BTreeMap<String, Arc<ImageBehaviour>>,
    default: Arc<ImageBehaviour>,
}

impl ImageCatalog {
    pub fn new() -> Self {
        ImageCatalog::default()
    }

    /// Adds (or replaces) the behaviour of `image`.
    pub fn insert(&mut self, image: &str, behaviour: ImageBehaviour) {
        self.by_name
            .insert(ImageName::parse(image).full(), Arc::new(behaviour));
    }

    /// Builder form of [`ImageCatalog::insert`].
    pub fn with(mut self, image: &str, behaviour: ImageBehaviour) -> Self {
        self.insert(image, behaviour);
        self
    }

    /// The behaviour of `image`: its own, else the default (pulls in ~1 s, runs for ever).
    pub fn get(&self, image: &str) -> Arc<ImageBehaviour> {
        self.by_name
            .get(&ImageName::parse(image).full())
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_normalise_the_reference() {
        let crashy = ImageBehaviour {
            exits_after: Some(Duration::from_secs(5)),
            exit_code: 1,
            ..ImageBehaviour::default()
        };
        let cat = ImageCatalog::new().with("crashy:1", crashy.clone());
        assert_eq!(*cat.get("docker.io/library/crashy:1"), crashy);
        assert_eq!(*cat.get("crashy:1"), crashy);
        assert_eq!(*cat.get("crashy:2"), ImageBehaviour::default());
    }

    #[test]
    fn readiness_and_liveness_follow_the_clock() {
        let b = ImageBehaviour {
            ready_after: Duration::from_secs(20),
            unhealthy_after: Some(Duration::from_secs(60)),
            ..ImageBehaviour::default()
        };
        assert!(!b.ready(Duration::from_secs(19)));
        assert!(b.ready(Duration::from_secs(20)));
        assert!(b.live(Duration::from_secs(59)));
        assert!(!b.live(Duration::from_secs(60)));
        let never = ImageBehaviour {
            fails_readiness: true,
            ..ImageBehaviour::default()
        };
        assert!(never.listening(Duration::ZERO) && !never.ready(Duration::from_secs(600)));
    }
}
