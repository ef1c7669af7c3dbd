//! A decision's scores as it is kept for explanations: columns of one score per feasible
//! node, each stored in the fewest bytes that hold its spread of values.
//!
//! The scheduler remembers its last 10,000 decisions (`MAX_DECISIONS`), each with a raw and
//! often a normalized column per score plugin over hundreds of nodes (500 at 5,000 nodes).
//! As `i64`s that was ~56 KB per decision at 5,000 nodes, over half a gigabyte in all; scores
//! are mostly 0..=100 and many columns are constant, so a column keeps its minimum and each
//! node's offset from it in 0, 1, 2, 4 or 8 bytes. Reads give back exactly the scores
//! computed.

/// One column: its smallest value, where its offsets start in the bytes, and their width.
#[derive(Clone, Copy, Debug)]
struct Column {
    base: i64,
    start: u32,
    width: u8,
}

#[derive(Clone, Debug, Default)]
pub struct ScoreColumns {
    /// Values per column (the feasible nodes scored).
    rows: usize,
    columns: Box<[Column]>,
    bytes: Box<[u8]>,
}

impl ScoreColumns {
    /// Packs `scores`, consecutive columns of `rows` values each.
    pub fn pack(scores: &[i64], rows: usize) -> ScoreColumns {
        if rows == 0 || scores.is_empty() {
            return ScoreColumns::default();
        }
        debug_assert_eq!(scores.len() % rows, 0, "whole columns");
        let mut columns = Vec::with_capacity(scores.len() / rows);
        let mut bytes = Vec::new();
        for col in scores.chunks(rows) {
            let (min, max) = col
                .iter()
                .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let spread = max.abs_diff(min);
            let width: u8 = match spread {
                0 => 0,
                1..=0xff => 1,
                0x100..=0xffff => 2,
                0x1_0000..=0xffff_ffff => 4,
                _ => 8,
            };
            columns.push(Column {
                base: min,
                start: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                width,
            });
            if width > 0 {
                for &v in col {
                    let offset = v.abs_diff(min).to_le_bytes();
                    bytes.extend_from_slice(&offset[..usize::from(width)]);
                }
            }
        }
        ScoreColumns {
            rows,
            columns: columns.into_boxed_slice(),
            bytes: bytes.into_boxed_slice(),
        }
    }

    /// The score at `index` of the columns laid end to end, as they were packed.
    pub fn get(&self, index: usize) -> Option<i64> {
        if self.rows == 0 {
            return None;
        }
        let c = self.columns.get(index / self.rows)?;
        let width = usize::from(c.width);
        if width == 0 {
            return Some(c.base);
        }
        let at = c.start as usize + (index % self.rows) * width;
        let mut offset = [0u8; 8];
        offset[..width].copy_from_slice(self.bytes.get(at..at + width)?);
        Some(c.base.wrapping_add_unsigned(u64::from_le_bytes(offset)))
    }

    /// How many scores (columns × rows).
    pub fn len(&self) -> usize {
        self.columns.len() * self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::ScoreColumns;

    #[test]
    fn every_score_reads_back_as_packed() {
        let rows = 5;
        let scores: Vec<i64> = [
            [100, 100, 100, 100, 100],
            [0, 3, 255, 7, 1],
            [-4, 300, 65_000, 2, 0],
            [i64::MIN, 0, i64::MAX, -1, 1],
            [-70_000, 70_000, 0, 5, 5],
        ]
        .concat();
        let packed = ScoreColumns::pack(&scores, rows);
        assert_eq!(packed.len(), scores.len());
        for (i, s) in scores.iter().enumerate() {
            assert_eq!(packed.get(i), Some(*s), "score {i}");
        }
        assert_eq!(packed.get(scores.len()), None);
        assert!(ScoreColumns::pack(&[], 0).is_empty());
        assert_eq!(ScoreColumns::pack(&[], 3).get(0), None);
    }
}
