//! Installers: A/B firmware slots ([`ab`]) and directory bundles for codec,
//! DRM and app components ([`dirs`]), plus what both need: decompressing a
//! staged artifact as a stream, and running the box's own commands.

pub mod ab;
pub mod dirs;

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use wavecast_protocol::manifest::Compression;

/// Whether this agent can unpack `c`.
pub fn supports(c: Compression) -> bool {
    matches!(c, Compression::None | Compression::Gzip)
}

/// The uncompressed bytes of a staged artifact, as a stream.
pub fn open_artifact(path: &Path, c: Compression) -> io::Result<Box<dyn Read>> {
    let f = BufReader::with_capacity(64 * 1024, File::open(path)?);
    match c {
        Compression::None => Ok(Box::new(f)),
        Compression::Gzip => Ok(Box::new(flate2::read::GzDecoder::new(f))),
        Compression::Zstd => Err(io::Error::other(
            "zstd artifacts are not supported by this agent",
        )),
    }
}

/// What a command did.
#[derive(Debug)]
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub describe: String,
}

/// Runs `argv` with `{key}` placeholders replaced, waiting at most `timeout`.
pub fn run(argv: &[String], vars: &[(&str, &str)], timeout: Duration) -> io::Result<Output> {
    let args: Vec<String> = argv
        .iter()
        .map(|a| {
            vars.iter()
                .fold(a.clone(), |s, (k, v)| s.replace(&format!("{{{k}}}"), v))
        })
        .collect();
    let (program, rest) = args
        .split_first()
        .ok_or_else(|| io::Error::other("empty command"))?;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::other(format!("cannot run {program}: {e}")))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Output {
                ok: false,
                stdout: String::new(),
                describe: format!("{program} ran longer than {} s", timeout.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let stderr = stderr.trim();
    Ok(Output {
        ok: status.success(),
        stdout,
        describe: if stderr.is_empty() {
            format!("{program}: {status}")
        } else {
            format!("{program}: {status}: {}", truncate(stderr, 300))
        },
    })
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_get_their_placeholders_and_report_failure() {
        let argv: Vec<String> = ["sh", "-c", "echo {slot}; exit {code}"]
            .map(String::from)
            .to_vec();
        let o = run(
            &argv,
            &[("slot", "b"), ("code", "0")],
            Duration::from_secs(5),
        )
        .expect("run");
        assert!(o.ok);
        assert_eq!(o.stdout.trim(), "b");
        let o = run(
            &argv,
            &[("slot", "a"), ("code", "3")],
            Duration::from_secs(5),
        )
        .expect("run");
        assert!(!o.ok, "{}", o.describe);
        let sleepy: Vec<String> = ["sleep", "5"].map(String::from).to_vec();
        let o = run(&sleepy, &[], Duration::from_millis(100)).expect("run");
        assert!(!o.ok && o.describe.contains("longer"), "{}", o.describe);
        assert!(run(&["/no/such/program".into()], &[], Duration::from_secs(1)).is_err());
    }
}
