//! The immutable snapshot of proxy profiles the hot path reads.
