//! A Lambda Runtime API of the test's own, serving one invocation to a
//! function binary and capturing its answer, so the function crates can
//! check what Lambda (and so Step Functions) receives from them.
//!
//! Shared by the function crates' tests through `#[path]`.

use std::process::Stdio;
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
    let answer = tokio::time::timeout(Duration::from_secs(60), serve(listener, &payload)).await.expect("the function answered within 60 s");
    let _ = child.kill().await;
    answer
}

async fn serve(listener: TcpListener, payload: &str) -> Answer {
    let mut handed_out = false;
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        if let Some(answer) = connection(stream, payload, &mut handed_out).await {
            return answer;
        }
    }
}

/// Serves requests on one connection; returns the answer once posted.
async fn connection(stream: TcpStream, payload: &str, handed_out: &mut bool) -> Option<Answer> {
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
            if *handed_out {
                // Only one invocation: let the function wait until it is killed.
                std::future::pending::<()>().await;
            }
            *handed_out = true;
            let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0) + 60_000;
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
