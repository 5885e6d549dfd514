//! The log of the whole test binary, captured in memory.
//!
//! One global subscriber at TRACE, installed once by the first [`capture`]:
//! per-thread default subscribers (`tracing::subscriber::set_default`) race
//! with tracing's per-callsite interest cache when tests run in parallel, and
//! an event can then go unrecorded. Every test of the binary writes to the
//! same log, so a test tells its own lines apart by ids no other test uses
//! (an exemption id, a span field), and reads only what was written since it
//! started ([`Buffer::len`], [`Buffer::text_since`]).
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

/// Everything written, shared with the tests.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// The whole log so far.
    pub fn text(&self) -> String {
        self.text_since(0)
    }

    /// The log written from byte `start` on.
    pub fn text_since(&self, start: usize) -> String {
        let bytes = self.0.lock().expect("log buffer");
        String::from_utf8(bytes[start.min(bytes.len())..].to_vec()).expect("utf-8 log")
    }

    /// The number of bytes written so far: where a test's part starts.
    pub fn len(&self) -> usize {
        self.0.lock().expect("log buffer").len()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The log of the whole test binary: every event of the crate and its
/// dependencies at every level, without colours, each line naming its thread
/// (`ThreadId(N)`: a `#[tokio::test]` runs its tasks on its own thread).
pub fn capture() -> Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER
        .get_or_init(|| {
            let buffer = Buffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .with_thread_ids(true)
                .with_writer(buffer.clone())
                .finish();
            tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
            buffer
        })
        .clone()
}
