//! Reading a new password: from standard input (`--password-stdin`), or from the
//! controlling terminal with echo turned off (via `stty`, so no unsafe terminal code),
//! asked twice. Without a terminal the command fails and says to use `--password-stdin`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::Command;

use anyhow::{bail, ensure, Context};

/// The [`super::PasswordSource`] of the real command line.
pub(super) fn read_password(stdin: bool, max_bytes: usize) -> anyhow::Result<String> {
    if stdin {
        return super::password_from_stdin(std::io::stdin().lock(), max_bytes);
    }
    let tty = File::options()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .context("no terminal to ask for the password on; pipe it in with --password-stdin")?;
    let echo_off = EchoOff::new(&tty)?;
    let first = ask(&tty, "Password: ")?;
    let second = ask(&tty, "Password (again): ")?;
    drop(echo_off);
    ensure!(first == second, "the two passwords differ; nothing was changed");
    ensure!(!first.is_empty(), "empty password; nothing was changed");
    Ok(first)
}

fn ask(tty: &File, prompt: &str) -> anyhow::Result<String> {
    let mut out = tty;
    out.write_all(prompt.as_bytes())?;
    out.flush()?;
    let mut line = String::new();
    BufReader::new(tty).read_line(&mut line).context("reading the password from the terminal")?;
    out.write_all(b"\n")?;
    let line = line.strip_suffix('\n').map_or(line.as_str(), |l| l.strip_suffix('\r').unwrap_or(l));
    Ok(line.to_owned())
}

/// Terminal echo off while alive (`stty -echo`), back on when dropped, also on errors.
struct EchoOff(File);

impl EchoOff {
    fn new(tty: &File) -> anyhow::Result<EchoOff> {
        stty(tty, "-echo")?;
        Ok(EchoOff(tty.try_clone()?))
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = stty(&self.0, "echo");
    }
}

fn stty(tty: &File, setting: &str) -> anyhow::Result<()> {
    let status = Command::new("stty")
        .arg(setting)
        .stdin(tty.try_clone()?)
        .status()
        .context("running stty to hide the password; use --password-stdin instead")?;
    if !status.success() {
        bail!("stty {setting} failed ({status}); use --password-stdin instead");
    }
    Ok(())
}
