//! A network as stored: `ip_key` (family byte 4 or 6, then the address bytes in network
//! order, so byte order is address order) and `prefix_len`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

pub fn network_key(network: &IpNet) -> Vec<u8> {
    match network.addr() {
        IpAddr::V4(v4) => {
            let mut key = Vec::with_capacity(5);
            key.push(4);
            key.extend_from_slice(&v4.octets());
            key
        }
        IpAddr::V6(v6) => {
            let mut key = Vec::with_capacity(17);
            key.push(6);
            key.extend_from_slice(&v6.octets());
            key
        }
    }
}

/// The address of an `ip_key`.
pub fn decode_key(key: &[u8]) -> Option<IpAddr> {
    match key {
        [4, rest @ ..] => <[u8; 4]>::try_from(rest)
            .ok()
            .map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        [6, rest @ ..] => <[u8; 16]>::try_from(rest)
            .ok()
            .map(|o| IpAddr::V6(Ipv6Addr::from(o))),
        _ => None,
    }
}

pub(crate) fn network_from(key: Vec<u8>, prefix_len: i64) -> Option<IpNet> {
    let address = decode_key(&key)?;
    IpNet::new(address, u8::try_from(prefix_len).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_address_and_round_trip() {
        let nets: Vec<IpNet> = ["9.255.255.255/32", "10.0.0.0/8", "200.1.1.0/24", "::1/128"]
            .iter()
            .map(|t| t.parse().unwrap())
            .collect();
        let keys: Vec<Vec<u8>> = nets.iter().map(network_key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        for (net, key) in nets.iter().zip(keys) {
            assert_eq!(
                network_from(key, i64::from(net.prefix_len())).as_ref(),
                Some(net)
            );
        }
        assert_eq!(decode_key(&[5, 1]), None);
    }
}
