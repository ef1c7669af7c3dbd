//! kube-system as `kind create cluster` leaves it: the objects kubeadm's addon phase and kind
//! write through the apiserver once the control plane is up, and the actor that writes them.
//!
//! Follows kubeadm `cmd/kubeadm/app/phases/addons/dns` (CoreDNS: ConfigMap `coredns`, RBAC,
//! ServiceAccount, the Deployment `coredns` with 2 replicas labelled `k8s-app=kube-dns`, and
//! the `kube-dns` Service on the tenth address of the service CIDR, 10.96.0.10, ports 53/UDP,
//! 53/TCP and 9153/TCP) and `phases/addons/proxy` (ServiceAccount, RBAC, ConfigMap
//! `kube-proxy` with `config.conf` and `kubeconfig.conf`, the DaemonSet `kube-proxy` labelled
//! `k8s-app=kube-proxy` on the image of the cluster's version), in that order; then kind's
//! default CNI and storage manifests (kubernetes-sigs/kind `pkg/build/nodeimage/const_cni.go`:
//! the `kindnet` DaemonSet labelled `app=kindnet`; `const_storage.go`: namespace
//! `local-path-storage` and its `local-path-provisioner` Deployment), applied by kind with
//! `kubectl apply` on the first control-plane node.
//!
//! What the Pods are: the DaemonSet and Deployment controllers make them, the scheduler binds
//! them and the kubelets run them from kind's preloaded images (runtime: run for ever, ready
//! at once, answer requests). Their Pod objects are what users see.
//!
//! Simplifications:
//! - The `kube-proxy` actor on each node (`crate::components`) is the process that programs
//!   the node's rules and runs from the node's start; it does not wait for, or die with, its
//!   Pod. Deleting the DaemonSet removes the Pods but not the rules' keeper (on a real node
//!   the rules would stay as they were and new Services would not be programmed).
//! - kindnet's container does nothing: pod addresses are routed by their /24
//!   (`net::ClusterCidr::node_of`), as kindnet's routes make them, from the node's start.
//! - CoreDNS answers Service traffic like any container; names are not resolved.
//! - The `standard` StorageClass kind installs is left out: kubesim has no storage kinds.
//! - The objects are written by one client on the terminal host as the cluster admin (kubeadm
//!   and kind use `admin.conf`, from the control-plane node).

use std::sync::Arc;

use apiserver::{ApiEnvelope, ApiRequest, StatusReason, UserInfo, Verb};
use client::api_client::is_api_client_timer;
use client::{ApiClient, ApiClientConfig, ClientEvent};
use proxy::ProxyMode;
use sim::{Actor, ActorId, Ctx, Duration, StreamClose, StreamId};

/// The actor that installs the addons, on the terminal host.
pub const ADDONS_ACTOR: &str = "kubeadm-addons";

/// kube-dns's ClusterIP: the tenth address of kind's service CIDR (kubeadm `GetDNSIP`).
pub const KUBE_DNS_IP: &str = "10.96.0.10";

/// kindnet's image in kind v0.29 (kindest/node v1.33.1).
pub const KINDNET_IMAGE: &str = "docker.io/kindest/kindnetd:v20250512-df8de77b";
/// CoreDNS's image for Kubernetes 1.33 (kubeadm `constants.CoreDNSVersion`).
pub const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.12.0";
/// local-path-provisioner's image in kind v0.29.
pub const LOCAL_PATH_IMAGE: &str = "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a";

/// A failed create is retried every second, this many times, then given up (and logged).
const MAX_ATTEMPTS: u32 = 120;
const RETRY_EVERY: Duration = Duration::from_secs(1);
const RETRY: u64 = 1;

#[derive(Debug, thiserror::Error)]
#[error("kube-system addon manifest does not parse: {0}")]
pub struct AddonError(#[from] api::manifest::ManifestError);

/// One object to create, and the line kubeadm or kind prints once it (the last of its addon)
/// is applied.
#[derive(Clone, Debug)]
pub struct AddonObject {
    pub object: api::SharedObject,
    pub done_line: Option<&'static str>,
}

const COREDNS: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: coredns
  namespace: kube-system
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success cluster.local
           disable denial cluster.local
        }
        loop
        reload
        loadbalance
    }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [nodes]
  verbs: [get]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:coredns
subjects:
- kind: ServiceAccount
  name: coredns
  namespace: kube-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: coredns
  namespace: kube-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
spec:
  replicas: 2
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  selector:
    matchLabels:
      k8s-app: kube-dns
  template:
    metadata:
      labels:
        k8s-app: kube-dns
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchExpressions:
                - key: k8s-app
                  operator: In
                  values: [kube-dns]
              topologyKey: kubernetes.io/hostname
      tolerations:
      - key: CriticalAddonsOnly
        operator: Exists
      - key: node-role.kubernetes.io/control-plane
        effect: NoSchedule
      nodeSelector:
        kubernetes.io/os: linux
      containers:
      - name: coredns
        image: {COREDNS_IMAGE}
        imagePullPolicy: IfNotPresent
        resources:
          limits:
            memory: 170Mi
          requests:
            cpu: 100m
            memory: 70Mi
        args: [-conf, /etc/coredns/Corefile]
        volumeMounts:
        - name: config-volume
          mountPath: /etc/coredns
          readOnly: true
        ports:
        - containerPort: 53
          name: dns
          protocol: UDP
        - containerPort: 53
          name: dns-tcp
          protocol: TCP
        - containerPort: 9153
          name: metrics
          protocol: TCP
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            add: [NET_BIND_SERVICE]
            drop: [ALL]
          readOnlyRootFilesystem: true
        livenessProbe:
          httpGet:
            path: /health
            port: 8080
            scheme: HTTP
          initialDelaySeconds: 60
          timeoutSeconds: 5
          successThreshold: 1
          failureThreshold: 5
        readinessProbe:
          httpGet:
            path: /ready
            port: 8181
            scheme: HTTP
      dnsPolicy: Default
      volumes:
      - name: config-volume
        configMap:
          name: coredns
          items:
          - key: Corefile
            path: Corefile
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: CoreDNS
  annotations:
    prometheus.io/port: "9153"
    prometheus.io/scrape: "true"
spec:
  selector:
    k8s-app: kube-dns
  clusterIP: {KUBE_DNS_IP}
  ports:
  - name: dns
    port: 53
    protocol: UDP
    targetPort: 53
  - name: dns-tcp
    port: 53
    protocol: TCP
    targetPort: 53
  - name: metrics
    port: 9153
    protocol: TCP
    targetPort: 9153
"#;

const KUBE_PROXY: &str = r#"
apiVersion: v1
kind: ServiceAccount
metadata:
  name: kube-proxy
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kubeadm:node-proxier
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node-proxier
subjects:
- kind: ServiceAccount
  name: kube-proxy
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: kube-proxy
  namespace: kube-system
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [kube-proxy]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: kube-proxy
  namespace: kube-system
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: kube-proxy
subjects:
- kind: Group
  name: system:bootstrappers:kubeadm:default-node-token
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-proxy
  namespace: kube-system
  labels:
    app: kube-proxy
data:
  kubeconfig.conf: |-
    apiVersion: v1
    kind: Config
    clusters:
    - cluster:
        certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
        server: https://kubesim-control-plane:6443
      name: default
    contexts:
    - context:
        cluster: default
        namespace: default
        user: default
      name: default
    current-context: default
    users:
    - name: default
      user:
        tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
  config.conf: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    kind: KubeProxyConfiguration
    bindAddress: 0.0.0.0
    clusterCIDR: {POD_SUBNET}
    configSyncPeriod: 15m0s
    conntrack:
      maxPerCore: 0
    iptables:
      minSyncPeriod: 1s
      syncPeriod: 30s
    ipvs:
      minSyncPeriod: 0s
      scheduler: ""
      syncPeriod: 30s
    metricsBindAddress: 127.0.0.1:10249
    mode: {PROXY_MODE}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  labels:
    k8s-app: kube-proxy
  name: kube-proxy
  namespace: kube-system
spec:
  selector:
    matchLabels:
      k8s-app: kube-proxy
  updateStrategy:
    type: RollingUpdate
  template:
    metadata:
      labels:
        k8s-app: kube-proxy
    spec:
      priorityClassName: system-node-critical
      containers:
      - name: kube-proxy
        image: registry.k8s.io/kube-proxy:{VERSION}
        imagePullPolicy: IfNotPresent
        command:
        - /usr/local/bin/kube-proxy
        - --config=/var/lib/kube-proxy/config.conf
        - --hostname-override=$(NODE_NAME)
        securityContext:
          privileged: true
        volumeMounts:
        - mountPath: /var/lib/kube-proxy
          name: kube-proxy
        - mountPath: /run/xtables.lock
          name: xtables-lock
          readOnly: false
        - mountPath: /lib/modules
          name: lib-modules
          readOnly: true
        env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
      hostNetwork: true
      serviceAccountName: kube-proxy
      volumes:
      - name: kube-proxy
        configMap:
          name: kube-proxy
      - name: xtables-lock
        hostPath:
          path: /run/xtables.lock
          type: FileOrCreate
      - name: lib-modules
        hostPath:
          path: /lib/modules
      tolerations:
      - operator: Exists
      nodeSelector:
        kubernetes.io/os: linux
"#;

const KINDNET: &str = r#"
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: kindnet
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [list, watch, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [pods, namespaces]
  verbs: [list, watch]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: kindnet
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kindnet
subjects:
- kind: ServiceAccount
  name: kindnet
  namespace: kube-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: kindnet
  namespace: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kindnet
  namespace: kube-system
  labels:
    tier: node
    app: kindnet
    k8s-app: kindnet
spec:
  selector:
    matchLabels:
      app: kindnet
  template:
    metadata:
      labels:
        tier: node
        app: kindnet
        k8s-app: kindnet
    spec:
      hostNetwork: true
      tolerations:
      - operator: Exists
      serviceAccountName: kindnet
      containers:
      - name: kindnet-cni
        image: {KINDNET_IMAGE}
        env:
        - name: HOST_IP
          valueFrom:
            fieldRef:
              fieldPath: status.hostIP
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: POD_SUBNET
          value: {POD_SUBNET}
        - name: CONTROL_PLANE_ENDPOINT
          value: kubesim-control-plane:6443
        volumeMounts:
        - name: cni-cfg
          mountPath: /etc/cni/net.d
        - name: xtables-lock
          mountPath: /run/xtables.lock
          readOnly: false
        - name: lib-modules
          mountPath: /lib/modules
          readOnly: true
        resources:
          requests:
            cpu: 100m
            memory: 50Mi
          limits:
            cpu: 100m
            memory: 50Mi
        securityContext:
          privileged: false
          capabilities:
            add: [NET_RAW, NET_ADMIN]
      volumes:
      - name: cni-cfg
        hostPath:
          path: /etc/cni/net.d
          type: DirectoryOrCreate
      - name: xtables-lock
        hostPath:
          path: /run/xtables.lock
          type: FileOrCreate
      - name: lib-modules
        hostPath:
          path: /lib/modules
"#;

const LOCAL_PATH_STORAGE: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: local-path-provisioner-service-account
  namespace: local-path-storage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-path-provisioner-role
rules:
- apiGroups: [""]
  resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-path-provisioner-bind
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: local-path-provisioner-role
subjects:
- kind: ServiceAccount
  name: local-path-provisioner-service-account
  namespace: local-path-storage
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
spec:
  replicas: 1
  selector:
    matchLabels:
      app: local-path-provisioner
  template:
    metadata:
      labels:
        app: local-path-provisioner
    spec:
      serviceAccountName: local-path-provisioner-service-account
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Equal
        effect: NoSchedule
      - key: node-role.kubernetes.io/master
        operator: Equal
        effect: NoSchedule
      nodeSelector:
        kubernetes.io/os: linux
      containers:
      - name: local-path-provisioner
        image: {LOCAL_PATH_IMAGE}
        imagePullPolicy: IfNotPresent
        command:
        - local-path-provisioner
        - --debug
        - start
        - --helper-image
        - docker.io/kindest/local-path-helper:v20241212-8ac705d0
        - --config
        - /etc/config/config.json
        volumeMounts:
        - name: config-volume
          mountPath: /etc/config/
        env:
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: CONFIG_MOUNT_PATH
          value: /etc/config/
      volumes:
      - name: config-volume
        configMap:
          name: local-path-config
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: local-path-config
  namespace: local-path-storage
data:
  config.json: |-
    {
      "nodePathMap":[
      {
        "node":"DEFAULT_PATH_FOR_NON_LISTED_NODES",
        "paths":["/var/local-path-provisioner"]
      }
      ]
    }
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper-pod
    spec:
      priorityClassName: system-node-critical
      tolerations:
        - key: node.kubernetes.io/disk-pressure
          operator: Exists
          effect: NoSchedule
      containers:
      - name: helper-pod
        image: docker.io/kindest/local-path-helper:v20241212-8ac705d0
        imagePullPolicy: IfNotPresent
"#;

/// Every object, in the order kubeadm and kind create them. `version` is the cluster's
/// Kubernetes version (`v1.33.1`), `mode` kube-proxy's, `pod_subnet` the cluster CIDR
/// (kube-proxy's `clusterCIDR`, kindnet's `POD_SUBNET`).
pub fn kind_addons(
    version: &str,
    mode: ProxyMode,
    pod_subnet: net::ClusterCidr,
) -> Result<Vec<AddonObject>, AddonError> {
    let pod_subnet = pod_subnet.to_string();
    let mode = match mode {
        ProxyMode::Iptables => "iptables",
        ProxyMode::Ipvs => "ipvs",
    };
    let fill = |text: &str| {
        text.replace("{VERSION}", version)
            .replace("{PROXY_MODE}", mode)
            .replace("{POD_SUBNET}", &pod_subnet)
            .replace("{COREDNS_IMAGE}", COREDNS_IMAGE)
            .replace("{KUBE_DNS_IP}", KUBE_DNS_IP)
            .replace("{KINDNET_IMAGE}", KINDNET_IMAGE)
            .replace("{LOCAL_PATH_IMAGE}", LOCAL_PATH_IMAGE)
    };
    let mut out = Vec::new();
    for (text, line) in [
        (COREDNS, "[addons] Applied essential addon: CoreDNS"),
        (KUBE_PROXY, "[addons] Applied essential addon: kube-proxy"),
        (KINDNET, " ✓ Installing CNI 🔌"),
        (LOCAL_PATH_STORAGE, " ✓ Installing StorageClass 💾"),
    ] {
        let objects = api::manifest::parse_objects(&fill(text))?;
        let last = objects.len().saturating_sub(1);
        out.extend(objects.into_iter().enumerate().map(|(i, o)| AddonObject {
            object: Arc::new(o),
            done_line: (i == last).then_some(line),
        }));
    }
    Ok(out)
}

/// Creates the addon objects one after another through the apiserver, as the cluster admin:
/// an object that already exists counts as applied (the installer may run again after a
/// restart of its host); any other error is retried every second, [`MAX_ATTEMPTS`] times.
pub struct AddonInstaller {
    client: ApiClient,
    objects: Arc<[AddonObject]>,
    next: usize,
    attempts: u32,
    waiting: Option<u64>,
}

impl AddonInstaller {
    pub fn new(apiservers: Vec<ActorId>, objects: Arc<[AddonObject]>) -> Self {
        AddonInstaller {
            client: ApiClient::new(ApiClientConfig::new(apiservers, UserInfo::admin())),
            objects,
            next: 0,
            attempts: 0,
            waiting: None,
        }
    }

    /// Every object is applied (or given up on).
    pub fn is_done(&self) -> bool {
        self.next >= self.objects.len()
    }

    fn send_next<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        let Some(a) = self.objects.get(self.next) else {
            return;
        };
        let o = &a.object;
        let req = ApiRequest::new(0, UserInfo::admin(), o.kind(), Verb::Create(o.clone()))
            .in_namespace(o.namespace());
        self.waiting = Some(self.client.send(ctx, req));
    }

    fn handle<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>, events: Vec<ClientEvent>) {
        for event in events {
            let ClientEvent::Response { id, result } = event else {
                continue;
            };
            if self.waiting != Some(id) {
                continue;
            }
            self.waiting = None;
            let Some(a) = self.objects.get(self.next).cloned() else {
                return;
            };
            let applied = match &result {
                Ok(_) => true,
                Err(e) => e
                    .status()
                    .is_some_and(|s| s.reason == StatusReason::AlreadyExists),
            };
            if applied {
                if let Some(line) = a.done_line {
                    ctx.log(line);
                }
                self.advance(ctx);
                continue;
            }
            self.attempts += 1;
            let what = format!("{} {}", a.object.info().name, a.object.name());
            if self.attempts >= MAX_ATTEMPTS {
                let why = result.err().map(|e| e.to_string()).unwrap_or_default();
                ctx.log(format!(
                    "error: giving up on {what} after {MAX_ATTEMPTS} attempts: {why}"
                ));
                self.advance(ctx);
            } else {
                ctx.set_timer(RETRY_EVERY, RETRY);
            }
        }
    }

    fn advance<M: ApiEnvelope>(&mut self, ctx: &mut Ctx<'_, M>) {
        self.next += 1;
        self.attempts = 0;
        self.send_next(ctx);
    }
}

impl<M: ApiEnvelope> Actor<M> for AddonInstaller {
    fn on_start(&mut self, ctx: &mut Ctx<'_, M>) {
        self.next = 0;
        self.attempts = 0;
        self.waiting = None;
        self.send_next(ctx);
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, M>, _from: ActorId, _msg: M) {}

    fn on_timer(&mut self, ctx: &mut Ctx<'_, M>, tag: u64) {
        if is_api_client_timer(tag) {
            let events = self.client.on_timer(ctx, tag);
            self.handle(ctx, events);
        } else if tag == RETRY && self.waiting.is_none() {
            self.send_next(ctx);
        }
    }

    fn on_stream_message(
        &mut self,
        ctx: &mut Ctx<'_, M>,
        stream: StreamId,
        _from: ActorId,
        msg: M,
    ) {
        if let Ok(m) = msg.unwrap_api() {
            let events = self.client.on_message(ctx, stream, m);
            self.handle(ctx, events);
        }
    }

    fn on_stream_closed(&mut self, ctx: &mut Ctx<'_, M>, stream: StreamId, _why: StreamClose) {
        // A create whose connection broke fails (ConnectionLost) and is retried: it answers
        // AlreadyExists if it was applied.
        let events = self.client.on_stream_closed(ctx, stream);
        self.handle(ctx, events);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_parse_in_kubeadm_then_kind_order() {
        let objects = kind_addons("v1.33.1", ProxyMode::Iptables, net::ClusterCidr::KIND).unwrap();
        let names: Vec<String> = objects
            .iter()
            .map(|a| format!("{}/{}", a.object.info().name, a.object.name()))
            .collect();
        let pos = |n: &str| names.iter().position(|x| x == n).unwrap();
        assert!(pos("ConfigMap/coredns") < pos("Deployment/coredns"));
        assert!(pos("Deployment/coredns") < pos("DaemonSet/kube-proxy"));
        assert!(pos("ConfigMap/kube-proxy") < pos("DaemonSet/kube-proxy"));
        assert!(pos("DaemonSet/kube-proxy") < pos("DaemonSet/kindnet"));
        assert!(pos("Namespace/local-path-storage") < pos("Deployment/local-path-provisioner"));
        let lines: Vec<&str> = objects.iter().filter_map(|a| a.done_line).collect();
        assert_eq!(lines.len(), 4);
        let ds = objects
            .iter()
            .find(|a| a.object.name() == "kube-proxy" && a.object.info().name == "DaemonSet")
            .unwrap();
        let json = serde_json::to_string(ds.object.as_ref()).unwrap();
        assert!(
            json.contains("registry.k8s.io/kube-proxy:v1.33.1"),
            "{json}"
        );
        let svc = objects
            .iter()
            .find(|a| a.object.name() == "kube-dns")
            .unwrap();
        let json = serde_json::to_string(svc.object.as_ref()).unwrap();
        assert!(json.contains("\"clusterIP\":\"10.96.0.10\""), "{json}");
    }
}
