//! Child processes that cannot outlive the process that started them: the test kit's
//! nats-servers and service binaries, and the scratch copy `waybill verify --scratch`
//! starts ([`crate::scratch`]).
//!
//! Each [`OwnedChild`] leads a process group of its own, and the whole group is killed
//! when it is dropped, so a test (or `waybill verify`) that fails, panics, returns early
//! or is interrupted stops everything it started; a terminal's Ctrl-C reaches only the
//! parent, which then stops its children in order. If the parent itself dies (nextest
//! kills a hung test, or someone sends it SIGKILL), no destructor runs; for that case the
//! kernel sends the child SIGKILL as its parent-death signal.
//!
//! The kernel sends that signal when the *thread* that forked the child exits, and tokio
//! retires worker threads (after `block_in_place`, or idle blocking threads after 10 s)
//! while the test goes on. So every child is forked by one spawner thread that lives as
//! long as the process.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

/// A child process (and its process group), killed and reaped on drop.
pub struct OwnedChild {
    child: Child,
    group: Pid,
}

impl OwnedChild {
    /// Spawns `command` with stdin closed, in a new process group, with SIGKILL as its
    /// parent-death signal.
    pub fn spawn(command: &mut Command) -> io::Result<OwnedChild> {
        command.stdin(Stdio::null()).process_group(0);
        set_parent_death_signal(command);
        let child = spawn_from_the_spawner_thread(std::mem::replace(command, Command::new("")))?;
        let group = Pid::from_child(&child);
        Ok(OwnedChild { child, group })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has exited (and is then reaped).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// SIGTERM to the group, then waits (bounded) for the exit; `None` if it did not exit
    /// within `timeout` (it is then still running; drop kills it).
    pub fn terminate(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.child.try_wait()? {
            return Ok(Some(status));
        }
        let _ = rustix::process::kill_process_group(self.group, Signal::TERM);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(None)
    }

    /// SIGKILL to the whole group, like a crash, and reaps the child.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        // An already reaped group may be gone (ESRCH): nothing is left to kill then.
        let _ = rustix::process::kill_process_group(self.group, Signal::KILL);
        self.child.wait()
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

type SpawnRequest = (Command, std::sync::mpsc::SyncSender<io::Result<Child>>);

/// Forks `command` on the process's one spawner thread (started on first use).
fn spawn_from_the_spawner_thread(command: Command) -> io::Result<Child> {
    static SPAWNER: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<SpawnRequest>>> =
        std::sync::OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, incoming) = std::sync::mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("waybill-spawner".to_owned())
            .spawn(move || {
                for (mut command, answer) in incoming {
                    let _ = answer.send(command.spawn());
                }
            })
            .expect("start the child spawner thread");
        std::sync::Mutex::new(requests)
    });
    let (answer, spawned) = std::sync::mpsc::sync_channel(1);
    spawner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .send((command, answer))
        .map_err(|_| io::Error::other("the child spawner thread is gone"))?;
    spawned.recv().map_err(|_| io::Error::other("the child spawner thread is gone"))?
}

/// Asks the kernel to SIGKILL the child when the thread that spawned it exits (the spawner
/// thread, so: when the parent process goes away), and refuses to start it if that
/// already happened.
#[allow(unsafe_code)]
fn set_parent_death_signal(command: &mut Command) {
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs in the forked child before exec and only makes two system
    // calls (prctl and getppid); it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(move || {
            rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
            // The parent may have died between fork and prctl: then nobody would ever
            // send the signal, so do not start at all.
            if rustix::process::getppid() != Some(parent) {
                return Err(io::Error::other("the parent process died before its child started"));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
    }

    /// Waits up to five seconds for `pid` to die; true when it did.
    fn dies_soon(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        !alive(pid)
    }

    #[test]
    fn dropping_kills_the_whole_group_even_a_grandchild() -> io::Result<()> {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 60 & echo $!; wait"]).stdout(Stdio::piped());
        let mut child = OwnedChild::spawn(&mut command)?;
        let mut pid = String::new();
        let stdout = child.child.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        io::BufRead::read_line(&mut io::BufReader::new(stdout), &mut pid)?;
        let grandchild: u32 = pid.trim().parse().map_err(io::Error::other)?;
        assert!(alive(grandchild), "the grandchild runs");
        drop(child);
        assert!(dies_soon(grandchild), "the grandchild {grandchild} outlived the drop");
        Ok(())
    }

    #[test]
    fn a_child_dies_with_the_process_that_started_it() -> io::Result<()> {
        // A middle process (this test binary, running the ignored helper below) starts a
        // child the way OwnedChild does and is then killed outright: no drop runs.
        let mut middle = Command::new(std::env::current_exe()?);
        middle
            .args(["--exact", "process::tests::spawn_a_sleeper_and_hang", "--ignored", "--nocapture"])
            .env("WAYBILL_TESTKIT_SLEEPER", "1")
            .stdout(Stdio::piped());
        let mut middle = middle.spawn()?;
        let stdout = middle.stdout.take().ok_or_else(|| io::Error::other("no stdout"))?;
        let mut lines = io::BufRead::lines(io::BufReader::new(stdout));
        let sleeper: u32 = loop {
            let line = lines.next().ok_or_else(|| io::Error::other("the middle process said nothing"))??;
            // On one CPU libtest runs the test on its main thread and prints its name first,
            // without a newline: the pid may come after "test ... ".
            if let Some((_, pid)) = line.split_once("sleeper=") {
                break pid.trim().parse().map_err(io::Error::other)?;
            }
        };
        assert!(alive(sleeper));
        middle.kill()?;
        middle.wait()?;
        assert!(dies_soon(sleeper), "the child {sleeper} outlived its killed parent");
        Ok(())
    }

    /// Run only by the test above, as its middle process.
    #[test]
    #[ignore = "a helper process for a_child_dies_with_the_process_that_started_it"]
    fn spawn_a_sleeper_and_hang() -> io::Result<()> {
        if std::env::var_os("WAYBILL_TESTKIT_SLEEPER").is_none() {
            return Ok(());
        }
        let sleeper = OwnedChild::spawn(Command::new("sleep").arg("60"))?;
        println!("sleeper={}", sleeper.id());
        std::thread::sleep(Duration::from_secs(60));
        Ok(())
    }
}
