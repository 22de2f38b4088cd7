//! A Lambda Runtime API of the test's own, serving one invocation to a
//! function binary and capturing its answer, so the function crates can
//! check what Lambda (and so Step Functions) receives from them.
//!
//! Shared by the function crates' tests through `#[path]`.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the function posted for its one invocation.
#[derive(Debug)]
pub struct Answer {
    /// `response` or `error`.
    pub kind: String,
    /// The posted body as JSON.
    pub body: Value,
}

/// Runs `binary` under the Runtime API with `environment`, hands it
/// `payload` as its only invocation, and returns what it posted.
pub async fn invoke_once(binary: &str, environment: &[(&str, &str)], payload: &Value) -> Answer {
    invoke_once_until(binary, environment, payload, 60_000).await
}

/// [`invoke_once`] with the invocation's deadline (`Lambda-Runtime-Deadline-Ms`)
/// `deadline_in_ms` from now (negative: passed already).
#[allow(dead_code)]
pub async fn invoke_once_until(binary: &str, environment: &[(&str, &str)], payload: &Value, deadline_in_ms: i64) -> Answer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let mut command = tokio::process::Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("LAKESHIP_") || name.starts_with("AWS_") {
            command.env_remove(name);
        }
    }
    command
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "test-function")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(environment.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start the function binary");
    let payload = payload.to_string();
    let answer = tokio::time::timeout(Duration::from_secs(60), serve(&listener, &payload, deadline_in_ms)).await;
    // The process is gone before its port is given up: a function that asks
    // for its next invocation must not reach another test's listener on a
    // reused port.
    let _ = child.kill().await;
    drop(listener);
    answer.expect("the function answered within 60 s")
}

async fn serve(listener: &TcpListener, payload: &str, deadline_in_ms: i64) -> Answer {
    // Every connection is served at once: the runtime's HTTP client may post
    // the answer on a second connection while the first one stays open.
    let handed_out = Arc::new(AtomicBool::new(false));
    let (sender, mut answers) = tokio::sync::mpsc::channel(1);
    loop {
        tokio::select! {
            answer = answers.recv() => return answer.expect("a connection task keeps a sender"),
            accepted = listener.accept() => {
                let (stream, _) = accepted.expect("accept");
                let (payload, handed_out, sender) = (payload.to_string(), handed_out.clone(), sender.clone());
                tokio::spawn(async move {
                    if let Some(answer) = connection(stream, &payload, deadline_in_ms, &handed_out).await {
                        let _ = sender.send(answer).await;
                    }
                });
            }
        }
    }
}

/// Serves requests on one connection; returns the answer once posted.
async fn connection(stream: TcpStream, payload: &str, deadline_in_ms: i64, handed_out: &AtomicBool) -> Option<Answer> {
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await.ok()? == 0 {
            return None;
        }
        let mut content_length = 0;
        loop {
            let mut header = String::new();
            stream.read_line(&mut header).await.ok()?;
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                content_length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; content_length];
        stream.read_exact(&mut body).await.ok()?;
        let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
        if path.ends_with("/invocation/next") {
            if handed_out.swap(true, Ordering::SeqCst) {
                // Only one invocation: let the function wait until it is killed.
                std::future::pending::<()>().await;
            }
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
            let deadline = now as i64 + deadline_in_ms;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nlambda-runtime-aws-request-id: request-1\r\n\
                 lambda-runtime-deadline-ms: {deadline}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:test-function\r\n\r\n",
                payload.len()
            );
            stream.get_mut().write_all(head.as_bytes()).await.ok()?;
            stream.get_mut().write_all(payload.as_bytes()).await.ok()?;
            continue;
        }
        let _ = stream.get_mut().write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n").await;
        let kind = path.rsplit('/').next().unwrap_or_default().to_string();
        if path.contains("/invocation/") && (kind == "response" || kind == "error") {
            return Some(Answer { kind, body: serde_json::from_slice(&body).unwrap_or(Value::Null) });
        }
    }
}

/// A configuration that builds without reaching anything.
pub const OFFLINE: [(&str, &str); 2] = [("LAKESHIP_ENDPOINT", "http://127.0.0.1:9"), ("LAKESHIP_WORK", "s3://lakeship-test-work/lakeship")];
