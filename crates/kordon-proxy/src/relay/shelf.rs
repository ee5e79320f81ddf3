//! Per-thread shelves of idle transfer resources (empty pipes, copy buffers).
//!
//! A relay takes a pipe or buffer only once its source is readable and puts it back as soon as
//! the chunk is through, so idle connections hold none and busy ones reuse a few per worker
//! thread without a lock. A task may put back on another thread than it took from; the
//! shelves only ever hold empty, interchangeable items.

use std::cell::RefCell;
use std::thread::LocalKey;

pub(crate) type Shelf<T> = RefCell<Vec<T>>;

/// An item from this thread's shelf, if it has one.
pub(crate) fn take<T: 'static>(shelf: &'static LocalKey<Shelf<T>>) -> Option<T> {
    // `try_with`: during thread teardown the shelf is gone; the caller then makes a new item.
    shelf.try_with(|s| s.borrow_mut().pop()).ok().flatten()
}

/// Puts an item back on this thread's shelf, or drops it when the shelf holds `capacity`.
pub(crate) fn put<T: 'static>(shelf: &'static LocalKey<Shelf<T>>, item: T, capacity: usize) {
    let _ = shelf.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < capacity {
            s.push(item);
        }
    });
}
