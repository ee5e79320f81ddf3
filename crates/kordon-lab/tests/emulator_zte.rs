//! The goform emulator over HTTP, its Referer check included.

use std::sync::Arc;
use std::time::Duration;

use kordon_lab::emulator::{spawn, EmulatedModem, EmulatorServer, LoopbackControl, ModemConfig};
use kordon_lab::operators::{WanPools, OPERATORS};
use kordon_model::catalog::MODEM_MODELS;
use serde_json::Value;

async fn goform(model: usize) -> (EmulatedModem, EmulatorServer, String) {
    let config = ModemConfig::new(MODEM_MODELS[model], OPERATORS[1])
        .with_reconnect_delay(Duration::from_millis(200));
    let modem = EmulatedModem::new(config, WanPools::new(), Arc::new(LoopbackControl)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = spawn(listener, modem.clone()).unwrap();
    let base = format!("http://{}", server.local_addr());
    (modem, server, base)
}

const KEYS: &str = "signalbar,network_provider,network_type,ppp_status,wan_ipaddr,lte_rsrp,lte_rsrq,lte_rssi,lte_snr,net_select,no_such_key";

async fn get(http: &reqwest::Client, base: &str, referer: &str) -> String {
    http.get(format!(
        "{base}/goform/goform_get_cmd_process?isTest=false&multi_data=1&cmd={KEYS}&_=1"
    ))
    .header("Referer", referer)
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap()
}

async fn set(http: &reqwest::Client, base: &str, referer: &str, form: &str) -> Value {
    let text = http
        .post(format!("{base}/goform/goform_set_cmd_process"))
        .header("Referer", referer)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn wait_ppp(http: &reqwest::Client, base: &str, referer: &str, want: &str) -> Value {
    for _ in 0..100 {
        let v: Value = serde_json::from_str(&get(http, base, referer).await).unwrap();
        if v["ppp_status"] == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("ppp_status never became {want}");
}

#[tokio::test]
async fn goform_reads_sets_and_checks_referer() {
    for model in [1, 2, 4] {
        let (modem, server, base) = goform(model).await;
        let http = reqwest::Client::new();
        let referer = format!("{base}/index.html");

        // Foreign or missing Referer: the firmware's refusal.
        assert_eq!(
            get(&http, &base, "http://evil.example/index.html").await,
            ""
        );
        let refused = set(
            &http,
            &base,
            "http://evil.example/",
            "isTest=false&goformId=DISCONNECT_NETWORK",
        )
        .await;
        assert_eq!(refused["result"], "failure");
        assert!(modem.state().data_switch);

        let v: Value = serde_json::from_str(&get(&http, &base, &referer).await).unwrap();
        assert_eq!(v["signalbar"], "4");
        assert_eq!(v["network_provider"], "MTS");
        assert_eq!(v["network_type"], "LTE");
        assert_eq!(v["ppp_status"], "ppp_connected");
        assert_eq!(v["lte_rsrp"], "-93");
        assert_eq!(v["net_select"], "NETWORK_auto");
        assert_eq!(v["no_such_key"], "");
        let first_ip = v["wan_ipaddr"].as_str().unwrap().to_string();
        assert!(OPERATORS[1]
            .pool
            .contains(&first_ip.parse::<std::net::Ipv4Addr>().unwrap()));

        let form = "isTest=false&notCallback=true&goformId=DISCONNECT_NETWORK";
        assert_eq!(set(&http, &base, &referer, form).await["result"], "success");
        let v = wait_ppp(&http, &base, &referer, "ppp_disconnected").await;
        assert_eq!(v["wan_ipaddr"], "");
        let form = "isTest=false&notCallback=true&goformId=CONNECT_NETWORK";
        assert_eq!(set(&http, &base, &referer, form).await["result"], "success");
        let v = wait_ppp(&http, &base, &referer, "ppp_connected").await;
        assert_ne!(v["wan_ipaddr"], first_ip.as_str());

        let form = "isTest=false&goformId=SET_BEARER_PREFERENCE&BearerPreference=Only_WCDMA";
        assert_eq!(set(&http, &base, &referer, form).await["result"], "success");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let v = wait_ppp(&http, &base, &referer, "ppp_connected").await;
        assert_eq!(v["net_select"], "Only_WCDMA");
        assert_eq!(v["network_type"], "WCDMA");

        let bad = "isTest=false&goformId=SET_BEARER_PREFERENCE&BearerPreference=Only_5G";
        assert_eq!(set(&http, &base, &referer, bad).await["result"], "failure");
        let unknown = "isTest=false&goformId=NO_SUCH_THING";
        assert_eq!(
            set(&http, &base, &referer, unknown).await["result"],
            "failure"
        );

        let single: Value = serde_json::from_str(
            &http
                .get(format!(
                    "{base}/goform/goform_get_cmd_process?cmd=ppp_status"
                ))
                .header("Referer", &referer)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(single["ppp_status"], "ppp_connected");

        let form = "isTest=false&goformId=REBOOT_DEVICE";
        assert_eq!(set(&http, &base, &referer, form).await["result"], "success");
        server.shutdown().await;
    }
}
