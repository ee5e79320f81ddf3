//! A SOCKS5 session (RFC 1928, RFC 1929 for `strong` profiles). A SOCKS4/4a client on a
//! `socks` profile is served by `socks4`.

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::open::open;
use super::read::{read_message, ReadError};
use super::refusal::Refusal;
use super::{socks4, udp, Client};
use crate::protocol::socks5::{
    encode_failure, encode_method_selection, encode_reply, parse_auth, parse_greeting,
    parse_request, AuthStatus, Command, Method, ReplyCode, Request, Socks5Error,
};
use crate::protocol::Target;
use crate::stats::RefusalKind;
use crate::table::Auth;

/// Greeting, auth and request together fit in far less.
const MAX_HANDSHAKE: usize = 1024;

pub async fn serve(client: &Client, mut stream: TcpStream) {
    let mut buf = Vec::with_capacity(64);
    let timeout = client.plane.config.handshake_timeout;
    let request =
        match tokio::time::timeout(timeout, handshake(client, &mut stream, &mut buf)).await {
            Ok(Ok(Handshake::Request(request))) => request,
            Ok(Ok(Handshake::Socks4)) => return socks4::serve(client, stream, buf).await,
            Ok(Ok(Handshake::Refused)) => return,
            Ok(Err(error)) => {
                if let ReadError::Invalid(reason) = &error {
                    if let Some(code) = reason.reply_code() {
                        let _ = stream.write_all(encode_failure(code).as_bytes()).await;
                    }
                }
                client.count_refusal(RefusalKind::Protocol);
                return;
            }
            Err(_) => {
                client.count_refusal(RefusalKind::Protocol);
                return;
            }
        };
    match request.command {
        Command::Connect => match request.address.target() {
            Ok(target) => connect(client, stream, &target, &buf).await,
            Err(error) => {
                let code = error.reply_code().unwrap_or(ReplyCode::GeneralFailure);
                let _ = stream.write_all(encode_failure(code).as_bytes()).await;
                client.count_refusal(RefusalKind::Protocol);
            }
        },
        Command::UdpAssociate => udp::associate(client, stream).await,
        Command::Bind => {
            let reply = encode_failure(ReplyCode::CommandNotSupported);
            let _ = stream.write_all(reply.as_bytes()).await;
            client.count_refusal(RefusalKind::Protocol);
        }
    }
}

enum Handshake {
    Request(Request),
    /// The client speaks SOCKS4; its request is in the buffer.
    Socks4,
    /// Authentication failed and the client was told.
    Refused,
}

async fn handshake(
    client: &Client,
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Handshake, ReadError<Socks5Error>> {
    let (greeting, used) = read_message(stream, buf, MAX_HANDSHAKE, |bytes| {
        if bytes.first() == Some(&socks4::VERSION) {
            // Parsed by the SOCKS4 session; a zero-length "greeting" hands it over.
            return Ok(crate::protocol::Progress::Done {
                value: None,
                consumed: 0,
            });
        }
        parse_greeting(bytes).map(|progress| progress.map(Some))
    })
    .await?;
    let Some(greeting) = greeting else {
        return Ok(Handshake::Socks4);
    };
    buf.drain(..used);
    let required = match client.profile.auth {
        Auth::Strong(_) => Method::UsernamePassword,
        Auth::IpOnly(_) => Method::NoAuthentication,
    };
    let method = greeting.select(required);
    stream.write_all(&encode_method_selection(method)).await?;
    if method == Method::NoAcceptable {
        client.count_refusal(RefusalKind::Auth);
        return Ok(Handshake::Refused);
    }
    if let Auth::Strong(credentials) = &client.profile.auth {
        let (_, used) = read_message(stream, buf, MAX_HANDSHAKE, |b| {
            parse_auth(b).map(|p| p.map(|_| ()))
        })
        .await?;
        let accepted = match parse_auth(&buf[..used]) {
            Ok(progress) => progress
                .done()
                .is_some_and(|(pair, _)| credentials.accepts(pair.username, pair.password)),
            Err(_) => false,
        };
        buf.drain(..used);
        let status = if accepted {
            AuthStatus::Success
        } else {
            AuthStatus::Failure
        };
        stream.write_all(&status.encode()).await?;
        if !accepted {
            client.count_refusal(RefusalKind::Auth);
            return Ok(Handshake::Refused);
        }
    }
    let (request, used) = read_message(stream, buf, MAX_HANDSHAKE, parse_request).await?;
    buf.drain(..used);
    if !client.profile.auth.admits_client(client.peer.ip()) {
        let reply = encode_failure(ReplyCode::NotAllowedByRuleset);
        stream.write_all(reply.as_bytes()).await?;
        client.count_refusal(RefusalKind::ClientAddress);
        return Ok(Handshake::Refused);
    }
    Ok(Handshake::Request(request))
}

async fn connect(client: &Client, mut stream: TcpStream, target: &Target, leftover: &[u8]) {
    let upstream = if client.permit.is_none() {
        Err(Refusal::Maxconn)
    } else {
        open(client, target).await
    };
    let upstream = match upstream {
        Ok(upstream) => upstream,
        Err(refusal) => {
            let _ = stream
                .write_all(encode_failure(refusal.socks5_reply()).as_bytes())
                .await;
            client.count_refusal(refusal.kind());
            return;
        }
    };
    let bound = match upstream.local_addr() {
        Ok(bound) => bound,
        Err(_) => return,
    };
    if stream
        .write_all(encode_reply(ReplyCode::Succeeded, bound).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    client.relay(stream, upstream, leftover).await;
}
