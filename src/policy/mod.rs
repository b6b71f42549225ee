//! The compiled route policy: path normalisation, matching and decisions. Pure, no I/O.
