//! The fuzz seed corpus doubles as a set of real files from certgen and
//! openssl: every one must load, or fail with the error its kind calls for.

use std::fs;
use std::path::{Path, PathBuf};

use mixer_tls::{load_cert_chain, load_crls, load_private_key, LoadError};

fn fuzz_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(sub)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|entry| entry.unwrap().path()).collect();
    files.sort();
    files
}

fn name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

#[test]
fn seed_certificates_load() {
    let files = files_in(&fuzz_dir("seeds/certs"));
    assert!(files.len() >= 10, "seed certificates missing: {files:?}");
    for path in files {
        let result = load_cert_chain(&path);
        if name(&path).starts_with("wrong-kind") {
            assert!(
                matches!(result, Err(LoadError::WrongKind { .. })),
                "{}: {result:?}",
                path.display()
            );
            continue;
        }
        let chain = result.unwrap_or_else(|err| panic!("{err}"));
        let expected = if name(&path).contains("chain") { 2 } else { 1 };
        assert_eq!(chain.len(), expected, "{}", path.display());
    }
}

#[test]
fn seed_keys_load() {
    let files = files_in(&fuzz_dir("seeds/throwaway-test-keys"));
    assert!(files.len() >= 10, "seed keys missing: {files:?}");
    for path in files {
        let result = load_private_key(&path);
        if name(&path).contains("encrypted") {
            assert!(
                matches!(result, Err(LoadError::EncryptedKey { .. })),
                "{}: {result:?}",
                path.display()
            );
            continue;
        }
        let key = result.unwrap_or_else(|err| panic!("{err}"));
        let loaded = mixer_tls::crypto_provider()
            .key_provider
            .load_private_key(key);
        assert!(loaded.is_ok(), "{}: {loaded:?}", path.display());
    }
}

#[test]
fn seed_crls_load() {
    let files = files_in(&fuzz_dir("seeds/crls"));
    assert!(files.len() >= 4, "seed CRLs missing: {files:?}");
    for path in files {
        let crls = load_crls(&path).unwrap_or_else(|err| panic!("{err}"));
        let expected = if name(&path).contains("two") { 2 } else { 1 };
        assert_eq!(crls.len(), expected, "{}", path.display());
    }
}
