//! Running a program with given stdin bytes, capturing stdout and stderr, under a time limit.

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished (or stopped) run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// The exit status, shell style (128 + signal when killed); `None` if it timed out.
    pub status: Option<u8>,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

/// A shell-style status: the exit code, or 128 + the signal that killed the process.
pub fn shell_status(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(sig)) => 128u8.saturating_add(sig as u8),
        (None, None) => 255,
    }
}

/// Runs `cmd` with `stdin` as its input; kills it after `timeout`.
pub fn run(cmd: &mut Command, stdin: &[u8], timeout: Duration) -> Result<Captured, String> {
    let mut child: Child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let input = stdin.to_vec();
    let mut pipe_in = child.stdin.take();
    // A writer thread, since a program that does not read would block us on a full pipe.
    let writer = thread::spawn(move || {
        if let Some(pipe) = pipe_in.as_mut() {
            // The program may exit without reading: EPIPE is its business, not an error here.
            let _ = pipe.write_all(&input);
        }
    });
    let reader = |r: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                // A read error ends the capture with what was read.
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(shell_status(status)),
            Ok(None) if Instant::now() >= deadline => {
                // Already-exited races are settled by the wait.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for {:?}: {e}", cmd.get_program())),
        }
    };
    let _ = writer.join();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(Captured {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_goes_in_and_outputs_and_status_come_back() {
        let c = run(
            Command::new("sh").args(["-c", "cat; echo err >&2; exit 7"]),
            b"a\xffb",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(
            c,
            Captured {
                status: Some(7),
                stdout: b"a\xffb".to_vec(),
                stderr: b"err\n".to_vec()
            }
        );
    }

    #[test]
    fn signals_and_timeouts() {
        let c = run(
            Command::new("sh").args(["-c", "kill -SEGV $$"]),
            b"",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(c.status, Some(139));
        let c = run(
            Command::new("sleep").arg("10"),
            b"",
            Duration::from_millis(100),
        )
        .unwrap();
        assert_eq!(c.status, None);
    }
}
