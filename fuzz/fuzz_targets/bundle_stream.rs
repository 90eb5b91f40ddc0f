//! A bundle file, fed to the streaming reader in two pieces as a download
//! arrives: the header verified against the fixed root (keyring, then
//! manifest), then every artifact's size and digest. Nothing may panic,
//! and the reader never asks for more than the declared sizes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_fuzz::{root, NOW};
use wavecast_protocol::{
    bundle::{BundleStream, Event},
    keyring::{verify_keyring, verify_manifest},
    TrustError,
};

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut stream = BundleStream::new();
    let root = root().verifying_key();
    for piece in [&data[..split], &data[split..]] {
        let fed = stream.feed::<TrustError>(piece, |s, event| {
            if let Event::Header(h) = event {
                let kr = verify_keyring(&root, &h.keyring, NOW, 0)?;
                let (m, _) = verify_manifest(&kr, &h.manifest)?;
                s.accept(m.artifacts);
            }
            Ok(())
        });
        if fed.is_err() {
            return;
        }
    }
    let _ = stream.finish();
});
