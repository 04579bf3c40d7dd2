//! Soak-test building blocks: echo transfers checked by SHA-256, the load
//! workers that run them through the proxy, and samples of the proxy
//! process's memory, descriptors and threads with a growth verdict.

pub mod echo;
pub mod load;
pub mod sample;
