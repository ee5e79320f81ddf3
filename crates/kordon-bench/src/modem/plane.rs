//! kordon's modem plane (store, port directory, monitoring and rotation services) over ports
//! whose "interfaces" are loopback modems: the services are the production ones with the
//! production configuration, only [`LoopbackNetwork`] stands in for the host's interfaces.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use kordon_model::enums::{NetMode, ReconnectType};
use kordon_modem::service::book::StateBook;
use kordon_modem::service::drivers::DriverPool;
use kordon_modem::service::monitor::{self, PlaneContext};
use kordon_modem::service::network::{LinkFacts, PortNetwork, PortPath};
use kordon_modem::service::operator_name::CatalogIds;
use kordon_modem::service::rotation::Rotator;
use kordon_modem::service::snapshot::{PortDirectory, PortSettings};
use kordon_modem::service::ServiceConfig;
use kordon_modem::{DriverError, HttpConfig};
use kordon_store::ports::{Port, PortFields};
use kordon_store::{Scope, Store};
use reqwest::Url;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::emulators::Endpoint;

/// Interface names mapped to loopback modems; every interface is up.
struct LoopbackNetwork {
    ports: HashMap<String, (Endpoint, Url, Url)>,
}

impl PortNetwork for LoopbackNetwork {
    fn link(&self, ifname: &str) -> LinkFacts {
        match self.ports.get(ifname) {
            Some((endpoint, _, _)) => LinkFacts {
                up: true,
                ipv4: Some(endpoint.address),
                gateway: Some(endpoint.address),
            },
            None => LinkFacts::default(),
        }
    }

    fn path(&self, port: &PortSettings) -> Result<PortPath, DriverError> {
        let (_, modem_url, echo_url) = self
            .ports
            .get(&port.ifname)
            .ok_or_else(|| DriverError::Client(format!("no loopback modem {}", port.ifname)))?;
        Ok(PortPath {
            modem_url: modem_url.clone(),
            http: HttpConfig::default(),
            echo_urls: vec![echo_url.clone()],
        })
    }
}

pub struct Plane {
    pub store: Store,
    pub rotator: Rotator,
    /// Port ids, in endpoint order.
    pub ports: Vec<i64>,
    token: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Plane {
    /// A fresh store with one port per endpoint (monitored every `monitoring_interval` s,
    /// rotation by link, no `reconnect_min`), and the monitoring and rotation services running.
    pub async fn start(endpoints: &[Endpoint], monitoring_interval: i64) -> Result<Plane> {
        let dir = tempfile::tempdir()?;
        let store = Store::open_dir(dir.path()).await?;
        let mut network = LoopbackNetwork {
            ports: HashMap::new(),
        };
        let mut ports = Vec::with_capacity(endpoints.len());
        for (index, endpoint) in endpoints.iter().enumerate() {
            let ifname = format!("lo{index}");
            network.ports.insert(
                ifname.clone(),
                (
                    endpoint.clone(),
                    Url::parse(&endpoint.modem_url)?,
                    Url::parse(&endpoint.echo_url)?,
                ),
            );
            let fields = PortFields {
                name: format!("bench-{index}"),
                active: true,
                model_id: endpoint.model.id,
                net_mode: NetMode::Lte,
                monitoring_interval,
                is_osfp: false,
                osfp_id: None,
                ifname,
                mtu: 0,
                reconnect_type: ReconnectType::Link,
                reconnect_interval: 0,
                reconnect_min: 0,
                users: Some(Vec::new()),
            };
            ports.push(store.create_port(&fields).await?.id);
        }
        let config = ServiceConfig::default();
        let context = PlaneContext {
            directory: PortDirectory::start(store.clone()).await?,
            book: StateBook::new(store.clone()),
            drivers: DriverPool::new(Arc::new(network), config.echo_timeout),
            catalog: CatalogIds::new(store.clone()),
            config,
            routing: None,
        };
        let rotator = Rotator::new(context.clone());
        let token = CancellationToken::new();
        let tasks = vec![
            tokio::spawn(monitor::run(context, token.child_token())),
            tokio::spawn({
                let rotator = rotator.clone();
                let token = token.child_token();
                async move { rotator.run(token).await }
            }),
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        while !rotator.is_running() {
            if Instant::now() > deadline {
                bail!("the rotation service never started");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Plane {
            store,
            rotator,
            ports,
            token,
            tasks,
            _dir: dir,
        })
    }

    pub async fn port(&self, id: i64) -> Result<Port> {
        Ok(self.store.port(Scope::All, id).await?)
    }

    /// Waits until every port is online with a public address.
    pub async fn wait_online(&self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        for &id in &self.ports {
            loop {
                let port = self.port(id).await?;
                if port.conn_inet && port.external_ip.is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("port {id} never came online: {port:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Requests a rotation of `ids` at once; each port's time from the request until the
    /// rotation service finished it with a new public address.
    pub async fn rotate(&self, ids: &[i64], within: Duration) -> Result<Vec<Duration>> {
        let mut before = Vec::with_capacity(ids.len());
        for &id in ids {
            before.push(self.port(id).await?.external_ip);
        }
        let started = Instant::now();
        let answers = self
            .rotator
            .request(ids)
            .await
            .map_err(|_| anyhow::anyhow!("the rotation service is not running"))?;
        if let Some((id, refusal)) = answers.iter().find(|(_, verdict)| verdict.is_err()) {
            bail!("rotation of port {id} refused: {refusal:?}");
        }
        let mut took = vec![None; ids.len()];
        while took.iter().any(Option::is_none) {
            for (slot, &id) in took.iter_mut().zip(ids) {
                if slot.is_none() && !self.rotator.is_rotating(id) {
                    *slot = Some(started.elapsed());
                }
            }
            if started.elapsed() > within {
                bail!("rotations not done within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for (index, &id) in ids.iter().enumerate() {
            let port = self.port(id).await?;
            if port.external_ip.is_none() || port.external_ip == before[index] {
                bail!("port {id} kept its public address: {port:?}");
            }
        }
        took.into_iter()
            .map(|t| t.context("unfinished rotation"))
            .collect()
    }

    pub async fn stop(self) -> Result<()> {
        self.token.cancel();
        for task in self.tasks {
            task.await?;
        }
        self.store.close().await;
        Ok(())
    }
}
