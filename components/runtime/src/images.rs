//! The node's image store and its pull queue, as containerd's CRI plugin and the kubelet's
//! image puller shape them.
//!
//! Follows containerd's reference normalisation (`docker.io/library/` for bare names, the
//! `latest` tag when none is given) and the kubelet's default `serializeImagePulls: true`
//! (`pkg/kubelet/images/puller.go`, `serialImagePuller`): one pull at a time per node, the
//! others wait in line. A pull takes the registry round trips plus `size / bandwidth`; a
//! failing pull (the image's `pull_error`) fails after the round trips, as a missing tag is
//! found out when the manifest is resolved.
//!
//! Simplifications: no layers (two images never share bytes), no digests in references, no
//! garbage collection of unused images, no registry credentials; image IDs are a stable hash
//! of the reference (they look like `sha256:` digests but are not content digests).

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use sim::{ActorId, Duration, Time, rng::stable_hash};

/// A parsed image reference: `registry/repository:tag`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageName {
    /// `docker.io/library/nginx`.
    pub repository: String,
    /// `1.14.2`; `latest` when the reference names none.
    pub tag: String,
    /// Whether the reference named a tag (imagePullPolicy's default depends on it).
    pub explicit_tag: bool,
}

impl ImageName {
    /// Normalises a reference as containerd does. A digest (`@sha256:…`) is kept as the tag.
    pub fn parse(reference: &str) -> ImageName {
        let (name, tag, explicit_tag) = match reference.split_once('@') {
            Some((n, digest)) => (n, digest.to_string(), true),
            None => {
                // A ':' after the last '/' separates the tag (an earlier one is a port).
                let slash = reference.rfind('/').map_or(0, |i| i + 1);
                match reference[slash..].rfind(':') {
                    Some(i) => (
                        &reference[..slash + i],
                        reference[slash + i + 1..].to_string(),
                        true,
                    ),
                    None => (reference, "latest".to_string(), false),
                }
            }
        };
        let first = name.split('/').next().unwrap_or("");
        let has_domain = name.contains('/')
            && (first.contains('.') || first.contains(':') || first == "localhost");
        let repository = if has_domain {
            name.to_string()
        } else if name.contains('/') {
            format!("docker.io/{name}")
        } else {
            format!("docker.io/library/{name}")
        };
        ImageName {
            repository,
            tag,
            explicit_tag,
        }
    }

    /// `docker.io/library/nginx:1.14.2`.
    pub fn full(&self) -> String {
        if self.tag.starts_with("sha256:") {
            format!("{}@{}", self.repository, self.tag)
        } else {
            format!("{}:{}", self.repository, self.tag)
        }
    }

    /// The image ID the store gives this reference: `sha256:` and 64 hex digits.
    pub fn image_id(&self) -> String {
        let full = self.full();
        let mut id = String::from("sha256:");
        for part in 0..4 {
            id.push_str(&format!("{:016x}", stable_hash(&format!("{full}#{part}"))));
        }
        id
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full())
    }
}

/// One image on the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    pub name: ImageName,
    pub id: String,
    pub size_bytes: u64,
    pub pulled_at: Time,
}

/// A pull waiting in line or in progress, with every caller waiting on it.
#[derive(Clone, Debug)]
pub struct PullJob {
    /// The normalised reference.
    pub full: String,
    /// What the first caller asked for (messages quote the caller's spelling).
    pub requested: String,
    pub waiters: Vec<(ActorId, u64)>,
}

/// Pulls beyond this many waiting callers are refused (a bound on the queue).
pub const MAX_PULL_WAITERS: usize = 4_096;

/// Images on the node and the pull queue.
#[derive(Clone, Debug, Default)]
pub struct ImageStore {
    images: BTreeMap<String, StoredImage>,
    queue: VecDeque<PullJob>,
    /// The pull in progress and when it ends.
    current: Option<(PullJob, Time)>,
    waiters: usize,
    /// Completed pulls (successful or not), for tests and metrics.
    pub pulls: u64,
}

/// What a pull request did to the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Nothing was running: this pull starts now; the caller arms its completion.
    StartNow,
    /// It waits behind another pull (or joined one for the same image).
    Waiting,
    /// Too many callers wait already.
    Refused,
}

impl ImageStore {
    pub fn new() -> Self {
        ImageStore::default()
    }

    /// Images present, by normalised reference.
    pub fn images(&self) -> impl Iterator<Item = &StoredImage> {
        self.images.values()
    }

    pub fn get(&self, reference: &str) -> Option<&StoredImage> {
        self.images.get(&ImageName::parse(reference).full())
    }

    /// Puts an image on the node without pulling it (kind's node image ships its own).
    pub fn preload(&mut self, reference: &str, size_bytes: u64, now: Time) {
        let name = ImageName::parse(reference);
        let id = name.image_id();
        self.images.insert(
            name.full(),
            StoredImage {
                name,
                id,
                size_bytes,
                pulled_at: now,
            },
        );
    }

    /// Queues a pull of `reference` for `waiter`.
    pub fn enqueue(&mut self, reference: &str, waiter: (ActorId, u64)) -> Enqueued {
        if self.waiters >= MAX_PULL_WAITERS {
            return Enqueued::Refused;
        }
        self.waiters += 1;
        let full = ImageName::parse(reference).full();
        if let Some((job, _)) = &mut self.current
            && job.full == full
        {
            job.waiters.push(waiter);
            return Enqueued::Waiting;
        }
        if let Some(job) = self.queue.iter_mut().find(|j| j.full == full) {
            job.waiters.push(waiter);
            return Enqueued::Waiting;
        }
        self.queue.push_back(PullJob {
            full,
            requested: reference.to_string(),
            waiters: vec![waiter],
        });
        if self.current.is_none() {
            Enqueued::StartNow
        } else {
            Enqueued::Waiting
        }
    }

    /// Starts the next queued pull, lasting `took`; returns it (to arm its completion).
    pub fn start_next(
        &mut self,
        now: Time,
        took: impl FnOnce(&PullJob) -> Duration,
    ) -> Option<&PullJob> {
        if self.current.is_some() {
            return None;
        }
        let job = self.queue.pop_front()?;
        let ends = now.saturating_add(took(&job));
        self.current = Some((job, ends));
        self.current.as_ref().map(|(j, _)| j)
    }

    /// The pull in progress.
    pub fn current_job(&self) -> Option<&PullJob> {
        self.current.as_ref().map(|(j, _)| j)
    }

    /// When the pull in progress ends.
    pub fn current_ends_at(&self) -> Option<Time> {
        self.current.as_ref().map(|(_, t)| *t)
    }

    /// Ends the pull in progress: stores the image when `size` is given (success). Returns the
    /// job with its waiters.
    pub fn finish_current(&mut self, now: Time, size: Option<u64>) -> Option<PullJob> {
        let (job, _) = self.current.take()?;
        self.waiters = self.waiters.saturating_sub(job.waiters.len());
        self.pulls += 1;
        if let Some(size_bytes) = size {
            let name = ImageName::parse(&job.full);
            let id = name.image_id();
            self.images.insert(
                job.full.clone(),
                StoredImage {
                    name,
                    id,
                    size_bytes,
                    pulled_at: now,
                },
            );
        }
        Some(job)
    }

    /// Pulls waiting behind the one in progress.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// The time a pull of `size_bytes` takes: the registry round trips plus the transfer.
pub fn pull_duration(
    size_bytes: u64,
    bandwidth_bytes_per_sec: u64,
    round_trips: Duration,
) -> Duration {
    let bw = bandwidth_bytes_per_sec.max(1);
    let nanos = u128::from(size_bytes) * 1_000_000_000 / u128::from(bw);
    round_trips.saturating_add(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// go-units `HumanSize` (decimal units, three significant digits), as `crictl images` prints
/// sizes: `36.7MB`, `742kB`, `1.2GB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    // %.3g: three significant digits, trailing zeros dropped.
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_as_containerd_does() {
        let cases = [
            ("nginx", "docker.io/library/nginx:latest", false),
            ("nginx:1.14.2", "docker.io/library/nginx:1.14.2", true),
            ("bitnami/redis:7", "docker.io/bitnami/redis:7", true),
            (
                "registry.k8s.io/pause:3.10",
                "registry.k8s.io/pause:3.10",
                true,
            ),
            ("localhost:5000/app", "localhost:5000/app:latest", false),
        ];
        for (reference, full, explicit) in cases {
            let n = ImageName::parse(reference);
            assert_eq!(n.full(), full, "{reference}");
            assert_eq!(n.explicit_tag, explicit, "{reference}");
        }
        let id = ImageName::parse("nginx").image_id();
        assert_eq!(id.len(), 7 + 64);
        assert_eq!(
            id,
            ImageName::parse("docker.io/library/nginx:latest").image_id()
        );
    }

    #[test]
    fn pulls_are_serialised_and_joined() {
        let mut store = ImageStore::new();
        let a = ActorId(1);
        assert_eq!(store.enqueue("nginx:1", (a, 1)), Enqueued::StartNow);
        let secs = |_: &PullJob| Duration::from_secs(2);
        assert_eq!(
            store
                .start_next(Time::ZERO, secs)
                .map(|j| j.full.clone())
                .as_deref(),
            Some("docker.io/library/nginx:1")
        );
        assert_eq!(store.enqueue("redis:7", (a, 2)), Enqueued::Waiting);
        assert_eq!(
            store.enqueue("docker.io/library/nginx:1", (a, 3)),
            Enqueued::Waiting
        );
        assert!(
            store.start_next(Time::ZERO, secs).is_none(),
            "one pull at a time"
        );
        let done = store.finish_current(Time::from_secs(2), Some(10)).unwrap();
        assert_eq!(done.waiters, vec![(a, 1), (a, 3)]);
        assert!(store.get("nginx:1").is_some());
        assert_eq!(
            store
                .start_next(Time::from_secs(2), secs)
                .map(|j| j.requested.clone())
                .as_deref(),
            Some("redis:7")
        );
    }

    #[test]
    fn pull_time_and_sizes() {
        let d = pull_duration(
            35 * 1024 * 1024,
            50 * 1024 * 1024,
            Duration::from_millis(300),
        );
        assert_eq!(d, Duration::from_millis(1000));
        assert_eq!(human_size(36_700_160), "36.7MB");
        assert_eq!(human_size(742_000), "742kB");
        assert_eq!(human_size(1_200_000_000), "1.2GB");
        assert_eq!(human_size(100_000_000), "100MB");
    }
}
