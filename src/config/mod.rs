//! Configuration: YAML file to raw structs to the compiled form the hot path uses.
