//! The monitoring, rotation and timer services against emulated modems on loopback addresses:
//! each port's "interface" is a loopback address with its modem's web API and an echo service
//! that shows the modem's current public address (what the internet would see through it).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kordon_lab::emulator::{
    spawn, EmulatedModem, EmulatorServer, Faults, LoopbackControl, ModemConfig,
};
use kordon_lab::operators::{Operator, WanPools, OPERATORS};
use kordon_model::catalog::{ModemModel, MODEM_MODELS};
use kordon_model::enums::{NetMode, ReconnectType};
use kordon_modem::service::book::StateBook;
use kordon_modem::service::drivers::DriverPool;
use kordon_modem::service::monitor::{self, PlaneContext};
use kordon_modem::service::network::{LinkFacts, PortNetwork, PortPath};
use kordon_modem::service::operator_name::CatalogIds;
use kordon_modem::service::rotation::{NotRunning, Refusal, Rotator};
use kordon_modem::service::snapshot::{PortDirectory, PortSettings};
use kordon_modem::service::{scheduler, ServiceConfig};
use kordon_modem::{DriverError, HttpConfig};
use kordon_store::ports::{Port, PortFields};
use kordon_store::{Scope, Store};
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const RECONNECT_DELAY: Duration = Duration::from_millis(400);
const SETTLE: Duration = Duration::from_secs(20);

/// One emulated modem with its echo service, on `127.0.<net>.<host>`.
struct Modem {
    emulator: EmulatedModem,
    server: EmulatorServer,
    echo_url: Url,
    echo: tokio::task::JoinHandle<()>,
    address: Ipv4Addr,
    up: Arc<AtomicBool>,
}

/// Answers every request with the modem's public address while its session is up.
async fn echo_service(listener: TcpListener, modem: EmulatedModem) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let modem = modem.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let reply = match modem.state().wan_ip() {
                Some(ip) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ip}\n",
                    ip.to_string().len() + 1
                ),
                None => "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
            };
            let _ = stream.write_all(reply.as_bytes()).await;
        });
    }
}

impl Modem {
    async fn start(
        model: ModemModel,
        operator: Operator,
        address: Ipv4Addr,
        pools: &WanPools,
    ) -> Modem {
        let config = ModemConfig::new(model, operator)
            .with_reconnect_delay(RECONNECT_DELAY)
            .with_reboot_delay(Duration::from_millis(600));
        let emulator = EmulatedModem::new(config, pools.clone(), Arc::new(LoopbackControl))
            .expect("pool has addresses");
        let listener = TcpListener::bind((address, 0))
            .await
            .expect("bind emulator");
        let server = spawn(listener, emulator.clone()).expect("emulator");
        let echo_listener = TcpListener::bind((address, 0)).await.expect("bind echo");
        let echo_url = Url::parse(&format!(
            "http://{}/",
            echo_listener.local_addr().expect("addr")
        ))
        .expect("url");
        let echo = tokio::spawn(echo_service(echo_listener, emulator.clone()));
        Modem {
            emulator,
            server,
            echo_url,
            echo,
            address,
            up: Arc::new(AtomicBool::new(true)),
        }
    }

    fn wan(&self) -> Option<IpAddr> {
        self.emulator.state().wan_ip().map(IpAddr::V4)
    }
}

/// A port's loopback "interface": modem URL, echo URL, address, and whether it is up.
type LoopbackPort = (Url, Url, Ipv4Addr, Arc<AtomicBool>);

/// Port interfaces are names mapped to loopback modems.
#[derive(Default)]
struct LoopbackNetwork {
    ports: Mutex<HashMap<String, LoopbackPort>>,
}

impl PortNetwork for LoopbackNetwork {
    fn link(&self, ifname: &str) -> LinkFacts {
        let ports = self.ports.lock().unwrap();
        match ports.get(ifname) {
            Some((_, _, address, up)) if up.load(Ordering::SeqCst) => LinkFacts {
                up: true,
                ipv4: Some(*address),
                gateway: Some(*address),
            },
            _ => LinkFacts::default(),
        }
    }

    fn path(&self, port: &PortSettings) -> Result<PortPath, DriverError> {
        let ports = self.ports.lock().unwrap();
        let (modem_url, echo_url, _, _) = ports
            .get(&port.ifname)
            .ok_or_else(|| DriverError::Client(format!("no loopback modem {}", port.ifname)))?;
        Ok(PortPath {
            modem_url: modem_url.clone(),
            http: HttpConfig {
                connect_timeout: Duration::from_millis(500),
                request_timeout: Duration::from_secs(1),
                ..HttpConfig::default()
            },
            echo_urls: vec![echo_url.clone()],
        })
    }
}

struct Farm {
    store: Store,
    _dir: tempfile::TempDir,
    modems: Vec<Modem>,
    ports: Vec<i64>,
    rotator: Rotator,
    context: PlaneContext,
    token: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn fast_config() -> ServiceConfig {
    ServiceConfig {
        status_timeout: Duration::from_secs(2),
        echo_timeout: Duration::from_secs(1),
        poll_interval: Duration::from_millis(50),
        step_timeout: Duration::from_secs(3),
        rotation_timeout: Duration::from_secs(20),
        overdue_spacing: Duration::from_secs(1),
    }
}

fn fields(index: usize, model: ModemModel, ifname: &str) -> PortFields {
    PortFields {
        name: format!("port-{index}"),
        active: true,
        model_id: model.id,
        net_mode: NetMode::Lte,
        monitoring_interval: 1,
        is_osfp: false,
        osfp_id: None,
        ifname: ifname.to_owned(),
        mtu: 0,
        reconnect_type: ReconnectType::Link,
        reconnect_interval: 0,
        reconnect_min: 0,
        users: Some(Vec::new()),
    }
}

impl Farm {
    /// `modems` (model, operator) on `127.<net>.0.<i+1>`, a port each, services running.
    async fn start(net: u8, modems: &[(ModemModel, Operator)], config: ServiceConfig) -> Farm {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_dir(dir.path()).await.expect("store");
        let pools = WanPools::new();
        let network = Arc::new(LoopbackNetwork::default());
        let mut started = Vec::new();
        let mut ports = Vec::new();
        for (index, (model, operator)) in modems.iter().enumerate() {
            let address = Ipv4Addr::new(127, net, 0, index as u8 + 1);
            let modem = Modem::start(*model, *operator, address, &pools).await;
            let ifname = format!("lb{net}x{index}");
            let modem_url = Url::parse(&format!("http://{}/", modem.server.local_addr())).unwrap();
            network.ports.lock().unwrap().insert(
                ifname.clone(),
                (modem_url, modem.echo_url.clone(), address, modem.up.clone()),
            );
            let port = store
                .create_port(&fields(index, *model, &ifname))
                .await
                .expect("port");
            ports.push(port.id);
            started.push(modem);
        }
        let directory = PortDirectory::start(store.clone())
            .await
            .expect("directory");
        let context = PlaneContext {
            directory,
            book: StateBook::new(store.clone()),
            drivers: DriverPool::new(network, config.echo_timeout),
            catalog: CatalogIds::new(store.clone()),
            config,
            routing: None,
        };
        let rotator = Rotator::new(context.clone());
        let token = CancellationToken::new();
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(monitor::run(
            context.clone(),
            token.child_token(),
        )));
        let running = rotator.clone();
        let child = token.child_token();
        tasks.push(tokio::spawn(async move { running.run(child).await }));
        let farm = Farm {
            store,
            _dir: dir,
            modems: started,
            ports,
            rotator,
            context,
            token,
            tasks,
        };
        // The rotation service takes requests once its task has begun.
        let deadline = Instant::now() + SETTLE;
        while !farm.rotator.is_running() {
            assert!(Instant::now() < deadline, "rotation service never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        farm
    }

    async fn port(&self, index: usize) -> Port {
        self.store
            .port(Scope::All, self.ports[index])
            .await
            .expect("port")
    }

    async fn wait_port(&self, index: usize, what: &str, done: impl Fn(&Port) -> bool) -> Port {
        let deadline = Instant::now() + SETTLE;
        loop {
            let port = self.port(index).await;
            if done(&port) {
                return port;
            }
            assert!(
                Instant::now() < deadline,
                "port {index} never reached: {what}: {port:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn history(&self, index: usize) -> Vec<String> {
        sqlx::query_scalar("SELECT oip FROM port_ips WHERE port_id = ? ORDER BY id")
            .bind(self.ports[index])
            .fetch_all(self.store.pool())
            .await
            .expect("history")
    }

    async fn rotate_and_wait(&self, index: usize) -> Port {
        let before = self.port(index).await.reconnect_end;
        let answers = self
            .rotator
            .request(&[self.ports[index]])
            .await
            .expect("running");
        assert_eq!(answers, vec![(self.ports[index], Ok(()))]);
        self.wait_port(index, "rotation end", |port| {
            !port.reconnecting && port.reconnect_end.is_some() && port.reconnect_end != before
        })
        .await
    }

    async fn stop(self) {
        self.token.cancel();
        for task in self.tasks {
            task.await.expect("service task");
        }
        for modem in self.modems {
            modem.echo.abort();
            modem.server.shutdown().await;
        }
        self.store.close().await;
    }
}

fn model(code: &str) -> ModemModel {
    *MODEM_MODELS
        .iter()
        .find(|m| m.code.contains(code))
        .expect("model")
}

fn huawei() -> ModemModel {
    MODEM_MODELS[0]
}

fn zte() -> ModemModel {
    *MODEM_MODELS
        .iter()
        .find(|m| m.family == kordon_model::catalog::ModemFamily::ZteGoform)
        .expect("a ZTE model")
}

#[tokio::test]
async fn monitoring_fills_every_field_and_one_operator_spans_both_firmwares() {
    let farm = Farm::start(
        61,
        &[(huawei(), OPERATORS[0]), (zte(), OPERATORS[0])],
        fast_config(),
    )
    .await;
    for index in 0..2 {
        let wan = farm.modems[index].wan().expect("connected").to_string();
        let port = farm
            .wait_port(index, "monitored", |port| {
                port.conn_inet && port.external_ip.as_deref() == Some(wan.as_str())
            })
            .await;
        assert!(port.conn_dev && port.conn_net, "{port:?}");
        assert_eq!(
            port.ip.as_deref(),
            Some(farm.modems[index].address.to_string().as_str())
        );
        assert!(port.gateway.is_some());
        assert!(port.signal.is_some_and(|bars| (0..=5).contains(&bars)));
        assert!(
            port.rsrp.as_deref().is_some_and(|v| v.ends_with("dBm")),
            "{port:?}"
        );
        assert!(port.rsrq.is_some() && port.rssi.is_some() && port.sinr.is_some());
        assert!(port.network_type.is_some(), "{port:?}");
    }
    let huawei_port = farm.port(0).await;
    let zte_port = farm.port(1).await;
    // HiLink says "MegaFon RUS", goform "MegaFon": one operator, named as first seen.
    assert!(huawei_port.operator_id.is_some());
    assert_eq!(huawei_port.operator_id, zte_port.operator_id);
    let megafon: Vec<_> = farm
        .store
        .operators()
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.name.to_lowercase().starts_with("megafon"))
        .collect();
    assert_eq!(megafon.len(), 1, "{megafon:?}");
    farm.stop().await;
}

#[tokio::test]
async fn a_vanished_interface_shows_conn_dev_false_and_recovers() {
    let farm = Farm::start(62, &[(model("320"), OPERATORS[1])], fast_config()).await;
    farm.wait_port(0, "monitored", |port| port.conn_inet).await;
    farm.modems[0].up.store(false, Ordering::SeqCst);
    let port = farm.wait_port(0, "unplugged", |port| !port.conn_dev).await;
    assert!(!port.conn_net && !port.conn_inet && port.ip.is_none());
    farm.modems[0].up.store(true, Ordering::SeqCst);
    farm.wait_port(0, "replugged", |port| port.conn_dev && port.conn_inet)
        .await;
    farm.stop().await;
}

#[tokio::test]
async fn a_hung_modem_api_reads_as_no_network_and_an_inactive_port_is_left_alone() {
    let mut config = fast_config();
    config.status_timeout = Duration::from_millis(700);
    let farm = Farm::start(
        63,
        &[(huawei(), OPERATORS[2]), (zte(), OPERATORS[1])],
        config,
    )
    .await;
    farm.wait_port(0, "monitored", |port| port.conn_inet).await;
    farm.wait_port(1, "monitored", |port| port.conn_inet).await;
    farm.modems[0].emulator.set_faults(Faults {
        api_hangs: true,
        ..Faults::default()
    });
    let port = farm
        .wait_port(0, "hung API noticed", |port| !port.conn_net)
        .await;
    assert!(port.conn_dev, "the interface is still there");
    farm.modems[0].emulator.set_faults(Faults::default());
    farm.wait_port(0, "API back", |port| port.conn_net).await;

    // Deactivated: no more readings, and no rotations.
    farm.store
        .set_ports_active(Scope::All, &[farm.ports[1]], false)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    farm.modems[1]
        .emulator
        .update(|state| state.signal.bars = 1);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_ne!(
        farm.port(1).await.signal,
        Some(1),
        "an inactive port is not monitored"
    );
    let answers = farm
        .rotator
        .request(&[farm.ports[1], 999_999])
        .await
        .unwrap();
    assert_eq!(
        answers,
        vec![
            (farm.ports[1], Err(Refusal::Inactive)),
            (999_999, Err(Refusal::Unknown))
        ]
    );
    farm.store
        .set_ports_active(Scope::All, &[farm.ports[1]], true)
        .await
        .unwrap();
    farm.wait_port(1, "monitored again", |port| port.signal == Some(1))
        .await;
    farm.stop().await;
}

#[tokio::test]
async fn rotation_changes_the_public_ip_records_it_and_honours_reconnect_min() {
    let farm = Farm::start(64, &[(zte(), OPERATORS[0])], fast_config()).await;
    let first = farm.wait_port(0, "monitored", |port| port.conn_inet).await;
    let old_ip = first.external_ip.clone().expect("external ip");

    let id = farm.ports[0];
    let started = Instant::now();
    assert_eq!(
        farm.rotator.request(&[id]).await.unwrap(),
        vec![(id, Ok(()))]
    );
    assert_eq!(
        farm.rotator.request(&[id]).await.unwrap(),
        vec![(id, Err(Refusal::AlreadyRotating))],
        "one rotation at a time per port"
    );
    let rotating = farm.wait_port(0, "marked", |port| port.reconnecting).await;
    assert!(rotating.reconnect_start.is_some());
    let done = farm
        .wait_port(0, "rotated", |port| {
            !port.reconnecting && port.reconnect_end.is_some()
        })
        .await;
    let took = started.elapsed();
    let new_ip = done.external_ip.clone().expect("new ip");
    assert_ne!(new_ip, old_ip);
    assert_eq!(
        Some(new_ip.clone()),
        farm.modems[0].wan().map(|ip| ip.to_string())
    );
    assert!(
        took < RECONNECT_DELAY + Duration::from_secs(1),
        "rotation took {took:?}"
    );
    assert_eq!(farm.history(0).await, vec![new_ip.clone()]);
    let pool: i64 = sqlx::query_scalar("SELECT count(*) FROM operator_ips WHERE ip = ?")
        .bind(&new_ip)
        .fetch_one(farm.store.pool())
        .await
        .unwrap();
    assert_eq!(pool, 1, "the new address joined the operator's pool");

    // reconnect_min: a second rotation right after the first is refused with the wait.
    let mut edited = fields(0, zte(), &farm.port(0).await.ifname);
    edited.reconnect_min = 60;
    farm.store
        .update_port(Scope::All, id, &edited)
        .await
        .unwrap();
    let deadline = Instant::now() + SETTLE;
    while farm.context.directory.port(id).map(|p| p.reconnect_min) != Some(60) {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answers = farm.rotator.request(&[id]).await.unwrap();
    assert!(
        matches!(answers[0].1, Err(Refusal::TooSoon { min: 60, wait, .. }) if wait > 55),
        "{answers:?}"
    );
    farm.stop().await;
}

#[tokio::test]
async fn the_same_ip_escalates_and_a_hopeless_modem_is_reported_failed() {
    let farm = Farm::start(
        65,
        &[(huawei(), OPERATORS[1]), (zte(), OPERATORS[2])],
        fast_config(),
    )
    .await;
    for index in 0..2 {
        farm.wait_port(index, "monitored", |port| port.conn_inet)
            .await;
    }
    // Modem 0 keeps its address through the redial only: the data switch brings a new one.
    let same_ip = Faults {
        same_ip: true,
        ..Faults::default()
    };
    farm.modems[0].emulator.set_faults(same_ip);
    let watcher = {
        let modem = farm.modems[0].emulator.clone();
        tokio::spawn(async move {
            let cycles = modem.state().cycles;
            while modem.state().cycles == cycles {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            modem.set_faults(Faults::default());
        })
    };
    let old = farm.port(0).await.external_ip.unwrap();
    let cycles_before = farm.modems[0].emulator.state().cycles;
    let port = farm.rotate_and_wait(0).await;
    watcher.await.unwrap();
    assert_ne!(port.external_ip.as_deref(), Some(old.as_str()));
    assert!(
        farm.modems[0].emulator.state().cycles >= cycles_before + 2,
        "escalated"
    );
    assert_eq!(farm.history(0).await.len(), 1);

    // Modem 1 never changes address: every step fails, the rotation ends and says so.
    farm.modems[1].emulator.set_faults(same_ip);
    let old = farm.port(1).await.external_ip.unwrap();
    let port = farm.rotate_and_wait(1).await;
    assert_eq!(port.external_ip.as_deref(), Some(old.as_str()));
    assert!(farm.history(1).await.is_empty(), "no new address recorded");
    assert!(
        farm.modems[1].emulator.state().cycles >= 4,
        "every step tried"
    );
    farm.stop().await;
}

#[tokio::test]
async fn eight_ports_rotate_in_parallel() {
    let modems: Vec<(ModemModel, Operator)> = (0..8)
        .map(|i| {
            (
                MODEM_MODELS[i % MODEM_MODELS.len()],
                OPERATORS[i % OPERATORS.len()],
            )
        })
        .collect();
    let farm = Farm::start(66, &modems, fast_config()).await;
    for index in 0..8 {
        farm.wait_port(index, "monitored", |port| port.conn_inet)
            .await;
    }
    let single = Instant::now();
    farm.rotate_and_wait(0).await;
    let single = single.elapsed();

    let before: Vec<Option<String>> = {
        let mut ips = Vec::new();
        for index in 0..8 {
            ips.push(farm.port(index).await.external_ip);
        }
        ips
    };
    let ends: Vec<Option<i64>> = {
        let mut ends = Vec::new();
        for index in 0..8 {
            ends.push(farm.port(index).await.reconnect_end);
        }
        ends
    };
    let all = Instant::now();
    let answers = farm.rotator.request(&farm.ports).await.unwrap();
    assert!(
        answers.iter().all(|(_, verdict)| verdict.is_ok()),
        "{answers:?}"
    );
    for index in 0..8 {
        let end = ends[index];
        let port = farm
            .wait_port(index, "rotated", |port| {
                !port.reconnecting && port.reconnect_end.is_some() && port.reconnect_end != end
                    || (!port.reconnecting && port.external_ip != before[index])
            })
            .await;
        assert_ne!(port.external_ip, before[index], "port {index}");
    }
    let all = all.elapsed();
    assert!(
        all.as_secs_f64() < single.as_secs_f64() * 1.5 + 0.5,
        "8 at once took {all:?}, one {single:?}"
    );
    farm.stop().await;
}

#[tokio::test]
async fn a_stopped_service_refuses_and_the_timer_rotates_by_itself() {
    let farm = Farm::start(67, &[(zte(), OPERATORS[1])], fast_config()).await;
    farm.wait_port(0, "monitored", |port| port.conn_inet).await;
    let id = farm.ports[0];
    let mut edited = fields(0, zte(), &farm.port(0).await.ifname);
    edited.reconnect_type = ReconnectType::Time;
    edited.reconnect_interval = 2;
    farm.store
        .update_port(Scope::All, id, &edited)
        .await
        .unwrap();
    let timer_token = farm.token.child_token();
    let timer = tokio::spawn(scheduler::run(farm.rotator.clone(), timer_token.clone()));
    let scheduled = farm
        .wait_port(0, "scheduled", |port| port.next_reconnect_at.is_some())
        .await;
    assert!(scheduled.next_reconnect_at.unwrap() > kordon_store::now() - 1);
    let old = scheduled.external_ip.clone();
    farm.wait_port(0, "rotated by the timer", |port| {
        !port.reconnecting && port.external_ip != old && port.reconnect_end.is_some()
    })
    .await;
    assert_eq!(farm.history(0).await.len(), 1);
    timer_token.cancel();
    timer.await.unwrap();

    // The rotation service stopped: requests are refused as a whole.
    farm.token.cancel();
    let deadline = Instant::now() + SETTLE;
    while farm.rotator.is_running() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(farm.rotator.request(&[id]).await, Err(NotRunning));
    farm.stop().await;
}
