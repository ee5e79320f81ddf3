//! The exact bytes of the proxy's own answers. Refusals close the connection (the client
//! retries on a new one) and carry a one-line body for people reading them with curl -v.

macro_rules! refusal {
    ($status:literal, $extra:literal, $body:literal) => {
        concat!(
            "HTTP/1.1 ",
            $status,
            "\r\n",
            $extra,
            "Content-Type: text/plain\r\nContent-Length: ",
            // The body is "<status>\n"; its length is checked by the tests below.
            $body,
            "\r\nConnection: close\r\nProxy-Connection: close\r\n\r\n",
            $status,
            "\n"
        )
        .as_bytes()
    };
}

/// 407: credentials missing or wrong.
pub fn proxy_auth_required() -> &'static [u8] {
    refusal!(
        "407 Proxy Authentication Required",
        "Proxy-Authenticate: Basic realm=\"kordon\"\r\n",
        "34"
    )
}

/// 403: the profile's rules refuse this destination.
pub fn forbidden() -> &'static [u8] {
    refusal!("403 Forbidden", "", "14")
}

/// 400: the request cannot be read as a proxy request.
pub fn bad_request() -> &'static [u8] {
    refusal!("400 Bad Request", "", "16")
}

/// 502: the destination could not be resolved or refused the connection.
pub fn bad_gateway() -> &'static [u8] {
    refusal!("502 Bad Gateway", "", "16")
}

/// 503: the profile already carries its maximum number of connections.
pub fn service_unavailable() -> &'static [u8] {
    refusal!("503 Service Unavailable", "", "24")
}

/// 504: the port's modem did not come up, or the destination did not answer, in time.
pub fn gateway_timeout() -> &'static [u8] {
    refusal!("504 Gateway Timeout", "", "20")
}

/// The answer to a CONNECT whose tunnel is open; the bytes after it belong to the tunnel.
pub fn connection_established() -> &'static [u8] {
    b"HTTP/1.1 200 Connection established\r\n\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal parses as a response whose Content-Length matches its body exactly.
    #[test]
    fn responses_are_well_formed() {
        for (bytes, code) in [
            (proxy_auth_required(), 407),
            (forbidden(), 403),
            (bad_request(), 400),
            (bad_gateway(), 502),
            (service_unavailable(), 503),
            (gateway_timeout(), 504),
            (connection_established(), 200),
        ] {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut resp = httparse::Response::new(&mut headers);
            let httparse::Status::Complete(head_len) = resp.parse(bytes).unwrap() else {
                panic!("incomplete {code}")
            };
            assert_eq!(resp.code, Some(code));
            let body = &bytes[head_len..];
            match resp.headers.iter().find(|h| h.name == "Content-Length") {
                Some(h) => {
                    let len: usize = std::str::from_utf8(h.value).unwrap().parse().unwrap();
                    assert_eq!(len, body.len(), "{code}");
                }
                None => assert!(body.is_empty()),
            }
        }
    }

    #[test]
    fn auth_challenge() {
        let text = std::str::from_utf8(proxy_auth_required()).unwrap();
        assert!(text.contains("\r\nProxy-Authenticate: Basic realm=\"kordon\"\r\n"));
        assert!(text.starts_with("HTTP/1.1 407 Proxy Authentication Required\r\n"));
    }
}
