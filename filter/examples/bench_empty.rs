//! Benchmark baseline (being written).
