//! Reading one request head off a client connection, under the deadlines
//! that keep slow clients from holding connections: the idle wait before a
//! request (`server.keepalive_timeout`), and one deadline for the whole head
//! (`server.request_header_timeout`) however slowly its bytes trickle in —
//! a per-read timeout would let a client sending a byte a second stay
//! forever. For a connection's first request the head deadline starts at
//! accept, so a client that connects and sends nothing is cut off as soon.
//!
//! Both proxy drivers get the head whole, as the start of their session.
//!
//! A connection waiting for its next request holds no buffer: the wait
//! ([`FirstBytes`]) reads into this thread's scratch space on each poll, and
//! a buffer is taken only for bytes that have arrived. Idle keep-alive
//! connections are most of a gateway's connections; this keeps each one's
//! memory to its socket and a small future.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use pingora::prelude::fast_timeout::fast_timeout;
use pingora::protocols::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::time::Instant;

/// The first read's buffer: Pingora's initial header buffer size.
const FIRST_READ: usize = 4096;
/// The per-thread space a waiting connection reads into: a typical head
/// arrives in one read of it.
const SCRATCH: usize = 16 * 1024;
/// Past this many bytes without the end of the head, the head is handed on
/// as it is and Pingora refuses it (its own limit is 1 MiB).
const MAX_HEAD: usize = 1024 * 1024;

/// What waiting for the next request head gave.
pub(super) enum Head {
    /// A whole head (and whatever followed it in the same reads).
    Ready(BytesMut),
    /// The client closed, went idle past the keep-alive timeout, or the
    /// gateway is stopping: close without an answer.
    Gone,
    /// Bytes of a head arrived but not all of it in time: answer 408.
    TooSlow,
}

/// The deadlines of one wait.
pub(super) struct Deadlines {
    /// The longest idle wait before a kept-alive connection's next request.
    pub(super) idle: Duration,
    /// The longest a whole head may take.
    pub(super) head: Duration,
    /// Whether this is the connection's first request.
    pub(super) first_request: bool,
}

/// Reads the next request head from `stream`, starting with `carried`
/// (bytes already read past the previous request), by `deadlines`.
pub(super) async fn read(stream: &mut Stream, carried: Option<BytesMut>, deadlines: &Deadlines) -> Head {
    let mut started = Instant::now();
    let mut buf = match carried.filter(|b| !b.is_empty()) {
        Some(carried) => carried,
        None => {
            let first_wait = if deadlines.first_request { deadlines.head } else { deadlines.idle };
            let buf = match fast_timeout(first_wait, FirstBytes { stream }).await {
                Ok(Ok(buf)) if !buf.is_empty() => buf,
                Err(_) if deadlines.first_request => return Head::TooSlow,
                _ => return Head::Gone,
            };
            if !deadlines.first_request {
                started = Instant::now();
            }
            buf
        }
    };
    let mut searched = 0;
    loop {
        if head_ends_in(&buf, searched) || buf.len() > MAX_HEAD {
            return Head::Ready(buf);
        }
        searched = buf.len().saturating_sub(3);
        let Some(left) = deadlines.head.checked_sub(started.elapsed()) else { return Head::TooSlow };
        if buf.capacity() == buf.len() {
            buf.reserve(FIRST_READ);
        }
        match fast_timeout(left, stream.read_buf(&mut buf)).await {
            Err(_) => return Head::TooSlow,
            Ok(Ok(n)) if n > 0 => {}
            _ => return Head::Gone,
        }
    }
}

thread_local! {
    static SCRATCH_SPACE: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// The first bytes of the next request, in a buffer of their own (empty
/// when the client closed). Holds nothing but the stream while it waits.
struct FirstBytes<'s> {
    stream: &'s mut Stream,
}

impl Future for FirstBytes<'_> {
    type Output = std::io::Result<BytesMut>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let stream = &mut *self.get_mut().stream;
        SCRATCH_SPACE.with(|space| {
            // Only this poll borrows the space, and a stream's read never
            // polls another connection's wait, so the borrow cannot clash.
            let mut space = space.borrow_mut();
            let mut read = ReadBuf::new(&mut space[..]);
            match Pin::new(stream).poll_read(cx, &mut read) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let arrived = read.filled();
                    let mut buf = BytesMut::with_capacity(arrived.len().max(FIRST_READ));
                    buf.extend_from_slice(arrived);
                    Poll::Ready(Ok(buf))
                }
            }
        })
    }
}

/// Whether `buf` holds the end of a head (a blank line, CRLF or bare LF as
/// Pingora's parser accepts), looking from `from` on.
fn head_ends_in(buf: &[u8], from: usize) -> bool {
    let rest = &buf[from.min(buf.len())..];
    // One pass over the line ends: a blank line follows one.
    memchr::memchr_iter(b'\n', rest).any(|at| {
        let after = &rest[at + 1..];
        after.starts_with(b"\n") || after.starts_with(b"\r\n")
    })
}

#[cfg(test)]
mod tests {
    use super::head_ends_in;

    #[test]
    fn the_end_of_a_head_is_a_blank_line_in_either_line_ending() {
        assert!(head_ends_in(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0));
        assert!(head_ends_in(b"GET / HTTP/1.1\nHost: a\n\n", 0));
        assert!(!head_ends_in(b"GET / HTTP/1.1\r\nHost: a\r\n", 0));
        assert!(!head_ends_in(b"GET / HTTP/1.1\r\nHost: a\r\n\r", 0));
        // Searching from where the last read left off still finds an end
        // that straddles the two reads.
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(head_ends_in(buf, buf.len() - 5));
    }
}
