//! Which path a flow's next chunk takes, and how large it may be.
//!
//! A flow starts on splice(2): no copy, no buffer, the cheapest path for the many connections
//! that move a little at a time and for every shaped one. A flow whose source keeps filling
//! whole pipes is a bulk transfer, and for those a large user-space buffer moves more per
//! wake-up: on Linux 6.x loopback, one stream relayed with 1 MiB reads and writes ran 1.7–2×
//! faster than through a 64 KiB pipe (a 1 MiB pipe closed only part of that gap), because each
//! step lets the sender's socket free its memory at once and costs one wake-up per megabyte.
//! So a bulk flow shifts to copying and its buffer doubles while reads keep filling it; when
//! reads come back small it shifts down again. Buffers larger than the smallest are reserved
//! from a process-wide budget ([`buffers`](super::buffers)), so ten thousand busy connections
//! cannot each hold a megabyte.

use super::buffers::{Reservation, SizeClass};
use super::pipe;
use super::Engine;

/// Whole pipes in a row that make a splicing flow a bulk transfer.
const FULL_PIPES_TO_SHIFT_UP: u8 = 4;

/// The copy size a flow shifts up to from splice (then doubles from there).
const FIRST_BULK_CLASS: SizeClass = SizeClass::K256;

/// A copy step that read less than this sends a splice-capable flow back to splicing.
const SMALL_READ: usize = pipe::CAPACITY / 2;

/// The path of the next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    Splice,
    Copy(SizeClass),
}

/// A flow's current path and what it has seen lately.
#[derive(Debug)]
pub(crate) struct Gear {
    /// Whether splicing is allowed at all (the engine, or the kernel refused it once).
    may_splice: bool,
    path: Path,
    /// Consecutive splice steps that filled a whole pipe.
    full_pipes: u8,
    /// The budget held for a copy buffer above the smallest size.
    reservation: Option<Reservation>,
}

impl Gear {
    pub(crate) fn new(engine: Engine) -> Gear {
        let may_splice = engine == Engine::Splice;
        Gear {
            may_splice,
            path: if may_splice {
                Path::Splice
            } else {
                Path::Copy(SizeClass::SMALLEST)
            },
            full_pipes: 0,
            reservation: None,
        }
    }

    pub(crate) fn path(&self) -> Path {
        self.path
    }

    /// The kernel cannot splice this flow's descriptors: copy from now on.
    pub(crate) fn splice_unsupported(&mut self) {
        self.may_splice = false;
        self.shift_to(SizeClass::SMALLEST);
    }

    /// Learns from a step that was allowed `asked` bytes and moved `moved`.
    pub(crate) fn after_step(&mut self, asked: usize, moved: usize) {
        match self.path {
            Path::Splice => {
                // Only an unshaped flow asks for more than a pipe; a shaped one keeps its
                // small chunks on the splice path.
                if moved >= pipe::CAPACITY && asked > pipe::CAPACITY {
                    self.full_pipes = self.full_pipes.saturating_add(1);
                    if self.full_pipes >= FULL_PIPES_TO_SHIFT_UP {
                        self.full_pipes = 0;
                        self.shift_to(FIRST_BULK_CLASS);
                    }
                } else {
                    self.full_pipes = 0;
                }
            }
            Path::Copy(class) => {
                if moved >= class.len() && asked > class.len() {
                    if let Some(larger) = class.larger() {
                        self.shift_to(larger);
                    }
                } else if moved < SMALL_READ {
                    if self.may_splice {
                        self.release();
                        self.path = Path::Splice;
                    } else {
                        self.shift_to(SizeClass::SMALLEST);
                    }
                }
            }
        }
    }

    /// Moves to copying with `class`, if the budget grants it; otherwise stays where it is
    /// (or, for the smallest class, which needs no budget, goes there).
    fn shift_to(&mut self, class: SizeClass) {
        if class == SizeClass::SMALLEST {
            self.release();
            self.path = Path::Copy(class);
            return;
        }
        // The new size is reserved before the old is given back, so near the limit a flow
        // may be refused a step up that would just fit; it keeps its size.
        if let Some(reservation) = Reservation::take(class.len()) {
            self.reservation = Some(reservation);
            self.path = Path::Copy(class);
        }
    }

    fn release(&mut self) {
        self.reservation = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: usize = usize::MAX;

    fn fill_pipes(gear: &mut Gear, times: u8) {
        for _ in 0..times {
            gear.after_step(ALL, pipe::CAPACITY);
        }
    }

    #[test]
    fn a_flow_filling_pipes_shifts_to_copy_and_its_buffer_doubles() {
        let mut gear = Gear::new(Engine::Splice);
        fill_pipes(&mut gear, FULL_PIPES_TO_SHIFT_UP - 1);
        assert_eq!(gear.path(), Path::Splice);
        fill_pipes(&mut gear, 1);
        assert_eq!(gear.path(), Path::Copy(SizeClass::K256));
        gear.after_step(ALL, SizeClass::K256.len());
        assert_eq!(gear.path(), Path::Copy(SizeClass::K512));
        gear.after_step(ALL, SizeClass::K512.len());
        gear.after_step(ALL, SizeClass::M1.len());
        assert_eq!(
            gear.path(),
            Path::Copy(SizeClass::M1),
            "1 MiB is the largest"
        );
        // A read that does not fill the buffer keeps the size.
        gear.after_step(ALL, 300_000);
        assert_eq!(gear.path(), Path::Copy(SizeClass::M1));
        // A small read: back to splicing, and the budget is given back.
        gear.after_step(ALL, 1000);
        assert_eq!(gear.path(), Path::Splice);
        assert!(gear.reservation.is_none());
    }

    #[test]
    fn a_partial_pipe_restarts_the_count() {
        let mut gear = Gear::new(Engine::Splice);
        fill_pipes(&mut gear, FULL_PIPES_TO_SHIFT_UP - 1);
        gear.after_step(ALL, pipe::CAPACITY - 1);
        fill_pipes(&mut gear, FULL_PIPES_TO_SHIFT_UP - 1);
        assert_eq!(gear.path(), Path::Splice);
    }

    #[test]
    fn shaped_flows_stay_on_splice() {
        let mut gear = Gear::new(Engine::Splice);
        for _ in 0..100 {
            gear.after_step(pipe::CAPACITY, pipe::CAPACITY);
        }
        assert_eq!(gear.path(), Path::Splice);
    }

    #[test]
    fn a_copy_only_flow_grows_and_shrinks_without_splicing() {
        let mut gear = Gear::new(Engine::Copy);
        assert_eq!(gear.path(), Path::Copy(SizeClass::SMALLEST));
        gear.after_step(ALL, SizeClass::SMALLEST.len());
        assert_eq!(gear.path(), Path::Copy(SizeClass::K128));
        gear.after_step(ALL, 10);
        assert_eq!(gear.path(), Path::Copy(SizeClass::SMALLEST));
        assert!(gear.reservation.is_none());
    }

    #[test]
    fn unsupported_splice_falls_back_to_copy_for_good() {
        let mut gear = Gear::new(Engine::Splice);
        gear.splice_unsupported();
        assert_eq!(gear.path(), Path::Copy(SizeClass::SMALLEST));
        gear.after_step(ALL, 10);
        assert_eq!(gear.path(), Path::Copy(SizeClass::SMALLEST));
    }
}
