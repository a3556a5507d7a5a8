//! The checks behind the fuzz targets of exp-turn and exp-h460, kept in a library so that the
//! libFuzzer binaries (`fuzz_targets/`) stay one line each and the seed generator
//! (`examples/make_seeds.rs`) can run every seed through the same checks on a stable
//! toolchain before writing it. Each check panics on a broken property; libFuzzer reports the panic as a
//! crash and saves the input under `artifacts/`.

pub mod channel;
pub mod per_h323;
pub mod script;
pub mod server;
pub mod stun;
pub mod tpkt_q931;
pub mod vectors;
