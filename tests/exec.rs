//! `Exec(node, "command")`: what each command prints on a small kind-like cluster, and
//! docker's answers for a stopped node and a missing program.

mod common;

use common::{run_steps as run, step_output as output};

#[test]
fn node_commands_show_the_components() {
    let steps = run(
        "exec-components",
        r#"Scenario(
    seed: 5,
    cluster: (control_planes: 1, workers: 1),
    steps: [
        Sleep("20s"),
        Exec("kubesim-control-plane", "ps aux"),
        Exec("kubesim-control-plane", "crictl pods"),
        Exec("kubesim-control-plane", "curl -k https://localhost:6443/healthz"),
        Exec("kubesim-control-plane", "curl https://localhost:6443/healthz"),
        Exec("kubesim-control-plane", "curl -k https://localhost:6443/api"),
        Exec("kubesim-worker", "curl -k https://localhost:6443/readyz"),
        Exec("kubesim-control-plane", "curl -s http://127.0.0.1:2381/health"),
        Exec("kubesim-control-plane", "ls -la /var/lib/etcd/member"),
        Exec("kubesim-worker", "ls -la /var/lib/etcd/member"),
        Exec("kubesim-control-plane", "ls /etc/kubernetes/manifests"),
        Exec("kubesim-control-plane", "cat /etc/kubernetes/manifests/etcd.yaml"),
        Exec("kubesim-worker", "cat /etc/kubernetes/manifests/etcd.yaml"),
        Exec("kubesim-worker", "systemctl status kubelet"),
        Exec("kubesim-worker", "systemctl status docker"),
        Exec("kubesim-worker", "iptables -t nat -L KUBE-SERVICES -n"),
        Exec("kubesim-worker", "iptables-save -t nat"),
        Fault(Crash("kubesim-worker")),
        Exec("kubesim-worker", "ps aux"),
    ],
)"#,
    );
    let ps = output(&steps, "$ docker exec kubesim-control-plane ps aux");
    assert!(ps.starts_with(
        "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND\nroot           1 "
    ));
    for program in [
        "/usr/local/bin/containerd",
        "/usr/bin/kubelet --bootstrap-kubeconfig",
        "etcd --advertise-client-urls=https://172.18.0.2:2379",
        "kube-apiserver --advertise-address=172.18.0.2",
        "kube-controller-manager ",
        "kube-scheduler ",
        "/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf --hostname-override=kubesim-control-plane",
        "/pause",
    ] {
        assert!(ps.contains(program), "{program} missing from:\n{ps}");
    }
    let pods = output(&steps, "$ docker exec kubesim-control-plane crictl pods");
    assert!(pods.starts_with("POD ID "));
    assert!(pods.contains("etcd-kubesim-control-plane"), "{pods}");

    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-control-plane curl -k https://localhost:6443/healthz"
        ),
        "ok\n"
    );
    assert!(
        output(
            &steps,
            "$ docker exec kubesim-control-plane curl https://localhost:6443/healthz"
        )
        .starts_with("curl: (60) SSL certificate problem")
    );
    assert!(
        output(
            &steps,
            "$ docker exec kubesim-control-plane curl -k https://localhost:6443/api"
        )
        .contains(
            "\"message\": \"forbidden: User \\\"system:anonymous\\\" cannot get path \\\"/api\\\"\""
        )
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-worker curl -k https://localhost:6443/readyz"
        ),
        "curl: (7) Failed to connect to localhost port 6443 after 0 ms: Couldn't connect to server\n"
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-control-plane curl -s http://127.0.0.1:2381/health"
        ),
        "{\"health\":\"true\",\"reason\":\"\"}\n"
    );
    let ls = output(
        &steps,
        "$ docker exec kubesim-control-plane ls -la /var/lib/etcd/member",
    );
    assert_eq!(
        ls,
        "total 16\n\
         drwx------ 4 root root 4096 Jan  1 00:00 .\n\
         drwx------ 3 root root 4096 Jan  1 00:00 ..\n\
         drwx------ 2 root root 4096 Jan  1 00:00 snap\n\
         drwx------ 2 root root 4096 Jan  1 00:00 wal\n"
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-worker ls -la /var/lib/etcd/member"
        ),
        "ls: cannot access '/var/lib/etcd/member': No such file or directory\n"
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-control-plane ls /etc/kubernetes/manifests"
        ),
        "etcd.yaml\nkube-apiserver.yaml\nkube-controller-manager.yaml\nkube-scheduler.yaml\n"
    );
    let manifest = output(
        &steps,
        "$ docker exec kubesim-control-plane cat /etc/kubernetes/manifests/etcd.yaml",
    );
    assert!(
        manifest.starts_with("apiVersion: v1\nkind: Pod\nmetadata:\n"),
        "{manifest}"
    );
    assert!(manifest.contains("    component: etcd\n") && manifest.ends_with("status: {}\n"));
    assert!(
        !manifest.contains("config.hash"),
        "the kubelet adds that, not kubeadm"
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-worker cat /etc/kubernetes/manifests/etcd.yaml"
        ),
        "cat: /etc/kubernetes/manifests/etcd.yaml: No such file or directory\n"
    );
    let kubelet = output(
        &steps,
        "$ docker exec kubesim-worker systemctl status kubelet",
    );
    assert!(kubelet.starts_with("● kubelet.service - kubelet: The Kubernetes Node Agent\n"));
    assert!(
        kubelet
            .contains("     Active: active (running) since Thu 2026-01-01 00:00:00 UTC; 23s ago\n"),
        "{kubelet}"
    );
    assert!(
        kubelet.contains(" kubesim-worker kubelet[160]: I0101 "),
        "the journal:\n{kubelet}"
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-worker systemctl status docker"
        ),
        "Unit docker.service could not be found.\n"
    );
    let nat = output(
        &steps,
        "$ docker exec kubesim-worker iptables -t nat -L KUBE-SERVICES -n",
    );
    assert!(
        nat.starts_with("Chain KUBE-SERVICES (2 references)\n"),
        "{nat}"
    );
    let save = output(&steps, "$ docker exec kubesim-worker iptables-save -t nat");
    assert!(
        save.starts_with(
            "# Generated by iptables-save v1.8.9 (nf_tables) on Thu Jan  1 00:00:23 2026\n*nat\n"
        ),
        "{save}"
    );
    let down = output(&steps, "$ docker exec kubesim-worker ps aux");
    assert!(
        down.starts_with("Error response from daemon: container ")
            && down.ends_with(" is not running\n"),
        "{down}"
    );
}

#[test]
fn readyz_names_the_etcd_check_when_quorum_is_lost() {
    let steps = run(
        "exec-quorum",
        r#"Scenario(
    seed: 2,
    cluster: (control_planes: 3, workers: 0),
    steps: [
        Sleep("10s"),
        Exec("kubesim-control-plane", "curl -k https://localhost:6443/readyz?verbose"),
        Fault(Crash("kubesim-control-plane2")),
        Fault(Crash("kubesim-control-plane3")),
        Sleep("10s"),
        Exec("kubesim-control-plane", "curl -k https://localhost:6443/readyz?verbose"),
        Exec("kubesim-control-plane", "curl -k https://localhost:6443/livez"),
        Exec("kubesim-control-plane", "curl -s http://127.0.0.1:2381/health"),
    ],
)"#,
    );
    let before: Vec<&str> = steps
        .iter()
        .filter(|(h, _)| {
            h == "$ docker exec kubesim-control-plane curl -k https://localhost:6443/readyz?verbose"
        })
        .map(|(_, b)| b.as_str())
        .collect();
    assert_eq!(before.len(), 2);
    assert!(before[0].contains("[+]etcd ok\n") && before[0].ends_with("readyz check passed\n"));
    assert!(
        before[1].contains("[-]etcd failed: reason withheld\n")
            && before[1].ends_with("readyz check failed\n"),
        "{}",
        before[1]
    );
    let livez = output(
        &steps,
        "$ docker exec kubesim-control-plane curl -k https://localhost:6443/livez",
    );
    assert!(
        livez.contains("[-]etcd failed: reason withheld\n")
            && livez.ends_with("livez check failed\n"),
        "{livez}"
    );
    assert_eq!(
        output(
            &steps,
            "$ docker exec kubesim-control-plane curl -s http://127.0.0.1:2381/health"
        ),
        "{\"health\":\"false\",\"reason\":\"RAFT NO LEADER\"}\n"
    );
}

#[test]
fn docker_answers_for_a_missing_program_and_a_missing_node() {
    let topology = cluster::Topology::new(1, 0).with_seed(1);
    let cluster = cluster::Cluster::build(topology).unwrap();
    let out = kubesim::exec::run(&cluster, "kubesim-control-plane", "foo --bar");
    assert_eq!(out.status, 127);
    assert_eq!(
        out.text,
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"foo\": executable file not found in $PATH: unknown\n"
    );
    let out = kubesim::exec::run(&cluster, "kubesim-worker9", "ps aux");
    assert_eq!(
        (out.status, out.text.as_str()),
        (
            1,
            "Error response from daemon: No such container: kubesim-worker9\n"
        )
    );
}
