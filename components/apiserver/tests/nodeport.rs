//! NodePort allocation through a running apiserver: a NodePort Service gets a port from
//! 30000-32767, a second Service asking for the same port is rejected with Kubernetes'
//! message, and an update that omits the port keeps it.

mod common;

use api::{Kind, Object};
use apiserver::protocol::*;
use common::{Cluster, manifest};

fn node_port(o: &Object) -> Option<i32> {
    let Object::Service(s) = o else { return None };
    s.spec.as_ref()?.ports.as_ref()?.first()?.node_port
}

#[test]
fn node_ports_are_allocated_checked_and_kept() {
    let mut c = Cluster::new(1, 1, |_| {});
    let web = manifest(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}\n",
    );
    let created = c.object(Kind::Service, Verb::Create(web), "default", "");
    let port = node_port(&created).expect("a NodePort was allocated");
    assert!((30086..=32767).contains(&port), "{port}");

    let clash = manifest(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: other}}\nspec: {{type: NodePort, ports: [{{port: 81, nodePort: {port}}}]}}\n"
    ));
    let err = c
        .call(Kind::Service, Verb::Create(clash), "default", "")
        .unwrap_err();
    assert_eq!(err.code, 422);
    assert_eq!(
        err.message,
        format!(
            "Service \"other\" is invalid: spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated"
        )
    );

    // `kubectl apply` of the same manifest (no nodePort) keeps the allocated port.
    let again = manifest(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}\n",
    );
    let updated = c.object(Kind::Service, Verb::Update(again), "default", "web");
    assert_eq!(node_port(&updated), Some(port));

    // A ClusterIP Service holds none.
    let plain = manifest(
        "apiVersion: v1\nkind: Service\nmetadata: {name: plain}\nspec: {ports: [{port: 80}]}\n",
    );
    let plain = c.object(Kind::Service, Verb::Create(plain), "default", "");
    assert_eq!(node_port(&plain), None);
}
