//! `kubectl cluster-info`: the control plane's address, then every Service in kube-system
//! labelled `kubernetes.io/cluster-service=true` with its apiserver proxy URL (on kind:
//! CoreDNS's `kube-dns`), then kubectl's hint.
//!
//! Follows `staging/src/k8s.io/kubectl/pkg/cmd/clusterinfo/clusterinfo.go`: the name printed
//! is the Service's `kubernetes.io/name` label (else its name); the link names the first
//! port (`<scheme>:<service>:<port name>`, `https` when the port is named `https` or is 443);
//! a Service with a load-balancer ingress is linked at that address instead. Simplification:
//! no colours (kubectl colours the names only on a terminal).

use api::Object;
use api::k8s_openapi::api::core::v1::Service;

use super::{SERVER, Session};
use crate::kubectl::command::Selection;

/// `cluster-info` runs.
pub(super) const NEEDS: Option<&str> = None;

impl Session<'_> {
    pub(super) fn cluster_info(&mut self) {
        let host = format!("https://{SERVER}");
        let selection = Selection {
            label_selector: Some("kubernetes.io/cluster-service=true".into()),
            ..Default::default()
        };
        // kubectl looks in kube-system unless `-n` says otherwise.
        let ns = self
            .namespace
            .clone()
            .unwrap_or_else(|| "kube-system".to_string());
        let services = match self.list(api::Kind::Service.info(), &ns, &selection) {
            Ok(s) => s,
            Err(e) => {
                self.out.push_str(
                    "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n",
                );
                return self.fail(e);
            }
        };
        self.out
            .push_str(&format!("Kubernetes control plane is running at {host}\n"));
        for obj in &services {
            let Object::Service(svc) = &**obj else {
                continue;
            };
            let (name, link) = service_link(svc, &host);
            self.out.push_str(&format!("{name} is running at {link}\n"));
        }
        self.out.push_str(
            "\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n",
        );
    }
}

/// What kubectl prints for one cluster service: its display name and its link.
fn service_link(svc: &Service, host: &str) -> (String, String) {
    let meta = &svc.metadata;
    let svc_name = meta.name.clone().unwrap_or_default();
    let namespace = meta.namespace.clone().unwrap_or_default();
    let ingress = svc
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .and_then(|i| i.first());
    let link = if let Some(ing) = ingress {
        let ip = ing
            .ip
            .clone()
            .or_else(|| ing.hostname.clone())
            .unwrap_or_default();
        let port = svc
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|p| p.first());
        match port {
            Some(p) => format!("http://{ip}:{}", p.port),
            None => format!("http://{ip}"),
        }
    } else {
        let port = svc
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|p| p.first());
        let joined = match port {
            Some(p) => {
                let port_name = p.name.clone().unwrap_or_default();
                let scheme = if port_name == "https" || p.port == 443 {
                    "https"
                } else {
                    ""
                };
                // utilnet.JoinSchemeNamePort: `scheme:name:port`, empty parts dropped from
                // the ends only when both are empty.
                match (scheme.is_empty(), port_name.is_empty()) {
                    (true, true) => svc_name.clone(),
                    (true, false) => format!("{svc_name}:{port_name}"),
                    (false, _) => format!("{scheme}:{svc_name}:{port_name}"),
                }
            }
            None => svc_name.clone(),
        };
        format!("{host}/api/v1/namespaces/{namespace}/services/{joined}/proxy")
    };
    let name = meta
        .labels
        .as_ref()
        .and_then(|l| l.get("kubernetes.io/name"))
        .cloned()
        .unwrap_or(svc_name);
    (name, link)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_dns_links_through_its_first_port() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kube-dns", "namespace": "kube-system",
                "labels": {"kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true"}},
            "spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}]}
        }))
        .unwrap();
        assert_eq!(
            service_link(&svc, "https://127.0.0.1:6443"),
            (
                "CoreDNS".to_string(),
                "https://127.0.0.1:6443/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy"
                    .to_string()
            )
        );
    }
}
