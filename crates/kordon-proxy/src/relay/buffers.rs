//! Copy buffers in five sizes, shelved per worker thread, and the process-wide budget that
//! bounds how many bytes the larger ones may take together.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::LocalKey;

use super::shelf::{self, Shelf};

/// The sizes a copy buffer comes in, each twice the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SizeClass {
    K64,
    K128,
    K256,
    K512,
    M1,
}

impl SizeClass {
    /// The size every copying flow may use without the budget.
    pub(crate) const SMALLEST: SizeClass = SizeClass::K64;

    /// Every size, smallest first.
    const ALL: [SizeClass; 5] = [
        SizeClass::K64,
        SizeClass::K128,
        SizeClass::K256,
        SizeClass::K512,
        SizeClass::M1,
    ];

    pub(crate) const fn len(self) -> usize {
        match self {
            SizeClass::K64 => 64 << 10,
            SizeClass::K128 => 128 << 10,
            SizeClass::K256 => 256 << 10,
            SizeClass::K512 => 512 << 10,
            SizeClass::M1 => 1 << 20,
        }
    }

    /// The next size up, if any.
    pub(crate) fn larger(self) -> Option<SizeClass> {
        SizeClass::ALL.into_iter().find(|class| *class > self)
    }

    /// Empty buffers of this size a worker thread keeps.
    fn shelved(self) -> usize {
        if self == SizeClass::SMALLEST {
            4
        } else {
            2
        }
    }

    fn shelf(self) -> &'static LocalKey<Shelf<Box<[u8]>>> {
        match self {
            SizeClass::K64 => &K64,
            SizeClass::K128 => &K128,
            SizeClass::K256 => &K256,
            SizeClass::K512 => &K512,
            SizeClass::M1 => &M1,
        }
    }
}

thread_local! {
    static K64: Shelf<Box<[u8]>> = const { Shelf::new(Vec::new()) };
    static K128: Shelf<Box<[u8]>> = const { Shelf::new(Vec::new()) };
    static K256: Shelf<Box<[u8]>> = const { Shelf::new(Vec::new()) };
    static K512: Shelf<Box<[u8]>> = const { Shelf::new(Vec::new()) };
    static M1: Shelf<Box<[u8]>> = const { Shelf::new(Vec::new()) };
}

/// A buffer of `class`'s size from this thread's shelf, or a new one.
pub(crate) fn take(class: SizeClass) -> Box<[u8]> {
    shelf::take(class.shelf()).unwrap_or_else(|| vec![0u8; class.len()].into_boxed_slice())
}

/// Shelves a buffer taken with [`take`] (its length says its class).
pub(crate) fn put_back(buffer: Box<[u8]>) {
    let class = SizeClass::ALL
        .into_iter()
        .find(|class| class.len() == buffer.len());
    if let Some(class) = class {
        shelf::put(class.shelf(), buffer, class.shelved());
    }
}

/// Bytes of larger-than-smallest buffers all flows together may hold: 256 flows at 1 MiB. A
/// flow refused keeps the size it has.
const LARGE_BUFFER_BUDGET: usize = 256 << 20;

/// A limit on bytes held at once.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    in_use: AtomicUsize,
}

impl Budget {
    pub(crate) const fn new(limit: usize) -> Budget {
        Budget {
            limit,
            in_use: AtomicUsize::new(0),
        }
    }

    fn try_take(&self, bytes: usize) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                in_use
                    .checked_add(bytes)
                    .filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.in_use.fetch_sub(bytes, Ordering::AcqRel);
    }
}

static LARGE_BUFFERS: Budget = Budget::new(LARGE_BUFFER_BUDGET);

/// Bytes held from a budget until dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: &'static Budget,
    bytes: usize,
}

impl Reservation {
    /// `bytes` from the large-buffer budget, if that many are left.
    pub(crate) fn take(bytes: usize) -> Option<Reservation> {
        Reservation::take_from(&LARGE_BUFFERS, bytes)
    }

    fn take_from(budget: &'static Budget, bytes: usize) -> Option<Reservation> {
        budget
            .try_take(bytes)
            .then(|| Reservation { budget, bytes })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_past_its_limit_and_takes_back_what_is_dropped() {
        let budget: &'static Budget = Box::leak(Box::new(Budget::new(3 << 20)));
        let a = Reservation::take_from(budget, 1 << 20).unwrap();
        let b = Reservation::take_from(budget, 2 << 20).unwrap();
        assert!(Reservation::take_from(budget, 1).is_none());
        drop(a);
        let c = Reservation::take_from(budget, 1 << 20).unwrap();
        assert!(Reservation::take_from(budget, 1).is_none());
        drop((b, c));
        assert_eq!(budget.in_use.load(Ordering::Acquire), 0);
    }

    #[test]
    fn buffers_come_back_in_their_own_size() {
        for class in [SizeClass::K64, SizeClass::K512, SizeClass::M1] {
            let buffer = take(class);
            assert_eq!(buffer.len(), class.len());
            put_back(buffer);
            assert_eq!(take(class).len(), class.len());
        }
    }
}
