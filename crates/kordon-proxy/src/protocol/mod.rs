//! Wire formats of the proxy protocols, parsed without IO.
