//! The drivers against the lab's emulators of the firmwares' web APIs, on loopback: two
//! independent implementations of each protocol that must agree.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kordon_lab::emulator::{
    spawn, EmulatedModem, EmulatorServer, Faults, LoopbackControl, ModemConfig,
};
use kordon_lab::operators::{WanPools, OPERATORS};
use kordon_model::catalog::{ModemFamily, ModemModel, MODEM_MODELS};
use kordon_model::enums::NetMode;
use kordon_modem::driver::{driver_for_model_code, Driver, ModemDriver};
use kordon_modem::{DriverError, HttpConfig, ModemStatus};
use reqwest::Url;

/// Bound on waiting for a modem to reach a state (the emulators' delays are set far below).
const SETTLE: Duration = Duration::from_secs(10);

struct Bench {
    modem: EmulatedModem,
    server: Option<EmulatorServer>,
    driver: Driver,
}

impl Bench {
    /// An emulated `model` on `127.0.0.<host>` with short delays, and its driver.
    async fn start(model: ModemModel, host: u8, http: HttpConfig) -> Bench {
        let config = ModemConfig::new(model, OPERATORS[usize::from(host) % OPERATORS.len()])
            .with_reconnect_delay(Duration::from_millis(300))
            .with_reboot_delay(Duration::from_millis(500));
        let modem = EmulatedModem::new(config, WanPools::new(), Arc::new(LoopbackControl))
            .expect("a fresh pool has addresses");
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::new(127, 0, 0, host), 0))
            .await
            .expect("bind a loopback address");
        let server = spawn(listener, modem.clone()).expect("emulator starts");
        let base = Url::parse(&format!("http://{}/", server.local_addr())).expect("URL");
        let driver =
            driver_for_model_code(model.code, base, http.build().expect("client")).expect("model");
        Bench {
            modem,
            server: Some(server),
            driver,
        }
    }

    fn wan_ip(&self) -> Option<IpAddr> {
        self.modem.state().wan_ip().map(IpAddr::V4)
    }

    /// Polls the driver until `done` holds for a reading, within [`SETTLE`].
    async fn wait_for(&self, what: &str, done: impl Fn(&ModemStatus) -> bool) -> ModemStatus {
        let deadline = Instant::now() + SETTLE;
        loop {
            if let Ok(status) = self.driver.status().await {
                if done(&status) {
                    return status;
                }
            }
            assert!(Instant::now() < deadline, "modem never reached: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

fn models(family: ModemFamily) -> impl Iterator<Item = ModemModel> {
    MODEM_MODELS
        .into_iter()
        .filter(move |model| model.family == family)
}

fn fast_http() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(700),
        ..HttpConfig::default()
    }
}

/// "-11dB" → -11.0; ">=-51dBm" → -51.0.
fn figure(text: &str) -> f32 {
    text.trim_start_matches(">=")
        .trim_end_matches("dBm")
        .trim_end_matches("dB")
        .parse()
        .unwrap_or_else(|_| panic!("not a figure: {text}"))
}

fn assert_reading_matches(bench: &Bench, status: &ModemStatus) {
    let state = bench.modem.state();
    assert!(status.connected, "{status:?}");
    assert_eq!(status.signal_bars, state.signal.bars);
    assert_eq!(
        status.rsrp.as_deref().map(figure),
        Some(state.signal.rsrp as f32)
    );
    assert_eq!(status.rsrq.as_deref().map(figure), Some(state.signal.rsrq));
    assert_eq!(status.sinr.as_deref().map(figure), Some(state.signal.sinr));
    assert_eq!(
        status.rssi.as_deref().map(figure),
        Some(state.signal.rssi as f32)
    );
    assert!(status.rsrp.as_deref().is_some_and(|t| t.ends_with("dBm")));
    assert!(status.rsrq.as_deref().is_some_and(|t| t.ends_with("dB")));
    // HiLink's `current-plmn` has the full name; goform's `network_provider` is whatever
    // name the network broadcasts, full or short.
    let operator = status.operator.as_deref();
    match state.model.family {
        ModemFamily::HuaweiHilink => assert_eq!(operator, Some(state.operator.full_name)),
        ModemFamily::ZteGoform => assert!(
            operator == Some(state.operator.full_name)
                || operator == Some(state.operator.short_name),
            "{operator:?}"
        ),
    }
    assert_eq!(status.network_type.as_deref(), Some("LTE (4G)"));
    assert_eq!(status.wan_ip, bench.wan_ip());
    assert!(status.wan_ip.is_some());
}

#[tokio::test]
async fn every_model_reports_its_state() {
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 10 + index as u8, fast_http()).await;
        let status = bench.driver.status().await.expect("status");
        assert_reading_matches(&bench, &status);
        bench.stop().await;
    }
}

#[tokio::test]
async fn reconnect_brings_a_new_wan_address() {
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 20 + index as u8, fast_http()).await;
        let before = bench.wan_ip().expect("connected at start");
        bench.driver.reconnect().await.expect("reconnect accepted");
        let after = bench
            .wait_for("connected with a new address", |s| {
                s.connected && s.wan_ip.is_some() && s.wan_ip != Some(before)
            })
            .await;
        assert_eq!(after.wan_ip, bench.wan_ip(), "{}", model.code);
        assert!(bench.modem.state().cycles >= 1);
        bench.stop().await;
    }
}

#[tokio::test]
async fn data_switch_drops_and_restores_the_session() {
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 30 + index as u8, fast_http()).await;
        bench.driver.set_data(false).await.expect("data off");
        let off = bench
            .wait_for("disconnected", |s| !s.connected && s.wan_ip.is_none())
            .await;
        assert!(!off.connected);
        bench.driver.set_data(true).await.expect("data on");
        bench
            .wait_for("connected again", |s| s.connected && s.wan_ip.is_some())
            .await;
        bench.stop().await;
    }
}

#[tokio::test]
async fn net_mode_switches_between_lte_and_umts() {
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 40 + index as u8, fast_http()).await;
        bench
            .driver
            .set_net_mode(NetMode::Umts)
            .await
            .expect("umts");
        bench
            .wait_for("on UMTS", |s| {
                s.connected && s.network_type.as_deref() == Some("UMTS (3G)")
            })
            .await;
        bench.driver.set_net_mode(NetMode::Lte).await.expect("lte");
        bench
            .wait_for("on LTE", |s| {
                s.connected && s.network_type.as_deref() == Some("LTE (4G)")
            })
            .await;
        bench.stop().await;
    }
}

#[tokio::test]
async fn a_rebooted_modem_comes_back_with_a_new_address() {
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 50 + index as u8, fast_http()).await;
        let before = bench.wan_ip().expect("connected at start");
        bench.driver.reboot().await.expect("reboot accepted");
        // The firmware's session dies with the reboot; the driver must open a new one.
        bench
            .wait_for("back after the reboot", |s| {
                s.connected && s.wan_ip.is_some() && s.wan_ip != Some(before)
            })
            .await;
        bench
            .driver
            .set_data(true)
            .await
            .expect("writes work after reboot");
        bench.stop().await;
    }
}

#[tokio::test]
async fn a_hung_api_times_out_within_the_configured_bound() {
    let http = HttpConfig {
        connect_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(400),
        ..HttpConfig::default()
    };
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 60 + index as u8, http.clone()).await;
        bench
            .driver
            .status()
            .await
            .expect("answers before the fault");
        bench.modem.set_faults(Faults {
            api_hangs: true,
            ..Faults::default()
        });
        for operation in ["status", "reconnect"] {
            let started = Instant::now();
            let result = match operation {
                "status" => bench.driver.status().await.map(|_| ()),
                _ => bench.driver.reconnect().await,
            };
            let took = started.elapsed();
            assert!(
                matches!(result, Err(DriverError::Timeout { .. })),
                "{} {operation}: {result:?}",
                model.code
            );
            assert!(
                took < Duration::from_millis(900),
                "{} {operation} took {took:?}",
                model.code
            );
        }
        bench.modem.set_faults(Faults::default());
        bench
            .driver
            .status()
            .await
            .expect("answers after the fault");
        bench.stop().await;
    }
}

#[tokio::test]
async fn expired_hilink_tokens_are_renewed_once() {
    for (index, model) in models(ModemFamily::HuaweiHilink).enumerate() {
        let bench = Bench::start(model, 70 + index as u8, fast_http()).await;
        // A write opens a session and leaves the token its reply brought.
        bench.driver.set_data(true).await.expect("first write");
        let Driver::Huawei(hilink) = &bench.driver else {
            panic!("{} is a HiLink modem", model.code);
        };
        let sessions = hilink.sessions_opened().await;
        let epoch = bench.modem.token_epoch();
        bench.modem.expire_tokens();
        bench
            .driver
            .set_data(true)
            .await
            .expect("write with an expired token recovers");
        assert_eq!(
            hilink.sessions_opened().await,
            sessions + 1,
            "recovered by exactly one new session"
        );
        bench.modem.expire_tokens();
        bench
            .driver
            .status()
            .await
            .expect("read after expiry recovers");
        assert!(bench.modem.token_epoch() > epoch);
        // Many writes in a row: each consumes the token the previous reply brought.
        for _ in 0..5 {
            bench
                .driver
                .set_data(true)
                .await
                .expect("consecutive write");
        }
        bench.stop().await;
    }
}

#[tokio::test]
async fn concurrent_reads_and_writes_share_one_session() {
    let bench = Bench::start(MODEM_MODELS[0], 80, fast_http()).await;
    let driver = &bench.driver;
    let (a, b, c, d, mode, data) = tokio::join!(
        driver.status(),
        driver.status(),
        driver.status(),
        driver.status(),
        driver.set_net_mode(NetMode::Lte),
        driver.set_data(true),
    );
    for reading in [a, b, c, d] {
        reading.expect("read alongside writes");
    }
    mode.expect("write alongside reads");
    data.expect("second write alongside the first");
    let Driver::Huawei(hilink) = driver else {
        panic!("model 1 is a HiLink modem");
    };
    assert_eq!(
        hilink.sessions_opened().await,
        1,
        "one session for all of them"
    );
    bench.stop().await;
}

#[tokio::test]
async fn an_unplugged_modem_fails_fast_and_recovers_when_replugged() {
    for (index, model) in MODEM_MODELS.into_iter().enumerate() {
        let bench = Bench::start(model, 90 + index as u8, fast_http()).await;
        bench.driver.status().await.expect("plugged");
        bench.modem.unplug().await.expect("unplug");
        let started = Instant::now();
        let result = bench.driver.status().await;
        assert!(result.is_err(), "{}: {result:?}", model.code);
        assert!(started.elapsed() < Duration::from_millis(1500));
        bench.modem.replug().await.expect("replug");
        bench
            .wait_for("connected after replug", |s| {
                s.connected && s.wan_ip.is_some()
            })
            .await;
        bench.driver.reconnect().await.expect("writes after replug");
        bench.stop().await;
    }
}

#[tokio::test]
async fn a_stopped_api_is_unreachable() {
    let bench = Bench::start(MODEM_MODELS[1], 100, fast_http()).await;
    let Bench {
        modem: _modem,
        mut server,
        driver,
    } = bench;
    if let Some(server) = server.take() {
        server.shutdown().await;
    }
    let result = driver.status().await;
    assert!(
        matches!(result, Err(DriverError::Unreachable { .. })),
        "{result:?}"
    );
}

/// Binding to an interface (`SO_BINDTODEVICE`) needs root.
fn running_as_root() -> bool {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(str::to_owned))
        });
    uid.as_deref() == Some("0")
}

#[tokio::test]
async fn a_client_bound_to_an_interface_reaches_the_modem_through_it() {
    if !running_as_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root, and CI=true"
        );
        eprintln!("skipped: needs root");
        return;
    }
    let bound = HttpConfig {
        interface: Some("lo".to_owned()),
        local_address: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))),
        ..fast_http()
    };
    let bench = Bench::start(MODEM_MODELS[0], 110, bound).await;
    let status = bench.driver.status().await.expect("status through lo");
    assert_reading_matches(&bench, &status);
    bench.stop().await;

    // Bound to an interface that does not exist, the modem cannot be reached.
    let missing = HttpConfig {
        interface: Some("kmodem-none0".to_owned()),
        ..fast_http()
    };
    let bench = Bench::start(MODEM_MODELS[1], 111, missing).await;
    let result = bench.driver.status().await;
    assert!(
        matches!(result, Err(DriverError::Unreachable { .. })),
        "{result:?}"
    );
    bench.stop().await;
}
