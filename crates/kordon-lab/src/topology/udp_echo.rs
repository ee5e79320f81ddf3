//! The fake internet's UDP echo: each datagram comes back prefixed with the sender's address
//! as the echo host sees it (`<ip>:<port>\n`), so a test of a UDP relay (SOCKS5 UDP
//! ASSOCIATE) sees both the payload and the public address and port it left from.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use crate::dns::serve::MAX_UDP_PAYLOAD;

/// On the echo host ([`super::ECHO_ADDR`]); the classic echo port (RFC 862).
pub const UDP_ECHO_PORT: u16 = 7;

/// Answers every datagram on `socket` with [`echo_reply`].
pub fn spawn_udp_echo(socket: UdpSocket, tasks: &mut JoinSet<()>) {
    tasks.spawn(async move {
        let mut buf = vec![0u8; MAX_UDP_PAYLOAD];
        loop {
            match socket.recv_from(&mut buf).await {
                Ok((len, peer)) => {
                    if let Err(e) = socket.send_to(&echo_reply(peer, &buf[..len]), peer).await {
                        tracing::debug!("UDP echo to {peer}: {e}");
                    }
                }
                // An ICMP error reported on the socket and the like: pause rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    });
}

/// `<ip>:<port>\n` and the payload, cut to what fits in one datagram.
pub fn echo_reply(peer: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut reply = format!("{}:{}\n", peer.ip(), peer.port()).into_bytes();
    let room = MAX_UDP_PAYLOAD.saturating_sub(reply.len());
    reply.extend_from_slice(&payload[..payload.len().min(room)]);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_is_address_line_then_payload_within_one_datagram() {
        let peer: SocketAddr = "198.18.0.5:40000".parse().unwrap();
        assert_eq!(echo_reply(peer, b"hi\x00"), b"198.18.0.5:40000\nhi\x00");
        let big = vec![7u8; MAX_UDP_PAYLOAD];
        let reply = echo_reply(peer, &big);
        assert_eq!(reply.len(), MAX_UDP_PAYLOAD);
        assert!(reply.starts_with(b"198.18.0.5:40000\n\x07"));
    }
}
