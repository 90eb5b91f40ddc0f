//! `cargo run -p wavecast-firmware-samples -- --out DIR [--image-mib N]`

use std::{path::PathBuf, process::ExitCode};

use wavecast_firmware_samples::{generate, Options};

fn usage() -> ExitCode {
    eprintln!("usage: wavecast-firmware-samples --out DIR [--image-mib N]\n  N: approximate firmware image size in MiB (default 24)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--image-mib" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => opts.image_mib = n,
                _ => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ => return usage(),
        }
    }
    let Some(out) = out else {
        return usage();
    };
    match generate(&out, opts) {
        Ok(made) => {
            for g in made {
                println!("{} {}\t{}", g.name, g.version, g.spec.display());
            }
            println!(
                "fault catalog\t{}",
                out.join("fault-catalog.toml").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "wavecast-firmware-samples: error: cannot write samples to {}: {e}",
                out.display()
            );
            ExitCode::FAILURE
        }
    }
}
