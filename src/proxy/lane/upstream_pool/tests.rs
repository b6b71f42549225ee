//! The pool against real loopback sockets: what it hands out again, and
//! what it must close instead.

use std::time::Duration;

use pingora::protocols::l4::stream::Stream as L4Stream;
use pingora::protocols::Stream;
use pingora::upstreams::peer::{HttpPeer, Peer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::UpstreamPool;

/// A listener, a connection to it as the pool would hold it, and the
/// server's end of that connection.
struct Link {
    peer: HttpPeer,
    client: Stream,
    server: TcpStream,
}

async fn listener() -> (TcpListener, HttpPeer) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut peer = HttpPeer::new(listener.local_addr().unwrap(), false, String::new());
    peer.options.idle_timeout = Some(Duration::from_secs(60));
    (listener, peer)
}

async fn connect(listener: &TcpListener, peer: &HttpPeer) -> Link {
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    Link { peer: peer.clone(), client: Box::new(L4Stream::from(client)), server }
}

async fn link() -> Link {
    let (listener, peer) = listener().await;
    connect(&listener, &peer).await
}

/// Lets the runtime's reactor see what happened on the sockets.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Whether `taken` is the connection whose server end is `server`: a byte
/// written on it arrives there.
async fn is_same(taken: &mut Stream, server: &mut TcpStream) -> bool {
    taken.write_all(b"x").await.unwrap();
    taken.flush().await.unwrap();
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(Duration::from_secs(2), server.read(&mut byte)).await, Ok(Ok(1)))
}

#[tokio::test]
async fn a_quiet_connection_is_handed_out_again_for_its_peer_only() {
    let pool = UpstreamPool::new(8, 1);
    let mut link = link().await;
    let (_other_listener, other_peer) = listener().await;
    pool.put(&link.peer, link.client);
    assert!(pool.take(&other_peer).is_none(), "a connection was handed out for another address");
    let mut taken = pool.take(&link.peer).expect("the idle connection");
    assert!(is_same(&mut taken, &mut link.server).await);
    assert!(pool.take(&link.peer).is_none(), "a connection was handed out twice");
}

#[tokio::test]
async fn a_peer_with_other_connection_settings_does_not_share_connections() {
    let pool = UpstreamPool::new(8, 1);
    let link = link().await;
    pool.put(&link.peer, link.client);
    // Same address, but a TLS peer: its reuse hash differs.
    let mut tls_peer = HttpPeer::new(*link.peer.address().as_inet().unwrap(), true, "shop".into());
    tls_peer.options.idle_timeout = link.peer.options.idle_timeout;
    assert!(pool.take(&tls_peer).is_none());
    assert!(pool.take(&link.peer).is_some());
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_not_handed_out() {
    let pool = UpstreamPool::new(8, 1);
    let link = link().await;
    pool.put(&link.peer, link.client);
    drop(link.server);
    settle().await;
    assert!(pool.take(&link.peer).is_none());
    assert_eq!(pool.len(), 0, "the closed connection was dropped when met");
}

#[tokio::test]
async fn a_connection_with_bytes_sent_unasked_is_not_handed_out() {
    let pool = UpstreamPool::new(8, 1);
    let mut link = link().await;
    pool.put(&link.peer, link.client);
    link.server.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged").await.unwrap();
    settle().await;
    assert!(pool.take(&link.peer).is_none(), "a desynchronised connection was reused");
}

#[tokio::test]
async fn a_connection_that_is_not_quiet_when_put_back_is_closed() {
    let pool = UpstreamPool::new(8, 1);
    let mut link = link().await;
    link.server.write_all(b"left over").await.unwrap();
    settle().await;
    pool.put(&link.peer, link.client);
    assert_eq!(pool.len(), 0);
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(2), link.server.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the gateway's end was not closed: {read:?}");
}

#[tokio::test]
async fn an_expired_connection_is_not_handed_out() {
    let pool = UpstreamPool::new(8, 1);
    let mut link = link().await;
    link.peer.options.idle_timeout = Some(Duration::ZERO);
    pool.put(&link.peer, link.client);
    assert!(pool.take(&link.peer).is_none());
}

#[tokio::test]
async fn the_most_recent_connection_is_taken_first_and_a_full_shard_closes_its_oldest() {
    let pool = UpstreamPool::new(2, 1);
    let (listener, peer) = listener().await;
    let mut links = Vec::new();
    for _ in 0..3 {
        links.push(connect(&listener, &peer).await);
    }
    let mut servers = Vec::new();
    for link in links {
        pool.put(&link.peer, link.client);
        servers.push(link.server);
    }
    assert_eq!(pool.len(), 2);
    let mut byte = [0u8; 1];
    let oldest = tokio::time::timeout(Duration::from_secs(2), servers[0].read(&mut byte)).await;
    assert!(matches!(oldest, Ok(Ok(0)) | Ok(Err(_))), "the oldest was not closed: {oldest:?}");
    let mut newest = pool.take(&peer).unwrap();
    assert!(is_same(&mut newest, &mut servers[2]).await);
}

#[tokio::test]
async fn the_sweep_closes_what_expired_or_was_closed_and_keeps_the_rest() {
    let pool = UpstreamPool::new(8, 1);
    let kept = link().await;
    let closed = link().await;
    let mut expiring = link().await;
    expiring.peer.options.idle_timeout = Some(Duration::ZERO);
    pool.put(&kept.peer, kept.client);
    pool.put(&closed.peer, closed.client);
    pool.put(&expiring.peer, expiring.client);
    drop(closed.server);
    settle().await;
    pool.sweep();
    assert_eq!(pool.len(), 1);
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(2), expiring.server.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the expired connection was not closed: {read:?}");
    assert!(pool.take(&kept.peer).is_some());
}

#[tokio::test]
async fn a_pool_of_size_zero_keeps_nothing_and_clear_empties_it() {
    let none = UpstreamPool::new(0, 2);
    let unkept = link().await;
    none.put(&unkept.peer, unkept.client);
    assert_eq!(none.len(), 0);

    let pool = UpstreamPool::new(8, 2);
    let kept = link().await;
    pool.put(&kept.peer, kept.client);
    assert_eq!(pool.len(), 1);
    pool.clear();
    assert_eq!(pool.len(), 0);
}
