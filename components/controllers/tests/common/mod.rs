//! A control plane (etcd + apiserver) with kube-controller-manager replicas and a probe
//! client, for scripted controller tests: the test creates objects and sets pod status
//! itself (there is no scheduler or kubelet), then reads what the controllers did.

#![allow(dead_code)]

use std::sync::Arc;

use api::{Kind, Object, SharedObject};
use apiserver::testkit::{
    ControlPlane, Probe, TestMsg, call, run_until_ready, start_control_plane,
};
use apiserver::{
    ApiReply, ApiRequest, DeleteOptions, GetOptions, ListOptions, PatchType, StatusError,
    Subresource, UserInfo, Verb,
};
use controllers::{ControllerManagerConfig, ControllerName, KubeControllerManager};
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use sim::{ActorId, Duration, HostId, Sim, SimConfig};

pub type Kcm = KubeControllerManager<TestMsg>;

pub struct Harness {
    pub sim: Sim<TestMsg>,
    pub cp: ControlPlane,
    pub probe: ActorId,
    pub kcms: Vec<(HostId, ActorId)>,
    next_id: u64,
}

impl Harness {
    pub fn new(seed: u64, replicas: usize, controllers: &[ControllerName]) -> Harness {
        Harness::with_config(seed, replicas, controllers, |_| {})
    }

    /// Like [`Harness::new`], with `tweak` applied to every replica's config.
    pub fn with_config(
        seed: u64,
        replicas: usize,
        controllers: &[ControllerName],
        tweak: impl Fn(&mut ControllerManagerConfig),
    ) -> Harness {
        let mut sim = Sim::<TestMsg>::new(SimConfig::with_seed(seed));
        let cp = start_control_plane(&mut sim, 1, 1, |_| {}).unwrap();
        assert!(run_until_ready(&mut sim, &cp, Duration::from_secs(30)).unwrap());
        let api = cp.apiservers[0];
        let ph = sim.add_host("probe").unwrap();
        let probe = sim
            .add_actor(ph, "probe", move |_| Probe::new(api))
            .unwrap();
        let mut kcms = Vec::new();
        for i in 0..replicas {
            let host = if i == 0 {
                "kubesim-control-plane".to_string()
            } else {
                format!("kubesim-control-plane{}", i + 1)
            };
            let h = sim.add_host(&host).unwrap();
            let mut cfg =
                ControllerManagerConfig::new(vec![api], host.clone()).with_controllers(controllers);
            tweak(&mut cfg);
            let a = sim
                .add_actor(h, "kube-controller-manager", move |_| Kcm::new(cfg.clone()))
                .unwrap();
            kcms.push((h, a));
        }
        Harness {
            sim,
            cp,
            probe,
            kcms,
            next_id: 1_000_000,
        }
    }

    pub fn run(&mut self, d: Duration) {
        self.sim.run_for(d).unwrap();
    }

    pub fn kcm(&self, i: usize) -> &Kcm {
        self.sim.actor::<Kcm>(self.kcms[i].1).unwrap()
    }

    pub fn leader(&self) -> Option<usize> {
        (0..self.kcms.len()).find(|i| {
            self.sim
                .actor::<Kcm>(self.kcms[*i].1)
                .is_some_and(|k| k.is_leader())
        })
    }

    /// Runs until a replica leads and its caches are synced.
    pub fn until_leading(&mut self) {
        for _ in 0..400 {
            if let Some(i) = self.leader()
                && self.kcm(i).caches().has_synced()
            {
                return;
            }
            self.run(Duration::from_millis(100));
        }
        panic!("no kube-controller-manager became leader");
    }

    pub fn request(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        verb: Verb,
    ) -> Result<ApiReply, StatusError> {
        self.next_id += 1;
        let req = ApiRequest::new(self.next_id, UserInfo::admin(), kind, verb)
            .in_namespace(ns)
            .named(name);
        self.send(req)
    }

    pub fn send(&mut self, mut req: ApiRequest) -> Result<ApiReply, StatusError> {
        self.next_id += 1;
        req.id = self.next_id;
        call(&mut self.sim, self.probe, req, Duration::from_secs(20))
            .unwrap()
            .expect("the apiserver answers")
    }

    pub fn apply(&mut self, yaml: &str) -> SharedObject {
        let obj = api::manifest::parse_objects(yaml).unwrap().remove(0);
        let ns = if obj.info().namespaced {
            let n = obj.namespace();
            if n.is_empty() {
                "default".to_string()
            } else {
                n.to_string()
            }
        } else {
            String::new()
        };
        let mut obj = obj;
        if obj.info().namespaced {
            obj.metadata_mut().namespace = Some(ns.clone());
        }
        match self.request(obj.kind(), &ns, "", Verb::Create(Arc::new(obj))) {
            Ok(ApiReply::Object(o)) => o,
            other => panic!("create failed: {other:?}"),
        }
    }

    pub fn get(&mut self, kind: Kind, ns: &str, name: &str) -> Option<SharedObject> {
        match self.request(kind, ns, name, Verb::Get(GetOptions::default())) {
            Ok(ApiReply::Object(o)) => Some(o),
            _ => None,
        }
    }

    pub fn list(&mut self, kind: Kind, ns: &str) -> Vec<SharedObject> {
        match self.request(kind, ns, "", Verb::List(ListOptions::default())) {
            Ok(ApiReply::List(l)) => l.items,
            other => panic!("list failed: {other:?}"),
        }
    }

    pub fn list_selected(&mut self, kind: Kind, ns: &str, selector: &str) -> Vec<SharedObject> {
        let opts = ListOptions {
            label_selector: selector.into(),
            ..Default::default()
        };
        match self.request(kind, ns, "", Verb::List(opts)) {
            Ok(ApiReply::List(l)) => l.items,
            other => panic!("list failed: {other:?}"),
        }
    }

    pub fn patch(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        patch: serde_json::Value,
    ) -> Result<ApiReply, StatusError> {
        self.request(
            kind,
            ns,
            name,
            Verb::Patch {
                patch_type: PatchType::Merge,
                patch: Arc::new(patch),
            },
        )
    }

    pub fn delete(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        opts: DeleteOptions,
    ) -> Result<ApiReply, StatusError> {
        self.request(kind, ns, name, Verb::Delete(opts))
    }

    /// What a scheduler and kubelet would do: bind the pod to `node`, give it an IP, and set
    /// Running with Ready = `ready`.
    pub fn set_pod(&mut self, ns: &str, name: &str, node: &str, ip: &str, ready: bool) {
        let pod = self.get(Kind::Pod, ns, name).expect("pod exists");
        let mut p = pod.as_pod().unwrap().clone();
        let bound = p.spec.as_ref().and_then(|s| s.node_name.clone()).is_some();
        if !bound {
            self.request(
                Kind::Pod,
                ns,
                name,
                Verb::Bind {
                    node_name: node.into(),
                },
            )
            .unwrap();
            let pod = self.get(Kind::Pod, ns, name).unwrap();
            p = pod.as_pod().unwrap().clone();
        }
        let now = self.sim.now();
        let t = apiserver::objects::api_time(now);
        let status = p.status.get_or_insert_with(PodStatus::default);
        status.phase = Some("Running".into());
        status.pod_ip = Some(ip.into());
        status.pod_ips = Some(vec![k8s_openapi::api::core::v1::PodIP { ip: ip.into() }]);
        let conds = status.conditions.get_or_insert_with(Vec::new);
        let was = conds
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.status == "True");
        conds.retain(|c| c.type_ != "Ready");
        conds.push(PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            last_transition_time: if was == Some(ready) { None } else { Some(t) },
            ..Default::default()
        });
        let req = ApiRequest::new(
            0,
            UserInfo::admin(),
            Kind::Pod,
            Verb::Update(Arc::new(Object::from(p))),
        )
        .in_namespace(ns)
        .named(name)
        .subresource(Subresource::Status);
        self.send(req).expect("status update");
    }

    /// Marks every pending pod matching `selector` Running and Ready on `node`.
    pub fn ready_all(&mut self, ns: &str, selector: &str, node: &str) -> usize {
        let mut n = 0;
        for p in self.list_selected(Kind::Pod, ns, selector) {
            let pod = p.as_pod().unwrap();
            if p.is_terminating() || crate_ready(pod) {
                continue;
            }
            n += 1;
            let ip = format!("10.244.1.{}", 10 + n);
            self.set_pod(ns, p.name(), node, &ip, true);
        }
        n
    }
}

pub fn crate_ready(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    controllers::pods::is_ready(pod)
}

pub fn names(objs: &[SharedObject]) -> Vec<String> {
    objs.iter().map(|o| o.name().to_string()).collect()
}

pub fn active(objs: &[SharedObject]) -> Vec<SharedObject> {
    objs.iter()
        .filter(|o| !o.is_terminating())
        .cloned()
        .collect()
}
