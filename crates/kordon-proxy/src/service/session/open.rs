//! Opening the upstream connection as the profile allows: its target-port and site rules, a
//! ready port (waiting a bounded time for one that is down or rotating), the name resolved
//! through the port's modem (or remembered from an earlier answer on the same link epoch),
//! every address checked by the guard, and the connection pinned to the port's interface.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use tokio::net::TcpStream;

use super::refusal::Refusal;
use super::Client;
use crate::egress::{connect_through, DnsPath, Link, LinkEpoch};
use crate::guard::Forbidden;
use crate::protocol::{Host, Target};
use crate::service::Plane;
use crate::table::Profile;

/// While waiting for a port to come up: how often its state is looked at again.
const READY_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether the profile's rules let the client ask for `target` at all.
pub fn check_rules(profile: &Profile, target: &Target) -> Result<(), Refusal> {
    if !profile.target_ports.permits(target.port()) {
        return Err(Refusal::TargetPort);
    }
    let permitted = match target.host() {
        Host::Domain(name) => profile.sites.permits_domain(name),
        Host::Ipv4(ip) => profile.sites.permits_address(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => profile.sites.permits_address(IpAddr::V6(*ip)),
    };
    if !permitted {
        return Err(Refusal::Site);
    }
    Ok(())
}

/// The addresses `target` may be reached at through the profile's port, after the rules,
/// the port's readiness, name resolution and the guard.
pub async fn destinations(
    client: &Client,
    target: &Target,
) -> Result<(Link, Vec<SocketAddr>), Refusal> {
    check_rules(&client.profile, target)?;
    let link = wait_ready(&client.plane, &client.profile).await?;
    let addresses = match target.host() {
        // RFC 6761: localhost names are the host itself, whatever a resolver says; the guard
        // decides on the loopback address.
        Host::Domain(name) if is_localhost(name) => vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
        Host::Domain(name) => {
            let server = match client.plane.config.dns_server {
                Some(server) => server,
                None => SocketAddr::from((link.gateway.ok_or(Refusal::EgressDown)?, 53)),
            };
            let path = DnsPath {
                ifname: &client.profile.egress.ifname,
                server,
                timeout: client.plane.config.dns_timeout,
            };
            let epoch = LinkEpoch {
                address: link.ipv4,
                rotations: client.plane.ports.rotations(client.profile.egress.port_id),
            };
            client
                .plane
                .names
                .resolve(name, &path, epoch)
                .await
                .map_err(Refusal::Resolve)?
        }
        other => other.ip().into_iter().collect(),
    };
    let host = client.plane.host.borrow().clone();
    let mut first_refusal: Option<Forbidden> = None;
    let allowed: Vec<SocketAddr> = addresses
        .into_iter()
        .filter(|ip| {
            match client
                .plane
                .guard
                .check(*ip, link.gateway, client.profile.is_local, &host)
            {
                Ok(()) => true,
                Err(reason) => {
                    first_refusal.get_or_insert(reason);
                    false
                }
            }
        })
        .map(|ip| SocketAddr::new(ip, target.port()))
        .collect();
    match (allowed.is_empty(), first_refusal) {
        (true, Some(reason)) => Err(Refusal::Forbidden(reason)),
        (true, None) => Err(Refusal::Forbidden(Forbidden::Special)),
        (false, _) => Ok((link, allowed)),
    }
}

fn is_localhost(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// Connects to `target` through the profile's port.
pub async fn open(client: &Client, target: &Target) -> Result<TcpStream, Refusal> {
    let (_, addresses) = destinations(client, target).await?;
    let mut last_error = None;
    for address in addresses {
        match connect_through(
            &client.profile.egress.ifname,
            address,
            client.plane.config.connect_timeout,
        )
        .await
        {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    Err(Refusal::Connect(last_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address to connect to")
    })))
}

/// Waits until the profile's port can carry a connection: active, its interface up with an
/// address, not rotating. Gives up after the plane's `egress_wait`.
async fn wait_ready(plane: &Plane, profile: &Profile) -> Result<Link, Refusal> {
    if !profile.egress.active {
        return Err(Refusal::PortInactive);
    }
    let deadline = Instant::now() + plane.config.egress_wait;
    loop {
        let link = plane.host.borrow().link(&profile.egress.ifname).cloned();
        if let Some(link) = link {
            if link.carries_traffic() && !plane.ports.is_rotating(profile.egress.port_id) {
                return Ok(link);
            }
        }
        if Instant::now() + READY_POLL > deadline {
            return Err(Refusal::EgressDown);
        }
        tokio::time::sleep(READY_POLL).await;
    }
}
