//! What `ipvsadm -Ln` prints on a node whose kube-proxy runs in IPVS mode: one virtual
//! server per Service port (cluster IP, and NodePort on the node's address), scheduler `rr`,
//! `persistent` with the affinity timeout for ClientIP affinity, one real server per endpoint
//! forwarded by masquerading.
//!
//! Follows `pkg/proxy/ipvs/proxier.go` (virtual servers, `--ipvs-scheduler` default rr, F37)
//! and ipvsadm 1.31's listing format (`ipvsadm.c`: `print_title`, `print_service_entry`).
//!
//! Simplifications: connection counters are always 0; virtual servers are listed sorted by
//! address, port and protocol (the kernel lists them by hash bucket); the dummy interface,
//! ipsets and IPVS mode's iptables rules are not rendered. In iptables mode the kernel has no
//! virtual servers: only the header is printed.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use crate::rules::{ProxyMode, RuleTable};
use crate::service_port::Protocol;

/// `ipvsadm -Ln`.
pub fn ipvsadm_list(t: &RuleTable) -> String {
    let mut out = String::from(
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
    );
    if t.mode != ProxyMode::Ipvs {
        return out;
    }
    let mut servers: Vec<(Ipv4Addr, u16, Protocol, usize)> = Vec::new();
    let ports: Vec<_> = t.ports().collect();
    for (i, r) in ports.iter().enumerate() {
        servers.push((r.info.cluster_ip, r.info.port, r.info.protocol, i));
        if let (Some(np), Some(node_ip)) = (r.info.node_port, t.node_ip) {
            servers.push((node_ip, np, r.info.protocol, i));
        }
    }
    servers.sort();
    for (ip, port, proto, i) in servers {
        let r = ports[i];
        let _ = write!(out, "{}  {ip}:{port} rr", proto.upper());
        if let Some(seconds) = r.info.affinity_seconds {
            let _ = write!(out, " persistent {seconds}");
        }
        out.push('\n');
        for ep in &r.endpoints {
            let _ = writeln!(
                out,
                "  -> {:<28} {:<7} {:<6} {:<10} {:<10}",
                ep.endpoint.to_string(),
                "Masq",
                1,
                0,
                0
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{service, slice};

    #[test]
    fn virtual_servers_list_like_ipvsadm() {
        let svc = service(
            "default",
            "web",
            "10.96.0.50",
            &[("", 80, Some(30080))],
            Some(10800),
        );
        let s = slice(
            "default",
            "web-1",
            "web",
            &[("", 8080)],
            &[("10.244.1.2", true, false), ("10.244.2.3", true, false)],
        );
        let mut t = RuleTable::build(ProxyMode::Ipvs, [&svc], [&s]);
        t.node_ip = Some(Ipv4Addr::new(172, 18, 0, 2));
        let want = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.0.50:80 rr persistent 10800
  -> 10.244.1.2:8080              Masq    1      0          0         
  -> 10.244.2.3:8080              Masq    1      0          0         
TCP  172.18.0.2:30080 rr persistent 10800
  -> 10.244.1.2:8080              Masq    1      0          0         
  -> 10.244.2.3:8080              Masq    1      0          0         
";
        assert_eq!(ipvsadm_list(&t), want);
    }
}
