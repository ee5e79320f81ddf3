//! One emulated modem: its state, its environment, and the data-session cycles (reconnect,
//! data switch, network mode change, reboot, replug) the firmwares run in the background
//! after answering the request that asked for them.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kordon_model::catalog::ModemModel;

use super::control::{ControlError, ModemControl};
use super::state::{Connection, Faults, Lan, ModemState, NetMode, Signal};
use crate::operators::{Operator, PoolExhausted, WanPools};

/// What the lab sets up a modem with.
#[derive(Debug, Clone)]
pub struct ModemConfig {
    pub model: ModemModel,
    pub operator: Operator,
    pub lan: Lan,
    pub signal: Signal,
    pub net_mode: NetMode,
    pub reconnect_delay: Duration,
    pub reboot_delay: Duration,
}

impl ModemConfig {
    /// Factory settings of `model` on `operator`: factory LAN, LTE preferred, 2 s reconnects,
    /// 4 s reboots.
    pub fn new(model: ModemModel, operator: Operator) -> Self {
        ModemConfig {
            model,
            operator,
            lan: Lan::factory(model.family),
            signal: Signal::default(),
            net_mode: NetMode::Auto,
            reconnect_delay: Duration::from_secs(2),
            reboot_delay: Duration::from_secs(4),
        }
    }

    pub fn with_lan(mut self, lan: Lan) -> Self {
        self.lan = lan;
        self
    }

    pub fn with_reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    pub fn with_reboot_delay(mut self, delay: Duration) -> Self {
        self.reboot_delay = delay;
        self
    }
}

/// A failure of an emulated modem's own machinery (not of a request to it).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error(transparent)]
    Pool(#[from] PoolExhausted),
    #[error("changing the modem's environment failed: {0}")]
    Control(#[from] ControlError),
}

/// A handle on one emulated modem; clones share it.
#[derive(Clone)]
pub struct EmulatedModem {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<ModemState>,
    /// Bumped to invalidate every HiLink token issued before (token expiry, reboot).
    token_epoch: Mutex<u64>,
    control: Arc<dyn ModemControl>,
    pools: WanPools,
    /// One data-session cycle at a time, as on the real firmware.
    cycle: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for EmulatedModem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatedModem")
            .field("state", &*self.lock())
            .finish()
    }
}

impl EmulatedModem {
    /// A connected modem with an address leased from its operator's pool.
    pub fn new(
        config: ModemConfig,
        pools: WanPools,
        control: Arc<dyn ModemControl>,
    ) -> Result<Self, PoolExhausted> {
        let wan_addr = pools.lease(&config.operator)?;
        let state = ModemState {
            model: config.model,
            operator: config.operator,
            signal: config.signal,
            net_mode: config.net_mode,
            connection: Connection::Connected,
            data_switch: true,
            wan_addr,
            lan: config.lan,
            faults: Faults::default(),
            plugged: true,
            rebooting: false,
            reconnect_delay: config.reconnect_delay,
            reboot_delay: config.reboot_delay,
            cycles: 0,
        };
        Ok(EmulatedModem {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                token_epoch: Mutex::new(0),
                control,
                pools,
                cycle: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// A new socket on the modem's side of the data link (see [`ModemControl::data_socket`]).
    /// Blocking: call it off the runtime.
    pub fn data_socket(&self, kind: socket2::Type) -> std::io::Result<socket2::Socket> {
        self.inner.control.data_socket(kind)
    }

    /// A snapshot of the state.
    pub fn state(&self) -> ModemState {
        self.lock().clone()
    }

    /// Changes the state directly (signal figures, delays, …); the web API shows it at once.
    pub fn update(&self, change: impl FnOnce(&mut ModemState)) {
        change(&mut self.lock());
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Invalidates every HiLink token issued so far: each is refused with 125002 until the
    /// client fetches a new one (`SesTokInfo` or the home page).
    pub fn expire_tokens(&self) {
        *self.epoch_lock() += 1;
    }

    /// The current token generation (tokens of an older one are refused).
    pub fn token_epoch(&self) -> u64 {
        *self.epoch_lock()
    }

    /// Drops and re-establishes the data session; returns when it is up again. Does nothing
    /// while mobile data is switched off.
    pub async fn reconnect(&self) -> Result<(), EmulatorError> {
        let _cycle = self.inner.cycle.lock().await;
        if !self.lock().data_switch {
            return Ok(());
        }
        self.cycle_session().await
    }

    /// Switches mobile data; switching it on establishes a session with a new address.
    pub async fn set_data_switch(&self, on: bool) -> Result<(), EmulatorError> {
        let _cycle = self.inner.cycle.lock().await;
        let was_on = std::mem::replace(&mut self.lock().data_switch, on);
        match (was_on, on) {
            (true, false) => {
                self.lock().connection = Connection::Disconnected;
                self.inner.control.set_data_link(false).await?;
                Ok(())
            }
            (false, true) => self.cycle_session().await,
            _ => Ok(()),
        }
    }

    /// Changes the preferred network; the modem re-registers, which drops the session.
    pub async fn set_net_mode(&self, mode: NetMode) -> Result<(), EmulatorError> {
        let _cycle = self.inner.cycle.lock().await;
        let changed = {
            let mut state = self.lock();
            std::mem::replace(&mut state.net_mode, mode) != mode && state.data_switch
        };
        if changed {
            self.cycle_session().await?;
        }
        Ok(())
    }

    /// Reboots the firmware: the web API is gone for the reboot delay, tokens die, the data
    /// session comes back with a new address.
    pub async fn reboot(&self) -> Result<(), EmulatorError> {
        let _cycle = self.inner.cycle.lock().await;
        let delay = {
            let mut state = self.lock();
            state.rebooting = true;
            state.connection = Connection::Disconnected;
            state.reboot_delay
        };
        self.expire_tokens();
        let down = self.inner.control.set_data_link(false).await;
        tokio::time::sleep(delay).await;
        self.lock().rebooting = false;
        down?;
        if self.lock().data_switch {
            self.bring_up_with_new_addr().await?;
        }
        Ok(())
    }

    /// Detaches the USB device (the host's interface disappears in the namespace lab).
    pub async fn unplug(&self) -> Result<(), EmulatorError> {
        let _cycle = self.inner.cycle.lock().await;
        {
            let mut state = self.lock();
            state.plugged = false;
            state.connection = Connection::Disconnected;
        }
        self.expire_tokens();
        self.inner.control.set_data_link(false).await?;
        self.inner.control.unplug().await?;
        Ok(())
    }

    /// Attaches the device again; it boots and connects like a fresh modem.
    pub async fn replug(&self) -> Result<(), EmulatorError> {
        let _cycle = self.inner.cycle.lock().await;
        self.inner.control.replug().await?;
        let data_on = {
            let mut state = self.lock();
            state.plugged = true;
            state.data_switch
        };
        if data_on {
            self.cycle_session().await?;
        }
        Ok(())
    }

    /// Runs `reconnect` in the background, as the firmware does after answering.
    pub fn spawn_reconnect(&self) {
        let modem = self.clone();
        tokio::spawn(async move { modem.log_failure("reconnect", modem.reconnect().await) });
    }

    pub fn spawn_data_switch(&self, on: bool) {
        let modem = self.clone();
        tokio::spawn(
            async move { modem.log_failure("data switch", modem.set_data_switch(on).await) },
        );
    }

    pub fn spawn_net_mode(&self, mode: NetMode) {
        let modem = self.clone();
        tokio::spawn(async move { modem.log_failure("net mode", modem.set_net_mode(mode).await) });
    }

    /// Reboots in the background after a short pause, so the request's answer gets out first.
    pub fn spawn_reboot(&self) {
        let modem = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            modem.log_failure("reboot", modem.reboot().await)
        });
    }

    /// Session down for the reconnect delay, then up with another address of the pool.
    /// The caller holds the cycle lock.
    async fn cycle_session(&self) -> Result<(), EmulatorError> {
        let delay = {
            let mut state = self.lock();
            state.connection = Connection::Connecting;
            state.reconnect_delay
        };
        self.inner.control.set_data_link(false).await?;
        tokio::time::sleep(delay).await;
        self.bring_up_with_new_addr().await
    }

    async fn bring_up_with_new_addr(&self) -> Result<(), EmulatorError> {
        let (operator, old, same_ip) = {
            let state = self.lock();
            (state.operator, state.wan_addr, state.faults.same_ip)
        };
        let new: Ipv4Addr = if same_ip {
            old
        } else {
            self.inner.pools.renew(&operator, old)?
        };
        if new != old {
            self.inner.control.move_wan_addr(old, new).await?;
        }
        self.lock().wan_addr = new;
        self.inner.control.set_data_link(true).await?;
        let mut state = self.lock();
        state.connection = Connection::Connected;
        state.cycles += 1;
        Ok(())
    }

    fn log_failure(&self, what: &str, result: Result<(), EmulatorError>) {
        if let Err(e) = result {
            tracing::warn!(
                model = self.lock().model.code,
                "emulated {what} failed: {e}"
            );
        }
    }

    fn lock(&self) -> MutexGuard<'_, ModemState> {
        // The state stays consistent field by field; a panic elsewhere must not stop the lab.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn epoch_lock(&self) -> MutexGuard<'_, u64> {
        self.inner
            .token_epoch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}
