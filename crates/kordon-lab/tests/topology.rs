//! The namespace lab (needs root): through each modem's host interface the farm reaches the
//! modem's web API, and through its NAT the echo service, which sees the modem's public
//! address; a reconnect changes that address.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use kordon_lab::topology::{netns, Lab, LabSpec, ECHO_ADDR, ECHO_PORT};
use kordon_model::catalog::{ModemFamily, MODEM_MODELS};
use socket2::{Domain, Socket, Type};

mod support;
use support::{root_or_skip, FarmNs};

/// An HTTP/1.0 GET from namespace `ns`, bound to interface `dev`; the reply's body.
fn get_via(ns: &str, dev: &str, to: SocketAddr, path: &str, headers: &str) -> String {
    let (dev, path, headers) = (dev.to_string(), path.to_string(), headers.to_string());
    netns::run_in(ns, move || {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.bind_device(Some(dev.as_bytes()))?;
        socket.set_read_timeout(Some(Duration::from_secs(5)))?;
        socket.connect_timeout(&to.into(), Duration::from_secs(5))?;
        let mut stream: std::net::TcpStream = socket.into();
        write!(
            stream,
            "GET {path} HTTP/1.0\r\nHost: {}\r\n{headers}\r\n",
            to.ip()
        )?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply)?;
        Ok(reply
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
            .unwrap_or_default())
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modems_are_reachable_through_their_interfaces_and_nat() {
    if !root_or_skip() {
        return;
    }
    let name = format!("ta{}", std::process::id() % 100_000);
    let farm = FarmNs::new(format!("{name}-farm"));
    let mut spec = LabSpec::new(&name, 2);
    spec.models = vec![MODEM_MODELS[0], MODEM_MODELS[1]];
    spec.host_netns = Some(farm.0.clone());
    spec.reconnect_delay = Duration::from_millis(300);
    let lab = Lab::up(spec.clone()).await.unwrap();

    // Both modems on their factory subnets; the farm sends each interface's traffic to its
    // own modem with one routing table per interface.
    for m in lab.modems() {
        farm.route_via(m);
    }

    let echo = SocketAddr::from((ECHO_ADDR, ECHO_PORT));
    for m in lab.modems() {
        let st = m.emulator.state();
        let api = m.api_addr();
        match st.model.family {
            ModemFamily::HuaweiHilink => {
                assert_eq!(api, SocketAddr::from(([192, 168, 8, 1], 80)));
                let body = get_via(&farm.0, &m.host_if, api, "/api/net/current-plmn", "");
                assert!(body.contains(st.operator.full_name), "{body}");
            }
            ModemFamily::ZteGoform => {
                assert_eq!(api, SocketAddr::from(([192, 168, 0, 1], 80)));
                let path = "/goform/goform_get_cmd_process?multi_data=1&cmd=ppp_status,wan_ipaddr";
                let referer = "Referer: http://192.168.0.1/index.html\r\n";
                let body = get_via(&farm.0, &m.host_if, api, path, referer);
                assert!(body.contains("ppp_connected"), "{body}");
            }
        }
        let seen: Ipv4Addr = get_via(&farm.0, &m.host_if, echo, "/", "")
            .trim()
            .parse()
            .unwrap();
        assert_eq!(seen, st.wan_addr, "echo through {}", m.host_if);
    }

    // A reconnect moves the public address; the echo sees the new one.
    let m = &lab.modems()[1];
    let before = m.emulator.state().wan_addr;
    m.emulator.reconnect().await.unwrap();
    let after = m.emulator.state().wan_addr;
    assert_ne!(after, before);
    let seen: Ipv4Addr = get_via(&farm.0, &m.host_if, echo, "/", "")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(seen, after);

    // Unplugged: the host interface is gone; replugged: it is back and works.
    m.emulator.unplug().await.unwrap();
    let links = std::process::Command::new("ip")
        .args(["-n", &farm.0, "-o", "link", "show"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&links.stdout).contains(&m.host_if));
    m.emulator.replug().await.unwrap();
    farm.route_via(m);
    let seen: Ipv4Addr = get_via(&farm.0, &m.host_if, echo, "/", "")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(seen, m.emulator.state().wan_addr);

    let status = lab.status();
    assert_eq!(status.modems.len(), 2);
    assert_eq!(status.modems[0].model_code, "Huawei_h_150");
    lab.down().await.unwrap();

    // Nothing of the lab is left; building it again (idempotence) works, and dropping it
    // cleans up as well.
    let left = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let left = String::from_utf8_lossy(&left.stdout).to_string();
    assert!(!left.contains(&format!("{name}-m")), "{left}");
    assert!(!left.contains(&format!("{name}-inet")), "{left}");
    let again = Lab::up(spec.clone()).await.unwrap();
    drop(again);
    let left = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let left = String::from_utf8_lossy(&left.stdout).to_string();
    assert!(!left.contains(&format!("{name}-m")), "{left}");
}
