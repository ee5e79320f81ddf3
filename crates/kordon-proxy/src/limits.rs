//! Shared bandwidth buckets and connection caps.
