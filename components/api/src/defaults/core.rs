//! Defaults of the core group, as `pkg/apis/core/v1/defaults.go` (SetDefaults_Pod, _PodSpec,
//! _Container, _ContainerPort, _Probe, _HTTPGetAction, _Volume and volume sources,
//! _ObjectFieldSelector, _Service, _Namespace, _NamespaceStatus, _Secret, _NodeStatus,
//! _EndpointPort) fills them.
//!
//! Go serializes non-pointer structs even when empty (`resources: {}`, `securityContext: {}`);
//! k8s-openapi makes them `Option`s, so defaulting sets them to `Some(empty)` where a real
//! cluster's `get -o yaml` shows them. Two values upstream sets outside defaulting are set here
//! too and say so: a Service's `ipFamilies`/`ipFamilyPolicy` (the service registry's allocator,
//! single-stack IPv4 as in kind) and a Namespace's `spec.finalizers: [kubernetes]` (the namespace
//! strategy's PrepareForCreate).

use k8s_openapi::api::core::v1::{
    ClientIPConfig, Container, EmptyDirVolumeSource, HTTPGetAction, Namespace, NamespaceSpec,
    NamespaceStatus, Node, Pod, PodSecurityContext, PodSpec, Probe, ResourceRequirements, Secret,
    Service, SessionAffinityConfig, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `DefaultClientIPServiceAffinitySeconds` (F38).
pub const CLIENT_IP_AFFINITY_TIMEOUT_SECONDS: i32 = 10_800;
/// `DefaultTerminationGracePeriodSeconds` (F7).
pub const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// Volume sources' `defaultMode` (0644).
const DEFAULT_FILE_MODE: i32 = 0o644;

/// SetDefaults_Pod: the pod-only defaults, then its spec's.
pub fn pod(pod: &mut Pod) {
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.enable_service_links.get_or_insert(true);
    // Limits stand in for missing requests (containers and init containers, not templates).
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        if let Some(resources) = &mut c.resources
            && let Some(limits) = &resources.limits
        {
            let requests = resources.requests.get_or_insert_with(Default::default);
            for (k, v) in limits {
                requests.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    pod_spec(spec);
}

/// SetDefaults_PodSpec and everything inside a pod spec (also used for templates).
pub fn pod_spec(spec: &mut PodSpec) {
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.scheduler_name
        .get_or_insert_with(|| "default-scheduler".into());
    spec.termination_grace_period_seconds
        .get_or_insert(TERMINATION_GRACE_PERIOD_SECONDS);
    spec.security_context
        .get_or_insert_with(PodSecurityContext::default);
    let host_network = spec.host_network.unwrap_or(false);
    for c in spec
        .containers
        .iter_mut()
        .chain(spec.init_containers.iter_mut().flatten())
    {
        container(c, host_network);
    }
    for v in spec.volumes.iter_mut().flatten() {
        volume(v);
    }
}

/// `imagePullPolicy`'s default (F30): Always for `:latest` or no tag (and no digest), else
/// IfNotPresent, as `parsers.ParseImageName`'s tag decides.
pub fn image_pull_policy(image: &str) -> &'static str {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    let tag = last_segment.split_once(':').map(|(_, t)| t);
    match (tag, digest) {
        (Some("latest"), _) | (None, false) => "Always",
        _ => "IfNotPresent",
    }
}

fn container(c: &mut Container, host_network: bool) {
    if c.image_pull_policy.is_none() {
        let image = c.image.as_deref().unwrap_or("");
        c.image_pull_policy = Some(image_pull_policy(image).into());
    }
    c.termination_message_path
        .get_or_insert_with(|| "/dev/termination-log".into());
    c.termination_message_policy
        .get_or_insert_with(|| "File".into());
    c.resources
        .get_or_insert_with(ResourceRequirements::default);
    for p in c.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
        if host_network && p.host_port.is_none() {
            p.host_port = Some(p.container_port);
        }
    }
    for probe in [
        &mut c.liveness_probe,
        &mut c.readiness_probe,
        &mut c.startup_probe,
    ]
    .into_iter()
    .flatten()
    {
        self::probe(probe);
    }
    for env in c.env.iter_mut().flatten() {
        if let Some(field_ref) = env.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            field_ref.api_version.get_or_insert_with(|| "v1".into());
        }
    }
    if let Some(lifecycle) = &mut c.lifecycle {
        for handler in [&mut lifecycle.post_start, &mut lifecycle.pre_stop]
            .into_iter()
            .flatten()
        {
            if let Some(get) = &mut handler.http_get {
                http_get(get);
            }
        }
    }
}

/// SetDefaults_Probe (F31) and its HTTP action.
pub fn probe(p: &mut Probe) {
    p.timeout_seconds.get_or_insert(1);
    p.period_seconds.get_or_insert(10);
    p.success_threshold.get_or_insert(1);
    p.failure_threshold.get_or_insert(3);
    if let Some(get) = &mut p.http_get {
        http_get(get);
    }
}

fn http_get(get: &mut HTTPGetAction) {
    get.path.get_or_insert_with(|| "/".into());
    get.scheme.get_or_insert_with(|| "HTTP".into());
}

fn volume(v: &mut Volume) {
    let has_source = v.host_path.is_some()
        || v.empty_dir.is_some()
        || v.secret.is_some()
        || v.config_map.is_some()
        || v.projected.is_some()
        || v.downward_api.is_some()
        || v.persistent_volume_claim.is_some()
        || v.nfs.is_some()
        || v.csi.is_some()
        || v.ephemeral.is_some()
        || v.image.is_some()
        || v.iscsi.is_some()
        || v.fc.is_some()
        || v.local_volume_source_present();
    if !has_source {
        v.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(h) = &mut v.host_path {
        h.type_.get_or_insert_with(String::new);
    }
    if let Some(s) = &mut v.secret {
        s.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(c) = &mut v.config_map {
        c.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(p) = &mut v.projected {
        p.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
    if let Some(d) = &mut v.downward_api {
        d.default_mode.get_or_insert(DEFAULT_FILE_MODE);
    }
}

/// Volume sources kubesim does not default individually but which still count as a source.
trait OtherSources {
    fn local_volume_source_present(&self) -> bool;
}

impl OtherSources for Volume {
    fn local_volume_source_present(&self) -> bool {
        self.aws_elastic_block_store.is_some()
            || self.azure_disk.is_some()
            || self.azure_file.is_some()
            || self.cephfs.is_some()
            || self.cinder.is_some()
            || self.flex_volume.is_some()
            || self.flocker.is_some()
            || self.gce_persistent_disk.is_some()
            || self.git_repo.is_some()
            || self.glusterfs.is_some()
            || self.photon_persistent_disk.is_some()
            || self.portworx_volume.is_some()
            || self.quobyte.is_some()
            || self.rbd.is_some()
            || self.scale_io.is_some()
            || self.storageos.is_some()
            || self.vsphere_volume.is_some()
    }
}

/// SetDefaults_Service (F38), plus the registry's single-stack IPv4 family.
pub fn service(svc: &mut Service) {
    let spec = svc.spec.get_or_insert_with(Default::default);
    let affinity = spec
        .session_affinity
        .get_or_insert_with(|| "None".into())
        .clone();
    if affinity == "None" {
        spec.session_affinity_config = None;
    } else if affinity == "ClientIP" {
        let config = spec
            .session_affinity_config
            .get_or_insert_with(SessionAffinityConfig::default);
        let client_ip = config.client_ip.get_or_insert_with(ClientIPConfig::default);
        client_ip
            .timeout_seconds
            .get_or_insert(CLIENT_IP_AFFINITY_TIMEOUT_SECONDS);
    }
    let service_type = spec.type_.get_or_insert_with(|| "ClusterIP".into()).clone();
    for p in spec.ports.iter_mut().flatten() {
        p.protocol.get_or_insert_with(|| "TCP".into());
        let unset = match &p.target_port {
            None => true,
            Some(IntOrString::Int(0)) => true,
            Some(IntOrString::String(s)) => s.is_empty(),
            Some(IntOrString::Int(_)) => false,
        };
        if unset {
            p.target_port = Some(IntOrString::Int(p.port));
        }
    }
    let external = service_type == "NodePort" || service_type == "LoadBalancer";
    if external {
        spec.external_traffic_policy
            .get_or_insert_with(|| "Cluster".into());
    }
    if external || service_type == "ClusterIP" {
        spec.internal_traffic_policy
            .get_or_insert_with(|| "Cluster".into());
        spec.ip_family_policy
            .get_or_insert_with(|| "SingleStack".into());
        spec.ip_families.get_or_insert_with(|| vec!["IPv4".into()]);
    }
    if service_type == "LoadBalancer" {
        spec.allocate_load_balancer_node_ports.get_or_insert(true);
    }
}

/// SetDefaults_Namespace and _NamespaceStatus, plus the strategy's `kubernetes` finalizer.
pub fn namespace(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.clone() {
        ns.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("kubernetes.io/metadata.name".into(), name);
    }
    let spec = ns.spec.get_or_insert_with(NamespaceSpec::default);
    spec.finalizers
        .get_or_insert_with(|| vec!["kubernetes".into()]);
    let status = ns.status.get_or_insert_with(NamespaceStatus::default);
    status.phase.get_or_insert_with(|| "Active".into());
}

pub fn secret(s: &mut Secret) {
    s.type_.get_or_insert_with(|| "Opaque".into());
}

/// SetDefaults_NodeStatus: allocatable is capacity unless the kubelet says otherwise.
pub fn node(n: &mut Node) {
    if let Some(status) = &mut n.status
        && status.allocatable.is_none()
    {
        status.allocatable = status.capacity.clone();
    }
}

pub fn endpoints(e: &mut k8s_openapi::api::core::v1::Endpoints) {
    for subset in e.subsets.iter_mut().flatten() {
        for p in subset.ports.iter_mut().flatten() {
            p.protocol.get_or_insert_with(|| "TCP".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_pull_policy_follows_the_tag() {
        let cases = [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.14.2", "IfNotPresent"),
            ("registry.k8s.io/pause:3.8", "IfNotPresent"),
            ("localhost:5000/app", "Always"),
            ("localhost:5000/app:v1", "IfNotPresent"),
            ("nginx@sha256:0123456789abcdef", "IfNotPresent"),
            ("nginx:latest@sha256:0123456789abcdef", "Always"),
        ];
        for (image, want) in cases {
            assert_eq!(image_pull_policy(image), want, "{image}");
        }
    }

    #[test]
    fn client_ip_affinity_gets_its_timeout() {
        let mut svc = Service {
            spec: Some(k8s_openapi::api::core::v1::ServiceSpec {
                session_affinity: Some("ClientIP".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        service(&mut svc);
        let spec = svc.spec.unwrap();
        let timeout = spec
            .session_affinity_config
            .unwrap()
            .client_ip
            .unwrap()
            .timeout_seconds;
        assert_eq!(timeout, Some(10_800));
    }

    #[test]
    fn limits_default_requests_in_pods_only() {
        let limits = [(
            "cpu".to_string(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
        )]
        .into();
        let container = Container {
            name: "c".into(),
            image: Some("x:1".into()),
            resources: Some(ResourceRequirements {
                limits: Some(limits),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut p = Pod {
            spec: Some(PodSpec {
                containers: vec![container.clone()],
                ..Default::default()
            }),
            ..Default::default()
        };
        pod(&mut p);
        let requests = p.spec.unwrap().containers[0]
            .resources
            .clone()
            .unwrap()
            .requests
            .unwrap();
        assert_eq!(requests["cpu"].0, "1");
        let mut template = PodSpec {
            containers: vec![container],
            ..Default::default()
        };
        pod_spec(&mut template);
        assert!(
            template.containers[0]
                .resources
                .as_ref()
                .unwrap()
                .requests
                .is_none()
        );
    }
}
