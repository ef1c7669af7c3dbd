//! Explanations: for a pod, what the scheduler decided in its last cycle — per node, the
//! plugin that filtered it out and why, or each plugin's raw score, normalized score and
//! weight, and the total — printed as a table, as kube-scheduler-simulator shows a decision.
//!
//! A pure function of the recorded [`Decision`] (the scheduler keeps the last one per pod), so
//! `kubesim explain` or a scenario step prints the same table for the same run.

use std::fmt;

use crate::framework::schedule::Decision;

/// The table for one decision (`Display`).
pub struct Explanation<'a>(pub &'a Decision);

/// The explanation of a pod's last decision.
pub fn explain(decision: &Decision) -> Explanation<'_> {
    Explanation(decision)
}

fn pad(out: &mut String, cells: &[String], widths: &[usize]) {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    out.push_str(line.join("   ").trim_end());
    out.push('\n');
}

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        writeln!(
            f,
            "pod {}: {} node(s) in the cluster, {} evaluated",
            d.pod,
            d.num_all_nodes,
            d.evaluated.len()
        )?;
        match &d.outcome {
            Ok(node) => writeln!(f, "result: scheduled to {node}")?,
            Err(msg) => writeln!(f, "result: unschedulable: {msg}")?,
        }
        if let Some(n) = &d.nominated {
            writeln!(
                f,
                "preemption: nominated {n}, victims: {}",
                d.victims.join(", ")
            )?;
        }
        if let Some(why) = d.unscored_because {
            writeln!(f, "not scored: {why}")?;
        }
        if !d.skipped_filters.is_empty() {
            writeln!(
                f,
                "filters skipped (nothing to check for this pod): {}",
                d.skipped_filters.join(", ")
            )?;
        }
        if !d.skipped_scores.is_empty() {
            writeln!(
                f,
                "scores skipped (nothing to score for this pod): {}",
                d.skipped_scores.join(", ")
            )?;
        }
        let mut header = vec!["NODE".to_string(), "FILTER".to_string()];
        for (p, w) in &d.scorers {
            header.push(format!("{p} (x{w})"));
        }
        header.push("TOTAL".into());
        let mut rows = vec![header];
        for v in &d.nodes() {
            let mut row = vec![v.node.to_string()];
            match &v.rejected {
                Some(s) => {
                    row.push(format!("{}: {}", s.plugin, s.message()));
                    row.extend(d.scorers.iter().map(|_| "-".to_string()));
                    row.push("-".into());
                }
                None => {
                    row.push("passed".into());
                    if v.scores.is_empty() {
                        row.extend(d.scorers.iter().map(|_| "-".to_string()));
                        row.push("-".into());
                    } else {
                        for (p, _) in &d.scorers {
                            let cell = v
                                .scores
                                .iter()
                                .find(|s| s.plugin == *p)
                                .map_or("-".to_string(), |s| {
                                    format!("{} -> {} = {}", s.raw, s.normalized, s.weighted())
                                });
                            row.push(cell);
                        }
                        row.push(v.total().to_string());
                    }
                }
            }
            rows.push(row);
        }
        let cols = rows[0].len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for r in &rows {
            pad(&mut out, r, &widths);
        }
        f.write_str(&out)?;
        if !d.scorers.is_empty() {
            writeln!(f, "(scores: raw -> normalized = normalized x weight)")?;
        }
        Ok(())
    }
}
