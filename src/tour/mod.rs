//! The built-in tours, compiled in so `kubesim run` needs no file: the architecture tour (the
//! default: one request followed through a kind cluster, then a worker lost and replaced) and
//! the etcd tour (`--tour etcd`: Raft elections on a three-node control plane). Each is a
//! scenario under `scenarios/` (checked, run and snapshotted by the test suite like any other)
//! plus a [`Narrator`] that explains each step from the run's own state.

use std::path::Path;

use crate::runner::Narrator;
use crate::scenario::{self, Loaded};

pub mod architecture;
mod architecture_facts;
pub mod etcd;

pub use architecture::{ArchitectureNarrator, TOUR};
pub use etcd::{ETCD_TOUR, EtcdTourNarrator};

/// Which built-in tour `kubesim run` plays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Tour {
    /// One Deployment followed from kubectl to answered requests, then a worker lost.
    #[default]
    Architecture,
    /// etcd's Raft: election, leader crash, re-election, rejoin, a partition.
    Etcd,
}

impl Tour {
    /// The scenario's text.
    pub fn scenario(self) -> &'static str {
        match self {
            Tour::Architecture => TOUR,
            Tour::Etcd => ETCD_TOUR,
        }
    }

    /// Where the scenario lives in the repository (named in step locations).
    pub fn path(self) -> &'static Path {
        Path::new(match self {
            Tour::Architecture => "scenarios/tour.ron",
            Tour::Etcd => "scenarios/etcd-tour.ron",
        })
    }

    pub fn load(self) -> Result<Loaded, scenario::ScenarioError> {
        scenario::load_str(self.scenario(), self.path())
    }

    /// What `kubesim run` prints before the tour.
    pub fn intro(self) -> &'static str {
        match self {
            Tour::Architecture => {
                "kubesim tour: Kubernetes' architecture, in a kind-like cluster named kubesim. First the cluster; then one request\n\
                 followed through it (kubectl → kube-apiserver → etcd → controllers → kube-scheduler → kubelet → containerd\n\
                 → Service endpoints → kube-proxy → answered requests); then a worker crashes and the control loops repair it.\n\
                 Lines marked » explain each step; they are read from this run's state. (`kubesim run --tour etcd`: etcd's Raft.)\n"
            }
            Tour::Etcd => {
                "kubesim tour: a kind-like cluster named kubesim whose control plane runs etcd.\n\
                 Lines marked » explain what Raft did; they are read from this run's state.\n"
            }
        }
    }

    pub fn narrator(self) -> Box<dyn Narrator> {
        match self {
            Tour::Architecture => Box::new(ArchitectureNarrator::new()),
            Tour::Etcd => Box::new(EtcdTourNarrator::new()),
        }
    }
}
