//! Network namespaces of the lab (root).
