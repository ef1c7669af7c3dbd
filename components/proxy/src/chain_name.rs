//! kube-proxy's iptables chain names: `KUBE-SVC-`, `KUBE-EXT-` and `KUBE-SEP-` followed by
//! the first 16 characters of the standard base32 encoding of a SHA-256 digest.
//!
//! Follows `pkg/proxy/iptables/proxier.go` (`servicePortChainName`,
//! `externalTrafficChainName`, `servicePortEndpointChainName`, all built on `portProtoHash`):
//! the digest is taken over the service port name (`namespace/name` or
//! `namespace/name:port`) followed by the lower-case protocol, and for an endpoint chain the
//! endpoint's `ip:port` after that. So `default/kubernetes:https` over TCP is always
//! `KUBE-SVC-NPX46M4PTMTKRN6Y`, as on every real cluster.

use sha2::{Digest, Sha256};

use crate::service_port::{Protocol, ServicePortName};

/// RFC 4648 base32 alphabet (Go's `base32.StdEncoding`).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The first 16 base32 characters of SHA-256(`input`): 80 bits, i.e. the first 10 bytes.
fn hash16(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    let mut bits: u128 = 0;
    for b in &digest[..10] {
        bits = (bits << 8) | u128::from(*b);
    }
    (0..16)
        .map(|i| {
            let shift = 75 - 5 * i;
            char::from(BASE32[((bits >> shift) & 0x1f) as usize])
        })
        .collect()
}

/// `KUBE-SVC-…`: the chain that load-balances one Service port.
pub fn service_chain(name: &ServicePortName, protocol: Protocol) -> String {
    format!(
        "KUBE-SVC-{}",
        hash16(&format!("{name}{}", protocol.lower()))
    )
}

/// `KUBE-EXT-…`: where NodePort traffic enters before the Service chain.
pub fn external_chain(name: &ServicePortName, protocol: Protocol) -> String {
    format!(
        "KUBE-EXT-{}",
        hash16(&format!("{name}{}", protocol.lower()))
    )
}

/// `KUBE-SEP-…`: the chain that DNATs to one endpoint (`ip:port`).
pub fn endpoint_chain(
    name: &ServicePortName,
    protocol: Protocol,
    endpoint: &net::Endpoint,
) -> String {
    format!(
        "KUBE-SEP-{}",
        hash16(&format!("{name}{}{endpoint}", protocol.lower()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn spn(ns: &str, name: &str, port: &str) -> ServicePortName {
        ServicePortName::new(ns, name, port)
    }

    #[test]
    fn chain_names_match_a_real_cluster() {
        // (service port, protocol, chain) as iptables-save shows them on kind and kubeadm.
        let table = [
            (
                spn("default", "kubernetes", "https"),
                Protocol::Tcp,
                "KUBE-SVC-NPX46M4PTMTKRN6Y",
            ),
            (
                spn("kube-system", "kube-dns", "dns"),
                Protocol::Udp,
                "KUBE-SVC-TCOU7JCQXEZGVUNU",
            ),
            (
                spn("kube-system", "kube-dns", "dns-tcp"),
                Protocol::Tcp,
                "KUBE-SVC-ERIFXISQEP7F7OF4",
            ),
            (
                spn("kube-system", "kube-dns", "metrics"),
                Protocol::Tcp,
                "KUBE-SVC-JD5MR3NA4I4DYORP",
            ),
            (
                spn("default", "nginx", ""),
                Protocol::Tcp,
                "KUBE-SVC-2CMXP7HKUVJN7L6M",
            ),
        ];
        for (name, proto, want) in table {
            assert_eq!(service_chain(&name, proto), want, "{name}");
        }
        assert_eq!(
            external_chain(&spn("default", "nginx", ""), Protocol::Tcp),
            "KUBE-EXT-2CMXP7HKUVJN7L6M"
        );
        let ep = |a, b, c, d, port| net::Endpoint {
            ip: Ipv4Addr::new(a, b, c, d),
            port,
        };
        assert_eq!(
            endpoint_chain(
                &spn("kube-system", "kube-dns", "dns"),
                Protocol::Udp,
                &ep(10, 244, 0, 3, 53)
            ),
            "KUBE-SEP-6E7XQMQ4RAYOWTTM"
        );
        assert_eq!(
            endpoint_chain(
                &spn("default", "nginx", ""),
                Protocol::Tcp,
                &ep(10, 244, 0, 20, 80)
            ),
            "KUBE-SEP-BRZDTZFF2SFWJV4H"
        );
    }
}
