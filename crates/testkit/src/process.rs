use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Time `openssl` gets for one command; RSA key generation is the slowest.
const OPENSSL_TIMEOUT: Duration = Duration::from_secs(60);

/// Pause between checks whether a child has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Runs `command` with stdin closed and stdout and stderr captured, and
/// kills it if it has not exited within `timeout`.
pub fn run_with_timeout(command: &mut Command, timeout: Duration) -> io::Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());

    let status = wait_until(&mut child, Instant::now() + timeout)?;
    let Some(status) = status else {
        // Kills this child by its own process id, nothing else.
        child.kill()?;
        child.wait()?;
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{command:?} did not exit within {timeout:?}"),
        ));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Runs `openssl` with `args` in `dir` and returns its output. Panics with
/// the command and its standard error if it fails, and with an install hint
/// if `openssl` is not on the PATH.
pub fn openssl(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new("openssl");
    command.args(args).current_dir(dir);
    let output = match run_with_timeout(&mut command, OPENSSL_TIMEOUT) {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => panic!(
            "the openssl command-line tool is not installed or not on the PATH; \
             install it (Debian: apt-get install openssl) and run the tests again"
        ),
        Err(err) => panic!("cannot run openssl {}: {err}", args.join(" ")),
    };
    assert!(
        output.status.success(),
        "openssl {} failed with {}: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn wait_until(
    child: &mut Child,
    deadline: Instant,
) -> io::Result<Option<std::process::ExitStatus>> {
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        thread::sleep(POLL_INTERVAL);
    }
    child.try_wait()
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}
