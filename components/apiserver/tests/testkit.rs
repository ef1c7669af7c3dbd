//! The test kit other components build on: a control plane comes up and answers a probe.

use apiserver::testkit::{Probe, TestMsg, call, run_until_ready, start_control_plane};
use apiserver::{ApiReply, ApiRequest, GetOptions, UserInfo, Verb};
use sim::{Duration, Sim, SimConfig};

#[test]
fn control_plane_comes_up_and_serves_the_default_namespace() {
    let mut sim = Sim::<TestMsg>::new(SimConfig::with_seed(3));
    let cp = start_control_plane(&mut sim, 3, 2, |_| {}).expect("topology");
    let h = sim.add_host("client").expect("host");
    let server = cp.apiservers[1];
    let probe = sim
        .add_actor(h, "probe", move |_| Probe::new(server))
        .expect("probe");
    assert!(run_until_ready(&mut sim, &cp, Duration::from_secs(10)).expect("no finding"));
    let req = ApiRequest::new(
        1,
        UserInfo::admin(),
        api::Kind::Namespace,
        Verb::Get(GetOptions::default()),
    )
    .named("default");
    let reply = call(&mut sim, probe, req, Duration::from_secs(2)).expect("no finding");
    match reply {
        Some(Ok(ApiReply::Object(o))) => assert_eq!(o.name(), "default"),
        other => panic!("expected the default namespace, got {other:?}"),
    }
}
