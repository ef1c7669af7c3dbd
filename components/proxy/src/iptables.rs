//! What `iptables-save` and `iptables [-t TABLE] -L [CHAIN] [-n]` print on a node whose
//! kube-proxy runs in iptables mode: the rules of a [`RuleTable`], in iptables' own format.
//!
//! The rule set follows `syncProxyRules` in `pkg/proxy/iptables/proxier.go` (kube-proxy
//! 1.31, what kind runs): `KUBE-SERVICES` jumps per cluster IP to `KUBE-SVC-…`, which marks
//! off-cluster sources for masquerade, then (ClientIP affinity) checks the `recent` lists,
//! then picks an endpoint with `statistic` rules; each `KUBE-SEP-…` marks hairpin traffic and
//! DNATs; NodePorts go `KUBE-NODEPORTS` → `KUBE-EXT-…` → `KUBE-SVC-…`; a port without
//! endpoints gets a `REJECT` in the filter table's `KUBE-SERVICES` (and
//! `KUBE-EXTERNAL-SERVICES` for its NodePort). The fixed chains (canaries, `KUBE-FORWARD`,
//! `KUBE-POSTROUTING`, kubelet's `KUBE-FIREWALL`) are as a kind node shows them.
//!
//! The printing follows iptables 1.8 (`iptables/iptables.c` `print_firewall`, the
//! `extensions/libxt_*.c` print and save functions): `iptables-save` writes the canonical
//! argument order (`-s`, `-d`, `-p`, then matches as written, then `-j`), chains and rules
//! sorted by chain name after the built-in chains; `-L` prints the fixed-width columns.
//!
//! Simplifications: no packet counters (always `[0:0]`); docker's and kindnet's own rules
//! (`DOCKER_OUTPUT`, `KIND-MASQ-AGENT`) are not shown; `-L` without `-n` does no reverse
//! DNS (addresses stay numeric, `0.0.0.0/0` reads `anywhere`, well-known ports get their
//! `/etc/services` names); iptables mode only (in IPVS mode use [`crate::ipvs`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use net::Endpoint;
use thiserror::Error;

use crate::probability;
use crate::rules::{ProxyMode, RuleTable};
use crate::service_port::Protocol;

/// kube-proxy's masquerade mark (`--iptables-masquerade-bit` 14).
const MASQ_MARK: u32 = 0x4000;

/// An iptables table kube-proxy writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Mangle,
    Filter,
    Nat,
}

impl Table {
    pub fn parse(s: &str) -> Option<Table> {
        match s {
            "mangle" => Some(Table::Mangle),
            "filter" => Some(Table::Filter),
            "nat" => Some(Table::Nat),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Mangle => "mangle",
            Table::Filter => "filter",
            Table::Nat => "nat",
        }
    }

    fn builtins(self) -> &'static [&'static str] {
        match self {
            Table::Mangle => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
            Table::Filter => &["INPUT", "FORWARD", "OUTPUT"],
            Table::Nat => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        }
    }
}

/// Why a listing could not be printed (iptables' own messages where it has one).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ListError {
    /// `iptables: No chain/target/match by that name.` (exit status 1).
    #[error("iptables: No chain/target/match by that name.")]
    NoSuchChain(String),
    /// kubesim renders iptables rules for iptables mode only.
    #[error(
        "kube-proxy runs in IPVS mode on this node: kubesim renders its rules with `ipvsadm -Ln`"
    )]
    IpvsMode,
}

/// An address match (`-s`/`-d`).
#[derive(Clone, Copy, Debug)]
struct Addr {
    inverted: bool,
    ip: Ipv4Addr,
    prefix: u8,
}

impl Addr {
    fn host(ip: Ipv4Addr) -> Self {
        Addr {
            inverted: false,
            ip,
            prefix: 32,
        }
    }
    fn net(ip: Ipv4Addr, prefix: u8, inverted: bool) -> Self {
        Addr {
            inverted,
            ip,
            prefix,
        }
    }
    fn save(&self) -> String {
        format!("{}/{}", self.ip, self.prefix)
    }
    fn list(&self) -> String {
        if self.prefix == 32 {
            self.ip.to_string()
        } else {
            format!("{}/{}", self.ip, self.prefix)
        }
    }
}

#[derive(Clone, Debug)]
enum Match {
    Comment(String),
    Port {
        proto: Protocol,
        dport: Option<u16>,
    },
    Statistic(u32),
    RecentCheck {
        seconds: u32,
        name: String,
    },
    RecentSet {
        name: String,
    },
    AddrTypeLocal,
    Conntrack {
        inverted: bool,
        states: &'static str,
    },
    Mark {
        inverted: bool,
    },
}

#[derive(Clone, Debug)]
enum Target {
    /// A chain or a verdict without options (`ACCEPT`, `DROP`, `RETURN`).
    Jump(String),
    Dnat(Endpoint),
    Reject,
    MarkSet {
        value: u32,
        mask: u32,
    },
    MasqueradeRandomFully,
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::Jump(c) => c,
            Target::Dnat(_) => "DNAT",
            Target::Reject => "REJECT",
            Target::MarkSet { .. } => "MARK",
            Target::MasqueradeRandomFully => "MASQUERADE",
        }
    }
}

#[derive(Clone, Debug)]
struct Rule {
    src: Option<Addr>,
    dst: Option<Addr>,
    proto: Option<Protocol>,
    matches: Vec<Match>,
    target: Target,
}

impl Rule {
    fn new(target: Target) -> Self {
        Rule {
            src: None,
            dst: None,
            proto: None,
            matches: Vec::new(),
            target,
        }
    }
    fn jump(chain: &str) -> Self {
        Rule::new(Target::Jump(chain.to_string()))
    }
    fn src(mut self, a: Addr) -> Self {
        self.src = Some(a);
        self
    }
    fn dst(mut self, a: Addr) -> Self {
        self.dst = Some(a);
        self
    }
    fn proto(mut self, p: Protocol) -> Self {
        self.proto = Some(p);
        self
    }
    fn with(mut self, m: Match) -> Self {
        self.matches.push(m);
        self
    }
    fn comment(self, c: impl Into<String>) -> Self {
        self.with(Match::Comment(c.into()))
    }
}

/// One table's chains and rules, in the order iptables-save prints them.
#[derive(Debug, Default)]
struct Chains {
    user: BTreeSet<String>,
    rules: BTreeMap<String, Vec<Rule>>,
}

impl Chains {
    fn declare(&mut self, chain: &str) {
        self.user.insert(chain.to_string());
    }
    fn add(&mut self, chain: &str, rule: Rule) {
        self.rules.entry(chain.to_string()).or_default().push(rule);
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The whole ruleset as kube-proxy (and kubelet) leave it.
fn ruleset(t: &RuleTable) -> BTreeMap<Table, Chains> {
    let mut mangle = Chains::default();
    for c in [
        "KUBE-IPTABLES-HINT",
        "KUBE-KUBELET-CANARY",
        "KUBE-PROXY-CANARY",
    ] {
        mangle.declare(c);
    }
    let mut filter = Chains::default();
    for c in [
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FIREWALL",
        "KUBE-FORWARD",
        "KUBE-KUBELET-CANARY",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-CANARY",
        "KUBE-PROXY-FIREWALL",
        "KUBE-SERVICES",
    ] {
        filter.declare(c);
    }
    let new = |s: &'static str| Match::Conntrack {
        inverted: false,
        states: s,
    };
    for chain in ["INPUT", "FORWARD", "OUTPUT"] {
        filter.add(
            chain,
            Rule::jump("KUBE-PROXY-FIREWALL")
                .with(new("NEW"))
                .comment("kubernetes load balancer firewall"),
        );
        match chain {
            "INPUT" => {
                filter.add(
                    chain,
                    Rule::jump("KUBE-NODEPORTS").comment("kubernetes health check service ports"),
                );
                filter.add(
                    chain,
                    Rule::jump("KUBE-EXTERNAL-SERVICES")
                        .with(new("NEW"))
                        .comment("kubernetes externally-visible service portals"),
                );
                filter.add(chain, Rule::jump("KUBE-FIREWALL"));
            }
            "FORWARD" => {
                filter.add(
                    chain,
                    Rule::jump("KUBE-FORWARD").comment("kubernetes forwarding rules"),
                );
                filter.add(
                    chain,
                    Rule::jump("KUBE-SERVICES")
                        .with(new("NEW"))
                        .comment("kubernetes service portals"),
                );
                filter.add(
                    chain,
                    Rule::jump("KUBE-EXTERNAL-SERVICES")
                        .with(new("NEW"))
                        .comment("kubernetes externally-visible service portals"),
                );
            }
            _ => {
                filter.add(
                    chain,
                    Rule::jump("KUBE-SERVICES")
                        .with(new("NEW"))
                        .comment("kubernetes service portals"),
                );
                filter.add(chain, Rule::jump("KUBE-FIREWALL"));
            }
        }
    }
    let localnet = Ipv4Addr::new(127, 0, 0, 0);
    filter.add(
        "KUBE-FIREWALL",
        Rule::jump("DROP")
            .src(Addr::net(localnet, 8, true))
            .dst(Addr::net(localnet, 8, false))
            .comment("block incoming localnet connections")
            .with(Match::Conntrack {
                inverted: true,
                states: "RELATED,ESTABLISHED,DNAT",
            }),
    );
    filter.add("KUBE-FORWARD", Rule::jump("DROP").with(new("INVALID")));
    filter.add(
        "KUBE-FORWARD",
        Rule::jump("ACCEPT")
            .comment("kubernetes forwarding rules")
            .with(Match::Mark { inverted: false }),
    );
    filter.add(
        "KUBE-FORWARD",
        Rule::jump("ACCEPT")
            .comment("kubernetes forwarding conntrack rule")
            .with(new("RELATED,ESTABLISHED")),
    );

    let mut nat = Chains::default();
    for c in [
        "KUBE-KUBELET-CANARY",
        "KUBE-MARK-MASQ",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-PROXY-CANARY",
        "KUBE-SERVICES",
    ] {
        nat.declare(c);
    }
    for chain in ["PREROUTING", "OUTPUT"] {
        nat.add(
            chain,
            Rule::jump("KUBE-SERVICES").comment("kubernetes service portals"),
        );
    }
    nat.add(
        "POSTROUTING",
        Rule::jump("KUBE-POSTROUTING").comment("kubernetes postrouting rules"),
    );
    nat.add(
        "KUBE-MARK-MASQ",
        Rule::new(Target::MarkSet {
            value: MASQ_MARK,
            mask: MASQ_MARK,
        }),
    );
    nat.add(
        "KUBE-POSTROUTING",
        Rule::jump("RETURN").with(Match::Mark { inverted: true }),
    );
    nat.add(
        "KUBE-POSTROUTING",
        Rule::new(Target::MarkSet {
            value: MASQ_MARK,
            mask: 0,
        }),
    );
    nat.add(
        "KUBE-POSTROUTING",
        Rule::new(Target::MasqueradeRandomFully)
            .comment("kubernetes service traffic requiring SNAT"),
    );

    let (cidr_ip, cidr_prefix) = (t.cluster_cidr.address(), t.cluster_cidr.prefix());
    for r in t.ports() {
        let name = r.info.name.to_string();
        let proto = r.info.protocol;
        let vip = Addr::host(r.info.cluster_ip);
        let port = |dport| Match::Port { proto, dport };
        if !r.has_endpoints() {
            filter.add(
                "KUBE-SERVICES",
                Rule::new(Target::Reject)
                    .dst(vip)
                    .proto(proto)
                    .comment(format!("{name} has no endpoints"))
                    .with(port(Some(r.info.port))),
            );
            if let Some(np) = r.info.node_port {
                filter.add(
                    "KUBE-EXTERNAL-SERVICES",
                    Rule::new(Target::Reject)
                        .proto(proto)
                        .comment(format!("{name} has no endpoints"))
                        .with(Match::AddrTypeLocal)
                        .with(port(Some(np))),
                );
            }
            continue;
        }
        nat.declare(&r.chain);
        nat.add(
            "KUBE-SERVICES",
            Rule::jump(&r.chain)
                .dst(vip)
                .proto(proto)
                .comment(format!("{name} cluster IP"))
                .with(port(Some(r.info.port))),
        );
        nat.add(
            &r.chain,
            Rule::jump("KUBE-MARK-MASQ")
                .src(Addr::net(cidr_ip, cidr_prefix, true))
                .dst(vip)
                .proto(proto)
                .comment(format!("{name} cluster IP"))
                .with(port(Some(r.info.port))),
        );
        if let Some(np) = r.info.node_port {
            nat.declare(&r.external_chain);
            nat.add(
                "KUBE-NODEPORTS",
                Rule::jump(&r.external_chain)
                    .proto(proto)
                    .comment(name.clone())
                    .with(port(Some(np))),
            );
            nat.add(
                &r.external_chain,
                Rule::jump("KUBE-MARK-MASQ").comment(format!(
                    "masquerade traffic for {name} external destinations"
                )),
            );
            nat.add(&r.external_chain, Rule::jump(&r.chain));
        }
        if let Some(seconds) = r.info.affinity_seconds {
            for ep in &r.endpoints {
                nat.add(
                    &r.chain,
                    Rule::jump(&ep.chain)
                        .comment(format!("{name} -> {}", ep.endpoint))
                        .with(Match::RecentCheck {
                            seconds,
                            name: ep.chain.clone(),
                        }),
                );
            }
        }
        for ep in &r.endpoints {
            let mut rule = Rule::jump(&ep.chain).comment(format!("{name} -> {}", ep.endpoint));
            if let Some(k) = ep.threshold {
                rule = rule.with(Match::Statistic(k));
            }
            nat.add(&r.chain, rule);
            nat.declare(&ep.chain);
            nat.add(
                &ep.chain,
                Rule::jump("KUBE-MARK-MASQ")
                    .src(Addr::host(ep.endpoint.ip))
                    .comment(name.clone()),
            );
            let mut dnat = Rule::new(Target::Dnat(ep.endpoint))
                .proto(proto)
                .comment(name.clone());
            if r.info.affinity_seconds.is_some() {
                dnat = dnat.with(Match::RecentSet {
                    name: ep.chain.clone(),
                });
            }
            nat.add(&ep.chain, dnat.with(port(None)));
        }
    }
    nat.add(
        "KUBE-SERVICES",
        Rule::jump("KUBE-NODEPORTS")
            .comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
            .with(Match::AddrTypeLocal),
    );
    BTreeMap::from([
        (Table::Mangle, mangle),
        (Table::Filter, filter),
        (Table::Nat, nat),
    ])
}

fn save_rule(out: &mut String, chain: &str, r: &Rule) {
    let _ = write!(out, "-A {chain}");
    for (flag, a) in [("-s", r.src), ("-d", r.dst)] {
        if let Some(a) = a {
            let bang = if a.inverted { "! " } else { "" };
            let _ = write!(out, " {bang}{flag} {}", a.save());
        }
    }
    if let Some(p) = r.proto {
        let _ = write!(out, " -p {}", p.lower());
    }
    for m in &r.matches {
        match m {
            Match::Comment(c) => {
                let _ = write!(out, " -m comment --comment {}", quote(c));
            }
            Match::Port { proto, dport } => {
                let _ = write!(out, " -m {}", proto.lower());
                if let Some(d) = dport {
                    let _ = write!(out, " --dport {d}");
                }
            }
            Match::Statistic(k) => {
                let _ = write!(
                    out,
                    " -m statistic --mode random --probability {}",
                    probability::format_threshold(*k)
                );
            }
            Match::RecentCheck { seconds, name } => {
                let _ = write!(
                    out,
                    " -m recent --rcheck --seconds {seconds} --reap --name {name} --mask 255.255.255.255 --rsource"
                );
            }
            Match::RecentSet { name } => {
                let _ = write!(
                    out,
                    " -m recent --set --name {name} --mask 255.255.255.255 --rsource"
                );
            }
            Match::AddrTypeLocal => out.push_str(" -m addrtype --dst-type LOCAL"),
            Match::Conntrack { inverted, states } => {
                let bang = if *inverted { "! " } else { "" };
                let _ = write!(out, " -m conntrack {bang}--ctstate {states}");
            }
            Match::Mark { inverted } => {
                let bang = if *inverted { "! " } else { "" };
                let _ = write!(out, " -m mark {bang}--mark {MASQ_MARK:#x}/{MASQ_MARK:#x}");
            }
        }
    }
    match &r.target {
        Target::Jump(c) => {
            let _ = write!(out, " -j {c}");
        }
        Target::Dnat(ep) => {
            let _ = write!(out, " -j DNAT --to-destination {ep}");
        }
        Target::Reject => out.push_str(" -j REJECT --reject-with icmp-port-unreachable"),
        Target::MarkSet { value, mask } => {
            let _ = write!(out, " -j MARK --set-xmark {value:#x}/{mask:#x}");
        }
        Target::MasqueradeRandomFully => out.push_str(" -j MASQUERADE --random-fully"),
    }
    out.push('\n');
}

/// `iptables-save`: every table kube-proxy touches, with the header and footer lines iptables
/// 1.8.9 (nf_tables, Debian bookworm as in kind's node image) writes; `stamp` is the date as
/// `date` prints it (e.g. `Wed Nov 25 12:00:03 2026`).
pub fn iptables_save(t: &RuleTable, stamp: &str) -> Result<String, ListError> {
    iptables_save_table(t, stamp, None)
}

/// `iptables-save [-t TABLE]`: one table, or all of them.
pub fn iptables_save_table(
    t: &RuleTable,
    stamp: &str,
    only: Option<Table>,
) -> Result<String, ListError> {
    if t.mode == ProxyMode::Ipvs {
        return Err(ListError::IpvsMode);
    }
    let mut out = String::new();
    for (table, chains) in ruleset(t) {
        if only.is_some_and(|o| o != table) {
            continue;
        }
        let _ = writeln!(
            out,
            "# Generated by iptables-save v1.8.9 (nf_tables) on {stamp}"
        );
        let _ = writeln!(out, "*{}", table.name());
        for b in table.builtins() {
            let _ = writeln!(out, ":{b} ACCEPT [0:0]");
        }
        for c in &chains.user {
            let _ = writeln!(out, ":{c} - [0:0]");
        }
        for b in table.builtins() {
            for r in chains.rules.get(*b).into_iter().flatten() {
                save_rule(&mut out, b, r);
            }
        }
        for c in &chains.user {
            for r in chains.rules.get(c).into_iter().flatten() {
                save_rule(&mut out, c, r);
            }
        }
        out.push_str("COMMIT\n");
        let _ = writeln!(out, "# Completed on {stamp}");
    }
    Ok(out)
}

/// `iptables -t TABLE -S [CHAIN]`: the rules as commands (`-P` for built-in chains' policies,
/// `-N` for user chains, then `-A` rules).
pub fn iptables_list_rules(
    t: &RuleTable,
    table: Table,
    chain: Option<&str>,
) -> Result<String, ListError> {
    if t.mode == ProxyMode::Ipvs {
        return Err(ListError::IpvsMode);
    }
    let mut all = ruleset(t);
    let chains = all.remove(&table).unwrap_or_default();
    let mut order: Vec<&str> = table.builtins().to_vec();
    order.extend(chains.user.iter().map(String::as_str));
    if let Some(c) = chain
        && !order.contains(&c)
    {
        return Err(ListError::NoSuchChain(c.to_string()));
    }
    let shown: Vec<&str> = order
        .into_iter()
        .filter(|n| chain.is_none_or(|c| c == *n))
        .collect();
    let mut out = String::new();
    for name in &shown {
        if table.builtins().contains(name) {
            let _ = writeln!(out, "-P {name} ACCEPT");
        } else {
            let _ = writeln!(out, "-N {name}");
        }
    }
    for name in &shown {
        for r in chains.rules.get(*name).into_iter().flatten() {
            save_rule(&mut out, name, r);
        }
    }
    Ok(out)
}

/// `/etc/services` names iptables prints for ports without `-n`.
fn service_name(port: u16) -> Option<&'static str> {
    Some(match port {
        22 => "ssh",
        53 => "domain",
        80 => "http",
        443 => "https",
        3306 => "mysql",
        5432 => "postgresql",
        8080 => "http-alt",
        _ => return None,
    })
}

fn list_rule(out: &mut String, r: &Rule, numeric: bool) {
    let _ = write!(out, "{:<9} ", r.target.name());
    let proto = r.proto.map_or("all", Protocol::lower);
    let _ = write!(out, " {proto:<5}-- ");
    for a in [r.src, r.dst] {
        let (bang, text) = match a {
            Some(a) => (if a.inverted { '!' } else { ' ' }, a.list()),
            None if numeric => (' ', "0.0.0.0/0".to_string()),
            None => (' ', "anywhere".to_string()),
        };
        let _ = write!(out, "{bang}{text:<19} ");
    }
    for m in &r.matches {
        match m {
            Match::Comment(c) => {
                let _ = write!(out, " /* {c} */");
            }
            Match::Port { proto, dport } => {
                let _ = write!(out, " {}", proto.lower());
                if let Some(d) = dport {
                    match service_name(*d).filter(|_| !numeric) {
                        Some(name) => {
                            let _ = write!(out, " dpt:{name}");
                        }
                        None => {
                            let _ = write!(out, " dpt:{d}");
                        }
                    }
                }
            }
            Match::Statistic(k) => {
                let _ = write!(
                    out,
                    " statistic mode random probability {}",
                    probability::format_threshold(*k)
                );
            }
            Match::RecentCheck { seconds, name } => {
                let _ = write!(
                    out,
                    " recent: CHECK seconds: {seconds} reap name: {name} side: source mask: 255.255.255.255"
                );
            }
            Match::RecentSet { name } => {
                let _ = write!(
                    out,
                    " recent: SET name: {name} side: source mask: 255.255.255.255"
                );
            }
            Match::AddrTypeLocal => out.push_str(" ADDRTYPE match dst-type LOCAL"),
            Match::Conntrack { inverted, states } => {
                let bang = if *inverted { " !" } else { "" };
                let _ = write!(out, "{bang} ctstate {states}");
            }
            Match::Mark { inverted } => {
                let bang = if *inverted { "! " } else { "" };
                let _ = write!(out, " mark match {bang}{MASQ_MARK:#x}/{MASQ_MARK:#x}");
            }
        }
    }
    match &r.target {
        Target::Jump(_) => {}
        Target::Dnat(ep) => {
            let _ = write!(out, " to:{ep}");
        }
        Target::Reject => out.push_str(" reject-with icmp-port-unreachable"),
        Target::MarkSet { value, mask } => {
            let _ = if *mask == 0 {
                write!(out, " MARK xor {value:#x}")
            } else if value == mask {
                write!(out, " MARK or {value:#x}")
            } else {
                write!(out, " MARK xset {value:#x}/{mask:#x}")
            };
        }
        Target::MasqueradeRandomFully => out.push_str(" random-fully"),
    }
    out.push('\n');
}

/// `iptables -t TABLE -L [CHAIN]` (with `-n` when `numeric`): one chain, or every chain of
/// the table separated by blank lines.
pub fn iptables_list(
    t: &RuleTable,
    table: Table,
    chain: Option<&str>,
    numeric: bool,
) -> Result<String, ListError> {
    if t.mode == ProxyMode::Ipvs {
        return Err(ListError::IpvsMode);
    }
    let mut all = ruleset(t);
    let chains = all.remove(&table).unwrap_or_default();
    let mut order: Vec<&str> = table.builtins().to_vec();
    order.extend(chains.user.iter().map(String::as_str));
    if let Some(c) = chain
        && !order.contains(&c)
    {
        return Err(ListError::NoSuchChain(c.to_string()));
    }
    let mut references: BTreeMap<&str, usize> = BTreeMap::new();
    for r in chains.rules.values().flatten() {
        if let Target::Jump(c) = &r.target {
            *references.entry(c.as_str()).or_default() += 1;
        }
    }
    let mut out = String::new();
    for (i, name) in order
        .iter()
        .filter(|n| chain.is_none_or(|c| c == **n))
        .enumerate()
    {
        if i > 0 {
            out.push('\n');
        }
        if table.builtins().contains(name) {
            let _ = writeln!(out, "Chain {name} (policy ACCEPT)");
        } else {
            let refs = references.get(name).copied().unwrap_or(0);
            let _ = writeln!(out, "Chain {name} ({refs} references)");
        }
        out.push_str("target     prot opt source               destination         \n");
        for r in chains.rules.get(*name).into_iter().flatten() {
            list_rule(&mut out, r, numeric);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{service, slice};

    fn table() -> RuleTable {
        let web = service(
            "default",
            "nginx",
            "10.96.175.117",
            &[("", 8080, None)],
            None,
        );
        let s = slice(
            "default",
            "nginx-abc",
            "nginx",
            &[("", 80)],
            &[
                ("10.244.0.20", true, false),
                ("10.244.0.21", true, false),
                ("10.244.0.22", true, false),
            ],
        );
        let empty = service(
            "default",
            "down",
            "10.96.5.5",
            &[("http", 80, Some(30080))],
            None,
        );
        RuleTable::build(ProxyMode::Iptables, [&web, &empty], [&s])
    }

    #[test]
    fn nat_rules_read_as_on_a_kind_node() {
        let save = iptables_save(&table(), "Wed Nov 25 12:00:03 2026").unwrap();
        // Lines as `iptables-save` printed them on a kind node for the same Service and pods.
        for line in [
            "-A KUBE-SERVICES -d 10.96.175.117/32 -p tcp -m comment --comment \"default/nginx cluster IP\" -m tcp --dport 8080 -j KUBE-SVC-2CMXP7HKUVJN7L6M",
            "-A KUBE-SVC-2CMXP7HKUVJN7L6M ! -s 10.244.0.0/16 -d 10.96.175.117/32 -p tcp -m comment --comment \"default/nginx cluster IP\" -m tcp --dport 8080 -j KUBE-MARK-MASQ",
            "-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx -> 10.244.0.20:80\" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-BRZDTZFF2SFWJV4H",
            "-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx -> 10.244.0.21:80\" -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-OI2S57TQ5WH5FOMC",
            "-A KUBE-SVC-2CMXP7HKUVJN7L6M -m comment --comment \"default/nginx -> 10.244.0.22:80\" -j KUBE-SEP-473MVOWGJMIYYUKK",
            "-A KUBE-SEP-BRZDTZFF2SFWJV4H -s 10.244.0.20/32 -m comment --comment \"default/nginx\" -j KUBE-MARK-MASQ",
            "-A KUBE-SEP-BRZDTZFF2SFWJV4H -p tcp -m comment --comment \"default/nginx\" -m tcp -j DNAT --to-destination 10.244.0.20:80",
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
            ":KUBE-SVC-2CMXP7HKUVJN7L6M - [0:0]",
            // No endpoints: REJECT in the filter table, for the cluster IP and the NodePort.
            "-A KUBE-SERVICES -d 10.96.5.5/32 -p tcp -m comment --comment \"default/down:http has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable",
            "-A KUBE-EXTERNAL-SERVICES -p tcp -m comment --comment \"default/down:http has no endpoints\" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with icmp-port-unreachable",
        ] {
            assert!(save.lines().any(|l| l == line), "missing: {line}\n{save}");
        }
        // The service without endpoints has no nat chain at all.
        assert!(!save.contains("default/down:http cluster IP"));
        assert!(save.ends_with("COMMIT\n# Completed on Wed Nov 25 12:00:03 2026\n"));
        // Chains: built-ins first, then sorted.
        let nat = &save[save.find("*nat").unwrap()..];
        let decl: Vec<&str> = nat.lines().filter(|l| l.starts_with(':')).collect();
        assert_eq!(
            decl[..4],
            [
                ":PREROUTING ACCEPT [0:0]",
                ":INPUT ACCEPT [0:0]",
                ":OUTPUT ACCEPT [0:0]",
                ":POSTROUTING ACCEPT [0:0]"
            ]
        );
        let mut sorted = decl[4..].to_vec();
        sorted.sort();
        assert_eq!(decl[4..], sorted[..]);
    }

    #[test]
    fn listing_prints_iptables_columns() {
        let got = iptables_list(
            &table(),
            Table::Nat,
            Some("KUBE-SVC-2CMXP7HKUVJN7L6M"),
            true,
        )
        .unwrap();
        let want = "\
Chain KUBE-SVC-2CMXP7HKUVJN7L6M (1 references)
target     prot opt source               destination         
KUBE-MARK-MASQ  tcp  -- !10.244.0.0/16        10.96.175.117        /* default/nginx cluster IP */ tcp dpt:8080
KUBE-SEP-BRZDTZFF2SFWJV4H  all  --  0.0.0.0/0            0.0.0.0/0            /* default/nginx -> 10.244.0.20:80 */ statistic mode random probability 0.33333333349
KUBE-SEP-OI2S57TQ5WH5FOMC  all  --  0.0.0.0/0            0.0.0.0/0            /* default/nginx -> 10.244.0.21:80 */ statistic mode random probability 0.50000000000
KUBE-SEP-473MVOWGJMIYYUKK  all  --  0.0.0.0/0            0.0.0.0/0            /* default/nginx -> 10.244.0.22:80 */
";
        assert_eq!(got, want);
        let sep = iptables_list(
            &table(),
            Table::Nat,
            Some("KUBE-SEP-BRZDTZFF2SFWJV4H"),
            false,
        )
        .unwrap();
        assert!(sep.contains(
            "DNAT       tcp  --  anywhere             anywhere             /* default/nginx */ tcp to:10.244.0.20:80\n"
        ));
        let services = iptables_list(&table(), Table::Nat, Some("KUBE-SERVICES"), false).unwrap();
        assert!(services.contains("/* default/nginx cluster IP */ tcp dpt:http-alt\n"));
        let reject = iptables_list(&table(), Table::Filter, Some("KUBE-SERVICES"), true).unwrap();
        assert!(reject.contains(
            "REJECT     tcp  --  0.0.0.0/0            10.96.5.5            /* default/down:http has no endpoints */ tcp dpt:80 reject-with icmp-port-unreachable\n"
        ));
        assert_eq!(
            iptables_list(&table(), Table::Nat, Some("KUBE-NOPE"), true),
            Err(ListError::NoSuchChain("KUBE-NOPE".into()))
        );
        let all = iptables_list(&table(), Table::Nat, None, false).unwrap();
        assert!(all.starts_with("Chain PREROUTING (policy ACCEPT)\n"));
        assert!(all.contains("\n\nChain KUBE-MARK-MASQ (4 references)\n"));
    }

    #[test]
    fn session_affinity_uses_recent_lists() {
        let svc = service(
            "default",
            "sticky",
            "10.96.9.9",
            &[("", 80, None)],
            Some(10800),
        );
        let s = slice(
            "default",
            "sticky-1",
            "sticky",
            &[("", 80)],
            &[("10.244.1.5", true, false)],
        );
        let t = RuleTable::build(ProxyMode::Iptables, [&svc], [&s]);
        let save = iptables_save(&t, "x").unwrap();
        let sep = &t.ports().next().unwrap().endpoints[0].chain;
        assert!(save.contains(&format!(
            "-m recent --rcheck --seconds 10800 --reap --name {sep} --mask 255.255.255.255 --rsource -j {sep}\n"
        )));
        assert!(save.contains(&format!(
            "-A {sep} -p tcp -m comment --comment \"default/sticky\" -m recent --set --name {sep} --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.1.5:80\n"
        )));
        let rules = iptables_list_rules(&t, Table::Nat, Some(sep)).unwrap();
        assert!(rules.starts_with(&format!("-N {sep}\n-A {sep} -s 10.244.1.5/32 ")));
        let ipvs = RuleTable::build(ProxyMode::Ipvs, [&svc], [&s]);
        assert_eq!(iptables_save(&ipvs, "x"), Err(ListError::IpvsMode));
    }
}
