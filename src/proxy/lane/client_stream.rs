//! A client connection as both proxy drivers see it: Pingora's stream, with
//! a write buffer that exists only while a response is being written, and
//! room to give bytes back to the front of what it reads.
//!
//! Pingora's own write buffer (`L4BufferSettings`) is allocated when the
//! connection is accepted and kept until it closes: 1.5 KB on every idle
//! keep-alive connection, more than the rest of its state. Here the buffer
//! is taken on a response's first write and handed back when the response
//! is flushed, so a waiting connection holds none. Otherwise it gathers
//! writes exactly as Pingora's buffer (tokio's `BufWriter`) did, vectored
//! writes included, so a response takes as many sends as before: one for a
//! small head and body, and a chunk of a chunked or HTTP/2 body still
//! leaves with its framing in one vectored send.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Buf, BytesMut};
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::{SslDigest, TlsRef};
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream, TimingDigest,
    UniqueID, UniqueIDType, ALPN,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// Writes are gathered up to this many bytes, Pingora's own buffer size
/// (one Ethernet segment's payload); a larger write goes straight through.
pub(super) const WRITE_BUFFER: usize = 1460;

/// Pingora's stream with a write buffer taken per response.
pub(super) struct ClientStream {
    inner: Stream,
    /// Written, not yet sent. No capacity between responses.
    pending: Vec<u8>,
    /// How much of `pending` has been sent (a send can be partial).
    sent: usize,
    /// Bytes given back, read again before anything from `inner`.
    unread: BytesMut,
}

impl ClientStream {
    /// Wraps an accepted connection. Its own write buffer should be off
    /// (`L4BufferSettings::write(0)`): this one takes its place.
    pub(super) fn new(inner: Stream) -> ClientStream {
        ClientStream { inner, pending: Vec::new(), sent: 0, unread: BytesMut::new() }
    }

    /// Puts `bytes` back in front of what the stream reads next.
    pub(super) fn unread(&mut self, bytes: &[u8]) {
        let mut front = BytesMut::with_capacity(bytes.len() + self.unread.len());
        front.extend_from_slice(bytes);
        front.extend_from_slice(&self.unread);
        self.unread = front;
    }

    /// Sends what is pending, however many writes it takes.
    fn poll_send_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl fmt::Debug for ClientStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStream")
            .field("inner", &self.inner)
            .field("pending", &self.pending.len())
            .field("unread", &self.unread.len())
            .finish()
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.unread.is_empty() {
            let n = self.unread.len().min(buf.remaining());
            buf.put_slice(&self.unread[..n]);
            self.unread.advance(n);
            if self.unread.is_empty() {
                self.unread = BytesMut::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    /// Gathers `bufs` when they fit beside what is pending; otherwise sends
    /// what is pending first, then `bufs` as they are if they would fill
    /// the buffer on their own (tokio's `BufWriter` rule).
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let total = bufs.iter().fold(0usize, |sum, b| sum.saturating_add(b.len()));
        if this.pending.len().saturating_add(total) > WRITE_BUFFER {
            ready!(this.poll_send_pending(cx))?;
        }
        if total >= WRITE_BUFFER {
            return Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        }
        if this.pending.capacity() == 0 {
            this.pending.reserve_exact(WRITE_BUFFER);
        }
        for buf in bufs {
            this.pending.extend_from_slice(buf);
        }
        Poll::Ready(Ok(total))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_send_pending(cx))?;
        ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        // Flushed: the response is out, and the connection may now wait a
        // long time for the next request. It waits without the buffer.
        this.pending = Vec::new();
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_send_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl Drop for ClientStream {
    /// One last try, without waiting, to send what was written but not
    /// flushed: a driver that gives up on a response (Pingora's proxy after
    /// an upstream error) may drop the connection without a flush, and the
    /// client should get the truncated response rather than nothing, as
    /// Pingora's own buffered stream does.
    fn drop(&mut self) {
        if self.sent < self.pending.len() {
            let _ = self.poll_send_pending(&mut Context::from_waker(Waker::noop()));
        }
    }
}

#[async_trait]
impl Shutdown for ClientStream {
    async fn shutdown(&mut self) {
        if let Err(e) = AsyncWriteExt::shutdown(self).await {
            tracing::debug!(error = %e, "client connection shutdown");
        }
    }
}

#[async_trait]
impl Peek for ClientStream {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.read_exact(buf).await?;
        self.unread(buf);
        Ok(true)
    }
}

impl UniqueID for ClientStream {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for ClientStream {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    fn selected_alpn_proto(&self) -> Option<ALPN> {
        self.inner.selected_alpn_proto()
    }
}

impl GetTimingDigest for ClientStream {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for ClientStream {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for ClientStream {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use std::io::{self, IoSlice};
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use async_trait::async_trait;
    use bytes::{Buf, Bytes};
    use pingora::protocols::l4::stream::Stream as L4Stream;
    use pingora::protocols::raw_connect::ProxyDigest;
    use pingora::protocols::{
        GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, TimingDigest, UniqueID,
        UniqueIDType,
    };
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
    use tokio::net::{TcpListener, TcpStream};

    use super::{ClientStream, WRITE_BUFFER};

    /// A loopback connection: the gateway's end wrapped as the proxy wraps
    /// an accepted one (Pingora's stream, no buffers of its own), and the
    /// client's end.
    async fn pair() -> (ClientStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        (ClientStream::new(Box::new(L4Stream::from(accepted))), client)
    }

    /// Whatever the client can read within 100 ms.
    async fn arrived(client: &mut TcpStream) -> Vec<u8> {
        let mut got = vec![0; 64 * 1024];
        match tokio::time::timeout(Duration::from_millis(100), client.read(&mut got)).await {
            Ok(Ok(n)) => got[..n].to_vec(),
            _ => Vec::new(),
        }
    }

    #[tokio::test]
    async fn small_writes_leave_together_at_the_flush_and_the_buffer_goes_with_them() {
        let (mut stream, mut client) = pair().await;
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n").await.unwrap();
        stream.write_all(b"ok").await.unwrap();
        assert!(arrived(&mut client).await.is_empty(), "sent before the flush");
        assert!(stream.pending.capacity() >= WRITE_BUFFER);
        stream.flush().await.unwrap();
        assert_eq!(arrived(&mut client).await, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        assert_eq!(stream.pending.capacity(), 0, "an idle connection keeps its write buffer");
    }

    #[tokio::test]
    async fn a_write_that_does_not_fit_sends_what_is_pending_first_and_keeps_the_order() {
        let (mut stream, mut client) = pair().await;
        let large = vec![b'x'; WRITE_BUFFER * 3];
        stream.write_all(b"head|").await.unwrap();
        stream.write_all(&large).await.unwrap();
        stream.write_all(b"|tail").await.unwrap();
        stream.flush().await.unwrap();
        drop(stream);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        let mut want = b"head|".to_vec();
        want.extend_from_slice(&large);
        want.extend_from_slice(b"|tail");
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn bytes_given_back_are_read_before_the_socket_and_peeking_leaves_them_there() {
        let (mut stream, mut client) = pair().await;
        client.write_all(b" world").await.unwrap();
        stream.unread(b"hello");
        let mut peeked = [0; 3];
        assert!(stream.try_peek(&mut peeked).await.unwrap());
        assert_eq!(&peeked, b"hel");
        let mut got = [0; 11];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello world");
    }

    /// A connection that records the size of every send it is asked for,
    /// as a socket would see them (a vectored send is one).
    #[derive(Debug, Default)]
    struct Sends(Arc<Mutex<Vec<usize>>>);

    impl AsyncRead for Sends {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Sends {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            self.0.lock().unwrap().push(buf.len());
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_write_vectored(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let n = bufs.iter().map(|b| b.len()).sum();
            self.0.lock().unwrap().push(n);
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[async_trait]
    impl Shutdown for Sends {
        async fn shutdown(&mut self) {}
    }

    #[async_trait]
    impl Peek for Sends {}

    impl UniqueID for Sends {
        fn id(&self) -> UniqueIDType {
            0
        }
    }

    impl Ssl for Sends {}

    impl GetTimingDigest for Sends {
        fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
            Vec::new()
        }
    }

    impl GetProxyDigest for Sends {
        fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
            None
        }
    }

    impl GetSocketDigest for Sends {
        fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
            None
        }
    }

    /// A `ClientStream` over [`Sends`], and the list of sends it makes.
    fn counted() -> (ClientStream, Arc<Mutex<Vec<usize>>>) {
        let sends = Sends::default();
        let seen = Arc::clone(&sends.0);
        (ClientStream::new(Box::new(sends)), seen)
    }

    #[tokio::test]
    async fn a_chunk_with_its_framing_leaves_in_one_send_however_large() {
        for size in [500, 1456, 4096, 16384] {
            let (mut stream, sends) = counted();
            let data = vec![b'x'; size];
            // How Pingora writes one chunk of a chunked body.
            let mut chunk = Bytes::from(format!("{size:X}\r\n")).chain(Bytes::from(data)).chain(&b"\r\n"[..]);
            stream.write_all_buf(&mut chunk).await.unwrap();
            stream.flush().await.unwrap();
            let sends = sends.lock().unwrap().clone();
            assert_eq!(sends.len(), 1, "a {size}-byte chunk went out as sends of {sends:?}");
        }
    }

    #[tokio::test]
    async fn a_head_and_a_small_body_leave_in_one_send_after_what_was_pending() {
        let (mut stream, sends) = counted();
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n").await.unwrap();
        stream.write_all(b"ok").await.unwrap();
        stream.flush().await.unwrap();
        stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4096\r\n\r\n").await.unwrap();
        stream.write_all(&[b'x'; 4096]).await.unwrap();
        stream.flush().await.unwrap();
        assert_eq!(*sends.lock().unwrap(), vec![40, 41, 4096]);
    }

    #[tokio::test]
    async fn what_was_written_and_not_flushed_is_still_sent_when_the_stream_is_dropped() {
        let (mut stream, sends) = counted();
        stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\n").await.unwrap();
        drop(stream);
        assert_eq!(*sends.lock().unwrap(), vec![26]);
    }

    #[tokio::test]
    async fn shutdown_sends_what_is_pending_before_the_end_of_the_stream() {
        let (mut stream, mut client) = pair().await;
        stream.write_all(b"last words").await.unwrap();
        AsyncWriteExt::shutdown(&mut stream).await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
    }
}
