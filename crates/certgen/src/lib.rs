//! Certificate authority and leaf certificates made with rcgen: the files
//! `scripts/gen-certs.sh` writes, and the certificates tests make on the fly.

mod authority;
mod files;

pub use authority::{Authority, Issued, LeafSpec, Usage};
pub use files::{write_bundle, BundleOptions, WriteError};
