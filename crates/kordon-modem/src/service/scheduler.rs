//! The `scheduler` service: timed rotation. A port with `reconnect_type` `time` or `time_link`
//! rotates every `reconnect_interval` seconds; the due time is the port's `next_reconnect_at`,
//! kept in the store, so a restart keeps every schedule. Rotations that fell due while kordon
//! was down are not fired together at start-up: they are spread [`ServiceConfig::overdue_spacing`]
//! apart. A rotation's end (timed or not) sets the next due time one interval later.
//!
//! [`ServiceConfig::overdue_spacing`]: super::ServiceConfig::overdue_spacing

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::rotation::{Refusal, Rotator};
use super::snapshot::PortSettings;
use super::unix_now;

/// How often due times are checked.
const TICK: Duration = Duration::from_secs(1);

/// What to do with a port's due time now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Leave it.
    Wait,
    /// Store a new due time.
    Reschedule(i64),
    /// Rotate now.
    Fire,
}

/// The decision for a timed port due at `due` (if scheduled). `overdue_slot` counts the
/// overdue ports already spread on this start-up pass.
pub fn decide(
    port: &PortSettings,
    due: Option<i64>,
    now: i64,
    starting: bool,
    overdue_slot: &mut i64,
    spacing: i64,
) -> Decision {
    let interval = port.reconnect_interval;
    match due {
        None => Decision::Reschedule(now + interval),
        Some(at) if at > now + interval => Decision::Reschedule(now + interval),
        Some(at) if at <= now && starting => {
            let at = now + *overdue_slot * spacing;
            *overdue_slot += 1;
            if at <= now {
                Decision::Fire
            } else {
                Decision::Reschedule(at)
            }
        }
        Some(at) if at <= now => Decision::Fire,
        Some(_) => Decision::Wait,
    }
}

/// Runs the timer until `token` is cancelled.
pub async fn run(rotator: Rotator, token: CancellationToken) {
    let context = rotator.context().clone();
    let spacing = context.config.overdue_spacing.as_secs().max(1) as i64;
    let mut starting = true;
    loop {
        let now = unix_now();
        let mut overdue_slot = 0;
        for port in context.directory.current().values() {
            let state = context.book.read(port).await;
            if !port.is_timed() {
                if state.next_reconnect_at.is_some() && !rotator.is_rotating(port.id) {
                    set_due(&rotator, port, None).await;
                }
                continue;
            }
            match decide(
                port,
                state.next_reconnect_at,
                now,
                starting,
                &mut overdue_slot,
                spacing,
            ) {
                Decision::Wait => {}
                Decision::Reschedule(at) => set_due(&rotator, port, Some(at)).await,
                Decision::Fire => fire(&rotator, port, now).await,
            }
        }
        starting = false;
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

async fn fire(rotator: &Rotator, port: &PortSettings, now: i64) {
    let next = match rotator.request(&[port.id]).await {
        // Not running: try again on the next tick.
        Err(_) => return,
        Ok(answers) => match answers.first().map(|(_, verdict)| verdict.clone()) {
            Some(Err(Refusal::TooSoon { wait, .. })) => now + wait,
            Some(Err(Refusal::Unknown | Refusal::Inactive)) => return,
            // Started or already running: the rotation's end sets the next due time; until
            // then one interval keeps the timer from firing again.
            _ => now + port.reconnect_interval,
        },
    };
    tracing::debug!(port = port.id, next, "timed rotation requested");
    set_due(rotator, port, Some(next)).await;
}

async fn set_due(rotator: &Rotator, port: &PortSettings, at: Option<i64>) {
    let result = rotator
        .context()
        .book
        .update(port, |state| state.next_reconnect_at = at)
        .await;
    if let Err(error) = result {
        tracing::warn!(port = port.id, %error, "cannot store the next rotation time");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kordon_model::enums::{NetMode, ReconnectType};
    use kordon_store::ports::PortState;

    fn timed(interval: i64) -> PortSettings {
        PortSettings {
            id: 1,
            active: true,
            model_id: 1,
            net_mode: NetMode::Lte,
            ifname: "usb0".into(),
            monitoring_interval: 3,
            reconnect_type: ReconnectType::Time,
            reconnect_interval: interval,
            reconnect_min: 0,
            osfp_id: None,
            stored_state: PortState::default(),
        }
    }

    #[test]
    fn overdue_ports_are_spread_at_start_up() {
        let port = timed(600);
        let mut slot = 0;
        let now = 1_000;
        let decisions: Vec<Decision> = (0..3)
            .map(|_| decide(&port, Some(10), now, true, &mut slot, 5))
            .collect();
        assert_eq!(
            decisions,
            vec![
                Decision::Fire,
                Decision::Reschedule(1_005),
                Decision::Reschedule(1_010)
            ]
        );
        // Once running, a due port fires.
        assert_eq!(
            decide(&port, Some(999), now, false, &mut slot, 5),
            Decision::Fire
        );
    }

    #[test]
    fn schedules_are_kept_created_and_clamped() {
        let port = timed(60);
        let mut slot = 0;
        assert_eq!(
            decide(&port, Some(1_030), 1_000, true, &mut slot, 5),
            Decision::Wait
        );
        assert_eq!(
            decide(&port, None, 1_000, false, &mut slot, 5),
            Decision::Reschedule(1_060)
        );
        // The interval was shortened: the old, far due time is brought in.
        assert_eq!(
            decide(&port, Some(5_000), 1_000, false, &mut slot, 5),
            Decision::Reschedule(1_060)
        );
    }
}
