//! The HiLink emulator against the real `huawei-lte-api` client and raw HTTP.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use kordon_lab::emulator::{
    spawn, EmulatedModem, EmulatorServer, Faults, LoopbackControl, ModemConfig,
};
use kordon_lab::operators::{WanPools, OPERATORS};
use kordon_model::catalog::MODEM_MODELS;

async fn hilink(model: usize) -> (EmulatedModem, EmulatorServer) {
    let config = ModemConfig::new(MODEM_MODELS[model], OPERATORS[0])
        .with_reconnect_delay(Duration::from_millis(200))
        .with_reboot_delay(Duration::from_millis(400));
    let modem = EmulatedModem::new(config, WanPools::new(), Arc::new(LoopbackControl)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = spawn(listener, modem.clone()).unwrap();
    (modem, server)
}

fn python_has_client() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import huawei_lte_api"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huawei_lte_api_client_drives_the_emulator() {
    if !python_has_client() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with huawei-lte-api is required in CI (pip install huawei-lte-api)"
        );
        eprintln!("skipped: python3 with huawei-lte-api not installed");
        return;
    }
    for model in [0, 3] {
        let (modem, server) = hilink(model).await;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hilink_client.py");
        let url = format!("http://{}/", server.local_addr());
        let run = tokio::process::Command::new("python3")
            .arg(script)
            .arg(&url)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("client finished in time")
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "client failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(modem.state().cycles >= 3);
        server.shutdown().await;
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).expect("open tag") + open.len();
    let end = text[start..].find(close).expect("close tag") + start;
    &text[start..end]
}

struct Session {
    cookie: String,
    token: String,
}

async fn ses_tok_info(http: &reqwest::Client, base: &str, cookie: Option<&str>) -> Session {
    let mut req = http.get(format!("{base}/api/webserver/SesTokInfo"));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    let body = req.send().await.unwrap().text().await.unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    Session {
        cookie: between(&body, "<SesInfo>", "</SesInfo>").to_string(),
        token: between(&body, "<TokInfo>", "</TokInfo>").to_string(),
    }
}

async fn post_reconnect(http: &reqwest::Client, base: &str, s: &Session) -> (String, String) {
    let reply = http
        .post(format!("{base}/api/net/reconnect"))
        .header("Cookie", &s.cookie)
        .header("__RequestVerificationToken", &s.token)
        .body("<?xml version=\"1.0\" encoding=\"UTF-8\"?><request><ReconnectAction>1</ReconnectAction></request>")
        .send()
        .await
        .unwrap();
    let next = reply
        .headers()
        .get("__RequestVerificationToken")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (reply.text().await.unwrap(), next)
}

#[tokio::test]
async fn tokens_are_single_use_and_expire_on_demand() {
    let (modem, server) = hilink(0).await;
    let base = format!("http://{}", server.local_addr());
    let http = reqwest::Client::new();

    let mut s = ses_tok_info(&http, &base, None).await;
    let (body, next) = post_reconnect(&http, &base, &s).await;
    assert!(body.contains("<response>OK</response>"), "{body}");
    // The used token is refused; the reply's next token works.
    let (body, _) = post_reconnect(&http, &base, &s).await;
    assert!(body.contains("<code>125002</code>"), "{body}");
    s.token = next;
    let (body, _) = post_reconnect(&http, &base, &s).await;
    assert!(body.contains("<response>OK</response>"), "{body}");

    // No session cookie: 125003.
    let fresh = ses_tok_info(&http, &base, None).await;
    let no_cookie = Session {
        cookie: String::new(),
        token: fresh.token,
    };
    let (body, _) = post_reconnect(&http, &base, &no_cookie).await;
    assert!(body.contains("<code>125003</code>"), "{body}");

    // Expired tokens: refused until a new SesTokInfo.
    let s = ses_tok_info(&http, &base, Some(&fresh.cookie)).await;
    modem.expire_tokens();
    let (body, _) = post_reconnect(&http, &base, &s).await;
    assert!(body.contains("<code>125002</code>"), "{body}");
    let s = ses_tok_info(&http, &base, Some(&fresh.cookie)).await;
    let (body, _) = post_reconnect(&http, &base, &s).await;
    assert!(body.contains("<response>OK</response>"), "{body}");

    // Unknown API: 100002.
    let body = http
        .get(format!("{base}/api/webserver/token"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("<code>100002</code>"), "{body}");
    server.shutdown().await;
}

async fn status(http: &reqwest::Client, base: &str) -> reqwest::Result<String> {
    http.get(format!("{base}/api/monitoring/status"))
        .send()
        .await?
        .text()
        .await
}

#[tokio::test]
async fn faults_same_ip_hang_unplug_and_reboot() {
    let (modem, server) = hilink(3).await;
    let base = format!("http://{}", server.local_addr());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let before = modem.state().wan_addr;
    modem.set_faults(Faults {
        same_ip: true,
        ..Faults::default()
    });
    modem.reconnect().await.unwrap();
    assert_eq!(modem.state().wan_addr, before);
    modem.set_faults(Faults::default());
    modem.reconnect().await.unwrap();
    assert_ne!(modem.state().wan_addr, before);

    modem.set_faults(Faults {
        api_hangs: true,
        ..Faults::default()
    });
    let hung = status(&http, &base).await.unwrap_err();
    assert!(hung.is_timeout(), "{hung}");
    modem.set_faults(Faults::default());
    assert!(status(&http, &base).await.unwrap().contains("901"));

    modem.unplug().await.unwrap();
    assert!(status(&http, &base).await.is_err());
    modem.replug().await.unwrap();
    assert!(status(&http, &base).await.unwrap().contains(">901<"));

    let s = ses_tok_info(&http, &base, None).await;
    let reply = http
        .post(format!("{base}/api/device/control"))
        .header("Cookie", &s.cookie)
        .header("__RequestVerificationToken", &s.token)
        .body("<request><Control>1</Control></request>")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(reply.contains("OK"), "{reply}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        status(&http, &base).await.is_err(),
        "rebooting modem answered"
    );
    let mut back = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(body) = status(&http, &base).await {
            back = body.contains(">901<");
            if back {
                break;
            }
        }
    }
    assert!(back, "modem did not come back from reboot");
    server.shutdown().await;
}
