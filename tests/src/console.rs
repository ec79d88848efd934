//! The web console for system tests: the real `waybill-console` binary in front of a
//! [`System`], and a real headless Chromium driven over WebDriver.
//!
//! The browser is Debian's `chromium` with its `chromedriver` (`make browser` installs
//! both where missing), driven with fantoccini: the W3C WebDriver protocol, so a test says
//! what a person does (open a page, paste a token, click a button) and reads what the page
//! shows. chromedriver picks its own port (`--port=0`) and says which in its log.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use waybill_testkit::OwnedChild;

use crate::system::System;

/// `waybill-console` on a port it bound itself, talking to a system's five services and
/// trusting the test process's token key, as they do; it reads the dead letters from the
/// NATS server at `nats_url` (a user that may read the dead-letter stream). Its log (one
/// `page request` line per request, with the request's trace id) is kept in a file.
pub struct Console {
    _process: OwnedChild,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Console {
    pub async fn start(system: &System, nats_url: &str) -> anyhow::Result<Console> {
        let dir = tempfile::Builder::new().prefix("waybill-console-").tempdir()?;
        let address_file = dir.path().join("address");
        let log = dir.path().join("console.log");
        let mut command = Command::new(crate::binary("waybill-console")?);
        command
            .env("WAYBILL_CONSOLE_LISTEN", "127.0.0.1:0")
            .env("WAYBILL_CONSOLE_ADDRESS_FILE", &address_file)
            .env("WAYBILL_CONSOLE_INTAKE_URL", &system.intake.address)
            .env("WAYBILL_CONSOLE_DISPATCH_URL", &system.dispatch.address)
            .env("WAYBILL_CONSOLE_DELIVERY_URL", &system.delivery.address)
            .env("WAYBILL_CONSOLE_AFTERSALES_URL", &system.aftersales.address)
            .env("WAYBILL_CONSOLE_CRM_URL", &system.crm.address)
            .env("WAYBILL_CONSOLE_DEAD_LETTERS", "true")
            .env("WAYBILL_NATS_URL", nats_url)
            .env("RUST_LOG", "warn,waybill_console=info")
            .env("WAYBILL_LOG_FORMAT", "json")
            .stdout(std::fs::File::create(&log)?);
        waybill_testkit::trust_test_signer(&mut command, dir.path())?;
        let mut process = OwnedChild::spawn(&mut command)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = loop {
            if let Some(status) = process.try_wait()? {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                anyhow::bail!("waybill-console exited at start ({status}):\n{said}");
            }
            if let Some(address) = address_in(&address_file, "http", process.id())? {
                break address;
            }
            anyhow::ensure!(Instant::now() < deadline, "waybill-console reported no address within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        Ok(Console { _process: process, url: format!("http://{address}"), log, _dir: dir })
    }

    /// The trace id the console logged for its request `method path` (the latest such).
    pub fn trace_of_request(&self, method: &str, path: &str) -> Option<String> {
        let log = std::fs::read_to_string(&self.log).ok()?;
        let mut lines =
            log.lines().rev().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok());
        let request = lines.find(|line| {
            line["message"] == "page request" && line["method"] == method && line["path"] == path
        })?;
        request["trace_id"].as_str().map(str::to_owned)
    }
}

/// The `key=` address in an address file once it exists (written whole, with a rename),
/// after checking that the file is `pid`'s.
fn address_in(path: &Path, key: &str, pid: u32) -> anyhow::Result<Option<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let value = |key: &str| text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('='));
    anyhow::ensure!(
        value("pid") == Some(&pid.to_string()),
        "{} is not this console's:\n{text}",
        path.display()
    );
    Ok(value(key).map(str::to_owned))
}

/// A headless Chromium session, with the chromedriver that runs it; both die with the test.
pub struct Browser {
    pub client: Client,
    _driver: OwnedChild,
    _dir: tempfile::TempDir,
    screenshots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a fresh Chromium profile; screenshots go to
    /// `target/console-screenshots/<test>/`.
    pub async fn start(test: &str) -> anyhow::Result<Browser> {
        let chromium = std::env::var_os("CHROMIUM_BIN")
            .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
        let chromedriver = std::env::var_os("CHROMEDRIVER_BIN")
            .map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
        for needed in [&chromium, &chromedriver] {
            anyhow::ensure!(needed.exists(), "{} is missing: run `make browser`", needed.display());
        }
        let dir = tempfile::Builder::new().prefix("waybill-browser-").tempdir()?;
        let log = dir.path().join("chromedriver.log");
        let driver = OwnedChild::spawn(
            Command::new(&chromedriver)
                .arg("--port=0")
                .stdout(std::fs::File::create(&log)?)
                .stderr(Stdio::null()),
        )?;
        let port = driver_port(&log).await?;
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", format!("--user-data-dir={}", dir.path().join("profile").display()),
                ],
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object") };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await?;
        let screenshots = crate::workspace_root().join("target/console-screenshots").join(test);
        std::fs::create_dir_all(&screenshots)?;
        Ok(Browser { client, _driver: driver, _dir: dir, screenshots })
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        Ok(self.client.goto(url).await?)
    }

    /// The first element `css` finds, waiting (bounded) for a page still loading.
    pub async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        let wait = self.client.wait().at_most(Duration::from_secs(10));
        wait.for_element(Locator::Css(css)).await.map_err(|error| anyhow::anyhow!("{css}: {error}"))
    }

    /// The text of the first element `css` finds.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// The texts of every element `css` finds.
    pub async fn texts(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let mut texts = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await? {
            texts.push(element.text().await?);
        }
        Ok(texts)
    }

    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        Ok(self.find(css).await?.click().await?)
    }

    /// Signs in on `console` by pasting `authorization` (`Bearer <jwt>`, as a caller holds it).
    pub async fn sign_in(&self, console: &Console, authorization: &str) -> anyhow::Result<()> {
        self.goto(&format!("{}/sign-in", console.url)).await?;
        let token = authorization.trim_start_matches("Bearer ");
        self.find("#token").await?.send_keys(token).await?;
        self.click("#sign-in").await?;
        // Every page of a signed-in person names them.
        self.find("#who").await.map(drop)
    }

    /// Signs out with the button in the page's header; back at the sign-in form.
    pub async fn sign_out(&self) -> anyhow::Result<()> {
        self.click("header form button").await?;
        self.find("#sign-in").await.map(drop)
    }

    /// Saves the page as `<name>.png` under the test's screenshot directory.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    pub async fn path(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }
}

/// chromedriver's port, from the line it logs once it listens.
async fn driver_port(log: &Path) -> anyhow::Result<u16> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let said = text.lines().find_map(|line| line.split("started successfully on port ").nth(1));
        if let Some(port) = said.and_then(|rest| rest.trim_end_matches('.').trim().parse().ok()) {
            return Ok(port);
        }
        anyhow::ensure!(Instant::now() < deadline, "chromedriver did not start within 20 s:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
