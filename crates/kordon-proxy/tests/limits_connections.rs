//! The per-profile connection cap.

use kordon_proxy::limits::ConnectionLimit;

#[test]
fn refuses_past_the_cap_and_admits_after_a_drop() {
    let limit = ConnectionLimit::new(3);
    let mut permits: Vec<_> = (0..3).map(|_| limit.try_acquire().unwrap()).collect();
    assert_eq!(limit.open(), 3);
    assert!(limit.try_acquire().is_none(), "the fourth was admitted");
    permits.pop();
    assert_eq!(limit.open(), 2);
    let again = limit.try_acquire();
    assert!(again.is_some(), "a freed place was not reused");
    assert!(limit.try_acquire().is_none());
    drop(again);
    drop(permits);
    assert_eq!(limit.open(), 0);
}

#[test]
fn lowering_the_cap_keeps_open_connections() {
    let limit = ConnectionLimit::new(4);
    let permits: Vec<_> = (0..4).map(|_| limit.try_acquire().unwrap()).collect();
    limit.set_max(2);
    assert_eq!(limit.open(), 4);
    assert!(limit.try_acquire().is_none());
    drop(permits);
    let kept: Vec<_> = (0..2).map(|_| limit.try_acquire().unwrap()).collect();
    assert!(limit.try_acquire().is_none());
    assert_eq!(kept.len(), 2);
}

#[test]
fn many_threads_never_exceed_the_cap() {
    let limit = ConnectionLimit::new(10);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let limit = &limit;
            scope.spawn(move || {
                for _ in 0..10_000 {
                    if let Some(permit) = limit.try_acquire() {
                        assert!(limit.open() <= 10);
                        drop(permit);
                    }
                }
            });
        }
    });
    assert_eq!(limit.open(), 0);
}
