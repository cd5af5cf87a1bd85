//! Helpers shared by the end-to-end tests: run the real `cordon` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped rules directory.
pub fn rules() -> PathBuf {
    root().join("rules")
}

/// Runs `cordon check` with the shipped rules.
pub fn check(file: &Path, mail_from: Option<&str>, rcpt: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cordon"));
    cmd.arg("check").arg("--rules").arg(rules());
    if let Some(from) = mail_from {
        cmd.arg("--mail-from").arg(from);
    }
    for r in rcpt {
        cmd.arg("--rcpt").arg(r);
    }
    cmd.arg(file).output().expect("run cordon")
}

/// Runs `cordon check` and parses its JSON, failing the test on a non-zero exit.
pub fn verdict(file: &Path, mail_from: Option<&str>, rcpt: &[String]) -> serde_json::Value {
    let out = check(file, mail_from, rcpt);
    assert!(
        out.status.success(),
        "cordon check {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

/// The action the verdict gives `address`, if it names it.
pub fn action_for<'a>(verdict: &'a serde_json::Value, address: &str) -> Option<&'a str> {
    recipient(verdict, address)?.get("action")?.as_str()
}

/// The verdict's entry for `address`.
pub fn recipient<'a>(
    verdict: &'a serde_json::Value,
    address: &str,
) -> Option<&'a serde_json::Value> {
    verdict["recipients"].as_array()?.iter().find(|r| {
        r["address"]
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(address))
    })
}

/// The (detector, where) pairs of the verdict's findings.
pub fn findings(verdict: &serde_json::Value) -> Vec<(String, String)> {
    verdict["findings"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|f| {
                    (
                        f["detector"].as_str().unwrap_or("").to_owned(),
                        f["where"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A `cordon serve` process on free loopback ports with its own data directory.
pub struct Gateway {
    child: Option<std::process::Child>,
    /// The SMTP address.
    pub smtp: std::net::SocketAddr,
    /// The console (metrics) address.
    pub console: std::net::SocketAddr,
    /// The data directory.
    pub data: PathBuf,
    config: PathBuf,
    log: PathBuf,
    /// The process's open-file limit (soft and hard), if the test sets one.
    open_files: Option<u64>,
}

/// Copies the directory tree `from` to `to` (files and directories only).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Gateway {
    /// Starts a gateway in `dir` with the shipped rules and `extra` appended to
    /// its cordon.toml (server, relay and queue sections are written by the test).
    pub fn start(dir: &Path, extra: &str) -> Gateway {
        Gateway::start_with_open_files(dir, extra, None)
    }

    /// [`Gateway::start`], with the process's open-file limit (soft and
    /// hard, as a service manager would set it) at `open_files` if given.
    pub fn start_with_open_files(dir: &Path, extra: &str, open_files: Option<u64>) -> Gateway {
        Gateway::start_configured(dir, &rules(), extra, open_files)
    }

    /// [`Gateway::start`] with the rules directory `rules` instead of the
    /// shipped one.
    pub fn start_with_rules(dir: &Path, rules: &Path, extra: &str) -> Gateway {
        Gateway::start_configured(dir, rules, extra, None)
    }

    fn start_configured(dir: &Path, rules: &Path, extra: &str, open_files: Option<u64>) -> Gateway {
        // A port picked free can be taken by another test before the gateway
        // binds it: then the gateway says so and exits, and it gets new ports.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut gateway = Gateway::configure(dir, rules, extra, open_files);
            match gateway.try_spawn() {
                Ok(()) => return gateway,
                Err(log) if attempts < 5 && log.contains("Address already in use") => continue,
                Err(log) => panic!("the gateway did not start:\n{log}"),
            }
        }
    }

    /// Writes `dir`'s cordon.toml for fresh free ports.
    fn configure(dir: &Path, rules: &Path, extra: &str, open_files: Option<u64>) -> Gateway {
        let smtp = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let console = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = dir.join("cordon.toml");
        let data = dir.join("data");
        let text = format!(
            "[paths]\nrules = {:?}\ndata = {:?}\n[console]\nlisten = \"{console}\"\n{extra}\n",
            rules.display().to_string(),
            data.display().to_string()
        );
        let text = if extra.contains("[server]") {
            text.replace("[server]", &format!("[server]\nlisten = \"{smtp}\""))
        } else {
            format!("{text}[server]\nlisten = \"{smtp}\"\n")
        };
        std::fs::write(&config, text).expect("write cordon.toml");
        Gateway {
            child: None,
            smtp,
            console,
            data,
            config,
            log: dir.join("gateway.log"),
            open_files,
        }
    }

    /// Starts the process again on the same ports and data (after a kill).
    pub fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("the gateway did not start:\n{log}");
        }
    }

    /// Starts the process and waits until it says it is running (it has
    /// bound both its ports), or returns its log if it exits first.
    fn try_spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let logged_before = self.log().len();
        let mut command = Command::new(env!("CARGO_BIN_EXE_cordon"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .stderr(log);
        if let Some(open_files) = self.open_files {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit {
                rlim_cur: open_files,
                rlim_max: open_files,
            };
            // SAFETY: setrlimit is async-signal-safe and only reads `limit`.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().expect("spawn cordon serve");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let since = self
                .log()
                .get(logged_before..)
                .unwrap_or_default()
                .to_owned();
            if since.contains("cordon is running") {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                let since = self
                    .log()
                    .get(logged_before..)
                    .unwrap_or_default()
                    .to_owned();
                return Err(format!("it exited with {status}:\n{since}"));
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it did not say it was running in 20 s:\n{since}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The last `lines` lines of the gateway's log, oldest first: for
    /// failure messages that would drown in the whole log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The gateway's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends the process `signal` (say `libc::SIGHUP`).
    pub fn signal(&self, signal: i32) {
        let child = self.child.as_ref().expect("running");
        let pid = i32::try_from(child.id()).expect("pid");
        // SAFETY: kill(2) with a child's pid and a signal number.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill");
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a graceful exit (bounded).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = i32::try_from(child.id()).expect("pid");
            // SAFETY: sending a signal to our own child process.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    assert!(
                        status.success(),
                        "the gateway exited with {status}:\n{}",
                        self.log()
                    );
                    return;
                }
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("the gateway did not stop after SIGTERM:\n{}", self.log());
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }

    /// Every delivery in the outbox: (mail_from, rcpt_to, message bytes).
    pub fn outbox(&self) -> Vec<(String, Vec<String>, Vec<u8>)> {
        let dir = self.data.join("outbox");
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return out;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let Ok(json) = std::fs::read(&path) else {
                    continue;
                };
                let Ok(v) = serde_json::from_slice::<serde_json::Value>(&json) else {
                    continue;
                };
                let Ok(message) = std::fs::read(path.with_extension("eml")) else {
                    continue;
                };
                let rcpt = v["rcpt_to"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push((
                    v["mail_from"].as_str().unwrap_or("").to_owned(),
                    rcpt,
                    message,
                ));
            }
        }
        out
    }

    /// A metric's value from the console's /metrics endpoint (0 if absent).
    pub fn metric(&self, line_prefix: &str) -> f64 {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(self.console) else {
            return 0.0;
        };
        let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.lines()
            .find(|l| l.starts_with(line_prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `condition` every 50 ms until it holds or `secs` pass.
pub fn wait_until(secs: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The queue id a delivered copy carries in its trace header.
pub fn traced_queue_id(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&message[..message.len().min(400)]);
    let line = text.lines().find(|l| l.starts_with("X-Cordon-Verdict:"))?;
    let start = line.find("queue=")? + 6;
    Some(line[start..].split(';').next()?.trim().to_owned())
}

/// Sends one message over SMTP with a real client (lettre); returns the queue
/// id from the 250 reply.
pub fn send(
    smtp: std::net::SocketAddr,
    mail_from: &str,
    rcpt: &[String],
    message: &[u8],
) -> Result<String, String> {
    use lettre::Transport;
    let from = if mail_from.is_empty() {
        None
    } else {
        Some(mail_from.parse().map_err(|e| format!("{e}"))?)
    };
    let to = rcpt
        .iter()
        .map(|r| r.parse())
        .collect::<Result<Vec<lettre::Address>, _>>()
        .map_err(|e| format!("{e}"))?;
    let envelope = lettre::address::Envelope::new(from, to).map_err(|e| format!("{e}"))?;
    let transport = lettre::SmtpTransport::builder_dangerous(smtp.ip().to_string())
        .port(smtp.port())
        .build();
    let response = transport
        .send_raw(&envelope, message)
        .map_err(|e| format!("{e}"))?;
    let text = response.message().collect::<Vec<_>>().join(" ");
    text.rsplit(' ').next().map(str::to_owned).ok_or(text)
}

/// Generates the public conformance corpus under `dir/corpus`; returns the
/// directory and its cases.
pub fn public_corpus(dir: &Path) -> (PathBuf, Vec<serde_json::Value>) {
    let corpus = dir.join("corpus");
    let generator = root().join("../shared/conformance/gen.py");
    assert!(
        generator.exists(),
        "the public corpus generator is missing: {}",
        generator.display()
    );
    let status = Command::new("python3")
        .arg(&generator)
        .arg(&corpus)
        .output()
        .expect("python3");
    assert!(
        status.status.success(),
        "gen.py failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(corpus.join("cases.json")).expect("cases"))
            .expect("json");
    (corpus, cases)
}

/// The envelope of a corpus message: the case's own, else its headers.
pub fn envelope_of(case: &serde_json::Value, message: &[u8]) -> (String, Vec<String>) {
    let parsed = mail_parser::MessageParser::default()
        .parse(message)
        .expect("corpus message parses");
    let from = case["mail_from"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            parsed
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let mut rcpt: Vec<String> = case["rcpt"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if rcpt.is_empty() {
        for list in [parsed.to(), parsed.cc()].into_iter().flatten() {
            rcpt.extend(list.iter().filter_map(|a| a.address().map(str::to_owned)));
        }
    }
    (from, rcpt)
}

/// Runs `cordon` with `args`, `stdin` on its standard input and `env` added
/// to its environment; returns what it printed and its status.
pub fn cordon(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut command = Command::new(env!("CARGO_BIN_EXE_cordon"));
    command
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("cordon");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    child.wait_with_output().expect("wait")
}

/// What a command printed, standard output then standard error.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Reads one SMTP reply (all its lines) and returns it; what was read so
/// far if the connection ends or times out.
pub fn smtp_reply(reader: &mut std::io::BufReader<std::net::TcpStream>) -> String {
    use std::io::BufRead;
    let mut all = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return all;
        }
        all.push_str(&line);
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return all;
        }
    }
}

/// A raw SMTP conversation on `stream`: sends each step after the previous
/// reply and returns every reply, the greeting first.
pub fn smtp_steps(stream: std::net::TcpStream, steps: &[&[u8]]) -> Vec<String> {
    use std::io::Write;
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = std::io::BufReader::new(stream);
    let mut replies = vec![smtp_reply(&mut reader)];
    for step in steps {
        writer.write_all(step).expect("write");
        replies.push(smtp_reply(&mut reader));
    }
    replies
}

/// What the test smarthost received: (recipients, message) per transaction.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(Vec<String>, String)>>>;

/// A minimal smarthost: accepts everything and records each transaction.
pub fn smarthost(listener: std::net::TcpListener, received: Received) {
    use std::io::{BufRead, BufReader, Write};
    std::thread::spawn(move || {
        for stream in listener.incoming().take(500) {
            let Ok(stream) = stream else { continue };
            let received = std::sync::Arc::clone(&received);
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().expect("clone");
                let mut reader = BufReader::new(stream);
                let _ = writer.write_all(b"220 sink ESMTP\r\n");
                let mut rcpt = Vec::new();
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 {
                    let upper = line.to_ascii_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("RCPT") {
                        rcpt.push(
                            line[8..]
                                .trim()
                                .trim_matches(|c| c == '<' || c == '>')
                                .to_owned(),
                        );
                        b"250 ok\r\n"
                    } else if upper.trim() == "DATA" {
                        let _ = writer.write_all(b"354 go\r\n");
                        let mut body = String::new();
                        let mut l = String::new();
                        while reader.read_line(&mut l).unwrap_or(0) > 0 && l != ".\r\n" {
                            body.push_str(&l);
                            l.clear();
                        }
                        if let Ok(mut r) = received.lock() {
                            r.push((std::mem::take(&mut rcpt), body));
                        }
                        b"250 queued\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = writer.write_all(b"221 bye\r\n");
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = writer.write_all(answer);
                    line.clear();
                }
            });
        }
    });
}
