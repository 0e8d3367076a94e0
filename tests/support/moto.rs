//! A real `moto_server` (the Python AWS emulator) on loopback, one per test.
//!
//! The binary is looked up in this order: `$MOTO_SERVER`, `<crate>/.venv/bin/moto_server`
//! (installed by `make tools`), then `moto_server` on `PATH`. Its Python runs moto's server app
//! through `moto_serial.py`, one request at a time, so conditional writes are atomic as in
//! DynamoDB. Its output goes to a log file under
//! `target/tmp/` that is removed when the server is dropped, unless the test is panicking.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration};

/// Longest `Moto::start` waits for the server to answer HTTP.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many fresh ports `Moto::start` tries (another process may take the port in between).
const START_ATTEMPTS: usize = 3;

/// A running `moto_server`, killed when dropped.
pub struct Moto {
    /// `http://127.0.0.1:PORT`, for `endpoint_url`.
    pub endpoint: String,
    child: Child,
    log: PathBuf,
}

impl Moto {
    /// Starts a fresh `moto_server` on a free loopback port and waits until it answers HTTP.
    pub async fn start() -> Moto {
        let bin = server_binary();
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Self::try_start(&bin).await {
                Ok(moto) => return moto,
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "moto_server ({}) did not start:\n{}",
            bin.display(),
            failures.join("\n---\n")
        );
    }

    async fn try_start(bin: &Path) -> Result<Moto, String> {
        let port = free_port();
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{port}.log"));
        let out = File::create(&log).map_err(|e| format!("create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("clone {}: {e}", log.display()))?;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_serial.py");
        let child = Command::new(interpreter(bin))
            .arg(&script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        // From here on, dropping `moto` kills the child.
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };

        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", moto.output()));
            }
            // Any HTTP answer at all means the server is up.
            if http
                .get(format!("{}/moto-api/", moto.endpoint))
                .send()
                .await
                .is_ok()
            {
                return Ok(moto);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no HTTP answer on {} within {START_TIMEOUT:?}:\n{}",
                    moto.endpoint,
                    moto.output()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The API calls the server answered since it started (or since `reset_calls`), by
    /// operation: `X-Amz-Target` (`AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition`),
    /// else `METHOD /path`.
    pub async fn calls(&self) -> std::collections::BTreeMap<String, usize> {
        reqwest::get(format!("{}/_calls", self.endpoint))
            .await
            .expect("moto /_calls")
            .json()
            .await
            .expect("moto /_calls JSON")
    }

    /// Starts counting calls afresh.
    pub async fn reset_calls(&self) {
        reqwest::Client::new()
            .delete(format!("{}/_calls", self.endpoint))
            .send()
            .await
            .expect("moto DELETE /_calls");
    }

    /// Loads moto's ECS backend (it imports lazily: the first ECS request of a fresh server takes
    /// about a second, later ones a few milliseconds), so that a test with tight client
    /// timeouts does not time out on its first ECS call.
    pub async fn warm_up(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header(
                "x-amz-target",
                "AmazonEC2ContainerServiceV20141113.ListClusters",
            )
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20250101/eu-west-1/ecs/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body("{}")
            .send()
            .await
            .expect("moto ECS ListClusters");
        assert!(
            response.status().is_success(),
            "ListClusters: {}",
            response.status()
        );
    }

    /// An awsvpc network configuration that moto accepts: moto checks that the subnets and
    /// security groups exist in its EC2 backend, so this uses the default VPC's first default
    /// subnet and its `default` security group (looked up through moto's EC2 query API).
    pub async fn awsvpc(&self) -> NetworkConfiguration {
        self.awsvpc_as("testing").await
    }

    /// `awsvpc` in the account whose credentials have the access key `access_key` (an account
    /// entered by assuming a role there: moto keeps each account's default VPC apart).
    pub async fn awsvpc_as(&self, access_key: &str) -> NetworkConfiguration {
        let subnets = self
            .ec2_ids(
                access_key,
                "Action=DescribeSubnets&Version=2016-11-15\
                 &Filter.1.Name=default-for-az&Filter.1.Value.1=true",
                "subnetId",
            )
            .await;
        let groups = self
            .ec2_ids(
                access_key,
                "Action=DescribeSecurityGroups&Version=2016-11-15\
                 &Filter.1.Name=group-name&Filter.1.Value.1=default",
                "groupId",
            )
            .await;
        let vpc = AwsVpcConfiguration::builder()
            .subnets(subnets[0].clone())
            .security_groups(groups[0].clone())
            .assign_public_ip(AssignPublicIp::Disabled)
            .build()
            .expect("awsvpc configuration");
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build()
    }

    /// Makes moto's ECS tasks keep their `lastStatus` for `describes` DescribeTasks calls before
    /// each step of RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED (moto's
    /// default is 1: every DescribeTasks moves a task one step on).
    pub async fn set_task_transition(&self, describes: u32) {
        let body = serde_json::json!({
            "model_name": "ecs::task",
            "transition": {"progression": "manual", "times": describes},
        });
        let response = reqwest::Client::new()
            .post(format!(
                "{}/moto-api/state-manager/set-transition",
                self.endpoint
            ))
            .json(&body)
            .send()
            .await
            .expect("moto state manager");
        assert!(
            response.status().is_success(),
            "set-transition: {}",
            response.status()
        );
    }

    /// Runs one EC2 query-protocol action (there is no EC2 SDK in this project) and returns every
    /// `<tag>` value of the XML answer, in order; panics if there is none.
    async fn ec2_ids(&self, access_key: &str, query: &str, tag: &str) -> Vec<String> {
        // moto routes a request by the service in the credential scope, and to an account by its
        // access key; it checks no signature.
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/20250101/eu-west-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        let response = reqwest::Client::new()
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", authorization)
            .body(query.to_owned())
            .send()
            .await
            .expect("moto EC2 query");
        let status = response.status();
        let xml = response.text().await.expect("moto EC2 answer");
        assert!(status.is_success(), "EC2 {query}: {status}\n{xml}");
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let ids: Vec<String> = xml
            .split(&open)
            .skip(1)
            .filter_map(|rest| rest.split(&close).next())
            .map(str::to_owned)
            .collect();
        assert!(!ids.is_empty(), "no <{tag}> in EC2 {query}:\n{xml}");
        ids
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("moto_server output: {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// The `moto_server` to run; panics with how to install it if there is none.
fn server_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("MOTO_SERVER").filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "MOTO_SERVER={} is not a file; unset it or run `make tools`",
            bin.display()
        );
        return bin;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    if venv.is_file() {
        return venv;
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let bin = dir.join("moto_server");
            if bin.is_file() {
                return bin;
            }
        }
    }
    panic!(
        "moto_server not found (looked at $MOTO_SERVER, {} and PATH): run `make tools`, \
         which installs requirements-dev.txt (moto[server]) into .venv",
        venv.display()
    );
}

/// The Python that `moto_server` runs with (its `#!` line), which has moto installed.
fn interpreter(bin: &Path) -> PathBuf {
    let text = std::fs::read(bin).unwrap_or_default();
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    String::from_utf8_lossy(first)
        .strip_prefix("#!")
        .and_then(|line| line.split_whitespace().next())
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener =
        TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
