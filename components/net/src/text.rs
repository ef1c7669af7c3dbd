//! Addresses as text without `fmt`'s machinery: the kubelet writes its pod's addresses at
//! every status build and kube-proxy orders a Service's endpoints by their `ip:port` text,
//! both often enough for `format!` to show in profiles. Output is what `Display` writes.

use std::net::Ipv4Addr;

/// The length of the longest IPv4 text (`255.255.255.255`).
pub const IPV4_TEXT_MAX: usize = 15;

/// Writes `n` in decimal into `out` from `at`; returns where it ends.
pub fn put_decimal(out: &mut [u8], at: usize, n: u16) -> usize {
    let mut digits = [0u8; 5];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for (slot, d) in out[at..at + len].iter_mut().zip(digits[..len].iter().rev()) {
        *slot = *d;
    }
    at + len
}

/// Writes `ip` as dotted decimal into `out` from `at`; returns where it ends.
pub fn put_ipv4(out: &mut [u8], at: usize, ip: Ipv4Addr) -> usize {
    let mut at = at;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out[at] = b'.';
            at += 1;
        }
        at = put_decimal(out, at, u16::from(octet));
    }
    at
}

/// `ip` as text.
pub fn ipv4_string(ip: Ipv4Addr) -> String {
    let mut buf = [0u8; IPV4_TEXT_MAX];
    let len = put_ipv4(&mut buf, 0, ip);
    buf[..len].iter().map(|b| char::from(*b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_numbers_print_as_display_does() {
        for ip in [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(10, 244, 1, 9),
            Ipv4Addr::new(172, 18, 0, 100),
            Ipv4Addr::new(255, 255, 255, 255),
            Ipv4Addr::new(1, 20, 199, 250),
        ] {
            assert_eq!(ipv4_string(ip), ip.to_string());
        }
        let mut buf = [0u8; 8];
        for n in [0u16, 7, 10, 99, 100, 8080, 65535] {
            let end = put_decimal(&mut buf, 2, n);
            assert_eq!(&buf[2..end], n.to_string().as_bytes());
        }
    }
}
