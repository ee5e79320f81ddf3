//! What a session knows about its client and the profile it came in on.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::limits::{ConnectionPermit, LoginLimit};
use crate::relay::{relay, Direction, Meter, RelayControls};
use crate::service::Plane;
use crate::stats::{OpenGuard, ProfileStats, RefusalKind, Traffic};
use crate::table::Profile;

pub(in crate::service) struct Client {
    pub plane: Arc<Plane>,
    pub profile: Arc<Profile>,
    pub stats: Arc<ProfileStats>,
    pub peer: SocketAddr,
    /// `None` when the profile was at `maxconn` as the connection came in.
    pub permit: Option<ConnectionPermit>,
    /// Cancelled when the profile's listener closes.
    stop: CancellationToken,
    _open: OpenGuard,
}

impl Client {
    pub fn new(
        plane: Arc<Plane>,
        profile: Arc<Profile>,
        peer: SocketAddr,
        permit: Option<ConnectionPermit>,
        stop: CancellationToken,
    ) -> Client {
        let stats = plane.stats.profile(profile.id);
        let open = stats.open_guard();
        Client {
            plane,
            profile,
            stats,
            peer,
            permit,
            stop,
            _open: open,
        }
    }

    pub fn count_refusal(&self, kind: RefusalKind) {
        self.stats.refuse(kind);
        tracing::debug!(
            profile = self.profile.id,
            client = %self.peer,
            reason = kind.name(),
            "proxy connection refused"
        );
    }

    /// The buckets of the profile's login (`strong` profiles), shared with every other
    /// connection of that login.
    pub fn login_limit(&self) -> Option<Arc<LoginLimit>> {
        self.plane.buckets.get(self.profile.auth.login_id()?)
    }

    /// Relays an established connection to its end, counted and shaped. `leftover` is what
    /// the client sent after its request and goes upstream first.
    pub async fn relay(&self, client: TcpStream, upstream: TcpStream, leftover: &[u8]) {
        let meter = self.start_meter();
        let idle = self.plane.config.idle_timeout;
        let limit = self.login_limit();
        if let Err(error) = relay(
            client,
            upstream,
            leftover,
            limit,
            &meter,
            self.stop.clone(),
            idle,
        )
        .await
        {
            tracing::debug!(profile = self.profile.id, %error, "relay ended with an error");
        }
    }

    /// What the relay of one of this client's exchanges is subject to.
    pub fn controls<'a>(
        &'a self,
        limit: Option<&'a LoginLimit>,
        meter: &'a ConnectionMeter,
    ) -> RelayControls<'a> {
        RelayControls {
            limit,
            meter,
            stop: &self.stop,
            idle_timeout: self.plane.config.idle_timeout,
        }
    }

    /// Counts a relayed connection and returns the meter for its bytes.
    pub fn start_meter(&self) -> ConnectionMeter {
        let login = self
            .profile
            .auth
            .login_id()
            .map(|id| self.plane.stats.login(id));
        self.stats.traffic.add_connection();
        if let Some(login) = &login {
            login.add_connection();
        }
        ConnectionMeter {
            profile: Arc::clone(&self.stats),
            login,
        }
    }
}

/// Counts a connection's bytes on its profile and its login.
pub(in crate::service) struct ConnectionMeter {
    profile: Arc<ProfileStats>,
    login: Option<Arc<Traffic>>,
}

impl Meter for ConnectionMeter {
    fn record(&self, direction: Direction, bytes: u64) {
        let add = |traffic: &Traffic| match direction {
            Direction::Inbound => traffic.add_in(bytes),
            Direction::Outbound => traffic.add_out(bytes),
        };
        add(&self.profile.traffic);
        if let Some(login) = &self.login {
            add(login);
        }
    }
}
