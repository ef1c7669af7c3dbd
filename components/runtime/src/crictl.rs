//! `crictl ps|pods|images` over a runtime's state: pure functions, so `Exec(node, "crictl
//! ps")` prints what crictl prints on a kind node.
//!
//! Follows cri-tools `cmd/crictl` (`container.go`, `sandbox.go`, `image.go`, `util.go`): a
//! tabwriter with minimum cell width 20 and padding 3, IDs truncated to 13 characters (image
//! IDs without `sha256:`), CREATED as go-units `HumanDuration` plus " ago", newest first;
//! `ps` lists running containers unless `-a`. Simplifications: no filters other than `-a`,
//! no `-o json|yaml`, no `--verbose`.

use sim::{Duration, Time};

use crate::images::human_size;
use crate::state::{ContainerState, RuntimeState};

const MIN_WIDTH: usize = 20;
const PADDING: usize = 3;

/// go's `text/tabwriter` as crictl configures it; the last column is not padded.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max((cell.chars().count() + PADDING).max(MIN_WIDTH));
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn truncate_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(13).collect()
}

/// go-units `HumanDuration`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let minutes = secs / 60;
    let hours = (d.as_secs_f64() / 3600.0).round() as u64;
    if secs < 1 {
        "Less than a second".into()
    } else if secs == 1 {
        "1 second".into()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

fn ago(now: Time, then: Time) -> String {
    format!("{} ago", human_duration(now.saturating_since(then)))
}

/// `crictl ps` (`all`: `crictl ps -a`).
pub fn ps(state: &RuntimeState, now: Time, all: bool) -> String {
    let mut containers: Vec<_> = state
        .containers
        .values()
        .filter(|c| all || c.state == ContainerState::Running)
        .collect();
    containers.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    let mut rows = vec![
        [
            "CONTAINER",
            "IMAGE",
            "CREATED",
            "STATE",
            "NAME",
            "ATTEMPT",
            "POD ID",
            "POD",
            "NAMESPACE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for c in containers {
        let (pod, namespace) = state
            .sandboxes
            .get(&c.sandbox_id)
            .map_or((String::new(), String::new()), |s| {
                (s.name.clone(), s.namespace.clone())
            });
        rows.push(vec![
            truncate_id(&c.id),
            truncate_id(&c.image_id),
            ago(now, c.created_at),
            c.state.as_str().to_string(),
            c.name.clone(),
            c.attempt.to_string(),
            truncate_id(&c.sandbox_id),
            pod,
            namespace,
        ]);
    }
    table(&rows)
}

/// `crictl pods`.
pub fn pods(state: &RuntimeState, now: Time) -> String {
    let mut sandboxes: Vec<_> = state.sandboxes.values().collect();
    sandboxes.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    let mut rows = vec![
        [
            "POD ID",
            "CREATED",
            "STATE",
            "NAME",
            "NAMESPACE",
            "ATTEMPT",
            "RUNTIME",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in sandboxes {
        rows.push(vec![
            truncate_id(&s.id),
            ago(now, s.created_at),
            s.state.as_str().to_string(),
            s.name.clone(),
            s.namespace.clone(),
            s.attempt.to_string(),
            "(default)".to_string(),
        ]);
    }
    table(&rows)
}

/// `crictl images`.
pub fn images(state: &RuntimeState) -> String {
    let mut rows = vec![
        ["IMAGE", "TAG", "IMAGE ID", "SIZE"]
            .map(String::from)
            .to_vec(),
    ];
    for i in state.images.images() {
        rows.push(vec![
            i.name.repository.clone(),
            i.name.tag.clone(),
            truncate_id(&i.id),
            human_size(i.size_bytes),
        ]);
    }
    table(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go_units() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (150, "2 minutes"),
            (3600, "About an hour"),
            (3 * 3600, "3 hours"),
            (3 * 86400, "3 days"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want);
        }
    }

    #[test]
    fn images_table_looks_like_crictl() {
        let mut s = RuntimeState::new(
            "kubesim-worker".into(),
            std::net::Ipv4Addr::new(172, 18, 0, 3),
            net::node_pod_cidr(1).unwrap(),
        );
        s.images
            .preload("registry.k8s.io/pause:3.10", 320_000, Time::ZERO);
        let out = images(&s);
        let mut lines = out.lines();
        assert_eq!(
            lines.next().unwrap(),
            "IMAGE                   TAG                 IMAGE ID            SIZE"
        );
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("registry.k8s.io/pause   3.10                "),
            "{row}"
        );
        assert!(row.ends_with("320kB"), "{row}");
    }
}
