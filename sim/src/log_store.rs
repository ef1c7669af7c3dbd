//! One actor's log as the engine keeps it: up to `log_lines_per_actor` lines, oldest first.
//!
//! At scale the kept lines are most of a run's log text (every kubelet's and containerd's,
//! ~3 KB per pod at 300 workers when each line was its own `String` beside a 48-byte record),
//! and nothing in a run reads them back: only `kubectl logs`, `journalctl` and tests do. So a
//! line is a 24-byte record here and its text goes into a block of ~4 KB shared with the lines
//! logged around it; a full block is compressed once (LZ4's block format, by `lz4_flex`), since
//! log lines repeat names, uids and phrases. Reading decompresses and hands out owned
//! [`LogLine`]s.

use std::collections::VecDeque;

use crate::time::Time;
use crate::world::LogLine;

/// Bytes of text gathered before a block is compressed: large enough for the repeats between
/// lines to show, small enough that the open block of every actor costs little.
const BLOCK: usize = 4096;

struct Record {
    local: Time,
    at: Time,
    /// Boots and runs past 65,535 saturate: the record stays 24 bytes.
    boot: u16,
    run: u16,
    len: u32,
}

/// A compressed block: the texts of `lines` consecutive lines after its first `skip` bytes
/// (those of lines already dropped from the front).
struct Block {
    packed: Box<[u8]>,
    raw_len: u32,
    lines: u32,
    skip: u32,
}

#[derive(Default)]
pub(crate) struct ActorLog {
    records: VecDeque<Record>,
    sealed: VecDeque<Block>,
    /// The newest lines' texts, not compressed yet; the first `open_skip` bytes belong to lines
    /// already dropped (only when the cap is smaller than a block's lines).
    open: Vec<u8>,
    open_lines: u32,
    open_skip: u32,
}

impl ActorLog {
    /// Appends a line, dropping the oldest first when `limit` lines are kept already.
    pub(crate) fn push(
        &mut self,
        limit: usize,
        local: Time,
        at: Time,
        (boot, run): (u32, u32),
        text: &str,
    ) {
        if self.records.len() >= limit {
            self.pop_front();
        }
        if !self.open.is_empty() && self.open.len() + text.len() > BLOCK {
            self.seal();
        }
        self.open.extend_from_slice(text.as_bytes());
        self.open_lines += 1;
        self.records.push_back(Record {
            local,
            at,
            boot: u16::try_from(boot).unwrap_or(u16::MAX),
            run: u16::try_from(run).unwrap_or(u16::MAX),
            len: text.len() as u32,
        });
    }

    fn pop_front(&mut self) {
        let Some(r) = self.records.pop_front() else {
            return;
        };
        if let Some(b) = self.sealed.front_mut() {
            b.lines -= 1;
            b.skip += r.len;
            if b.lines == 0 {
                self.sealed.pop_front();
            }
        } else {
            self.open_lines -= 1;
            self.open_skip += r.len;
            if self.open_lines == 0 {
                self.open.clear();
                self.open_skip = 0;
            }
        }
    }

    fn seal(&mut self) {
        let text = &self.open[self.open_skip as usize..];
        self.sealed.push_back(Block {
            packed: lz4_flex::block::compress(text).into_boxed_slice(),
            raw_len: text.len() as u32,
            lines: self.open_lines,
            skip: 0,
        });
        self.open.clear();
        // One very long line must not leave every later block this much room.
        self.open.shrink_to(BLOCK);
        self.open_lines = 0;
        self.open_skip = 0;
    }

    /// The kept lines, oldest first.
    pub(crate) fn lines(&self) -> Vec<LogLine> {
        let mut out = Vec::with_capacity(self.records.len());
        let mut records = self.records.iter();
        let mut take = |text: &[u8], skip: u32, lines: u32| {
            let mut from = skip as usize;
            for r in records.by_ref().take(lines as usize) {
                let to = from + r.len as usize;
                out.push(LogLine {
                    local: r.local,
                    at: r.at,
                    // Whole lines' bytes: always valid UTF-8.
                    text: String::from_utf8_lossy(&text[from..to]).into_owned(),
                    boot: u32::from(r.boot),
                    run: u32::from(r.run),
                });
                from = to;
            }
        };
        for b in &self.sealed {
            // The block was compressed here from `raw_len` bytes: it always decompresses.
            let text = lz4_flex::block::decompress(&b.packed, b.raw_len as usize)
                .expect("a sealed log block decompresses");
            take(&text, b.skip, b.lines);
        }
        take(&self.open, self.open_skip, self.open_lines);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: u64) -> String {
        format!(
            "I1207 kubelet.go:2466] \"SyncLoop (PLEG): event for pod\" pod=\"default/web-{}-7f9c\" event={{ID:{:08x} Type:ContainerStarted}}",
            i % 37,
            i * 2_654_435_761 % 4_294_967_291
        )
    }

    fn push_all(log: &mut ActorLog, limit: usize, n: u64) -> VecDeque<LogLine> {
        let mut expect = VecDeque::new();
        for i in 0..n {
            let text = if i % 11 == 0 {
                "x".repeat((i * 97 % 9000) as usize)
            } else {
                line(i)
            };
            let l = LogLine {
                local: Time::from_nanos(i * 3 + 1),
                at: Time::from_nanos(i * 3),
                text,
                boot: (i / 100) as u32,
                run: (i / 30 % 3) as u32,
            };
            log.push(limit, l.local, l.at, (l.boot, l.run), &l.text);
            if expect.len() >= limit {
                expect.pop_front();
            }
            expect.push_back(l);
        }
        expect
    }

    #[test]
    fn reads_back_what_was_logged_within_the_cap() {
        for limit in [1, 2, 3, 10, 50, 1000] {
            for n in [0, 1, 5, 60, 400, 2500] {
                let mut log = ActorLog::default();
                let expect = push_all(&mut log, limit, n);
                assert_eq!(log.lines(), Vec::from(expect), "limit {limit}, {n} lines");
            }
        }
    }

    #[test]
    fn log_text_compresses() {
        let text: String = (0..200).map(line).collect();
        let packed = lz4_flex::block::compress(text.as_bytes());
        assert!(
            packed.len() * 2 < text.len(),
            "{} -> {}",
            text.len(),
            packed.len()
        );
    }
}
