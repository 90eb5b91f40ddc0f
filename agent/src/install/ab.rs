//! A/B firmware: the image goes into the slot that is not running, the
//! bootloader is told to boot it once, and only a healthy boot confirms it.
//!
//! The bootloader is reached through the box's own commands (for U-Boot,
//! `fw_printenv` / `fw_setenv`): one prints the slot that booted, one picks
//! the slot for the next boot, one confirms the booted slot. The decision
//! of what to do after a boot is [`after_boot`], a pure function.

use std::{
    fs::OpenOptions,
    io::{self, Read, Seek, SeekFrom},
    path::Path,
    time::Duration,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wavecast_protocol::manifest::Manifest;

use crate::config::FirmwareConfig;

/// A firmware slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    A,
    B,
}

impl Slot {
    pub fn other(self) -> Self {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a" | "0" => Some(Slot::A),
            "b" | "1" => Some(Slot::B),
            _ => None,
        }
    }
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The slot that booted, as the bootloader says.
pub fn current_slot(cfg: &FirmwareConfig) -> io::Result<Slot> {
    let out = super::run(&cfg.current_slot_command, &[], COMMAND_TIMEOUT)?;
    if !out.ok {
        return Err(io::Error::other(out.describe));
    }
    Slot::parse(&out.stdout).ok_or_else(|| {
        io::Error::other(format!(
            "current_slot_command printed {:?}, not a or b",
            super::truncate(out.stdout.trim(), 40)
        ))
    })
}

/// Makes the next boot use `slot`.
pub fn switch(cfg: &FirmwareConfig, slot: Slot) -> io::Result<()> {
    let out = super::run(
        &cfg.switch_command,
        &[("slot", slot.as_str())],
        COMMAND_TIMEOUT,
    )?;
    if out.ok {
        Ok(())
    } else {
        Err(io::Error::other(out.describe))
    }
}

/// Marks the booted slot good.
pub fn confirm(cfg: &FirmwareConfig, slot: Slot) -> io::Result<()> {
    let Some(cmd) = &cfg.confirm_command else {
        return Ok(());
    };
    let out = super::run(cmd, &[("slot", slot.as_str())], COMMAND_TIMEOUT)?;
    if out.ok {
        Ok(())
    } else {
        Err(io::Error::other(out.describe))
    }
}

/// Runs the health command; `Err` carries the reason it is unhealthy.
pub fn health_check(cfg: &FirmwareConfig) -> Result<(), String> {
    let Some(cmd) = &cfg.health_command else {
        return Ok(());
    };
    match super::run(cmd, &[], COMMAND_TIMEOUT) {
        Ok(o) if o.ok => Ok(()),
        Ok(o) => Err(format!("health check failed ({})", o.describe)),
        Err(e) => Err(format!("health check could not run: {e}")),
    }
}

/// Writes every artifact of `manifest` into its target's `slot` side,
/// streaming from the staging area, then reads it back to check it landed.
/// `staged(name)` gives an artifact's verified file.
pub fn write_slot(
    cfg: &FirmwareConfig,
    manifest: &Manifest,
    slot: Slot,
    staged: &dyn Fn(&str) -> Option<std::path::PathBuf>,
) -> Result<(), String> {
    for art in &manifest.artifacts {
        let target = cfg
            .targets
            .iter()
            .find(|t| t.name == art.target)
            .ok_or_else(|| format!("no slot is configured for target {:?}", art.target))?;
        let dest = match slot {
            Slot::A => &target.a,
            Slot::B => &target.b,
        };
        let src = staged(&art.name).ok_or_else(|| format!("{} is not staged", art.name))?;
        write_image(&src, art.compression, dest)
            .map_err(|e| format!("writing {} to {}: {e}", art.name, dest.display()))?;
    }
    Ok(())
}

fn write_image(
    src: &Path,
    compression: wavecast_protocol::manifest::Compression,
    dest: &Path,
) -> io::Result<()> {
    let mut input = super::open_artifact(src, compression)?;
    let block_device = std::fs::metadata(dest).is_ok_and(|m| !m.is_file());
    let mut out = OpenOptions::new()
        .write(true)
        .read(true)
        .create(!block_device)
        .truncate(false)
        .open(dest)?;
    let mut hasher = Sha256::new();
    let written =
        crate::download::stream(&mut input, &mut out, &mut hasher, 0, u64::MAX, &mut |_| {})?;
    if !block_device {
        out.set_len(written)?;
    }
    out.sync_all()?;
    // Read back what the slot now holds.
    out.seek(SeekFrom::Start(0))?;
    let mut check = Sha256::new();
    let mut left = written;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = out.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        check.update(&buf[..n]);
        left -= n as u64;
    }
    if left != 0 || check.finalize() != hasher.finalize() {
        return Err(io::Error::other(
            "the slot does not read back what was written",
        ));
    }
    Ok(())
}

/// What the agent finds after a boot while an update waits for its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootFacts {
    /// The slot that booted.
    pub booted: Slot,
    /// The slot the update went into.
    pub new: Slot,
    /// Boots of the new slot so far, this one included.
    pub boots: u32,
    pub max_boots: u32,
    /// `Ok` or why the new slot is unhealthy (only asked when it booted).
    pub health: Result<(), String>,
}

/// What to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Confirm the new slot: the update succeeded.
    Confirm,
    /// The bootloader already went back to the old slot.
    BootloaderFellBack,
    /// Unhealthy, boots left: reboot into the new slot once more.
    Retry { reason: String },
    /// Unhealthy and out of boots: switch back to the old slot and reboot.
    FallBack { reason: String },
}

/// The rule after each boot of an update.
pub fn after_boot(f: &BootFacts) -> Verdict {
    if f.booted != f.new {
        return Verdict::BootloaderFellBack;
    }
    match &f.health {
        Ok(()) => Verdict::Confirm,
        Err(reason) if f.boots < f.max_boots => Verdict::Retry {
            reason: reason.clone(),
        },
        Err(reason) => Verdict::FallBack {
            reason: format!("{reason} (after {} boots)", f.boots),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(booted: Slot, boots: u32, health: Result<(), String>) -> BootFacts {
        BootFacts {
            booted,
            new: Slot::B,
            boots,
            max_boots: 3,
            health,
        }
    }

    #[test]
    fn a_healthy_new_slot_is_confirmed() {
        assert_eq!(after_boot(&facts(Slot::B, 1, Ok(()))), Verdict::Confirm);
        assert_eq!(after_boot(&facts(Slot::B, 3, Ok(()))), Verdict::Confirm);
    }

    #[test]
    fn an_unhealthy_slot_gets_its_boots_then_falls_back() {
        let bad = || Err("decoder dead".to_owned());
        assert!(matches!(
            after_boot(&facts(Slot::B, 1, bad())),
            Verdict::Retry { .. }
        ));
        assert!(matches!(
            after_boot(&facts(Slot::B, 2, bad())),
            Verdict::Retry { .. }
        ));
        match after_boot(&facts(Slot::B, 3, bad())) {
            Verdict::FallBack { reason } => {
                assert!(reason.contains("decoder dead") && reason.contains("3 boots"))
            }
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn booting_the_old_slot_means_the_bootloader_fell_back() {
        assert_eq!(
            after_boot(&facts(Slot::A, 1, Ok(()))),
            Verdict::BootloaderFellBack
        );
    }

    #[test]
    fn images_stream_into_a_file_slot_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let src = dir.path().join("img");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).expect("w");
        let dest = dir.path().join("slot-b");
        std::fs::write(&dest, vec![7u8; 500_000]).expect("old longer image");
        write_image(&src, Default::default(), &dest).expect("write");
        assert_eq!(std::fs::read(&dest).expect("r"), data);
    }
}
