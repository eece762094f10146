//! The reader threads of a worker's stdout and stderr, each line bounded so a
//! worker that never ends a line costs the driver a fixed amount of memory.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use crate::clock::monotonic_ns;
use crate::protocol::TOKEN_LINE;

/// How much of a worker's stderr is kept for error messages; also the
/// longest stderr line kept (the rest of a longer one is dropped).
pub(super) const STDERR_TAIL_BYTES: usize = 8 * 1024;

pub(super) enum ReaderMsg {
    Line {
        text: String,
        receipt_ns: u64,
    },
    /// A line that is not UTF-8: shown lossily, never taken for end of output.
    NotUtf8 {
        lossy: String,
        error: String,
    },
    /// A line longer than `limit` bytes: nothing more is read.
    TooLong {
        limit: usize,
    },
    /// Reading stdout failed (the cause), so nothing more can be read.
    ReadError(String),
    Eof,
}

/// How a bounded line read ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Bounded {
    /// A whole line (or the last, unterminated one) is in the buffer.
    Line,
    /// `limit` bytes came without a newline; the rest of the line is unread.
    Cut,
    /// End of input, nothing read.
    Eof,
}

/// Appends the next line to `buf`, without its `\n`, until `buf` holds `limit`
/// bytes: unlike `read_until`, memory never grows past the limit. A line
/// already begun in `buf` is continued.
pub(super) fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Bounded> {
    let mut read_any = !buf.is_empty();
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if read_any {
                Bounded::Line
            } else {
                Bounded::Eof
            });
        }
        read_any = true;
        let room = limit.saturating_sub(buf.len());
        match available.iter().position(|&b| b == b'\n') {
            Some(end) if end <= room => {
                buf.extend_from_slice(&available[..end]);
                reader.consume(end + 1);
                return Ok(Bounded::Line);
            }
            _ if room == 0 => return Ok(Bounded::Cut),
            _ => {
                let take = available.len().min(room);
                buf.extend_from_slice(&available[..take]);
                reader.consume(take);
            }
        }
    }
}

/// Skips input up to and including the next `\n`; false at end of input.
fn skip_rest_of_line(reader: &mut impl BufRead) -> bool {
    loop {
        let available = match reader.fill_buf() {
            Ok([]) | Err(_) => return false,
            Ok(bytes) => bytes,
        };
        match available.iter().position(|&b| b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return true;
            }
            None => {
                let n = available.len();
                reader.consume(n);
            }
        }
    }
}

/// Forwards stdout lines, each stamped the moment it is read; `limit` is the
/// protocol's bound for the request in flight (set by `send`).
pub(super) fn read_stdout(stdout: impl Read, tx: SyncSender<ReaderMsg>, limit: Arc<AtomicUsize>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let mut used = limit.load(Ordering::SeqCst);
        let mut read = read_bounded_line(&mut reader, &mut buf, used);
        // The line may have begun before `send` raised the limit for the
        // request it answers: go on under the new one.
        while matches!(read, Ok(Bounded::Cut)) && limit.load(Ordering::SeqCst) > used {
            used = limit.load(Ordering::SeqCst);
            read = read_bounded_line(&mut reader, &mut buf, used);
        }
        let msg = match read {
            Ok(Bounded::Eof) => break,
            // The consumer stamp for receipt-stamped backends: taken the
            // moment the line is in our hands, before parsing.
            Ok(Bounded::Line) => line_msg(&buf, monotonic_ns()),
            Ok(Bounded::Cut) => {
                let _ = tx.send(ReaderMsg::TooLong { limit: used });
                return;
            }
            Err(e) => {
                let _ = tx.send(ReaderMsg::ReadError(e.to_string()));
                return;
            }
        };
        if tx.send(msg).is_err() {
            return;
        }
    }
    let _ = tx.send(ReaderMsg::Eof);
}

fn line_msg(bytes: &[u8], receipt_ns: u64) -> ReaderMsg {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => ReaderMsg::Line {
            text: text.to_string(),
            receipt_ns,
        },
        Err(e) => ReaderMsg::NotUtf8 {
            lossy: String::from_utf8_lossy(bytes).into_owned(),
            error: e.to_string(),
        },
    }
}

/// Tokens reported in the current generation and who to tell.
type TokenSeen = (u64, Option<Box<dyn Fn(u64) + Send>>);

#[derive(Clone, Default)]
pub(super) struct TokenWatch(pub(super) Arc<Mutex<TokenSeen>>);

impl TokenWatch {
    fn saw_token(&self) {
        if let Ok(mut w) = self.0.lock() {
            w.0 += 1;
            if let Some(f) = &w.1 {
                f(w.0);
            }
        }
    }
}

/// Keeps the last [`STDERR_TAIL_BYTES`] of stderr and counts token lines.
/// Stderr is diagnostics, so an over-long line is cut, not an error.
pub(super) fn read_stderr(stderr: impl Read, tail: Arc<Mutex<VecDeque<u8>>>, watch: TokenWatch) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        let cut = match read_bounded_line(&mut reader, &mut line, STDERR_TAIL_BYTES) {
            Ok(Bounded::Eof) | Err(_) => return,
            Ok(Bounded::Line) => false,
            Ok(Bounded::Cut) => true,
        };
        if !cut && line.strip_suffix(b"\r").unwrap_or(&line) == TOKEN_LINE.as_bytes() {
            watch.saw_token();
            continue;
        }
        if cut {
            line.extend_from_slice(format!(" [line cut at {STDERR_TAIL_BYTES} bytes]").as_bytes());
        }
        line.push(b'\n');
        if let Ok(mut tail) = tail.lock() {
            tail.extend(&line);
            let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
            tail.drain(..excess);
        }
        if cut && !skip_rest_of_line(&mut reader) {
            return;
        }
    }
}
